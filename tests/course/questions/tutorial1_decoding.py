"""Questions of tutorial1_decoding (curriculum section A/E): id -> regexes that give the answer away."""

QUESTIONS: dict[str, list[str]] = {
    # After the last training step: decodable from V1 is not the same as used by the mouse.
    "t1-decodable-not-used": [
        r"(?i)downstream",
        r"(?i)not (what|the same as what) (the (mouse|animal|brain)|behaviour) (actually )?uses",
        r"(?i)does not mean that the (animal|mouse|brain)",
        r"(?i)open question",
        r"(?i)(upper bound|ideal observer)",
    ],
}
