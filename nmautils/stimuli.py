"""Visual stimuli: square-wave grating images and a small bank of convolution filters.

The images stand in for the full-field gratings shown to the mouse (a 640 x 480 pixel screen).
:func:`grating` builds one image; :func:`filters` builds the centre-surround and Gabor filters
used to initialise the convolutional layers of the encoding model (tutorial 2) and of the
normative CNN (assignment 3).

Examples
--------
>>> img = grating(45.0, res=0.025)
>>> tuple(img.shape), img.dtype
((12, 16), torch.float32)
>>> tuple(filters(6, 7).shape)
(6, 1, 7, 7)
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = ["grating", "filters"]

#: Size of the (virtual) screen in pixels at full resolution: height, width.
SCREEN_SHAPE = (480, 640)


def _scalar_angle(angle: object) -> float:
    """Return ``angle`` as a Python float, accepting numbers and one-element arrays/tensors."""
    if isinstance(angle, bool):
        raise TypeError(f"angle should be a number of degrees, but got a bool ({angle!r}).")
    if isinstance(angle, numbers.Real):
        return float(angle)
    if isinstance(angle, (torch.Tensor, np.ndarray)):
        n_values = angle.size if isinstance(angle, np.ndarray) else angle.numel()
        if n_values == 1:
            return float(angle.reshape(()).item())
        raise ValueError(
            "angle should be a single number of degrees (a scalar), but got an array of shape "
            f"{tuple(angle.shape)}; call grating() once per angle."
        )
    raise TypeError(f"angle should be a number of degrees, but got {type(angle).__name__}.")


def grating(
    angle: float,
    sf: float = 1 / 28,
    res: float = 0.1,
    patch: bool = False,
    centred: bool = False,
) -> torch.Tensor:
    """Make an image of a square-wave grating.

    The grating is defined on the full 480 x 640 pixel screen and sampled at the centres of a
    coarser grid of ``round(480 * res) x round(640 * res)`` pixels.

    Parameters
    ----------
    angle : float
        Orientation of the grating in degrees (a Python number, or a 0-d / one-element array or
        tensor). 0 gives vertical stripes; angles that differ by 180 degrees give the same image.
    sf : float
        Spatial frequency in radians of phase per full-resolution pixel (the convention of the
        original course), so one period spans ``2 * pi / sf`` screen pixels (about 176 for the
        default 1/28, i.e. between 3 and 4 periods across the screen). This keeps the stripes
        resolvable even at ``res=0.025``.
    res : float
        Resolution of the returned image relative to the 480 x 640 screen (0.1 -> 48 x 64,
        0.025 -> 12 x 16).
    patch : bool
        If true, only a circular patch of grating (radius one third of the screen height,
        centred) is shown on a uniform grey background.
    centred : bool
        If true, values are -0.5 / 0.5 (grey background 0), as in the encoding tutorial;
        otherwise 0 / 1 (grey 0.5), as in the assignment.

    Returns
    -------
    torch.Tensor
        float32 image of shape ``(round(480 * res), round(640 * res))``.
    """
    theta_deg = _scalar_angle(angle)
    for name, value in (("sf", sf), ("res", res)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} should be a positive number, but got {type(value).__name__}.")
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} should be a positive number, but got {value!r}.")
    height, width = (round(n * res) for n in SCREEN_SHAPE)
    if height < 1 or width < 1:
        raise ValueError(f"res={res!r} is too small: the image would have shape {(height, width)}.")

    # Orientation is defined modulo 180 degrees; reducing it first makes grating(a) and
    # grating(a + 180) identical bit for bit.
    theta = math.radians(theta_deg % 180.0)
    # Pixel centres of the coarse grid in full-resolution screen coordinates, origin at the
    # screen centre.
    y = (np.arange(height) + 0.5) / res - SCREEN_SHAPE[0] / 2
    x = (np.arange(width) + 0.5) / res - SCREEN_SHAPE[1] / 2
    yy, xx = np.meshgrid(y, x, indexing="ij")
    # Distance along the direction orthogonal to the stripes. A small phase offset keeps pixel
    # centres away from exact zero crossings of the cosine.
    phase = sf * (xx * math.cos(theta) + yy * math.sin(theta)) + 0.3
    image = (np.cos(phase) > 0).astype(np.float32)
    if patch:
        radius = SCREEN_SHAPE[0] / 3
        image[np.hypot(xx, yy) > radius] = 0.5
    if centred:
        image -= 0.5
    return torch.from_numpy(image)


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} should be an int, but got {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"{name} should be at least {minimum}, but got {value}.")
    return int(value)


def filters(out_channels: int = 6, K: int = 7, subtract_mean: bool = False) -> torch.Tensor:
    """Build a bank of centre-surround and Gabor filters for a Conv2d layer.

    Parameters
    ----------
    out_channels : int
        Number of filters (at least 2). The first two are centre-surround filters (a difference
        of Gaussians: an on-centre filter and its negation, the off-centre filter); the
        remaining ``out_channels - 2`` are Gabor filters at orientations
        ``180 * k / (out_channels - 2)`` degrees, ``k = 0, 1, ...`` (evenly spaced in [0, 180)).
    K : int
        Filter size in pixels (odd and positive), so filters are K x K.
    subtract_mean : bool
        If true, remove each filter's mean after normalising (the encoding tutorial does this);
        the largest absolute value may then differ slightly from 1.

    Returns
    -------
    torch.Tensor
        float32 tensor of shape ``(out_channels, 1, K, K)``, ready to copy into
        ``conv.weight`` of an ``nn.Conv2d(1, out_channels, K)``. Each filter is scaled so that
        its largest absolute value is 1 (before the optional mean subtraction).
    """
    out_channels = _check_int(out_channels, "out_channels", 2)
    K = _check_int(K, "K", 1)
    if K % 2 == 0:
        raise ValueError(f"K should be odd (so the filter has a centre pixel), but got {K}.")

    coords = np.arange(K) - K // 2
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    r2 = xx**2 + yy**2

    def gaussian(sigma: float) -> np.ndarray:
        g = np.exp(-r2 / (2 * sigma**2))
        return g / g.sum()

    sigma_centre, sigma_surround = max(K / 8, 0.5), max(K / 4, 1.0)
    dog = gaussian(sigma_centre) - gaussian(sigma_surround)
    bank = [dog, -dog]

    n_gabor = out_channels - 2
    sigma_env, wavelength = max(K / 4, 1.0), max(K / 1.75, 2.0)
    envelope = np.exp(-r2 / (2 * sigma_env**2))
    for k in range(n_gabor):
        theta = math.pi * k / n_gabor
        along = xx * math.cos(theta) + yy * math.sin(theta)
        bank.append(envelope * np.cos(2 * math.pi * along / wavelength))

    out = np.stack(bank).astype(np.float64)
    peak = np.abs(out).max(axis=(1, 2), keepdims=True)
    out = out / np.where(peak > 0, peak, 1.0)
    if subtract_mean:
        out = out - out.mean(axis=(1, 2), keepdims=True)
    return torch.from_numpy(out[:, None].astype(np.float32))
