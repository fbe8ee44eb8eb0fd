"""Tests of nmautils.train: seeding, device choice and the two training loops."""

import copy
import random

import numpy as np
import pytest
import torch
from torch import nn, optim

from nmautils import train as train_module
from nmautils.train import pick_device, set_device, set_seed, train_full_batch, train_minibatch


def _regression(n=40, n_in=5, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, n_in, generator=g, dtype=dtype)
    w = torch.randn(n_in, 1, generator=g, dtype=dtype)
    y = x @ w + 0.1 * torch.randn(n, 1, generator=g, dtype=dtype)
    return x, y


def _net(seed=0, n_in=5, dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, 8), nn.ReLU(), nn.Linear(8, 1)).to(dtype)


# ---------------------------------------------------------------------------- set_seed


def test_set_seed_reproducible():
    set_seed(7)
    a = (random.random(), np.random.rand(), torch.rand(3))
    set_seed(7)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


def test_set_seed_bad_input():
    with pytest.raises(TypeError, match="seed should be an int"):
        set_seed(1.5)
    with pytest.raises(ValueError, match="between 0 and 2\\*\\*32 - 1"):
        set_seed(-1)


# ------------------------------------------------------------------------------ devices


def test_pick_device_rules(monkeypatch):
    monkeypatch.delenv("NMAUTILS_DEVICE", raising=False)
    default = pick_device()
    assert default.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setenv("NMAUTILS_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert set_device() == torch.device("cpu")
    monkeypatch.setenv("NMAUTILS_DEVICE", "auto")
    assert pick_device() == default
    monkeypatch.setenv("NMAUTILS_DEVICE", "bogus")
    with pytest.raises(ValueError, match="NMAUTILS_DEVICE should be one of .*, but got 'bogus'"):
        pick_device()
    assert pick_device("cpu") == torch.device("cpu")  # explicit argument beats the environment


def test_pick_device_bad_input():
    with pytest.raises(ValueError, match="cannot train on a 'meta' device"):
        pick_device("meta")
    with pytest.raises(ValueError, match="not a device name"):
        pick_device("gpu0")
    with pytest.raises(TypeError, match="device should be"):
        pick_device(0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


# ----------------------------------------------------------------------- train_full_batch


def test_full_batch_losses_decrease():
    x, y = _regression()
    net = _net()
    losses, test_losses = train_full_batch(net, nn.MSELoss(), x, y, n_epochs=60, learning_rate=0.05)
    assert len(losses) == 60 and test_losses is None
    assert all(isinstance(v, float) for v in losses)
    assert losses[-1] < 0.2 * losses[0]


def _reference_loop(net, loss_fn, x, y, n_iter, lr, momentum, L2, L1, penalized, x_test, y_test):
    """A bare torch loop with the penalty built by autograd."""
    opt = optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    train_losses, test_losses = [], []
    for _ in range(n_iter):
        opt.zero_grad()
        data_loss = loss_fn(net(x), y)
        penalty = sum(L2 * torch.sum(w**2) + L1 * torch.sum(torch.abs(w)) for w in penalized)
        (data_loss + penalty).backward()
        opt.step()
        train_losses.append(data_loss.item())
        with torch.no_grad():
            test_losses.append(loss_fn(net(x_test), y_test).item())
    return train_losses, test_losses


@pytest.mark.parametrize(
    "momentum, L2, L1, which",
    [
        (0.0, 0.0, 0.0, "none"),
        (0.9, 0.0, 0.0, "none"),
        (0.9, 1e-2, 5e-3, "out"),
        (0.5, 1e-3, 1e-3, "all"),
    ],
)
def test_full_batch_matches_bare_loop(momentum, L2, L1, which):
    dtype = torch.float64
    x, y = _regression(dtype=dtype)
    x_test, y_test = _regression(n=15, dtype=dtype, seed=1)
    net, ref = _net(dtype=dtype), _net(dtype=dtype)
    if which == "out":
        penalized, ref_pen = [net[2].weight], [ref[2].weight]
    else:  # "all": the documented default, every weight matrix (no biases)
        penalized, ref_pen = None, [ref[0].weight, ref[2].weight]
    losses, test_losses = train_full_batch(
        net,
        nn.MSELoss(),
        x,
        y,
        n_epochs=25,
        learning_rate=0.02,
        momentum=momentum,
        L2_penalty=L2,
        L1_penalty=L1,
        penalized=penalized,
        test_data=x_test,
        test_labels=y_test,
        device="cpu",
        progress=False,
    )
    ref_losses, ref_test = _reference_loop(
        ref,
        nn.MSELoss(),
        x,
        y,
        25,
        0.02,
        momentum,
        L2,
        L1,
        ref_pen if L1 or L2 else [],
        x_test,
        y_test,
    )
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    np.testing.assert_allclose(test_losses, ref_test, rtol=1e-10)
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


#: How far the fused update (one kernel for weight decay, momentum and step) may drift from the
#: step-by-step loop in float32: a few float32 roundings (eps = 1.2e-7) per step, relative to
#: the weights' scale. Measured: 4.5e-8 largest absolute difference after 20 steps.
FUSED_RTOL, FUSED_ATOL = 1e-5, 1e-7


def test_full_batch_float32_fused_close_to_bare_loop_without_penalty():
    x, y = _regression()
    net, ref = _net(), _net()
    losses, _ = train_full_batch(
        net, nn.MSELoss(), x, y, n_epochs=10, learning_rate=0.01, momentum=0.9, device="cpu"
    )
    ref_losses, _ = _reference_loop(ref, nn.MSELoss(), x, y, 10, 0.01, 0.9, 0, 0, [], x, y)
    np.testing.assert_allclose(losses, ref_losses, rtol=FUSED_RTOL)
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=FUSED_RTOL, atol=FUSED_ATOL)


def _naive_penalty_loop(net, x, y, n_iter, lr, momentum, L2, L1, w):
    """The step-by-step form the fused step replaces: penalty gradient added in separate passes,
    then torch's plain (unfused) SGD: momentum buffer, then the update."""
    opt = optim.SGD(net.parameters(), lr=lr, momentum=momentum, foreach=False)
    for _ in range(n_iter):
        opt.zero_grad()
        nn.MSELoss()(net(x), y).backward()
        with torch.no_grad():
            w.grad.add_(w, alpha=2 * L2)
            w.grad.add_(torch.sign(w), alpha=L1)
        opt.step()


def test_fused_penalty_momentum_update_agrees_with_naive_loop():
    """The encoding model's update (L2 + L1 + momentum 0.9, learning rate 2) on a wide output
    layer: fused and naive agree within float32 rounding, and differ (so the fused path ran)."""
    torch.manual_seed(0)
    x, y = torch.randn(30, 64), torch.randn(30, 500)
    net = nn.Sequential(nn.Linear(64, 500))
    nn.init.normal_(net[0].weight, std=0.01)
    ref, init = copy.deepcopy(net), copy.deepcopy(net)
    train_full_batch(net, nn.MSELoss(), x, y, n_epochs=20, learning_rate=2.0, momentum=0.9,
                     L2_penalty=5e-4, L1_penalty=1e-6, penalized=[net[0].weight], device="cpu",
                     progress=False)
    _naive_penalty_loop(ref, x, y, 20, 2.0, 0.9, 5e-4, 1e-6, ref[0].weight)
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=FUSED_RTOL, atol=FUSED_ATOL)
    moved = (net[0].weight - init[0].weight).abs().max().item()
    assert moved > 1e3 * FUSED_ATOL, "the weights should have been trained"


