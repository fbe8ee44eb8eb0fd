"""Plausible wrong answers for assignment3_interpret: at least two per autograded answer cell,
each modelled on a mistake students make.

Each value replaces the whole answer cell in an otherwise correct submission; the grading test
submits the first of each list and checks that only the points of that answer's own test cells
are lost. tests/course/test_visible_checks.py checks that the visible checks reject every one.
"""

_DEEP_NET = '''
class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)

    def forward(self, r):
        return {output}
'''

_TRAIN = '''
def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    optimizer = optim.SGD(net.parameters(), lr=learning_rate)
    losses = []
    for _ in range(n_epochs):
        loss = loss_fn(net(train_data), train_labels)
{steps}
        losses.append({recorded})
    return losses
'''

_CNN = '''
class CNN(nn.Module):
    def __init__(self, h_in, w_in):
        super().__init__()
        self.conv = nn.Conv2d(1, 6, kernel_size=7, padding=3)
        with torch.no_grad():
            self.conv.weight.copy_(filters(6, 7))
            self.conv.bias.zero_()
        self.pool = nn.MaxPool2d(8)
        self.fc = nn.Linear(6 * (h_in // 8) * (w_in // 8), 10)
        self.out = nn.Linear(10, 1)

    def forward(self, x):
        h = self.pool({conv})
        h = torch.relu(self.fc(h.flatten(start_dim=1)))
        return {output}
'''

_RDM = '''
def rdm_correlation(rdm1, rdm2):
    n = rdm1.shape[0]
    rows, cols = np.triu_indices(n{k})
    a = np.asarray(rdm1, dtype=np.float64)[rows, cols]
    b = np.asarray(rdm2, dtype=np.float64)[rows, cols]
    return {correlation}
'''

_BINNED = '''
def binned_response(resp, stimuli, unit, n_bins=18):
    edges = np.linspace(-90, 90, n_bins + 1)
    angles = np.asarray(stimuli, dtype=np.float64).reshape(-1)
    values = np.asarray(resp, dtype=np.float64)[:, unit]
    which = np.clip(np.digitize(angles, edges){shift}, 0, n_bins - 1)
    curve = {empty}
    for i in range(n_bins):
        if np.any(which == i):
            curve[i] = values[which == i].mean()
    return {centres}, curve
'''
_CENTRES = "(edges[:-1] + edges[1:]) / 2"
_NAN = "np.full(n_bins, np.nan)"

