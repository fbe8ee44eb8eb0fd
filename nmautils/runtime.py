"""What a notebook runs on: package versions and the device, printed by every set-up cell.

On Colab a student can switch to a GPU runtime (Runtime > Change runtime type); the set-up cell
then says ``device: cuda (<GPU name>)`` and the training functions run there. Results on a GPU
differ from the stored (CPU) outputs in the last digits.

The course's own machines also start their kernels with faster memory allocation
(:func:`tune`): the build, the test suite and the grading sandbox. Nothing in nmautils does that
by itself; importing it changes nothing in the process.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when a function needs it: tune() runs without it
    import torch

__all__ = ["ALLOCATOR_ENV", "runtime_line", "show_runtime", "tune"]

#: Environment variables that make large CPU tensors cheaper to allocate, in a process started
#: with them (Linux; elsewhere they do nothing). None changes a number the process computes.
ALLOCATOR_ENV = {
    # PyTorch backs large CPU tensors with transparent huge pages: fewer page faults per step.
    "THP_MEM_ALLOC_ENABLE": "1",
    # glibc hands every freed block above 32 MB back to the system, so a large tensor made afresh
    # at every training step pays for fresh, zeroed pages each time; these keep freed blocks in
    # the heap for the next step (read at process start; mallopt's M_MMAP_MAX, M_TRIM_THRESHOLD).
    "MALLOC_MMAP_MAX_": "0",
    "MALLOC_TRIM_THRESHOLD_": str(2**30),
}


def tune(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Tune the memory allocators of the processes that will be started with ``env``.

    Adds the variables of :data:`ALLOCATOR_ENV` that ``env`` does not set (a value already
    there wins, e.g. ``MALLOC_MMAP_MAX_=65536`` to keep glibc's default). Allocation gets
    faster for the big tensors of tutorial 2's encoding model; no computed number changes. The
    settings take effect in a process that *starts* with them, so this is for the environment
    of a kernel about to start (the course build's :data:`nmautils.course.build.EXECUTION_ENV`,
    the grading sandbox), never for the running process: a notebook needs no call.

    Parameters
    ----------
    env : mutable mapping of str to str
        The environment of the processes to start, e.g. a dict, or ``os.environ`` for every
        process this one starts; changed in place.

    Returns
    -------
    mutable mapping
        ``env`` itself.

    Raises
    ------
    TypeError
        If ``env`` is not a mutable mapping.

    Examples
    --------
    >>> tune({"NMAUTILS_DATA": "surrogate", "MALLOC_MMAP_MAX_": "65536"})
    {'NMAUTILS_DATA': 'surrogate', 'MALLOC_MMAP_MAX_': '65536', 'THP_MEM_ALLOC_ENABLE': '1', 'MALLOC_TRIM_THRESHOLD_': '1073741824'}
    """
    if not isinstance(env, MutableMapping):
        raise TypeError("env should be a mutable mapping of str to str (a dict or os.environ), "
                        f"but got {type(env).__name__}.")
    for name, value in ALLOCATOR_ENV.items():
        env.setdefault(name, value)
    return env


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
    import torch

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
