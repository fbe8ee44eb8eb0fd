"""The lessons' own models, read from their source notebooks instead of copied into bench/.

The course's models (tutorial 2's ``ConvFC`` and ``DeepNetSoftmax``, the assignment's ``CNN``)
are student exercises, so nmautils does not define them: :func:`lesson_class` executes the
notebook cell that defines one (the model answer between nbgrader's solution markers, which
are comments) and returns the class. A change to a lesson's model changes what is timed.
"""

from __future__ import annotations

import nbformat
import numpy as np
import torch
from common import REPO_ROOT
from torch import nn

from nmautils.stimuli import filters


def lesson_class(notebook: str, name: str) -> type:
    """The class ``name`` as defined in ``source/<notebook>/<notebook>.ipynb``.

    Parameters
    ----------
    notebook : str
        The lesson, e.g. ``"tutorial2_encoding"``.
    name : str
        The class, e.g. ``"ConvFC"``; its cell may use ``torch``, ``nn``, ``np`` and
        ``filters`` (nmautils.stimuli), as the notebooks import them.

    Returns
    -------
    type
        The class, defined in a fresh namespace.
    """
    path = REPO_ROOT / "source" / notebook / f"{notebook}.ipynb"
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and f"class {name}(" in cell.source:
            namespace = {"torch": torch, "nn": nn, "np": np, "filters": filters,
                         "__name__": f"lessons.{notebook}"}
            exec(compile(cell.source, f"{path.name}:{cell.get('id', name)}", "exec"), namespace)
            return namespace[name]
    raise LookupError(f"{path} should define class {name}, but no code cell does.")
