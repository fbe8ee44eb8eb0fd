"""Tests of nmautils.stimuli: grating images and filter banks."""

import math

import numpy as np
import pytest
import torch

from nmautils.stimuli import filters, grating


@pytest.mark.parametrize("res, shape", [(0.1, (48, 64)), (0.025, (12, 16)), (0.05, (24, 32))])
def test_grating_shape_dtype_values(res, shape):
    img = grating(30.0, res=res)
    assert img.shape == shape
    assert img.dtype == torch.float32
    assert set(torch.unique(img).tolist()) == {0.0, 1.0}


def test_grating_centred_values_and_offset():
    plain, centred = grating(20, res=0.1), grating(20, res=0.1, centred=True)
    assert set(torch.unique(centred).tolist()) == {-0.5, 0.5}
    assert torch.equal(centred, plain - 0.5)


def test_grating_orientation_properties():
    g0, g90 = grating(0), grating(90)
    assert not torch.equal(g0, g90)
    # 0 degrees: vertical stripes, constant down each column; 90 degrees: constant along rows
    assert torch.all(g0 == g0[0:1, :])
    assert torch.all(g90 == g90[:, 0:1])
    for angle in (0.0, 37.0, 123.5, -150.0):
        assert torch.equal(grating(angle), grating(angle + 180))
    assert torch.equal(grating(-150, res=0.025), grating(30, res=0.025))
    # neighbouring orientations give similar, but not identical, images
    assert (
        0 < (grating(0) != grating(6)).float().mean() < (grating(0) != grating(90)).float().mean()
    )


def test_grating_accepts_scalar_types():
    ref = grating(45)
    for angle in (45.0, np.float32(45), torch.tensor(45.0), np.array([45.0]), torch.tensor([45])):
        assert torch.equal(grating(angle), ref)


def test_grating_patch():
    img = grating(45, patch=True)
    assert img[0, 0] == 0.5 and img[-1, -1] == 0.5  # corners are grey background
    assert {0.0, 0.5, 1.0} == set(torch.unique(img).tolist())
    c = grating(45, patch=True, centred=True)
    assert c[0, 0] == 0.0 and set(torch.unique(c).tolist()) == {-0.5, 0.0, 0.5}


def test_grating_spatial_frequency_changes_image():
    assert not torch.equal(grating(30, sf=1 / 28), grating(30, sf=1 / 14))


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"res": 0}, ValueError, "res should be a positive"),
        ({"res": -0.1}, ValueError, "res should be a positive"),
        ({"sf": 0}, ValueError, "sf should be a positive"),
        ({"sf": "x"}, TypeError, "sf should be a positive"),
        ({"res": 1e-4}, ValueError, "too small"),
    ],
)
def test_grating_bad_parameters(kwargs, err, match):
    with pytest.raises(err, match=match):
        grating(10, **kwargs)


def test_grating_bad_angle():
    with pytest.raises(ValueError, match="single number"):
        grating(torch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="number of degrees"):
        grating("45")
    with pytest.raises(TypeError, match="bool"):
        grating(True)


def test_filters_shape_and_normalisation():
    f = filters()
    assert f.shape == (6, 1, 7, 7) and f.dtype == torch.float32
    assert torch.allclose(f.abs().amax(dim=(1, 2, 3)), torch.ones(6))
    assert torch.equal(f[1], -f[0])  # the off-centre filter negates the on-centre one
    # the centre-surround filter peaks (in absolute value) at the centre
    assert f[0, 0].abs().argmax() == 7 * 3 + 3
    # Gabors at different orientations differ
    assert not torch.allclose(f[2], f[3])


def test_filters_other_sizes_and_mean():
    f = filters(out_channels=4, K=5)
    assert f.shape == (4, 1, 5, 5)
    g = filters(out_channels=8, K=9, subtract_mean=True)
    assert g.shape == (8, 1, 9, 9)
    assert torch.allclose(g.mean(dim=(1, 2, 3)), torch.zeros(8), atol=1e-6)
    assert torch.equal(g[1], -g[0])
    assert filters(2).shape == (2, 1, 7, 7)


