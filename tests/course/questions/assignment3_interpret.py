"""Questions of assignment3_interpret (curriculum section A/E): id -> regexes that give the answer away."""

QUESTIONS: dict[str, list[str]] = {}
