"""Plausible wrong answers for tutorial2_encoding, one per answer cell."""

MUTANTS = {
    # Takes the argmax of the raw, noisy tuning curves (no Gaussian smoothing).
    "ex_preferred_orientation": '''
def sort_by_preferred_orientation(resp, stimuli, W_in):
    pref = np.asarray(stimuli).reshape(-1)[np.argmax(np.asarray(resp), axis=0)]
    order = np.argsort(pref)
    return order, W_in[:, order]
''',
    # Forgets the bias of the hidden layer.
    "ex_hidden_activity": '''
def hidden_activity(net, resp):
    with torch.no_grad():
        h = torch.relu(resp @ net.in_layer.weight.T)
    return h
''',
    # No ReLU between the layers: a linear classifier in disguise.
    "ex_deepnet_softmax": '''
class DeepNetSoftmax(nn.Module):
    def __init__(self, n_inputs, n_hidden, n_classes):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, n_classes)
        self.logprob = nn.LogSoftmax(dim=1)

    def forward(self, r):
        return self.logprob(self.out_layer(self.in_layer(r)))
''',
    # Reports the accuracy on the training set instead of the test set.
    "ex_decode_orientation": '''
def decode_orientation(net, n_classes, loss_fn, train_data, train_labels, test_data, test_labels,
                       n_iter=1000, L2_penalty=0, L1_penalty=0):
    train_loss, test_loss = train_full_batch(
        net, loss_fn, train_data, train_labels, n_iter=n_iter, learning_rate=0.1,
        L2_penalty=L2_penalty, L1_penalty=L1_penalty, penalized=[net.in_layer.weight],
        test_data=test_data, test_labels=test_labels)
    with torch.no_grad():
        predicted = net(train_data).argmax(dim=1)
    frac_correct = (predicted == train_labels).float().mean().item()
    return train_loss, test_loss, frac_correct
''',
    # Forgets the absolute value in the L1 term.
    "ex_regularized_loss": '''
def regularized_loss(output, target, weights, L2_penalty=0.0, L1_penalty=0.0):
    nll = nn.NLLLoss()(output, target)
    return nll + L2_penalty * (weights ** 2).sum() + L1_penalty * weights.sum()
''',
    # No padding: the conv output shrinks, so out_layer's input size no longer matches.
    "ex_convfc": '''
class ConvFC(nn.Module):
    def __init__(self, n_neurons, c_in=1, c_out=6, K=7, b=12 * 16, filters=None):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=K)
        if filters is not None:
            self.conv.weight = nn.Parameter(filters.clone())
        self.out_layer = nn.Linear(c_out * b, n_neurons)
        nn.init.normal_(self.out_layer.weight, std=0.01)

    def forward(self, s):
        return self.out_layer(self.conv(s).flatten(start_dim=1))
''',
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
