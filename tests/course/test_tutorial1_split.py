"""Tutorial 1 splits the stimuli as the original course did (curriculum sections C and D).

The original seeds numpy and torch with 4, shuffles the indices with ``torch.randperm`` and keeps
the first 60 % for training; then, after seeding with 1, ``get_data(1, ...)`` draws the stimulus
the original reports as "true orientation: 139.00 degrees". The stimuli of the 1-degree file are
the whole degrees 0..359 in order, on the real recording and on the surrogate alike, so the drawn
stimulus must be at 139 degrees here too: a different split or a different draw would move it.
"""

from __future__ import annotations

import numpy as np
import torch

from nmautils.analysis import get_data
from nmautils.course import build, notebooks
from nmautils.train import set_seed

ASSIGNMENT = "tutorial1_decoding"


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == grade_id)


def _split(n_stimuli: int = 360) -> dict:
    """Run the notebook's split cell on stand-in data whose stimuli are 0..n_stimuli - 1."""
    namespace = {
        "np": np, "torch": torch, "set_seed": set_seed, "n_stimuli": n_stimuli,
        "resp_all": torch.arange(n_stimuli, dtype=torch.float32).unsqueeze(1).repeat(1, 3),
        "stimuli_all": torch.arange(n_stimuli, dtype=torch.float32).unsqueeze(1),
        "print": lambda *args, **kwargs: None,
    }
    exec(_cell(notebooks.read(build.source_path(ASSIGNMENT)), "split").source, namespace)
    return namespace


def test_split_is_the_original_randperm_after_seed_4():
    ns = _split()
    expected = torch.randperm(360, generator=torch.Generator().manual_seed(4))
    assert torch.equal(torch.as_tensor(ns["train_idx"]), expected[:216])
    assert torch.equal(torch.as_tensor(ns["test_idx"]), expected[216:])
    assert torch.equal(ns["stimuli_train"][:, 0], expected[:216].float())


def test_the_original_reference_stimulus_is_drawn():
    ns = _split()
    set_seed(1)
    _, ori = get_data(1, ns["resp_train"], ns["stimuli_train"])
    assert ori.item() == 139.0  # the original course prints "true orientation: 139.00 degrees"


def test_the_solution_prints_the_reference_stimulus():
    solved = notebooks.read(build.solution_path(ASSIGNMENT))
    cell = next(c for c in solved.cells if c.get("id") == "untrained")  # ids survive, metadata not
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "true direction: 139.00 degrees" in text, text
