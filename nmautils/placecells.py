"""Simulated place-cell (or grid-cell) data for tutorial 3, made with RatInABox.

An agent explores a square box while a population of spatially tuned cells fires. The result is
a decoding data set: the cells' firing rates ``X`` (cells x time) and the agent's position ``Y``
(2 x time, metres). The first part of the recording trains a decoder, the rest tests it.

Randomness
----------
RatInABox draws all its random numbers from numpy's *global* generator (``np.random``), so
:func:`simulate_place_cells` seeds that generator with ``seed`` for the simulation and then
restores the generator's previous state: the same arguments always give the same data, and the
caller's own use of ``np.random`` is left untouched.

Speed
-----
Only the agent's trajectory is simulated step by step with RatInABox; the
firing rates of all cells at all visited positions are then computed in one vectorised call of
the cells' ``get_state(evaluate_at=None, pos=...)``. The default (6000 steps, 25 cells) takes
about 2-3 s on one CPU core.

Cache
-----
The trajectory depends only on the arguments and the library versions, so the agent's state and
history after the walk are kept in the data cache (``placecells/<key>.npz`` under
:func:`nmautils.data.default_cache_dir`, plain arrays, no pickles). The next call with the same
arguments rebuilds the environment, agent and cells as usual (drawing the same random numbers,
so the same place-field centres), then restores the walk from the file instead of repeating it:
the same ``X``, ``Y`` and ``t`` to the last bit, in a fraction of the time (a notebook run twice,
CI's many executions of tutorial 3). A cache that cannot be written (read-only, as in the
grading sandbox) or read (partial or corrupt file) is skipped and the walk is simulated;
``NMAUTILS_PLACECELL_CACHE=off`` turns the cache off (:mod:`nmautils.settings`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import settings
from ._validate import check_choice, check_int, check_number, check_positive_int

__all__ = ["PlaceCellData", "simulate_place_cells", "CELL_TYPES"]

#: The cell types :func:`simulate_place_cells` can simulate.
CELL_TYPES = ("place", "grid")


@dataclass(frozen=True)
class PlaceCellData:
    """A simulated recording: firing rates, positions and the train/test split.

    Attributes
    ----------
    X : numpy.ndarray, shape (n_cells, n_time), float64
        Firing rates of every cell at every time step (RatInABox units: 0 to 1, i.e. the
        fraction of the cell's maximal rate).
    Y : numpy.ndarray, shape (2, n_time), float64
        The agent's position (x in row 0, y in row 1) in metres.
    X_train, Y_train : numpy.ndarray, shapes (n_cells, n_train) and (2, n_train)
        The first ``train_fraction`` of the time steps.
    X_test, Y_test : numpy.ndarray, shapes (n_cells, n_test) and (2, n_test)
        The remaining time steps.
    t : numpy.ndarray, shape (n_time,)
        Time of each sample in seconds.
    centres : numpy.ndarray, shape (n_cells, 2)
        Place-field centres in metres (for grid cells: each cell's phase-offset position).
    cell_type : str
        ``"place"`` or ``"grid"``.
    dt : float
        Time step in seconds.
    env, agent, cells : RatInABox objects
        The Environment, Agent and cell population, e.g. for ``agent.plot_trajectory``
        (pass ``show_agent=False`` to hide the red agent marker) or ``cells.plot_rate_map``.
    """

    X: np.ndarray
    Y: np.ndarray
    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    t: np.ndarray
    centres: np.ndarray
    cell_type: str
    dt: float
    env: Any = field(repr=False, compare=False)
    agent: Any = field(repr=False, compare=False)
    cells: Any = field(repr=False, compare=False)

    @property
    def n_cells(self) -> int:
        """Number of simulated cells."""
        return int(self.X.shape[0])

    @property
    def n_train(self) -> int:
        """Number of training time steps."""
        return int(self.X_train.shape[1])

    def describe(self) -> str:
        """One line saying what data this is (printed by the notebook)."""
        return (
            f"Data: RatInABox simulation, {self.n_cells} {self.cell_type} cells, "
            f"{self.t.size} time steps of {self.dt:g} s ({self.t.size * self.dt / 60:g} min), "
            f"{self.n_train} for training and {self.X_test.shape[1]} for testing."
        )


def simulate_place_cells(
    duration: float = 600.0,
    dt: float = 0.1,
    n_cells: int = 25,
    width: float = 0.15,
    seed: int = 0,
    cell_type: str = "place",
    train_fraction: float = 0.8,
) -> PlaceCellData:
    """Simulate an agent exploring a 1 m x 1 m box and the firing rates of its spatial cells.

    Parameters
    ----------
    duration : float
        Length of the recording in seconds (default 600 s = 10 minutes).
    dt : float
        Time step in seconds (default 0.1 s; RatInABox's own default differs, so it is set here).
    n_cells : int
        Number of cells.
    width : float
        Place-field width (standard deviation of the Gaussian tuning) in metres. Ignored for
        grid cells.
    seed : int
        Seed of numpy's global generator during the simulation (its state is restored after).
    cell_type : {"place", "grid"}
        Gaussian place cells at jittered-uniform centres, or RatInABox's grid cells (three
        modules of scales 0.3, 0.5 and 0.8 m).
    train_fraction : float
        Fraction (0 < f < 1) of the time steps, taken from the start, used for training.

    Returns
    -------
    PlaceCellData
        ``X`` (n_cells x n_time firing rates), ``Y`` (2 x n_time positions in metres), the
        train/test split and the RatInABox objects.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or out of range.

    Examples
    --------
    >>> data = simulate_place_cells(duration=10.0, n_cells=4)
    >>> data.X.shape, data.Y.shape, data.X_train.shape
    ((4, 100), (2, 100), (4, 80))
    """
    for name, value in (("duration", duration), ("dt", dt), ("width", width)):
        check_number(value, name, minimum=0, include_min=False)
    check_positive_int(n_cells, "n_cells")
    check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    check_choice(cell_type, "cell_type", CELL_TYPES)
    check_number(train_fraction, "train_fraction", minimum=0, maximum=1, include_min=False,
                 include_max=False)
    n_time = int(round(duration / dt))
    n_train = int(round(train_fraction * n_time))
    if n_time < 2 or n_train < 1 or n_train >= n_time:
        raise ValueError(
            f"duration / dt should give enough time steps to split into a training and a test "
            f"part with train_fraction={train_fraction}, but got {n_time} time steps."
        )

    import ratinabox
    from ratinabox.Agent import Agent
    from ratinabox.Environment import Environment
    from ratinabox.Neurons import GridCells, PlaceCells

    ratinabox.autosave_plots = False
    saved_state = np.random.get_state()
    np.random.seed(int(seed))
    try:
        env = Environment(params={"dimensionality": "2D", "scale": 1.0, "aspect": 1.0})
        agent = Agent(env, params={"dt": float(dt)})
        if cell_type == "place":
            cells = PlaceCells(
                agent,
                params={
                    "n": int(n_cells),
                    "description": "gaussian",
                    "widths": float(width),
                    "place_cell_centres": "uniform_jitter",
                    "save_history": False,
                },
            )
            centres = np.asarray(cells.place_cell_centres, dtype=float)
        else:
            cells = GridCells(agent, params={"n": int(n_cells), "save_history": False})
            centres = np.asarray(
                cells.gridscales.reshape(-1, 1) * cells.phase_offsets / (2 * np.pi), dtype=float
            )
        # Move the agent step by step (this is the only sequential part of the simulation), or
        # restore the walk from the cache ...
        cache = _walk_cache_file(duration, dt, n_cells, width, seed, cell_type)
        if not _restore_walk(agent, cache, n_time):
            for _ in range(n_time):
                agent.update(dt=float(dt))
            _save_walk(agent, cache)
        pos = np.asarray(agent.history["pos"], dtype=float)  # (n_time, 2)
        t = np.asarray(agent.history["t"], dtype=float)
        # ... then evaluate every cell at every visited position at once.
        X = np.asarray(cells.get_state(evaluate_at=None, pos=pos), dtype=float)
    finally:
        np.random.set_state(saved_state)

    Y = np.ascontiguousarray(pos.T)
    X = np.ascontiguousarray(X)
    return PlaceCellData(
        X=X,
        Y=Y,
        X_train=X[:, :n_train].copy(),
        Y_train=Y[:, :n_train].copy(),
        X_test=X[:, n_train:].copy(),
        Y_test=Y[:, n_train:].copy(),
        t=t,
        centres=centres,
        cell_type=cell_type,
        dt=float(dt),
        env=env,
        agent=agent,
        cells=cells,
    )


# --------------------------------------------------------------------------------------------
# cache of the agent's walk


def _walk_cache_file(duration, dt, n_cells, width, seed, cell_type) -> Path | None:
    """Where the walk of these arguments is cached (None when the cache is off)."""
    if settings.get("NMAUTILS_PLACECELL_CACHE") == "off":
        return None
    import ratinabox

    from .data import default_cache_dir

    key = json.dumps(
        {"duration": float(duration), "dt": float(dt), "n_cells": int(n_cells),
         "width": float(width), "seed": int(seed), "cell_type": cell_type,
         "ratinabox": getattr(ratinabox, "__version__", "?"), "numpy": np.__version__},
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return default_cache_dir() / "placecells" / f"walk-{digest}.npz"


def _agent_state(agent) -> dict[str, np.ndarray]:
    """The agent's numeric state and history, as arrays (what a walk changes)."""
    arrays = {f"history.{k}": np.asarray(v, dtype=float) for k, v in agent.history.items()}
    for k, v in vars(agent).items():
        if isinstance(v, bool) or k == "history":
            continue
        if isinstance(v, (int, float, np.floating, np.integer)) or (
            isinstance(v, np.ndarray) and v.dtype.kind in "fiu"
        ):
            arrays[f"state.{k}"] = np.asarray(v)
    return arrays


def _save_walk(agent, path: Path | None) -> None:
    """Write the walk to ``path`` atomically; any failure only means no cache."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **_agent_state(agent))
            # readable by everyone, like a downloaded data file: grading kernels run as another
            # user (mkstemp's files are private to their owner)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:  # read-only or full cache folder: simulate again next time
        pass


def _restore_walk(agent, path: Path | None, n_time: int) -> bool:
    """Put a cached walk into ``agent``; False (agent untouched) when there is none to use."""
    if path is None or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # partial or corrupt
        return False
    history = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("history.")}
    if set(history) != set(agent.history) or any(len(v) != n_time for v in history.values()):
        return False
    for key, value in history.items():
        agent.history[key] = [float(x) if value.ndim == 1 else x.copy() for x in value]
    for key, value in arrays.items():
        if key.startswith("state."):
            name = key.split(".", 1)[1]
            current = getattr(agent, name, None)
            restored = value.copy() if value.ndim else value.item()
            if isinstance(current, float) and not isinstance(restored, float):
                restored = float(restored)
            setattr(agent, name, restored)
    return True
