"""Plausible wrong answers for tutorial2_encoding: at least two per answer cell, each modelled on
a mistake students make. The first of each list is the one the grading round trip submits."""

_DECODE = '''
def decode_orientation(net, n_classes, loss_fn, train_data, train_labels, test_data, test_labels,
                       n_epochs=1000, L2_penalty=0, L1_penalty=0):
    train_loss, test_loss = train_full_batch(
        net, loss_fn, train_data, train_labels, n_epochs=n_epochs, learning_rate=0.1,
        L2_penalty=L2_penalty, L1_penalty=L1_penalty, penalized=[net.in_layer.weight]{tracking})
    with torch.no_grad():
        predicted = net({data}).argmax(dim=1)
    frac_correct = (predicted == {labels}).float().mean(){item}
    return train_loss, test_loss, frac_correct
'''
_TRACKING = ",\n        test_data=test_data, test_labels=test_labels"

_CONVFC = '''
class ConvFC(nn.Module):
    def __init__(self, n_neurons, c_in=1, c_out=6, K=7, b=12 * 16, filters=None):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=K{padding})
        if filters is not None:
            self.conv.weight = nn.Parameter(torch.as_tensor(filters, dtype=torch.float32).clone()){zero_bias}
        self.out_layer = nn.Linear(c_out * b, n_neurons){init}

    def forward(self, s):
        return self.out_layer(self.conv(s).flatten(start_dim=1))
'''
_ZERO_BIAS = "\n            nn.init.zeros_(self.conv.bias)"
_SMALL_INIT = "\n        nn.init.normal_(self.out_layer.weight, std=0.01)"

