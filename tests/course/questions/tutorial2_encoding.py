"""Questions of tutorial2_encoding (curriculum section A/E): id -> regexes that give the answer away.

No cell before a question, and none of the cells right after it (tests/course/test_questions.py,
``AFTER``), may match its patterns.
"""

QUESTIONS: dict[str, list[str]] = {
    # Step 1: how to show W_in better; smooth, argmax, argsort.
    "t2-sort-neurons": [r"gaussian_filter1d", r"(?i)\bsmooth", r"(?i)argmax", r"(?i)argsort"],
    # Step 1: what to plot next - the hidden units' tuning curves.
    "t2-plot-next": [
        r"(?i)hidden[- ]units?'? (tuning|activity)",
        r"(?i)tuning curves? of (all |the )?hidden",
        r"plot_hidden_tuning",
        r"hidden_activity\(",
        r"(?i)activity of (the|each|a|every) hidden unit",
    ],
    # Step 1, after the hidden-unit plots: never-active ReLU units get no gradient.
    "t2-dead-units": [
        r"(?i)\bdead\b",
        r"(?i)gets? no gradient",
        r"(?i)(no|zero) gradient (through|flows|passes|at all)",
        r"(?i)keeps?\s+(its|their)\s+(small\s+)?(random\s+)?initial",
    ],
    # Step 1: two peaks 180 degrees apart; the argmax picks one.
    "t2-two-groups": [
        r"(?i)two peaks",
        r"(?i)opposite (direction|way)",
        r"(?i)orientation[- ]tuned|tuned to orientation",
        r"(?i)half a circle apart",
    ],
    # Step 1: with no active unit the output is the constant b_out.
    "t2-no-unit-responds": [
        r"(?i)(just|only) the output bias",
        r"(?i)the same number for\s+every",
        r"(?i)(could|can) ?not be told apart",
    ],
    # Step 3: errors at the 0/360 seam; fix with a circular target or classification. The seam
    # verdicts (claim-seam) must come after this question.
    "t2-hard-orientations": [
        r"(?i)\bseam\b",
        r"(?i)classif",
        r"(?i)circular (target|loss|error)",
        r"(?i)cosine and sine",
        r"(?i)as far apart",
        r"(?i)settles? (for|on) something",
    ],
    # Step 4: seam errors gone, remaining errors in the neighbouring bin.
    "t2-classification-fixes": [
        r"(?i)neighbou?ring (bin|class)",
        r"(?i)bin next to",
        r"(?i)classifier (is )?wrong (on|less)",
        r"(?i)one bin off",
    ],
    # Step 5, before training with the penalties: W_in sparser, training loss higher.
    "t2-reg-predict": [
        r"(?i)sparser",
        r"(?i)near-zero input weights",
        r"(?i)raise the training cross-entropy",
        r"(?i)training loss ends higher",
    ],
    # Step 5, after it: mild overfitting removed; the remaining errors are neighbouring-bin errors.
    "t2-regularisation-errors": [r"(?i)overfit", r"(?i)generali[sz]es? better"],
    # Step 5 ("Think!"): which neurons the sparse decoder keeps.
    "t2-reg-neurons": [
        r"(?i)reliab",
        r"(?i)strongly tuned",
        r"(?i)bands of preferred direction",
        r"(?i)cost(s)? penalty",
    ],
    # Step 6: shared convolutional filters plus a linear read-out per neuron.
    "t2-encoding-how": [
        r"(?i)shared (convolutional )?filters|same (few )?filters",
        r"(?i)read-?out (for|per) (each|every) neuron|one linear read-out per neuron|own linear read-out",
    ],
    # Convolution and pooling (before assignment 3 builds MaxPool2d(8)): a one-pixel shift inside a
    # pooling block leaves the pooled output unchanged; 6 x 6 x 8 = 288 values leave a3's pooling.
    "t2-conv-pool": [
        r"(?i)tolerant",
        r"(?i)(stays?|remains?|is) unchanged",
        r"(?<![\d,.])288(?![\d,])",
        r"6 ?(x|×|\\times) ?6 ?(x|×|\\times) ?8",
        r"\[2, 0, -2, 0, 0\]",
    ],
    # Step 7, before ConvFC: 1,152 conv units and 27,174,528 output weights.
    "t2-counts": [r"1,?152", r"27,?174,?528"],
    # Step 7, after the predictions: theta and theta + 180 are the same image; noisy neurons fit poorly.
    "t2-fit-quality": [
        r"(?i)same image",
        r"(?i)identical (images|gratings|pictures)",
        r"(?i)\bare identical",
        r"(?i)theta \+ 180",
        r"(?i)noisy, weakly tuned",
    ],
    # Step 7, end: (out, in, K, K).
    "t2-weight-dims": [
        r"(?i)relative change of the filters",
        r"(?i)output channels",
        r"(?i)kernel\s+height",
    ],
    # Step 7, end: filters that barely change were already a sufficient basis (predict, then run).
    "t2-filters-change": [r"(?i)sufficient basis", r"(?i)relative change above"],
    # Step 7 ("Think!"): ~27 million parameters fitted to 1,415,340 numbers; shrink the read-out.
    "t2-encoder-params": [
        r"1,?415,?340",
        r"27,?198,?417",
        r"(?i)more parameters than (data|numbers)",
        r"(?i)factori[sz]e",
    ],
}