def test_full_batch_penalty_in_float32_close_to_autograd_form():
    x, y = _regression()
    net, ref = _net(), _net()
    train_full_batch(
        net,
        nn.MSELoss(),
        x,
        y,
        n_epochs=20,
        learning_rate=0.02,
        momentum=0.9,
        L2_penalty=1e-2,
        L1_penalty=1e-3,
        penalized=[net[0].weight],
        device="cpu",
    )
    _reference_loop(ref, nn.MSELoss(), x, y, 20, 0.02, 0.9, 1e-2, 1e-3, [ref[0].weight], x, y)
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_full_batch_test_loss_without_grad_and_in_eval_mode():
    x, y = _regression()
    seen = []

    def loss_fn(out, target):
        seen.append((out.requires_grad, torch.is_grad_enabled(), net.training, out.shape[0]))
        return nn.functional.mse_loss(out, target)

    net = _net()
    net.eval()  # the caller's mode is restored at the end
    _, test_losses = train_full_batch(
        net, loss_fn, x, y, n_epochs=3, learning_rate=0.01, test_data=x[:10], test_labels=y[:10]
    )
    assert len(test_losses) == 3
    assert seen[0] == (True, True, True, 40)
    assert seen[1] == (False, False, False, 10)
    assert [s[3] for s in seen] == [40, 10] * 3
    assert not net.training


