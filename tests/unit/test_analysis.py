"""Tests of nmautils.analysis on small synthetic tensors."""

import numpy as np
import pytest
import torch
from torch import nn

from nmautils.analysis import (
    RDM,
    get_data,
    get_hidden_activity,
    rdm,
    stimulus_class,
)

# ------------------------------------------------------------------------------- get_data


def _toy_data(n=30, m=7):
    data = torch.arange(n * m, dtype=torch.float32).reshape(n, m)
    labels = torch.arange(n, dtype=torch.float32).reshape(n, 1) * 10
    return data, labels


def test_get_data_rows_match():
    data, labels = _toy_data()
    r, ori = get_data(12, data, labels, rng=0)
    assert r.shape == (12, 7) and ori.shape == (12, 1)
    rows = (r[:, 0] / 7).long()
    assert torch.equal(ori[:, 0], rows.float() * 10)


def test_get_data_randomness_sources():
    data, labels = _toy_data()
    np.random.seed(3)
    a = get_data(20, data, labels)
    np.random.seed(3)
    b = get_data(20, data, labels)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    c = get_data(20, data, labels, rng=np.random.default_rng(5))
    d = get_data(20, data, labels, rng=5)
    assert torch.equal(c[0], d[0])
    # with replacement: drawing more stimuli than exist is fine
    assert get_data(100, data, labels, rng=1)[0].shape == (100, 7)


def test_get_data_numpy_input():
    data, labels = _toy_data()
    r, ori = get_data(4, data.numpy(), labels.numpy(), rng=2)
    assert isinstance(r, np.ndarray) and r.shape == (4, 7) and ori.shape == (4, 1)


def test_get_data_bad_input():
    data, labels = _toy_data()
    with pytest.raises(ValueError, match="one row per row of train_data"):
        get_data(3, data, labels[:-1])
    with pytest.raises(ValueError, match=r"shape \(n_stimuli, n_neurons\)"):
        get_data(3, data[0], labels)
    with pytest.raises(TypeError, match="torch.Tensor or numpy array"):
        get_data(3, data.tolist(), labels)
    with pytest.raises(ValueError, match="positive int"):
        get_data(0, data, labels)
    with pytest.raises(TypeError, match="positive int"):
        get_data(2.0, data, labels)
    with pytest.raises(TypeError, match="rng should be"):
        get_data(2, data, labels, rng="seed")


# ------------------------------------------------------------------------- stimulus_class


def test_stimulus_class_edges():
    ori = torch.tensor([0.0, 17.999, 18.0, 180.0, 341.99, 342.0, 359.999, 360.0])
    assert stimulus_class(ori, 20).tolist() == [0, 0, 1, 10, 18, 19, 19, 19]
    out = stimulus_class(ori.reshape(-1, 1), 20)
    assert out.dtype == torch.int64 and out.shape == (8,)
    assert stimulus_class(np.array([0, 90, 359]), 4).tolist() == [0, 1, 3]
    assert stimulus_class(torch.tensor([123.0]), 1).tolist() == [0]


def test_stimulus_class_covers_all_classes_evenly():
    angles = torch.arange(360, dtype=torch.float32)
    counts = torch.bincount(stimulus_class(angles, 20), minlength=20)
    assert torch.all(counts == 18)


def test_stimulus_class_bad_input():
    with pytest.raises(ValueError, match="between 0 and 360"):
        stimulus_class(torch.tensor([-1.0, 10.0]), 4)
    with pytest.raises(ValueError, match="between 0 and 360"):
        stimulus_class(torch.tensor([361.0]), 4)
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, 1\)"):
        stimulus_class(torch.zeros(3, 2), 4)
    with pytest.raises(ValueError, match="positive int"):
        stimulus_class(torch.zeros(3), 0)
    with pytest.raises(TypeError, match="positive int"):
        stimulus_class(torch.zeros(3), 2.5)
    with pytest.raises(TypeError, match="torch.Tensor or numpy array"):
        stimulus_class("0 90", 4)


# --------------------------------------------------------------------- get_hidden_activity


