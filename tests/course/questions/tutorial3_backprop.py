"""Questions of tutorial3_backprop (curriculum section A/E): id -> regexes that give the answer away."""

QUESTIONS: dict[str, list[str]] = {}
