"""Questions of tutorial2_encoding (curriculum section A/E): id -> regexes that give the answer away."""

QUESTIONS: dict[str, list[str]] = {}
