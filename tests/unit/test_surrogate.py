"""The synthetic surrogate has the real files' schema and the properties the lessons rely on.

Statistics are checked with tolerances (numpy guarantees a generator's stream only on one numpy
build). The decoders follow the course's own recipes and seeds, in plain torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nmautils.surrogate import N_NEURONS, N_NEURONS_SMALL, make_surrogate

ONE = "W3D4_stringer_oribinned1.npz"
SPLIT = "W3D4_stringer_oribinned6_split.npz"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small matrices: one torch thread is fastest and avoids oversubscription under xdist."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def full():
    return make_surrogate(ONE, "full")


@pytest.fixture(scope="module")
def small():
    return make_surrogate(ONE, "small")


@pytest.fixture(scope="module")
def small_split():
    return make_surrogate(SPLIT, "small")


@pytest.fixture(scope="module")
def course_split():
    """The course's 60 / 40 split of the 360 stimuli (seed 4)."""
    np.random.seed(4)
    torch.manual_seed(4)
    perm = np.random.permutation(360)
    return perm[:216], perm[216:]


def _fourier(resp: np.ndarray, harmonic: int) -> np.ndarray:
    theta = np.deg2rad(np.arange(resp.shape[0]) * 360 / resp.shape[0])
    return np.abs(np.exp(-1j * harmonic * theta) @ resp.astype(np.float64)) * 2 / resp.shape[0]


def _tuned(resp: np.ndarray) -> np.ndarray:
    """Neurons whose orientation (2nd harmonic) modulation is far above the noise level."""
    return _fourier(resp, 2) > 4 * resp.std(axis=0) * np.sqrt(2 / resp.shape[0])


