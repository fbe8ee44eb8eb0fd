"""Plausible wrong answers for assignment3_interpret, one per autograded answer cell.

Each value replaces the whole answer cell in an otherwise correct submission; the grading test
checks that only the points of that answer's own test cells are lost.
"""

MUTANTS = {
    # Plots against the stimulus index instead of the stimulus angle.
    "ex_plot_activity": '''\
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
    # Forgets the ReLU: the decoder is linear.
    "ex_deep_net": '''\
class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)

    def forward(self, r):
        return self.out_layer(self.in_layer(r))
''',
    # Never resets the gradients, so they accumulate over the iterations.
    "ex_train": '''\
def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    optimizer = optim.SGD(net.parameters(), lr=learning_rate)
    losses = []
    for _ in range(n_epochs):
        loss = loss_fn(net(train_data), train_labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
''',
    # Mean absolute error instead of mean squared error.
    "ex_test_mse": '''\
def test_mse(net, test_data, test_labels):
    with torch.no_grad():
        predictions = net(test_data)
        return float((predictions - test_labels).abs().mean())
''',
    # Two slips: pools with 4 x 4 windows (fc sized to match) and no ReLU after fc, so both the
    # layers (test_cnn__layers) and the forward pass (test_cnn__forward) are wrong.
    "ex_cnn": '''\
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
    # Correlates the whole matrices, diagonal included.
    "ex_rdm_correlation": '''\
def rdm_correlation(rdm1, rdm2):
    a = np.asarray(rdm1, dtype=np.float64).ravel()
    b = np.asarray(rdm2, dtype=np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])
''',
    # Off by one bin: np.digitize counts from 1, and the -1 was forgotten.
    "ex_binned_response": '''\
def binned_response(resp, stimuli, unit, n_bins=18):
    edges = np.linspace(-90, 90, n_bins + 1)
    angles = np.asarray(stimuli, dtype=np.float64).reshape(-1)
    values = np.asarray(resp, dtype=np.float64)[:, unit]
    which = np.clip(np.digitize(angles, edges), 0, n_bins - 1)
    curve = np.full(n_bins, np.nan)
    for i in range(n_bins):
        if np.any(which == i):
            curve[i] = values[which == i].mean()
    return (edges[:-1] + edges[1:]) / 2, curve
''',
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
    return train_full_batch(net, loss_fn, train_data, train_labels, n_iter=n_epochs,
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