def test_full_batch_net_stays_on_its_device(monkeypatch):
    x, y = _regression()
    net = _net()
    train_full_batch(net, nn.MSELoss(), x, y, n_epochs=2, device="cpu")
    assert all(p.device.type == "cpu" for p in net.parameters())
    with pytest.raises(ValueError, match="meta"):
        train_full_batch(net, nn.MSELoss(), x, y, n_epochs=2, device="meta")
    with pytest.raises(ValueError, match="not a device name"):
        train_full_batch(net, nn.MSELoss(), x, y, n_epochs=2, device="nonsense")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_full_batch_on_gpu_returns_net_to_cpu():
    x, y = _regression()
    x_test, y_test = _regression(n=15, seed=1)
    net, ref = _net(), _net()
    kwargs = dict(
        n_epochs=20,
        learning_rate=0.02,
        momentum=0.9,
        L2_penalty=1e-2,
        L1_penalty=1e-3,
        test_data=x_test,
        test_labels=y_test,
        progress=False,
    )
    gpu_losses, gpu_test = train_full_batch(net, nn.MSELoss(), x, y, device="cuda", **kwargs)
    cpu_losses, cpu_test = train_full_batch(ref, nn.MSELoss(), x, y, device="cpu", **kwargs)
    assert all(p.device.type == "cpu" for p in net.parameters())
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-4)
    np.testing.assert_allclose(gpu_test, cpu_test, rtol=1e-4)
    gpu_mb, cpu_mb = (
        train_minibatch(
            _classifier(), nn.BCELoss(), *_classification(), n_epochs=3, batch_size=16, seed=0,
            device=device,
        )
        for device in ("cuda", "cpu")
    )
    np.testing.assert_allclose(gpu_mb, cpu_mb, rtol=1e-4)


def test_full_batch_progress_rules(monkeypatch, capsys):
    x, y = _regression(n=10)
    net = _net()
    monkeypatch.setenv("NMAUTILS_PROGRESS", "auto")
    train_full_batch(net, nn.MSELoss(), x, y, n_epochs=3, progress=True)
    assert "training" in capsys.readouterr().err
    train_full_batch(net, nn.MSELoss(), x, y, n_epochs=3)  # < 100 steps: no bar
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("NMAUTILS_PROGRESS", "off")
    train_full_batch(net, nn.MSELoss(), x, y, n_epochs=100)
    assert capsys.readouterr().err == ""
    assert train_module._show_progress(None, 100) is False
    monkeypatch.setenv("NMAUTILS_PROGRESS", "auto")
    assert train_module._show_progress(None, 100) is True
    assert train_module._show_progress(None, 99) is False


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"train_labels": torch.zeros(39, 1)}, ValueError, "same number of rows"),
        ({"train_data": np.zeros((40, 5))}, TypeError, "train_data should be a torch.Tensor"),
        ({"n_epochs": 0}, ValueError, "n_epochs should be a positive int"),
        ({"n_epochs": 2.0}, TypeError, "n_epochs should be a positive int"),
        ({"learning_rate": 0}, ValueError, "learning_rate should be a positive number"),
        ({"momentum": -0.1}, ValueError, "momentum should be a non-negative number"),
        ({"L2_penalty": -1.0}, ValueError, "L2_penalty should be a non-negative"),
        ({"test_data": torch.zeros(3, 5)}, ValueError, "given together"),
        (
            {"test_data": torch.zeros(3, 5), "test_labels": torch.zeros(2, 1)},
            ValueError,
            "test_data and test_labels should have the same number of rows",
        ),
        (
            {"L1_penalty": 1e-3, "penalized": [torch.zeros(8, 5, requires_grad=True)]},
            ValueError,
            "parameter of net",
        ),
        ({"L1_penalty": 1e-3, "penalized": ["weight"]}, TypeError, "parameter of net"),
        ({"loss_fn": "mse"}, TypeError, "loss_fn should be callable"),
        ({"loss_fn": nn.MSELoss(reduction="none")}, ValueError, "scalar tensor"),
        ({"net": "net"}, TypeError, "torch.nn.Module"),
    ],
)
def test_full_batch_bad_input(kwargs, err, match):
    x, y = _regression()
    args = {"net": _net(), "loss_fn": nn.MSELoss(), "train_data": x, "train_labels": y, "n_epochs": 2}
    args.update(kwargs)
    with pytest.raises(err, match=match):
        train_full_batch(**args)


