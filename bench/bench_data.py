"""Data speed: making the full-size surrogate, and loading a cached data file.

Figures (one line each, see bench/common.py):

- ``surrogate``: seconds to generate one full-size surrogate file
  (:func:`nmautils.surrogate.make_surrogate`, 23,589 neurons); the slower of the two files is
  reported, both are in the note.
- ``load_cached``: seconds for :func:`nmautils.data.load_data` to return the tensors when the
  file is already in the cache, as in a student's second session: the surrogate's arrays are
  saved in the real file's format (an uncompressed ``.npz`` named like the real file) in a
  temporary ``NMAUTILS_DATA_DIR``, the registry's md5 is pointed at that file, and the loader runs
  in ``NMAUTILS_DATA=real`` mode - pooch's md5 check of the cached file, reading, validation and
  the conversion to tensors are all timed (the in-memory cache is cleared before each run).

Both are seconds on this machine, printed as information (``info``), not checked against a goal.

Run alone: ``python bench/bench_data.py [--quick] [--only NAME]``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, standard_main, wanted

from nmautils import data, surrogate

FIGURES = ("surrogate", "load_cached")


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (imports, first-touch of memory)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_surrogate(quick: bool) -> None:
    repeats = 3 if quick else 7
    seconds = {
        name: _median_seconds(lambda n=name: surrogate.make_surrogate(n, size="full"), repeats)
        for name in surrogate.SURROGATE_FILES
    }
    note = ", ".join(f"{name} {s:.2f} s" for name, s in seconds.items())
    emit("surrogate", max(seconds.values()), "s", note=note)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def bench_load_cached(quick: bool) -> None:
    repeats = 3 if quick else 7
    name = data.DEFAULT_FILE
    saved_env = {k: os.environ.get(k) for k in ("NMAUTILS_DATA", "NMAUTILS_DATA_DIR")}
    saved_spec = data.DATASETS[name]
    with tempfile.TemporaryDirectory() as cache:
        path = Path(cache) / name
        np.savez(path, **surrogate.make_surrogate(name, size="full"))
        size_mb = path.stat().st_size / 1e6
        data.DATASETS[name] = dataclasses.replace(saved_spec, url="file:///nowhere/" + name,
                                                  md5=_md5(path))
        os.environ.update(NMAUTILS_DATA="real", NMAUTILS_DATA_DIR=cache)
        try:

            def load():
                data.clear_cache()  # as in a new session: nothing in memory
                resp, _ = data.load_data()
                assert resp.shape == (360, surrogate.N_NEURONS)

            seconds = _median_seconds(load, repeats)
        finally:
            data.DATASETS[name] = saved_spec
            data.clear_cache()
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    emit("load_cached", seconds, "s",
         note=f"{name}, {size_mb:.0f} MB uncompressed .npz, md5 check included")


def run(quick: bool = False, only: str | None = None) -> None:
    if wanted("surrogate", only):
        bench_surrogate(quick)
    if wanted("load_cached", only):
        bench_load_cached(quick)


def main(argv=None) -> None:
    standard_main(run, __doc__, argv)


if __name__ == "__main__":
    main()