MUTANTS = {
    "ex_plot_activity": [
        # Plots against the stimulus index instead of the stimulus angle.
        '''
def plot_activity(resp, stimuli, neurons, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    values = np.asarray(resp, dtype=np.float64)
    for neuron in neurons:
        ax.plot(values[:, int(neuron)], label=f"neuron {int(neuron)}")
    ax.set(xlabel="tilt (degrees)", ylabel="response")
    ax.legend()
    return ax
''',
        # Draws the plot but forgets to return the Axes.
        '''
def plot_activity(resp, stimuli, neurons, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    angles = np.asarray(stimuli, dtype=np.float64).reshape(-1)
    values = np.asarray(resp, dtype=np.float64)
    for neuron in neurons:
        ax.plot(angles, values[:, int(neuron)], label=f"neuron {int(neuron)}")
    ax.set(xlabel="tilt (degrees)", ylabel="response")
    ax.legend()
''',
    ],
    "ex_deep_net": [
        # Forgets the ReLU: the decoder is linear.
        _DEEP_NET.format(output="self.out_layer(self.in_layer(r))"),
        # A ReLU on the output as well, so no negative tilt can be decoded.
        _DEEP_NET.format(output="torch.relu(self.out_layer(torch.relu(self.in_layer(r))))"),
        # A sigmoid where the ReLU belongs.
        _DEEP_NET.format(output="self.out_layer(torch.sigmoid(self.in_layer(r)))"),
    ],
    "ex_train": [
        # Never resets the gradients, so they accumulate over the iterations.
        _TRAIN.format(steps="        loss.backward()\n        optimizer.step()", recorded="loss.item()"),
        # Records the loss tensors themselves (no .item()).
        _TRAIN.format(steps="        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()",
                      recorded="loss"),
        # Steps before back-propagating: each step uses the previous iteration's gradient.
        _TRAIN.format(steps="        optimizer.zero_grad()\n        optimizer.step()\n        loss.backward()",
                      recorded="loss.item()"),
    ],
    "ex_test_mse": [
        # Mean absolute error instead of mean squared error.
        '''
def test_mse(net, test_data, test_labels):
    with torch.no_grad():
        predictions = net(test_data)
        return float((predictions - test_labels).abs().mean())
''',
        # Returns a one-element tensor (no .item() or float()).
        '''
def test_mse(net, test_data, test_labels):
    with torch.no_grad():
        predictions = net(test_data)
        return ((predictions - test_labels) ** 2).mean()
''',
        # The root of the mean squared error (RMSE) instead of the MSE itself.
        '''
def test_mse(net, test_data, test_labels):
    with torch.no_grad():
        predictions = net(test_data)
        return float(((predictions - test_labels) ** 2).mean().sqrt())
''',
    ],
    "ex_cnn": [
        # Two slips: pools with 4 x 4 windows (fc sized to match) and no ReLU after fc, so both the
        # layers (test_cnn__layers) and the forward pass (test_cnn__forward) are wrong.
        '''
class CNN(nn.Module):
    def __init__(self, h_in, w_in):
        super().__init__()
        self.conv = nn.Conv2d(1, 6, kernel_size=7, padding=3)
        with torch.no_grad():
            self.conv.weight.copy_(filters(6, 7))
        self.pool = nn.MaxPool2d(4)
        self.fc = nn.Linear(6 * (h_in // 4) * (w_in // 4), 10)
        self.out = nn.Linear(10, 1)

    def forward(self, x):
        h = self.pool(torch.relu(self.conv(x)))
        h = self.fc(h.flatten(start_dim=1))
        return torch.sigmoid(self.out(h))
''',
        # No ReLU after the convolution: negative conv responses reach the pooling.
        _CNN.format(conv="self.conv(x)", output="torch.sigmoid(self.out(h))"),
        # No sigmoid at the end: returns a logit, not a probability.
        _CNN.format(conv="torch.relu(self.conv(x))", output="self.out(h)"),
    ],
    "ex_rdm_correlation": [
        # Correlates the whole matrices, diagonal included.
        '''
def rdm_correlation(rdm1, rdm2):
    a = np.asarray(rdm1, dtype=np.float64).ravel()
    b = np.asarray(rdm2, dtype=np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])
''',
        # np.triu_indices without k=1: the upper triangle with the diagonal included.
        _RDM.format(k="", correlation="float(np.corrcoef(a, b)[0, 1])"),
        # Cosine similarity instead of Pearson's correlation (the means are not subtracted).
        _RDM.format(k=", k=1", correlation="float(a @ b / np.sqrt((a @ a) * (b @ b)))"),
    ],
    "ex_binned_response": [
        # Off by one bin: np.digitize counts from 1, and the -1 was forgotten.
        _BINNED.format(shift="", empty=_NAN, centres=_CENTRES),
        # Returns the bins' left edges where their centres are asked for.
        _BINNED.format(shift=" - 1", empty=_NAN, centres="edges[:-1]"),
        # Empty bins hold 0 instead of nan.
        _BINNED.format(shift=" - 1", empty="np.zeros(n_bins)", centres=_CENTRES),
        # Degrees versus radians: bin edges between -pi/2 and pi/2 for tilts given in degrees.
        _BINNED.format(shift=" - 1", empty=_NAN, centres=_CENTRES).replace(
            "np.linspace(-90, 90, n_bins + 1)", "np.linspace(-np.pi / 2, np.pi / 2, n_bins + 1)"),
    ],
}

#: Thin wrappers around course helpers that compute an exercise's core. Each would pass the
#: exercise's tests; the hidden tests refuse the helper (``nmautils.checks.refusing``), so each
#: must fail (tests/grading/test_substitution.py). The package has no RDM-correlation helper any more.
DELEGATES = {
    "ex_train": [
        # the package's full-batch trainer (the set-up cell no longer imports it)
        '''
from nmautils.train import train_full_batch

def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    return train_full_batch(net, loss_fn, train_data, train_labels, n_epochs=n_epochs,
                            learning_rate=learning_rate)[0]
''',
    ],
    "ex_plot_activity": [
        # the tutorials' line plot of chosen neurons
        '''
from nmautils import plotting

def plot_activity(resp, stimuli, neurons, ax=None):
    fig = plotting.plot_tuning_curves(stimuli, resp, neurons, ax=ax)
    return fig.axes[0] if ax is None else ax
''',
    ],
    "ex_test_mse": [
        # tutorial 3's model base class computes a mean squared error (and detaches)
        '''
from nmautils.models import Model

def test_mse(net, test_data, test_labels):
    return Model.loss(net(test_data), test_labels)
''',
    ],
}
