"""Input validation shared by the public functions of nmautils (private module)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch


def as_numpy(x: Any, name: str) -> np.ndarray:
    """``x`` (tensor, array, list or tuple) as a numpy array; TypeError naming ``name`` otherwise."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        return np.asarray(x)
    raise TypeError(f"{name} should be a torch.Tensor or numpy array, but got {type(x).__name__}.")


def env_choice(variable: str, choices: tuple[str, ...], meaning: str) -> str:
    """The value of environment ``variable`` (lower case; the first choice when unset or empty),
    or a ValueError naming the choices and what each ``meaning`` is."""
    import os

    value = os.environ.get(variable, choices[0]).strip().lower() or choices[0]
    if value not in choices:
        raise ValueError(f"{variable} must be one of {', '.join(choices)} (got {value!r}): {meaning}")
    return value


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int when it is a positive integer (bools rejected); else a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} should be a positive int, but got {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} should be a positive int, but got {value}.")
    return int(value)