def _filters_by_formula(C: int, K: int) -> np.ndarray:
    """Section C of the curriculum, element by element in plain Python (independent code)."""
    grid = [-K / 2 + i * K / (K - 1) for i in range(K)] if K > 1 else [-K / 2]
    sigma = 1.1
    thetas = [180 * k / (C - 2) for k in range(C - 2)]  # linspace(0, 180, C - 1)[:-1]
    bank = np.zeros((C, K, K))
    for i, x in enumerate(grid):  # 'ij': x runs down the rows
        for j, y in enumerate(grid):
            r = math.sqrt(x * x + y * y)
            cs = math.exp(-r / (2 * sigma**2)) - 0.5 * math.exp(-r / (2 * (2 * sigma) ** 2))
            bank[0, i, j], bank[1, i, j] = cs, -cs
            for k, t in enumerate(thetas):
                xp = x * math.cos(math.radians(t)) + y * math.sin(math.radians(t))
                bank[2 + k, i, j] = (math.exp(-r / (2 * (0.4 * sigma) ** 2))
                                     * math.cos(2 * math.pi * xp / 10 + math.pi / 2))
    for f in bank:
        f /= np.abs(f).max()
    return bank


@pytest.mark.parametrize("C, K", [(6, 7), (4, 5), (10, 9)])
def test_filters_match_the_original_definition(C, K):
    expected = _filters_by_formula(C, K)
    got = filters(C, K).numpy()[:, 0]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    centred = filters(C, K, subtract_mean=True).numpy()[:, 0]
    np.testing.assert_allclose(centred, expected - expected.mean(axis=(1, 2), keepdims=True),
                               atol=1e-6)


def test_filters_derived_facts():
    bank = filters(6, 7).numpy()[:, 0]
    # the mean subtraction of the encoding tutorial moves only the centre-surround pair, by 0.104
    # (the on-centre filter has mean -0.104, the off-centre one +0.104)
    shift = bank - filters(6, 7, subtract_mean=True).numpy()[:, 0]
    assert shift[0].mean() == pytest.approx(-0.104, abs=1e-3)
    assert shift[1].mean() == pytest.approx(0.104, abs=1e-3)
    np.testing.assert_allclose(shift[2:], 0, atol=1e-6)
    # the 0-degree Gabor changes down the rows (a horizontal edge), constant-signed along a row
    g0 = bank[2]
    assert np.abs(np.diff(g0, axis=0)).sum() > np.abs(np.diff(g0, axis=1)).sum()


def _grating_by_formula(angle: float, sf: float, res: float, patch: bool) -> np.ndarray:
    h, w = round(480 * res), round(640 * res)
    theta = math.radians(angle % 180) + (0.1 if patch else 0.0)
    img = np.zeros((h, w))
    for row in range(h):
        for col in range(w):
            u, v = sf * col / res, sf * row / res
            img[row, col] = 1.0 if math.cos(u * math.cos(theta) + v * math.sin(theta)) > 0 else 0.0
            if patch and math.hypot(col - 0.75 * w, row - 0.5 * h) >= 640 / 6 * res:
                img[row, col] = 0.5
    return img


@pytest.mark.parametrize("angle", [0.0, 17.5, 45.0, 90.0, 133.0, 179.0])
@pytest.mark.parametrize("res, patch", [(0.1, False), (0.025, False), (0.1, True)])
def test_grating_matches_the_original_definition(angle, res, patch):
    got = grating(angle, res=res, patch=patch).numpy()
    np.testing.assert_allclose(got, _grating_by_formula(angle, 1 / 28, res, patch), atol=1e-6)
    np.testing.assert_allclose(grating(angle, res=res, patch=patch, centred=True).numpy(),
                               got - 0.5, atol=1e-6)


def test_grating_period_is_17_6_pixels_at_48_by_64():
    row = grating(0.0, res=0.1).numpy()[0]
    rising = np.flatnonzero(np.diff(row) > 0)  # starts of the bright bars
    assert np.diff(rising).mean() == pytest.approx(2 * math.pi * 28 / 10, abs=0.6)


@pytest.mark.parametrize(
    "args, err, match",
    [
        ((1, 7), ValueError, "out_channels should be at least 2"),
        ((6, 6), ValueError, "K should be odd"),
        ((6, 0), ValueError, "K should be at least 1"),
        ((6.0, 7), TypeError, "out_channels should be an int"),
        ((6, 7.0), TypeError, "K should be an int"),
    ],
)
def test_filters_bad_input(args, err, match):
    with pytest.raises(err, match=match):
        filters(*args)
