"""Tests of nmautils.placecells (RatInABox place-cell data for tutorial 3)."""

from __future__ import annotations

import numpy as np
import pytest

from nmautils.placecells import PlaceCellData, simulate_place_cells


@pytest.fixture(scope="module")
def small() -> PlaceCellData:
    return simulate_place_cells(duration=20.0, dt=0.1, n_cells=6, width=0.15, seed=3)


def test_shapes_and_split(small: PlaceCellData) -> None:
    assert small.X.shape == (6, 200)
    assert small.Y.shape == (2, 200)
    assert small.X_train.shape == (6, 160) and small.Y_train.shape == (2, 160)
    assert small.X_test.shape == (6, 40) and small.Y_test.shape == (2, 40)
    assert small.t.shape == (200,)
    assert small.centres.shape == (6, 2)
    assert small.X.dtype == np.float64 and small.Y.dtype == np.float64
    np.testing.assert_array_equal(np.hstack([small.X_train, small.X_test]), small.X)
    np.testing.assert_array_equal(np.hstack([small.Y_train, small.Y_test]), small.Y)
    assert small.n_cells == 6 and small.n_train == 160


def test_values_are_physical(small: PlaceCellData) -> None:
    assert np.all((small.X >= 0) & (small.X <= 1))
    assert np.all((small.Y >= 0) & (small.Y <= 1))  # 1 m x 1 m box, metres
    assert np.allclose(np.diff(small.t), 0.1)
    assert np.all((small.centres >= 0) & (small.centres <= 1))
    # Gaussian tuning: the rate follows from the distance to the centre
    d2 = ((small.Y.T[None, :, :] - small.centres[:, None, :]) ** 2).sum(-1)
    np.testing.assert_allclose(small.X, np.exp(-d2 / (2 * 0.15**2)), atol=1e-9)
    assert "6 place cells" in small.describe()


def test_deterministic_and_restores_global_rng(small: PlaceCellData) -> None:
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    again = simulate_place_cells(duration=20.0, dt=0.1, n_cells=6, width=0.15, seed=3)
    np.testing.assert_array_equal(np.random.rand(3), expected)
    np.testing.assert_array_equal(again.X, small.X)
    np.testing.assert_array_equal(again.Y, small.Y)
    other = simulate_place_cells(duration=20.0, dt=0.1, n_cells=6, width=0.15, seed=4)
    assert not np.array_equal(other.Y, small.Y)


def test_grid_cells() -> None:
    grid = simulate_place_cells(duration=5.0, n_cells=4, cell_type="grid", train_fraction=0.6)
    assert grid.X.shape == (4, 50) and grid.X_train.shape == (4, 30)
    assert grid.cell_type == "grid"
    assert np.all(np.isfinite(grid.X))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"duration": -1.0}, ValueError),
        ({"duration": "10"}, TypeError),
        ({"dt": 0.0}, ValueError),
        ({"n_cells": 2.5}, TypeError),
        ({"n_cells": 0}, ValueError),
        ({"width": float("nan")}, ValueError),
        ({"seed": -1}, ValueError),
        ({"cell_type": "head-direction"}, ValueError),
        ({"train_fraction": 1.0}, ValueError),
        ({"duration": 0.1}, ValueError),
    ],
)
def test_bad_arguments(kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        simulate_place_cells(**kwargs)


# -- the cache of the agent's walk ------------------------------------------------------------


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NMAUTILS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("NMAUTILS_PLACECELL_CACHE", raising=False)
    return tmp_path / "placecells"


def _same(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("X", "Y", "t", "centres"))


@pytest.mark.parametrize("cell_type", ["place", "grid"])
def test_cached_walk_gives_the_same_data(cache_dir, monkeypatch, cell_type):
    first = simulate_place_cells(duration=20.0, n_cells=5, seed=3, cell_type=cell_type)
    assert len(list(cache_dir.glob("walk-*.npz"))) == 1
    again = simulate_place_cells(duration=20.0, n_cells=5, seed=3, cell_type=cell_type)
    monkeypatch.setenv("NMAUTILS_PLACECELL_CACHE", "off")
    fresh = simulate_place_cells(duration=20.0, n_cells=5, seed=3, cell_type=cell_type)
    assert _same(first, again) and _same(again, fresh)
    assert again.agent.t == fresh.agent.t
    assert np.array_equal(again.agent.pos, fresh.agent.pos)
    assert np.array_equal(again.agent.history["pos"], fresh.agent.history["pos"])


def test_cached_walk_is_readable_by_other_users(cache_dir):
    """Grading kernels run as another user and restore walks the grader made."""
    simulate_place_cells(duration=20.0, n_cells=5, seed=3)
    (path,) = cache_dir.glob("walk-*.npz")
    assert path.stat().st_mode & 0o777 == 0o644


def test_other_arguments_get_their_own_walk(cache_dir):
    a = simulate_place_cells(duration=20.0, n_cells=5, seed=3)
    b = simulate_place_cells(duration=20.0, n_cells=5, seed=4)
    assert len(list(cache_dir.glob("walk-*.npz"))) == 2
    assert not np.array_equal(a.Y, b.Y)


@pytest.mark.parametrize("damage", [b"", b"not an npz file", None])
def test_corrupt_or_partial_cache_is_simulated_again(cache_dir, damage):
    reference = simulate_place_cells(duration=20.0, n_cells=5, seed=3)
    (path,) = cache_dir.glob("walk-*.npz")
    data = path.read_bytes()
    path.write_bytes(damage if damage is not None else data[: len(data) // 2])
    again = simulate_place_cells(duration=20.0, n_cells=5, seed=3)
    assert _same(reference, again)
    assert path.read_bytes() == data, "the damaged file was not replaced by a good one"


def test_read_only_cache_is_skipped(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("NMAUTILS_DATA_DIR", str(blocked))  # placecells/ cannot be made here
    monkeypatch.delenv("NMAUTILS_PLACECELL_CACHE", raising=False)
    data = simulate_place_cells(duration=20.0, n_cells=5, seed=3)
    assert data.X.shape == (5, 200)


def test_cache_off_writes_nothing(cache_dir, monkeypatch):
    monkeypatch.setenv("NMAUTILS_PLACECELL_CACHE", "off")
    simulate_place_cells(duration=20.0, n_cells=5, seed=3)
    assert not cache_dir.exists()
