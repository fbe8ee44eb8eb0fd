"""What a notebook runs on: package versions and the device, printed by every set-up cell.

On Colab a student can switch to a GPU runtime (Runtime > Change runtime type); the set-up cell
then says ``device: cuda (<GPU name>)`` and the training functions run there. Results on a GPU
differ from the stored (CPU) outputs in the last digits.
"""

from __future__ import annotations

import torch

__all__ = ["runtime_line", "show_runtime"]


def runtime_line(device: str | torch.device | None = None) -> str:
    """One line: the nmautils and torch versions and the device computations run on.

    Parameters
    ----------
    device : str or torch.device, optional
        The device; default :func:`nmautils.train.pick_device` (``NMAUTILS_DEVICE``, else CUDA
        when available, else the CPU).

    Returns
    -------
    str
        E.g. ``"nmautils 0.1.0 | torch 2.13.0 | device: cpu"`` or
        ``"... | device: cuda (Tesla T4)"``.

    Examples
    --------
    >>> runtime_line("cpu")
    'nmautils ... | torch ... | device: cpu'
    """
    from . import __version__
    from .train import pick_device

    dev = pick_device(device)
    where = dev.type
    if dev.type == "cuda":
        where += f" ({torch.cuda.get_device_name(dev)})"
    return f"nmautils {__version__} | torch {torch.__version__.split('+')[0]} | device: {where}"


def show_runtime(device: str | torch.device | None = None) -> torch.device:
    """Print :func:`runtime_line` and return the device (for the notebook's ``device``).

    Parameters
    ----------
    device : str or torch.device, optional
        As for :func:`runtime_line`.

    Returns
    -------
    torch.device
        The device the line names.
    """
    from .train import pick_device

    dev = pick_device(device)
    print(runtime_line(dev))
    return dev