MUTANTS = {
    "ex_preferred_orientation": [
        # Takes the argmax of the raw, noisy tuning curves (no Gaussian smoothing).
        '''
def sort_by_preferred_orientation(resp, stimuli, W_in):
    pref = np.asarray(stimuli).reshape(-1)[np.argmax(np.asarray(resp), axis=0)]
    order = np.argsort(pref)
    return order, W_in[:, order]
''',
        # Wrong axis: gaussian_filter1d's default axis=-1 smooths across neurons, not stimuli.
        '''
def sort_by_preferred_orientation(resp, stimuli, W_in):
    smoothed = gaussian_filter1d(np.asarray(resp, dtype=float), sigma=5, mode="wrap")
    pref = np.asarray(stimuli).reshape(-1)[np.argmax(smoothed, axis=0)]
    order = np.argsort(pref)
    return order, W_in[:, order]
''',
        # Sorts the preferred directions in decreasing order.
        '''
def sort_by_preferred_orientation(resp, stimuli, W_in):
    smoothed = gaussian_filter1d(np.asarray(resp, dtype=float), sigma=5, axis=0, mode="wrap")
    pref = np.asarray(stimuli).reshape(-1)[np.argmax(smoothed, axis=0)]
    order = np.argsort(pref)[::-1].copy()
    return order, W_in[:, order]
''',
        # Finds the order but returns W_in with its columns in the original (identity) order.
        '''
def sort_by_preferred_orientation(resp, stimuli, W_in):
    smoothed = gaussian_filter1d(np.asarray(resp, dtype=float), sigma=5, axis=0, mode="wrap")
    pref = np.asarray(stimuli).reshape(-1)[np.argmax(smoothed, axis=0)]
    order = np.argsort(pref)
    return order, W_in
''',
    ],
    "ex_hidden_activity": [
        # Forgets the bias of the hidden layer.
        '''
def hidden_activity(net, resp):
    with torch.no_grad():
        h = torch.relu(resp @ net.in_layer.weight.T)
    return h
''',
        # Forgets the ReLU: returns the hidden layer's input, negative values and all.
        '''
def hidden_activity(net, resp):
    with torch.no_grad():
        h = net.in_layer(resp)
    return h
''',
        # Neither torch.no_grad() nor .detach(): the result stays in the autograd graph.
        '''
def hidden_activity(net, resp):
    return torch.relu(net.in_layer(resp))
''',
    ],
    "ex_deepnet_softmax": [
        # No ReLU between the layers: a linear classifier in disguise.
        '''
class DeepNetSoftmax(nn.Module):
    def __init__(self, n_inputs, n_hidden, n_classes):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_classes)
        self.logprob = nn.LogSoftmax(dim=1)

    def forward(self, r):
        return self.logprob(self.out_layer(self.in_layer(r)))
''',
        # Wrong axis: the log-softmax normalises over the stimuli (dim=0), not the classes.
        '''
class DeepNetSoftmax(nn.Module):
    def __init__(self, n_inputs, n_hidden, n_classes):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_classes)
        self.logprob = nn.LogSoftmax(dim=0)

    def forward(self, r):
        return self.logprob(self.out_layer(torch.relu(self.in_layer(r))))
''',
        # nn.Softmax instead of nn.LogSoftmax: probabilities where NLLLoss wants log-probabilities.
        '''
class DeepNetSoftmax(nn.Module):
    def __init__(self, n_inputs, n_hidden, n_classes):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_classes)
        self.logprob = nn.Softmax(dim=1)

    def forward(self, r):
        return self.logprob(self.out_layer(torch.relu(self.in_layer(r))))
''',
    ],
    "ex_decode_orientation": [
        # Reports the accuracy on the training set instead of the test set.
        _DECODE.format(tracking=_TRACKING, data="train_data", labels="train_labels", item=".item()"),
        # Returns the accuracy as a tensor (no .item()).
        _DECODE.format(tracking=_TRACKING, data="test_data", labels="test_labels", item=""),
        # Does not pass the test set to train_full_batch, so no test loss is tracked.
        _DECODE.format(tracking="", data="test_data", labels="test_labels", item=".item()"),
    ],
    "ex_regularized_loss": [
        # Forgets the absolute value in the L1 term.
        '''
def regularized_loss(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):
    nll = nn.NLLLoss()(output, target)
    return nll + L2_penalty * (weights ** 2).sum() + L1_penalty * weights.sum()
''',
        # Uses the L2 norm (the root of the sum of squares) instead of the sum of squares.
        '''
def regularized_loss(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):
    nll = nn.NLLLoss()(output, target)
    return nll + L2_penalty * weights.norm() + L1_penalty * weights.abs().sum()
''',
        # Averages the penalties over the weights instead of summing them.
        '''
def regularized_loss(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):
    nll = nn.NLLLoss()(output, target)
    return nll + L2_penalty * (weights ** 2).mean() + L1_penalty * weights.abs().mean()
''',
    ],
    "ex_convfc": [
        # No padding: the conv output shrinks, so out_layer's input size no longer matches.
        _CONVFC.format(padding="", zero_bias=_ZERO_BIAS, init=_SMALL_INIT),
        # Takes the given filters but leaves the convolution's random bias in place.
        _CONVFC.format(padding=", padding=K // 2", zero_bias="", init=_SMALL_INIT),
        # Forgets to initialise out_layer's weights small (std 0.01): PyTorch's default is larger.
        _CONVFC.format(padding=", padding=K // 2", zero_bias=_ZERO_BIAS, init=""),
    ],
}

#: Thin wrappers around course helpers that compute an exercise's core. Each would pass the
#: exercise's tests; the hidden tests refuse the helper (``nmautils.checks.refusing``), so each
#: must fail (tests/grading/test_substitution.py). ``decode_orientation`` is meant to call
#: ``train_full_batch`` (the exercise says so), and the package has no preferred-orientation
#: helper any more, so only ``hidden_activity`` has one.
DELEGATES = {
    "ex_hidden_activity": [
        # forward hooks record the input layer's output; the ReLU is all that is left to do
        '''
from nmautils.analysis import get_hidden_activity

def hidden_activity(net, resp):
    return torch.relu(get_hidden_activity(net, resp, "in_layer")["in_layer"])
''',
    ],
}
