"""Assignment 3's exact definitions (curriculum section C), checked against values computed here
independently of nmautils and of the notebook:

- the model answer's ``CNN``: conv weights = the filter bank ``filters(6, 7)`` WITHOUT mean
  subtraction, conv bias 0, ``fc`` and ``out`` with PyTorch's default initialisation, forward
  relu(conv) -> MaxPool(8) -> relu(fc) -> sigmoid(out);
- the hooks of ``get_hidden_activity``: 'pool' recorded post-ReLU, 'fc' recorded PRE-ReLU (and
  the notebook's text says so);
- ``RDM``: z-score each stimulus's population vector, then 1 - Z Z^T / N.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nmautils.analysis import RDM, get_hidden_activity
from nmautils.course import build, notebooks
from nmautils.stimuli import filters

ASSIGNMENT = "assignment3_interpret"


def _source():
    return notebooks.read(build.source_path(ASSIGNMENT))


def _answer(gid: str) -> str:
    cell = next(c for c in _source().cells if notebooks.nbgrader_meta(c).get("grade_id") == gid)
    return notebooks.strip_solution_markers(cell.source)


@pytest.fixture(scope="module")
def CNN():
    namespace = {"nn": nn, "torch": torch, "filters": filters}
    exec(_answer("ex_cnn"), namespace)
    return namespace["CNN"]


def _bank_by_hand(n_out: int = 6, K: int = 7) -> np.ndarray:
    """The original course's filter bank, written out from its formulas (section C)."""
    grid = [-K / 2 + i * K / (K - 1) for i in range(K)]
    sigma = 1.1
    bank = []
    cs = [[math.exp(-math.hypot(x, y) / (2 * sigma**2))
           - 0.5 * math.exp(-math.hypot(x, y) / (2 * (2 * sigma) ** 2)) for y in grid] for x in grid]
    bank += [cs, [[-v for v in row] for row in cs]]
    for k in range(n_out - 2):
        theta = math.radians(180 / (n_out - 2) * k)
        bank.append([[math.exp(-math.hypot(x, y) / (2 * (0.4 * sigma) ** 2))
                      * math.cos(2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / 10
                                 + math.pi / 2) for y in grid] for x in grid])
    out = np.array(bank)
    return out / np.abs(out).max(axis=(1, 2), keepdims=True)


def test_cnn_layers_and_initialisation(CNN):
    torch.manual_seed(0)
    net = CNN(48, 64)
    expected = _bank_by_hand()
    np.testing.assert_allclose(net.conv.weight.detach().numpy()[:, 0], expected, atol=1e-6)
    # no mean subtraction: the centre-surround pair keeps its nonzero mean
    assert abs(float(net.conv.weight.detach()[0].mean())) > 0.05
    assert torch.equal(net.conv.bias.detach(), torch.zeros(6))
    assert net.conv.padding in ((3, 3), 3) and net.pool.kernel_size in (8, (8, 8))
    # default initialisation of fc and out: uniform within +-1/sqrt(fan_in), the same draws as a
    # freshly made nn.Linear after the same random calls
    for layer, fan_in in ((net.fc, 288), (net.out, 10)):
        bound = 1 / math.sqrt(fan_in)
        largest = float(layer.weight.detach().abs().max())
        assert 0.8 * bound < largest <= bound + 1e-7
    torch.manual_seed(0)
    nn.Conv2d(1, 6, kernel_size=7, padding=3)
    reference_fc = nn.Linear(288, 10)
    assert torch.equal(net.fc.weight.detach(), reference_fc.weight.detach())


def test_cnn_forward_by_hand(CNN):
    torch.manual_seed(1)
    net = CNN(48, 64)
    x = (torch.rand(3, 1, 48, 64) > 0.5).float()
    with torch.no_grad():
        got = net(x).numpy()
    w = net.conv.weight.detach().numpy()
    img = np.pad(x.numpy()[:, 0], ((0, 0), (3, 3), (3, 3)))
    conv = np.zeros((3, 6, 48, 64))
    for i in range(7):
        for j in range(7):
            conv += w[None, :, 0, i, j, None, None] * img[:, None, i:i + 48, j:j + 64]
    conv = np.maximum(conv, 0)  # bias 0
    pooled = conv.reshape(3, 6, 6, 8, 8, 8).max(axis=(3, 5))
    hidden = np.maximum(pooled.reshape(3, -1) @ net.fc.weight.detach().numpy().T
                        + net.fc.bias.detach().numpy(), 0)
    logit = hidden @ net.out.weight.detach().numpy().T + net.out.bias.detach().numpy()
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-logit)), atol=1e-5)


def test_hooks_record_pool_post_relu_and_fc_pre_relu(CNN):
    torch.manual_seed(2)
    net = CNN(48, 64)
    with torch.no_grad():
        net.fc.bias.fill_(-0.5)  # makes some fc units negative before their ReLU
    x = (torch.rand(5, 1, 48, 64) > 0.5).float()
    activity = get_hidden_activity(net, x, ["pool", "fc"])
    with torch.no_grad():
        pooled = nn.functional.max_pool2d(torch.relu(nn.functional.conv2d(
            x, net.conv.weight, padding=3)), 8).flatten(1)
        fc_pre = pooled @ net.fc.weight.T + net.fc.bias
    torch.testing.assert_close(activity["pool"], pooled)
    assert float(activity["pool"].min()) >= 0
    torch.testing.assert_close(activity["fc"], fc_pre)
    assert float(activity["fc"].min()) < 0, "fc is recorded before its ReLU"
    text = " ".join(c.source for c in _source().cells if c.cell_type == "markdown")
    assert "**post-ReLU**" in text and "**pre-ReLU**" in text


def test_rdm_is_one_minus_z_zt_over_n():
    rng = np.random.default_rng(0)
    resp = rng.normal(size=(7, 40)) * rng.uniform(0.5, 3, size=(7, 1)) + rng.normal(size=(7, 1))
    z = (resp - resp.mean(axis=1, keepdims=True)) / resp.std(axis=1, keepdims=True)
    expected = 1 - z @ z.T / resp.shape[1]
    np.testing.assert_allclose(RDM(resp.astype(np.float64)).numpy(), expected, atol=1e-10)
    np.testing.assert_allclose(expected, 1 - np.corrcoef(resp), atol=1e-10)
