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

import numpy as np
import torch

from ._validate import as_scalar, check_int, check_number

__all__ = ["grating", "filters"]

#: Size of the (virtual) screen in pixels at full resolution: height, width.
SCREEN_SHAPE = (480, 640)


def grating(
    angle: float,
    sf: float = 1 / 28,
    res: float = 0.1,
    patch: bool = False,
    centred: bool = False,
) -> torch.Tensor:
    """Make an image of a square-wave grating, exactly as the original course defines it.

    Pixel ``(row, col)`` of the ``round(480 * res) x round(640 * res)`` image is 1 where
    ``cos(u cos(theta) + v sin(theta)) > 0`` and 0 elsewhere, with ``u = sf * col / res`` and
    ``v = sf * row / res``: the phase is zero at the top-left pixel, and there is no factor of
    2 pi, so one period spans ``2 pi / sf`` full-resolution pixels (about 176 for the default
    1/28: 17.6 pixels at ``res=0.1``, 4.4 at ``res=0.025``).

    Parameters
    ----------
    angle : float
        Orientation in degrees (a Python number, or a 0-d / one-element array or tensor).
        0 gives vertical stripes. Angles 180 degrees apart give the same image (bit for bit: the
        angle is reduced modulo 180 first), so a grating's drifting *direction* is not in it.
    sf : float
        Spatial frequency in radians of phase per full-resolution screen pixel.
    res : float
        Resolution relative to the 480 x 640 screen (0.1 -> 48 x 64, 0.025 -> 12 x 16).
    patch : bool
        If true (as in the original), the angle gets 0.1 rad more, and only a disc of radius
        ``640 / 6 * res`` pixels centred at ``(0.75 W, 0.5 H)`` - right of centre - shows the
        grating; the rest is 0.5.
    centred : bool
        If true, subtract 0.5 (values +-0.5, the grey background 0), as the encoding tutorial
        does; otherwise values are 0 / 1 (background 0.5), as in the assignment.

    Returns
    -------
    torch.Tensor
        float32 image of shape ``(round(480 * res), round(640 * res))``.

    Examples
    --------
    >>> img = grating(0.0, res=0.1)
    >>> img[0, :3].tolist(), float(img[:, 0].min())  # vertical stripes; 1 at the top-left
    ([1.0, 1.0, 1.0], 1.0)
    """
    theta_deg = as_scalar(angle, "angle", "a single number of degrees")
    sf = check_number(sf, "sf", minimum=0, include_min=False)
    res = check_number(res, "res", minimum=0, include_min=False)
    height, width = (round(n * res) for n in SCREEN_SHAPE)
    if height < 1 or width < 1:
        raise ValueError(
            f"res should be large enough for an image of at least 1 x 1 pixels, but got {res!r} "
            f"(too small: the image would have shape {(height, width)})."
        )

    theta = math.radians(theta_deg % 180.0) + (0.1 if patch else 0.0)
    v = sf * np.arange(height) / res
    u = sf * np.arange(width) / res
    vv, uu = np.meshgrid(v, u, indexing="ij")
    image = (np.cos(uu * math.cos(theta) + vv * math.sin(theta)) > 0).astype(np.float32)
    if patch:
        rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        inside = np.hypot(cols - 0.75 * width, rows - 0.5 * height) < SCREEN_SHAPE[1] / 6 * res
        image[~inside] = 0.5
    if centred:
        image -= 0.5
    return torch.from_numpy(image)


def filters(out_channels: int = 6, K: int = 7, subtract_mean: bool = False) -> torch.Tensor:
    """Centre-surround and Gabor filters for a Conv2d layer, as the original course defines them.

    On the grid ``x = linspace(-K/2, K/2, K)`` (meshgrid with ``indexing="ij"``: the first
    coordinate runs down the rows) with ``r = sqrt(x**2 + y**2)`` and ``sigma = 1.1``:

    - filter 0 is the centre-surround filter
      ``exp(-r / (2 sigma**2)) - 0.5 exp(-r / (2 (2 sigma)**2))`` (exponential in ``r``, not
      ``r**2``), filter 1 its negative;
    - filters 2, 3, ... are odd-phase Gabors
      ``exp(-r / (2 (0.4 sigma)**2)) cos(2 pi x' / 10 + pi / 2)`` with
      ``x' = x cos(theta) + y sin(theta)`` at ``theta = linspace(0, 180, out_channels - 1)[:-1]``
      degrees (0, 45, 90, 135 for six filters). Their envelope is so narrow that each is nearly
      a pair of +-1 pixels; the 0-degree one is a horizontal edge, while ``grating(0)`` has
      vertical stripes.

    Each filter is divided by its largest absolute value.

    Parameters
    ----------
    out_channels : int
        Number of filters (at least 2).
    K : int
        Filter size in pixels (odd and positive), so filters are K x K.
    subtract_mean : bool
        If true, subtract each filter's mean after normalising, as the encoding tutorial does
        (this moves only the centre-surround pair; the Gabors have zero mean). The assignment's
        CNN does not.

    Returns
    -------
    torch.Tensor
        float32 tensor of shape ``(out_channels, 1, K, K)``, ready to copy into
        ``conv.weight`` of an ``nn.Conv2d(1, out_channels, K)``.

    Examples
    --------
    >>> bank = filters(6, 7)
    >>> tuple(bank.shape), float(bank[0].abs().max()), bool(torch.equal(bank[1], -bank[0]))
    ((6, 1, 7, 7), 1.0, True)
    """
    out_channels = check_int(out_channels, "out_channels", minimum=2)
    K = check_int(K, "K", minimum=1)
    if K % 2 == 0:
        raise ValueError(f"K should be odd (so the filter has a centre pixel), but got {K}.")

    grid = np.linspace(-K / 2, K / 2, K)
    xx, yy = np.meshgrid(grid, grid, indexing="ij")
    r = np.sqrt(xx**2 + yy**2)
    sigma = 1.1
    centre_surround = np.exp(-r / (2 * sigma**2)) - 0.5 * np.exp(-r / (2 * (2 * sigma) ** 2))
    bank = [centre_surround, -centre_surround]
    envelope = np.exp(-r / (2 * (0.4 * sigma) ** 2))
    for theta_deg in np.linspace(0, 180, out_channels - 1)[:-1]:
        theta = np.deg2rad(theta_deg)
        along = xx * np.cos(theta) + yy * np.sin(theta)
        bank.append(envelope * np.cos(2 * np.pi * along / 10 + np.pi / 2))

    out = np.stack(bank).astype(np.float64)
    peak = np.abs(out).max(axis=(1, 2), keepdims=True)
    out = out / np.where(peak > 0, peak, 1.0)
    if subtract_mean:
        out = out - out.mean(axis=(1, 2), keepdims=True)
    return torch.from_numpy(out[:, None].astype(np.float32))
