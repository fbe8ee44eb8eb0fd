"""Plausible wrong answers for tutorial1_decoding: at least two per answer cell, each modelled on
a mistake students make. The first of each list is the one the grading round trip submits."""

MUTANTS = {
    "ex_deepnet_relu": [
        # A sigmoid where the ReLU belongs.
        '''
class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)

    def forward(self, r):
        h = torch.sigmoid(self.in_layer(r))
        return self.out_layer(h)
''',
        # The ReLU on the output instead of the hidden layer.
        '''
class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)

    def forward(self, r):
        return torch.relu(self.out_layer(self.in_layer(r)))
''',
        # No activation at all: the network stays linear.
        '''
class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)

    def forward(self, r):
        return self.out_layer(self.in_layer(r))
''',
    ],
    "ex_mse": [
        # Mean absolute error instead of mean squared error.
        '''
def evaluate_mse(net, r, ori):
    return nn.L1Loss()(net(r), ori)
''',
        # Sums the squared errors instead of averaging them.
        '''
def evaluate_mse(net, r, ori):
    return nn.MSELoss(reduction="sum")(net(r), ori)
''',
        # Returns a Python float (.item()) where a tensor is asked for.
        '''
def evaluate_mse(net, r, ori):
    return nn.MSELoss()(net(r), ori).item()
''',
    ],
    "ex_train": [
        # Forgets to clear the gradients, so they pile up across iterations.
        '''
def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    optimizer = optim.SGD(net.parameters(), lr=learning_rate)
    train_loss = []
    for _ in range(n_epochs):
        loss = loss_fn(net(train_data), train_labels)
        loss.backward()
        optimizer.step()
        train_loss.append(loss.item())
    return train_loss
''',
        # Records the loss tensors themselves (no .item()).
        '''
def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    optimizer = optim.SGD(net.parameters(), lr=learning_rate)
    train_loss = []
    for _ in range(n_epochs):
        loss = loss_fn(net(train_data), train_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_loss.append(loss)
    return train_loss
''',
        # Clears the gradients between backward() and step(), so every step is empty.
        '''
def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    optimizer = optim.SGD(net.parameters(), lr=learning_rate)
    train_loss = []
    for _ in range(n_epochs):
        loss = loss_fn(net(train_data), train_labels)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        train_loss.append(loss.item())
    return train_loss
''',
    ],
}

#: Thin wrappers around course helpers that compute an exercise's core. Each would pass the
#: exercise's tests; the hidden tests refuse the helper (``nmautils.checks.refusing``), so each
#: must fail (tests/grading/test_substitution.py).
DELEGATES = {
    "ex_mse": [
        # tutorial 3's model base class computes a mean squared error
        '''
from nmautils.models import Model

def evaluate_mse(net, r, ori):
    return torch.tensor(Model.loss(net(r), ori), dtype=torch.float32)
''',
    ],
    "ex_train": [
        # the package's full-batch loop, under another name imported before the test runs
        '''
from nmautils.train import train_full_batch as fit

def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    return fit(net, loss_fn, train_data, train_labels, n_epochs=n_epochs,
               learning_rate=learning_rate, progress=False)[0]
''',
        # mini-batch SGD with one batch of everything and no momentum is full-batch GD
        '''
from nmautils.train import train_minibatch

def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    return train_minibatch(net, loss_fn, train_data, train_labels, n_epochs=n_epochs,
                           batch_size=len(train_data), learning_rate=learning_rate,
                           momentum=0.0, progress=False)
''',
        # a private copy of the helper's function object (same code)
        '''
import types
import nmautils.train

_fit = types.FunctionType(nmautils.train.train_full_batch.__code__,
                          nmautils.train.train_full_batch.__globals__,
                          argdefs=nmautils.train.train_full_batch.__defaults__)
_fit.__kwdefaults__ = nmautils.train.train_full_batch.__kwdefaults__

def train(net, loss_fn, train_data, train_labels, n_epochs=50, learning_rate=1e-4):
    return _fit(net, loss_fn, train_data, train_labels, n_epochs, learning_rate)[0]
''',
    ],
}
