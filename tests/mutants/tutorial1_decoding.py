"""Plausible wrong answers for tutorial1_decoding, one per answer cell."""

MUTANTS = {
    # A sigmoid where the ReLU belongs.
    "ex_deepnet_relu": '''
class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)

    def forward(self, r):
        h = torch.sigmoid(self.in_layer(r))
        return self.out_layer(h)
''',
    # Mean absolute error instead of mean squared error.
    "ex_mse": '''
def evaluate_mse(net, r, ori):
    return nn.L1Loss()(net(r), ori)
''',
    # Forgets to clear the gradients, so they pile up across iterations.
    "ex_train": '''
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
}
