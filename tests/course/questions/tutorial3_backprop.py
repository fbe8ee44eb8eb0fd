"""Questions of tutorial3_backprop (curriculum section A/E): id -> regexes that give the answer away."""

QUESTIONS: dict[str, list[str]] = {
    # intro: three more examples each of regression and classification
    "t3-examples": [r"(?i)spike sorting", r"(?i)sleep stage", r"(?i)brain-computer interface"],
    # step 1: what X[11, 1], Y[0, 5], X[:, 6], Y[1, :] are, and why Y[3, :] fails
    "t3-indexing": [r"IndexError", r"out of bounds", r"(?i)population vector", r"X\[11, 1\] = \d"],
    # step 1: loops vs a matrix product, results and timings
    "t3-xxt-loop": [r"(?i)faster than the (python )?loops", r"(?i)same M\b", r"(?i)times faster",
                    r"(?i)\bBLAS\b"],
    # step 3: parameters of a linear 25 -> 2 model (50, 52 with a bias)
    "t3-linear-params": [r"(?<![\d.])52\b", r"(?<![\d.])50 (weights|parameters)",
                         r"\(2, 26\)", r"26 columns"],
    # step 3: the weight map (x weights rise from left to right, y weights from bottom to top)
    "t3-weight-map": [r"(?i)left to right", r"(?i)bottom to top", r"(?i)from the left wall",
                      r"(?i)correlation with the centre coordinate"],
    # step 3: four one-hot corner cells, weights by eye; re-run the fit on them and compare
    "t3-corner-weights": [r"W_hand = ", r"(?i)(only|just) (four|4) (different )?(outputs|positions)",
                          r"\[\[0\.25 0\.75 0\.25 0\.75\]", r"(?i)corner weights by eye"],
    # step 3: the 1-D least-squares slope w* = sum(xy) / sum(xx), and its value for the 21 points
    "t3-closed-form": [r"\\frac\{\\sum\S* x_k y_k\}", r"sum\(x \* y\)", r"(?i)fitted slope"],
    # step 4: why the update lowers the loss (first order), and W(3) = -0.512
    "t3-why-descends": [r"-0\.51", r"0\.512", r"L'\(W\)\^2", r"W\^\{\(3\)\} = 0\.8"],
    # step 4: W(0) = 1, the quartic from -1.5 (local minimum at -1, global at 0.640)
    "t3-does-it-minimise": [r"(?i)local minim", r"(?i)not the lowest", r"sqrt\{?17", r"-0\.62",
                            r"\(W \+ 1\)\(4W\^2", r"W\(300\)"],
    # step 4: eta = 0.9 (oscillation on W^2; the quartic diverges -1.5 -> 2.78 -> -89 -> 2.5e6)
    "t3-large-lr": [r"(?i)diverg", r"(?i)oscillat", r"2\.[45]\d?e\+?0?6", r"(?<![\d.])-89\b",
                    r"eta = 0\.9:"],
    # step 5: parameters of 25 -> 200 -> 200 -> 2 with biases (45,802)
    "t3-dnn-params": [r"45,?802", r"200 ?(x|×|\\times) ?\(?(25 \+ 1|26)\b",
                      r"200 ?(x|×|\\times) ?\(?(200 \+ 1|201)"],
    # step 5: linear model vs deep network (convex and closed-form vs iterative and expressive)
    "t3-linear-vs-dnn": [r"(?i)convex", r"(?i)expressiv", r"(?i)not magic", r"(?i)read one by one"],
    # step 6: Adam instead of SGD; grid cells instead of place cells
    "t3-adam-gridcells": [r"PyTorch, Adam", r"(?i)on grid cells: test error", r"(?i)test errors on grid cells",
                          r"(?i)own step size"],
    # appendix: the optional derivation of dL/dW3 and dL/dW2 (chain rule over the paths through H2)
    "t3-derive-backprop": [r"(?i)sums? over these paths", r"(?i)no path runs through",
                           r"(?i)path through it"],
}
