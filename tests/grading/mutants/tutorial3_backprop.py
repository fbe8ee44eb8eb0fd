"""Plausible wrong answers for tutorial3_backprop: at least two per answer cell, each modelled on
a mistake students make. The first of each list is the one the grading round trip submits."""

_LINEAR = '''
class LinearRegression(Model):
    def __init__(self, X_train, Y_train, X_test, Y_test, bias=False, seed=0):
        super().__init__(X_train, Y_train, X_test, Y_test, bias=bias)
        self.W = np.random.default_rng(seed).normal(0.5, 0.1, size=(self.n_out, self.n_in))

    def forward(self, X):
        return {product}

    def fit(self):
        self.W = fit_closed_form(self.X_train, self.Y_train)
        self.log_errors(epoch=1)
        return self
'''

_FORWARD = '''
def forward_pass(X, weights, activation):
    W1, W2, W3 = weights
    N1 = W1 @ X
    H1 = add_bias_row({hidden1})
    N2 = W2 @ H1
    H2 = add_bias_row({hidden2})
    N3 = W3 @ H2
    output = {output}
    return N1, N2, N3, H1, H2, output
'''

_BACKPROP = '''
def backprop_step(X, Y, weights, cache, activation, l2=0.01):
    W1, W2, W3 = weights
    N1, N2, N3, H1, H2, output = cache
    C3 = (output - Y) * activation(N3, deriv=True){batch}
    dW3 = C3 @ H2.T{decay3}
    C2 = (W3[:, :-1].T @ C3) * activation(N2, deriv=True)
    dW2 = C2 @ H1.T{decay2}
    C1 = W2[:, :-1].T @ C2{deriv1}
    dW1 = C1 @ X.T{decay1}
    return dW1, dW2, dW3
'''
_DECAY = dict(decay1=" + l2 * W1", decay2=" + l2 * W2", decay3=" + l2 * W3")
_NO_DECAY = dict(decay1="", decay2="", decay3="")
_DERIV1 = " * activation(N1, deriv=True)"

MUTANTS = {
    "ex_matmul_loops": [
        # Overwrites the running sum instead of accumulating it (= instead of +=).
        '''
def matmul_loops(X):
    n, T = X.shape
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            for t in range(T):
                M[i, j] = X[i, t] * X[j, t]
    return M
''',
        # Fills only the upper triangle (j from i), leaving the entries below the diagonal at 0.
        '''
def matmul_loops(X):
    n, T = X.shape
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            for t in range(T):
                M[i, j] += X[i, t] * X[j, t]
    return M
''',
    ],
    "ex_linear_forward": [
        # Multiplies in the wrong order, giving samples x outputs instead of outputs x samples.
        _LINEAR.format(product="X.T @ self.W.T"),
        # Uses the stored training data instead of the X it is given.
        _LINEAR.format(product="self.W @ self.X_train"),
    ],
    "ex_fit_1d": [
        # Normalises by the outputs instead of the inputs.
        '''
def fit_1d(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return float(np.sum(x * y) / np.sum(y * y))
''',
        # Averages the ratios y / x instead of fitting least squares.
        '''
def fit_1d(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return float(np.mean(y / x))
''',
        # Fits a line with an intercept (np.polyfit) and returns its slope.
        '''
def fit_1d(x, y):
    return float(np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)[0])
''',
    ],
    "ex_fit_closed_form": [
        # Solves for W^T: returns an (n_in, n_out) matrix.
        '''
def fit_closed_form(X, Y):
    return np.linalg.inv(X @ X.T) @ X @ Y.T
''',
        # Forgets the inverse of X X^T: returns Y X^T alone.
        '''
def fit_closed_form(X, Y):
    return Y @ X.T
''',
    ],
    "ex_gradient_descent": [
        # Gradient ascent: the sign of the update is flipped.
        '''
def gradient_descent_1d(W0, eta, n_steps, grad_fn):
    path = [W0]
    W = W0
    for _ in range(n_steps):
        W = W + eta * grad_fn(W)
        path.append(W)
    return np.array(path)
''',
        # Leaves the starting point out of the path.
        '''
def gradient_descent_1d(W0, eta, n_steps, grad_fn):
    path = []
    W = W0
    for _ in range(n_steps):
        W = W - eta * grad_fn(W)
        path.append(W)
    return np.array(path)
''',
        # Every step starts again from W0 (the gradient is always taken at W0).
        '''
def gradient_descent_1d(W0, eta, n_steps, grad_fn):
    path = [W0]
    for _ in range(n_steps):
        W = W0 - eta * grad_fn(W0)
        path.append(W)
    return np.array(path)
''',
    ],
    "ex_forward_pass": [
        # Leaves the read-out linear (output = N3), forgetting that the activation is applied there too.
        _FORWARD.format(hidden1="activation(N1)", hidden2="activation(N2)", output="N3"),
        # Forgets the activation in the hidden layers (H = N plus the bias row).
        _FORWARD.format(hidden1="N1", hidden2="N2", output="activation(N3)"),
    ],
    "ex_backprop_step": [
        # Forgets the activation's derivative in the first layer's error signal.
        _BACKPROP.format(batch=" / X.shape[1]", deriv1="", **_DECAY),
        # Sums the gradients over the batch instead of averaging them (no division by the batch size).
        _BACKPROP.format(batch="", deriv1=_DERIV1, **_DECAY),
        # Forgets the weight decay (the l2 term).
        _BACKPROP.format(batch=" / X.shape[1]", deriv1=_DERIV1, **_NO_DECAY),
    ],
    "ex_make_optimizer": [
        # Keeps plain SGD instead of switching to Adam.
        '''
def make_optimizer(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr)
''',
        # Adam, but with its default learning rate instead of lr.
        '''
def make_optimizer(model, lr):
    return torch.optim.Adam(model.parameters())
''',
    ],
}

#: Thin wrappers around course helpers that compute an exercise's core (tests/grading/test_substitution.py).
#: No helper of nmautils computes the core of a tutorial 3 exercise (``add_bias_row`` is meant to
#: be used in ``forward_pass``, and ``Model.loss`` is no exercise here), so there are none.
DELEGATES: dict[str, list[str]] = {}