# ------------------------------------------------------------------------- train_minibatch


def _classification(n=50):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, :1] > 0).float()
    return x, y


def _classifier(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1), nn.Sigmoid())


def test_minibatch_deterministic_and_learns():
    x, y = _classification()

    def run(seed):
        return train_minibatch(_classifier(), nn.BCELoss(), x, y, n_epochs=30, batch_size=16,
                               learning_rate=0.05, momentum=0.9, seed=seed)

    a, b, c = run(1), run(1), run(2)
    assert len(a) == 30 and all(isinstance(v, float) for v in a)
    assert a == b and a != c
    assert a[-1] < 0.5 * a[0]


def test_minibatch_matches_bare_loop():
    x, y = _classification()
    net, ref = _classifier(), _classifier()
    losses = train_minibatch(
        net,
        nn.BCELoss(),
        x,
        y,
        n_epochs=3,
        batch_size=16,
        learning_rate=0.01,
        momentum=0.99,
        seed=5,
        device="cpu",
    )
    g = torch.Generator().manual_seed(5)
    opt = optim.SGD(ref.parameters(), lr=0.01, momentum=0.99)
    expected = []
    for _ in range(3):
        order, total = torch.randperm(50, generator=g), 0.0
        for start in range(0, 50, 16):
            idx = order[start : start + 16]
            opt.zero_grad()
            loss = nn.BCELoss()(ref(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        expected.append(total / 50)
    np.testing.assert_allclose(losses, expected, rtol=1e-6)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), ref.parameters()))


def test_minibatch_global_rng_when_no_seed():
    x, y = _classification()
    torch.manual_seed(11)
    a = train_minibatch(_classifier(), nn.BCELoss(), x, y, n_epochs=2, batch_size=10)
    torch.manual_seed(11)
    b = train_minibatch(_classifier(), nn.BCELoss(), x, y, n_epochs=2, batch_size=10)
    assert a == b


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"train_labels": torch.zeros(49, 1)}, ValueError, "same number of rows"),
        ({"batch_size": 0}, ValueError, "batch_size should be a positive int"),
        ({"n_epochs": -1}, ValueError, "n_epochs should be a positive int"),
        ({"seed": 1.5}, TypeError, "seed should be an int or None"),
        ({"learning_rate": -1.0}, ValueError, "learning_rate should be a positive number"),
        ({"device": "meta"}, ValueError, "meta"),
    ],
)
def test_minibatch_bad_input(kwargs, err, match):
    x, y = _classification()
    args = {
        "net": _classifier(),
        "loss_fn": nn.BCELoss(),
        "train_data": x,
        "train_labels": y,
        "n_epochs": 1,
    }
    args.update(kwargs)
    with pytest.raises(err, match=match):
        train_minibatch(**args)


def test_module_exports_no_train_function():
    assert not hasattr(train_module, "train")


class _CountingNet(nn.Module):
    """A small regression net that counts its forward passes (optionally with dropout)."""

    def __init__(self, dropout: bool = False):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
        self.drop = nn.Dropout(0.0) if dropout else nn.Identity()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.drop(self.body(x))


@pytest.mark.parametrize("dropout", [False, True])
def test_full_batch_test_inputs_that_are_the_training_inputs_change_nothing(dropout):
    """Passing the training tensor itself as test_data trains and evaluates exactly like passing
    a copy: one forward pass per step for training and one for the test loss, either way."""
    torch.manual_seed(0)
    x = torch.randn(10, 4)
    y_train, y_test = torch.randn(10, 3), torch.randn(10, 3)
    a = _CountingNet(dropout)
    b = copy.deepcopy(a)
    kwargs = dict(n_epochs=7, learning_rate=0.05, momentum=0.9, L2_penalty=1e-3, L1_penalty=1e-4,
                  progress=False)
    tr_a, te_a = train_full_batch(a, nn.MSELoss(), x, y_train, test_data=x, test_labels=y_test, **kwargs)
    tr_b, te_b = train_full_batch(b, nn.MSELoss(), x, y_train, test_data=x.clone(), test_labels=y_test,
                                  **kwargs)
    assert tr_a == tr_b
    assert te_a == te_b
    assert a.calls == b.calls == 14
