"""Plausible wrong answers for tutorial3_backprop, one per answer cell."""

MUTANTS = {
    # Overwrites the running sum instead of accumulating it (= instead of +=).
    "ex_matmul_loops": '''
def matmul_loops(X):
    n, T = X.shape
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            for t in range(T):
                M[i, j] = X[i, t] * X[j, t]
    return M
''',
    # Multiplies in the wrong order, giving samples x outputs instead of outputs x samples.
    "ex_linear_forward": '''
class LinearRegression(Model):
    def __init__(self, X_train, Y_train, X_test, Y_test, bias=False, seed=0):
        super().__init__(X_train, Y_train, X_test, Y_test, bias=bias)
        self.W = np.random.default_rng(seed).normal(0.5, 0.1, size=(self.n_out, self.n_in))

    def forward(self, X):
        return X.T @ self.W.T

    def fit(self):
        self.W = fit_closed_form(self.X_train, self.Y_train)
        self.log_errors(epoch=1)
        return self
''',
    # Normalises by the outputs instead of the inputs.
    "ex_fit_1d": '''
def fit_1d(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return float(np.sum(x * y) / np.sum(y * y))
''',
    # Solves for W^T: returns an (n_in, n_out) matrix.
    "ex_fit_closed_form": '''
def fit_closed_form(X, Y):
    return np.linalg.inv(X @ X.T) @ X @ Y.T
''',
    # Gradient ascent: the sign of the update is flipped.
    "ex_gradient_descent": '''
def gradient_descent_1d(W0, eta, n_steps, grad_fn):
    path = [W0]
    W = W0
    for _ in range(n_steps):
        W = W + eta * grad_fn(W)
        path.append(W)
    return np.array(path)
''',
    # Leaves the read-out linear (output = N3), forgetting that the activation is applied there too.
    "ex_forward_pass": '''
def forward_pass(X, weights, activation):
    W1, W2, W3 = weights
    N1 = W1 @ X
    H1 = add_bias_row(activation(N1))
    N2 = W2 @ H1
    H2 = add_bias_row(activation(N2))
    N3 = W3 @ H2
    output = N3
    return N1, N2, N3, H1, H2, output
''',
    # Forgets the activation's derivative in the first layer's error signal.
    "ex_backprop_step": '''
def backprop_step(X, Y, weights, cache, activation, l2=0.01):
    W1, W2, W3 = weights
    N1, N2, N3, H1, H2, output = cache
    C3 = (output - Y) * activation(N3, deriv=True) / X.shape[1]
    dW3 = C3 @ H2.T + l2 * W3
    C2 = (W3[:, :-1].T @ C3) * activation(N2, deriv=True)
    dW2 = C2 @ H1.T + l2 * W2
    C1 = W2[:, :-1].T @ C2
    dW1 = C1 @ X.T + l2 * W1
    return dW1, dW2, dW3
''',
    # Keeps plain SGD instead of switching to Adam.
    "ex_make_optimizer": '''
def make_optimizer(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr)
''',
}

#: Thin wrappers around course helpers that compute an exercise's core (tests/grading/test_substitution.py).
#: No helper of nmautils computes the core of a tutorial 3 exercise (``add_bias_row`` is meant to
#: be used in ``forward_pass``, and ``Model.loss`` is no exercise here), so there are none.
DELEGATES: dict[str, list[str]] = {}
