"""Questions of tutorial1_decoding (curriculum section A/E): id -> regexes that give the answer away."""

QUESTIONS: dict[str, list[str]] = {
    # After the untrained network: parameter shapes and count, and why the untrained output is
    # near 0 (the 1/sqrt(fan-in) initialisation keeps each layer's output at the scale of its input).
    "t1-pytorch-mechanics": [
        r"4,?718,?201",
        r"M\s*\(\s*N\s*\+\s*2\s*\)",
        r"(?i)a\s*/\s*\\sqrt\{?3\}?",
        r"\\sqrt\{3N\}",
        r"(?i)about as large as (its|their) inputs?",
    ],
    # After the last training step: decodable from V1 is not the same as used by the mouse.
    "t1-decodable-not-used": [
        r"(?i)downstream",
        r"(?i)not (what|the same as what) (the (mouse|animal|brain)|behaviour) (actually )?uses",
        r"(?i)does not mean that the (animal|mouse|brain)",
        r"(?i)open question",
        r"(?i)(upper bound|ideal observer)",
    ],
}
