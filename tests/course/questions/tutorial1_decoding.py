"""Questions of tutorial1_decoding (curriculum section A/E): id -> regexes that give the answer away."""

QUESTIONS: dict[str, list[str]] = {}
