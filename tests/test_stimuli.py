"""Tests of nmautils.stimuli: grating images and filter banks."""

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


def test_filters_gabor_orientations_evenly_spaced():
    # With 4 Gabors at 0, 45, 90, 135 degrees: the 90-degree one is the 0-degree one transposed
    f = filters(out_channels=6, K=7)
    assert torch.allclose(f[4, 0], f[2, 0].T, atol=1e-6)
    # and the 135-degree one is the 45-degree one mirrored left-right
    assert torch.allclose(f[5, 0], torch.flip(f[3, 0], dims=[1]), atol=1e-6)


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
