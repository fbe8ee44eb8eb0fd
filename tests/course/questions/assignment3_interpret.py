"""Questions of assignment3_interpret (curriculum section A/E): id -> regexes that give the answer away."""

QUESTIONS: dict[str, list[str]] = {
    # 1a: describe the data (what rows/columns are, orientation tuning, noise)
    "1a": [r"(?i)tuning[ _-]?curve", r"(?i)preferred (orientation|tilt)", r"(?i)orientation[- ]tuned"],
    # 1b (i): the untrained decoder's output is arbitrary (random weights), not a good prediction
    "1b_i": [r"(?i)not a (good|useful) prediction", r"(?i)(is|are) (still )?random",
             r"(?i)(bad|poor) prediction"],
    # 1b (ii): the decoder beats the constant guess; its errors are largest at the +-90 seam
    "1b_ii": [r"(?i)beats? (always )?guessing", r"(?i)largest (errors|near)", r"(?i)\bseam\b",
              r"(?i)worst (near|at)"],
    # bonus: the trade-offs of a better decoder
    "1b_bonus": [r"(?i)trade-?offs? (are|is)\b", r"(?i)overfits? (the )?108", r"(?i)\bridge\b"],
    # 1c: accuracy, hardest tilts
    "1c": [r"(?i)hardest (tilts|angles) (are|lie)", r"(?i)mistakes (would )?concentrate"],
    # 1d: which layer is most V1-like
    "1d": [r"(?i)(more|most) V1-like layer is", r"(?i)most similar (layer|to V1) is",
           r"(?i)closest to V1 is"],
    # 1e (e1): "what is such a plot called?" - a tuning curve
    "1e1": [r"(?i)tuning[ _-]?curve"],
    # 1e (e2, extra credit): ring vs split geometry, which layer is closest to V1
    "1e2": [r"(?i)\bring\b", r"(?i)closest to V1 is", r"(?i)throws away the circular"],
    # question 2: the group-project discussion (open; nothing earlier can answer it)
    "2": [r"(?i)your group project's (question|result) (is|was)"],
}