def _smooth(resp: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    """Circular Gaussian smoothing along the stimulus axis (like gaussian_filter1d, wrap)."""
    offsets = np.arange(-4 * int(sigma), 4 * int(sigma) + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.zeros_like(resp, dtype=np.float64)
    for k, w in zip(offsets, kernel):
        out += w * np.roll(resp, k, axis=0)
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-column Pearson correlation."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


# ---------------------------------------------------------------------------------------------
# schema and determinism


@pytest.mark.parametrize("size, n", [("full", N_NEURONS), ("small", N_NEURONS_SMALL)])
def test_one_degree_schema(size, n, full, small):
    data = full if size == "full" else small
    assert sorted(data) == ["resp", "stimuli"]
    assert data["resp"].shape == (360, n) and data["resp"].dtype == np.float32
    assert data["stimuli"].shape == (360,)
    np.testing.assert_array_equal(data["stimuli"], np.arange(360))


def test_split_schema(small_split):
    full_split = make_surrogate(SPLIT)
    for data, n in [(full_split, N_NEURONS), (small_split, N_NEURONS_SMALL)]:
        assert sorted(data) == ["resp_test", "resp_train", "stimuli"]
        for key in ("resp_train", "resp_test"):
            assert data[key].shape == (60, n) and data[key].dtype == np.float32
        assert data["stimuli"].shape == (60,)
        np.testing.assert_allclose(data["stimuli"], np.arange(60) * 6 + 2.5)


def test_deterministic_and_seeded(small):
    again = make_surrogate(ONE, "small")
    np.testing.assert_array_equal(again["resp"], small["resp"])
    other = make_surrogate(ONE, "small", seed=1)
    assert not np.allclose(other["resp"], small["resp"])


@pytest.mark.parametrize(
    "args, error",
    [(("nope.npz",), ValueError), ((ONE, "huge"), ValueError), ((ONE, "full", 1.5), TypeError)],
)
def test_bad_arguments(args, error):
    with pytest.raises(error):
        make_surrogate(*args)


# ---------------------------------------------------------------------------------------------
# per-neuron properties


def test_columns_are_zscored_then_binned(full):
    resp = full["resp"]
    assert np.abs(resp.mean(0)).max() < 0.1
    std = resp.std(0)
    assert 0.25 < np.median(std) < 0.55, np.median(std)
    assert std.max() < 1.0


def test_tuning_two_peaks_direction_spread_and_coverage(small):
    resp = small["resp"]
    tuned = _tuned(resp)
    assert 0.6 < tuned.mean() < 0.95, tuned.mean()  # most tuned, some untuned
    # orientation (two peaks 180 degrees apart) dominates direction for most tuned neurons
    assert (_fourier(resp, 2) > _fourier(resp, 1))[tuned].mean() > 0.75
    smooth = _smooth(resp)
    peak = smooth.argmax(0)
    window = (peak[None, :] + 180 + np.arange(-15, 16)[:, None]) % 360
    low = smooth.min(0)
    second = (np.take_along_axis(smooth, window, 0).max(0) - low) / (smooth.max(0) - low)
    assert (second[tuned] > 0.3).mean() > 0.7  # a second peak opposite the first
    assert np.percentile(second[tuned], 10) < 0.4 < np.percentile(second[tuned], 90)  # spread
    counts = np.histogram(peak[tuned], bins=12, range=(0, 360))[0]
    assert counts.min() > 0.5 * counts.mean()  # preferred directions cover the circle


def test_split_halves_differ_by_trial_noise_only(small, small_split):
    train, test = small_split["resp_train"], small_split["resp_test"]
    tuned = _tuned(small["resp"])
    assert np.median(_corr(train, test)[tuned]) > 0.6
    # the difference of the halves is unrelated to the tuning curves
    assert abs(np.median(_corr(train - test, train + test))) < 0.05
    # same neurons and trials as the 1-degree file
    six = small["resp"].reshape(60, 6, -1).mean(1)
    assert np.median(_corr(six, (train + test) / 2)[tuned]) > 0.95


# ---------------------------------------------------------------------------------------------
# the course's decoders


def _regression_net(n_neurons: int) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(n_neurons, 10), nn.ReLU(), nn.Linear(10, 1))


def test_regression_decoder_recipe(full, course_split):
    itrain, itest = course_split
    resp = torch.tensor(full["resp"])
    stimuli = torch.tensor(full["stimuli"], dtype=torch.float32).unsqueeze(1)
    x_train, y_train, x_test, y_test = resp[itrain], stimuli[itrain], resp[itest], stimuli[itest]
    net = _regression_net(resp.shape[1])
    loss_fn = nn.MSELoss()
    pick = torch.randint(len(itrain), (20,))
    with torch.no_grad():
        untrained = loss_fn(net(x_train[pick]), y_train[pick]).item()
    assert 25_000 < untrained < 65_000, untrained  # real data: 42,949
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-4)
    losses = []
    for _ in range(50):
        loss = loss_fn(net(x_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] / losses[-1] > 20, losses  # real data: ~42,949 -> 144
    with torch.no_grad():
        err = (net(x_test) - y_test).squeeze(1).numpy()
    angle = y_test.squeeze(1).numpy()
    seam = (angle < 30) | (angle > 330)
    mid = (angle >= 60) & (angle <= 300)
    assert (err[seam] ** 2).sum() > 0.5 * (err**2).sum()  # errors concentrate at 0/360
    assert np.median(np.abs(err[mid])) < 20
    assert np.abs(err).max() > 3 * np.abs(err[mid]).max()


def test_classifier_recipe(small, course_split):
    itrain, itest = course_split
    resp = torch.tensor(small["resp"])
    classes = torch.tensor(np.digitize(small["stimuli"], np.linspace(0, 360, 21)) - 1)
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Linear(resp.shape[1], 20), nn.ReLU(), nn.Linear(20, 20), nn.LogSoftmax(dim=1)
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    loss_fn = nn.NLLLoss()
    x_train, c_train = resp[itrain], classes[itrain]
    for _ in range(1000):
        loss = loss_fn(net(x_train), c_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (net(resp[itest]).argmax(1) == classes[itest]).float().mean().item()
    assert accuracy >= 0.5, accuracy  # real data: about 0.8


def test_ridge_decoder_limited_by_shared_noise(full, course_split):
    itrain, itest = course_split
    x = torch.tensor(full["resp"], dtype=torch.float64)
    theta = torch.deg2rad(torch.tensor(full["stimuli"], dtype=torch.float64))
    y = torch.stack([torch.cos(theta), torch.sin(theta)], 1)
    x_train = x[itrain]
    mean = x_train.mean(0)
    x_train = x_train - mean
    gram = x_train @ x_train.T + 10.0 * torch.eye(len(itrain), dtype=torch.float64)
    weights = x_train.T @ torch.linalg.solve(gram, y[itrain] - y[itrain].mean(0))
    pred = (x[itest] - mean) @ weights + y[itrain].mean(0)
    decoded = torch.rad2deg(torch.atan2(pred[:, 1], pred[:, 0])).numpy()
    err = np.abs((decoded - full["stimuli"][itest] + 180) % 360 - 180)
    assert 1.0 < np.median(err) < 6.0, np.median(err)  # real data: about 2-3 degrees