class _TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(3 * 4 * 4, 5)
        self.out = nn.Linear(5, 1)

    def forward(self, x):
        h = self.pool(torch.relu(self.conv(x)))
        h = torch.relu(self.fc(h.flatten(1)))
        return torch.sigmoid(self.out(h))


def test_get_hidden_activity_shapes_and_hook_removal():
    torch.manual_seed(0)
    net = _TinyCNN().train()
    x = torch.randn(7, 1, 8, 8)
    acts = get_hidden_activity(net, x, ["pool", "fc"])
    assert list(acts) == ["pool", "fc"]
    assert acts["pool"].shape == (7, 48) and acts["fc"].shape == (7, 5)
    assert not acts["fc"].requires_grad
    with torch.no_grad():
        expected_fc = torch.relu(net.fc(net.pool(torch.relu(net.conv(x))).flatten(1)))
    # fc records the Linear's output (before the ReLU that forward applies afterwards)
    assert torch.allclose(torch.relu(acts["fc"]), expected_fc)
    assert all(not m._forward_hooks for m in net.modules())
    assert net.training  # mode restored
    single = get_hidden_activity(net, x, "out")
    assert single["out"].shape == (7, 1)


def test_get_hidden_activity_removes_hooks_on_error():
    net = _TinyCNN()
    with pytest.raises(RuntimeError):
        get_hidden_activity(net, torch.randn(2, 1, 5, 5), ["pool"])  # wrong image size
    assert all(not m._forward_hooks for m in net.modules())


def test_get_hidden_activity_bad_labels():
    net = _TinyCNN()
    with pytest.raises(ValueError, match=r"named children\) are \['conv', 'pool', 'fc', 'out'\]"):
        get_hidden_activity(net, torch.randn(2, 1, 8, 8), ["pool", "fc2"])
    with pytest.raises(TypeError, match="nn.Module"):
        get_hidden_activity(lambda x: x, torch.randn(2, 1, 8, 8), ["pool"])
    with pytest.raises(TypeError, match="torch.Tensor"):
        get_hidden_activity(net, np.zeros((2, 1, 8, 8)), ["pool"])
    with pytest.raises(ValueError, match="layer names"):  # a list, but empty
        get_hidden_activity(net, torch.randn(2, 1, 8, 8), [])
    with pytest.raises(TypeError, match="layer name"):
        get_hidden_activity(net, torch.randn(2, 1, 8, 8), ["pool", 3])


# ------------------------------------------------------------------------------------ RDM


def test_rdm_properties_and_reference():
    resp = torch.randn(9, 40, generator=torch.Generator().manual_seed(0))
    D = RDM(resp)
    assert D.shape == (9, 9) and D.dtype == torch.float32
    assert torch.equal(D, D.T)
    assert torch.all(torch.diagonal(D) == 0)
    np.testing.assert_allclose(D.numpy(), 1 - np.corrcoef(resp.numpy()), atol=1e-6)
    assert rdm is RDM
    assert RDM(resp.double()).dtype == torch.float64
    # invariant to the scale and offset of each stimulus's response
    scaled = resp * torch.arange(1, 10).reshape(9, 1) + 3
    assert torch.allclose(RDM(scaled), D, atol=1e-6)


def test_rdm_silent_stimulus_warns():
    resp = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    resp[2] = 0.0
    with pytest.warns(RuntimeWarning, match="same response in every unit"):
        D = RDM(resp)
    assert torch.all(torch.isfinite(D)) and D[2, 0] == 1 and D[2, 2] == 0


def test_rdm_bad_input():
    with pytest.raises(ValueError, match=r"shape \(n_stimuli, n_neurons\)"):
        RDM(torch.zeros(5))
    with pytest.raises(ValueError, match="at least 2 neurons"):
        RDM(torch.zeros(5, 1))
    with pytest.raises(TypeError, match="torch.Tensor or numpy array"):
        RDM("resp")


def test_no_helper_answers_an_exercise():
    """Preferred orientations and RDM correlations are exercises, so the package has neither."""
    import nmautils.analysis as analysis

    for name in ("preferred_orientation", "correlate_rdms"):
        assert name not in analysis.__all__
        assert not hasattr(analysis, name)
