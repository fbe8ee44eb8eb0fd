"""The course's mouse V1 data: download (md5-checked, cached), validate, load, or synthesise.

Two files from Stringer et al. (2021) are used (see :data:`DATASETS`). :func:`load_data` and
:func:`load_data_split` return them as float32 tensors. Which data they use is chosen by the
environment variable ``NMAUTILS_DATA``:

- ``auto`` (default): the real file (from the cache, else downloaded). If the machine is offline
  the loaders fall back to the synthetic surrogate (:mod:`nmautils.surrogate`) and say so once
  per file with a :class:`SurrogateDataWarning`.
- ``surrogate``: always the synthetic surrogate; the network is never touched (CI, the build).
- ``real``: the real file or an error; never the surrogate.

A file whose md5 differs from the registry, or that is corrupt, raises in every mode (the
surrogate never hides bad data). A download says where it comes from and how big it is, shows a
progress bar (:mod:`nmautils.progress`), and is written to a temporary file that only replaces
the cache entry once complete and verified: a download cut off midway leaves nothing behind and
is tried again by the next run (:class:`DownloadInterrupted`). Downloads go to ``NMAUTILS_DATA_DIR`` (default
``pooch.os_cache("nmautils")``). :func:`data_source` returns one line saying which data the
loaders use; the notebooks print it. Both variables are defined in :mod:`nmautils.settings`.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pooch
import torch

from . import settings
from . import surrogate as _surrogate
from ._validate import check_int, check_type

__all__ = [
    "DATASETS",
    "MODES",
    "DataDownloadError",
    "DataFile",
    "DataFileError",
    "DownloadInterrupted",
    "SurrogateDataWarning",
    "default_cache_dir",
    "clear_cache",
    "data_mode",
    "data_source",
    "fetch",
    "load_data",
    "load_data_split",
]

_log = logging.getLogger(__name__)

MODES = settings.VARIABLES["NMAUTILS_DATA"].choices
"""Valid values of the environment variable ``NMAUTILS_DATA``."""

CITATION = "Stringer et al. 2021, Cell"


@dataclass(frozen=True)
class DataFile:
    """One data file of the course: where it lives and what it must contain.

    Attributes
    ----------
    name : str
        File name (also the cache file name).
    url : str
        Download address.
    md5 : str
        Expected md5 checksum (hex).
    keys : tuple of str
        Arrays the ``.npz`` file must hold.
    """

    name: str
    url: str
    md5: str
    keys: tuple[str, ...]

    @property
    def known_hash(self) -> str:
        """The checksum in pooch's ``"md5:<hex>"`` form."""
        return f"md5:{self.md5}"


DATASETS: dict[str, DataFile] = {
    "W3D4_stringer_oribinned1.npz": DataFile(
        name="W3D4_stringer_oribinned1.npz",
        url="https://osf.io/683xc/download",
        md5="436599dfd8ebe6019f066c38aed20580",
        keys=("resp", "stimuli"),
    ),
    "W3D4_stringer_oribinned6_split.npz": DataFile(
        name="W3D4_stringer_oribinned6_split.npz",
        url="https://osf.io/p3aeb/download",
        md5="b3f7245c6221234a676b71a1f43c3bb5",
        keys=("resp_train", "resp_test", "stimuli"),
    ),
}
"""The course's data files, keyed by file name."""

DEFAULT_FILE = "W3D4_stringer_oribinned1.npz"
DEFAULT_SPLIT_FILE = "W3D4_stringer_oribinned6_split.npz"


class DataFileError(ValueError):
    """A data file is corrupt, truncated, has the wrong checksum or not the expected arrays."""


class DataDownloadError(OSError):
    """The real data could not be obtained (offline, server down) and fallback is not allowed."""


class DownloadInterrupted(OSError):
    """A download stopped before the whole file arrived; nothing was kept, the next run retries."""


class SurrogateDataWarning(UserWarning):
    """The loaders use the synthetic surrogate because the real data could not be downloaded."""


# --------------------------------------------------------------------------------------------
# settings from the environment


def data_mode() -> str:
    """Return the data mode: ``settings.get("NMAUTILS_DATA")``, "auto" (default), "surrogate"
    or "real".

    Raises
    ------
    ValueError
        If the variable holds anything else.
    """
    return settings.get("NMAUTILS_DATA")


def default_cache_dir() -> Path:
    """Return the download cache folder: ``settings.get("NMAUTILS_DATA_DIR")``, the variable's
    folder, else ``pooch.os_cache("nmautils")``."""
    return settings.get("NMAUTILS_DATA_DIR")


# --------------------------------------------------------------------------------------------
# reading and validating files


def _schema_for(name: str, keys: set[str]) -> tuple[str, ...] | None:
    """The keys a file must have: from the registry, else guessed from what it holds."""
    if name in DATASETS:
        return DATASETS[name].keys
    for spec in DATASETS.values():
        if set(spec.keys) <= keys:
            return spec.keys
    return None


def _check_arrays(name: str, arrays: dict[str, np.ndarray], expected: tuple[str, ...]) -> None:
    """Raise DataFileError unless the arrays match the schema of the course's files."""
    missing = sorted(set(expected) - set(arrays))
    if missing:
        raise DataFileError(
            f"{name} is missing the array(s) {missing}: expected keys {sorted(expected)}, "
            f"found {sorted(arrays)}"
        )
    stimuli = arrays["stimuli"]
    if stimuli.ndim != 1 or not np.issubdtype(stimuli.dtype, np.number):
        raise DataFileError(
            f"{name}: 'stimuli' must be a 1-D numeric array of degrees, got shape "
            f"{stimuli.shape} and dtype {stimuli.dtype}"
        )
    resp_keys = [k for k in expected if k.startswith("resp")]
    shapes = {k: arrays[k].shape for k in resp_keys}
    for key in resp_keys:
        resp = arrays[key]
        if resp.ndim != 2 or not np.issubdtype(resp.dtype, np.number):
            raise DataFileError(
                f"{name}: {key!r} must be a 2-D numeric array (stimuli x neurons), got shape "
                f"{resp.shape} and dtype {resp.dtype}"
            )
        if resp.shape[0] != stimuli.shape[0]:
            raise DataFileError(
                f"{name}: {key!r} has {resp.shape[0]} rows but 'stimuli' has "
                f"{stimuli.shape[0]} entries; they must match (one row per stimulus)"
            )
    if len(set(shapes.values())) > 1:
        raise DataFileError(f"{name}: the response arrays must have the same shape, got {shapes}")


def _read_npz(path: Path, name: str, expected: tuple[str, ...] | None) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file and validate it; DataFileError if that fails."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # BadZipFile, EOFError, zlib.error, ValueError, ...
        raise DataFileError(
            f"{name} at {path} is not a readable .npz file (corrupt or truncated): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if expected is None:
        expected = _schema_for(name, set(arrays))
    if expected is None:
        raise DataFileError(
            f"{name} holds {sorted(arrays)}, which matches none of the course's files "
            f"({ {k: list(v.keys) for k, v in DATASETS.items()} })"
        )
    _check_arrays(name, arrays, expected)
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int, name: str) -> dict[str, np.ndarray]:
    # mtime and size are in the key so a replaced file is read again
    return _read_npz(Path(path), name, DATASETS[name].keys if name in DATASETS else None)


def _read(path: Path, name: str) -> dict[str, np.ndarray]:
    stat = path.stat()
    return _read_cached(str(path), stat.st_mtime_ns, stat.st_size, name)


# --------------------------------------------------------------------------------------------
# downloading

#: Seconds to wait for the server to answer and between two chunks of data.
DOWNLOAD_TIMEOUT = (10, 60)


def _human_size(n_bytes: int) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units, like browsers and OSF show them)."""
    size = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


@dataclass
class _Downloader:
    """A pooch downloader that announces the file and its size and shows a progress bar.

    pooch calls it with a temporary file next to the cache entry and moves that file into place
    only after the download completed and its hash matched, so a failure here never leaves a
    partial file in the cache.
    """

    name: str
    chunk_size: int = 1 << 16

    def __call__(self, url: str, output_file: str, pooch_obj: object = None) -> None:
        import requests

        from .progress import progress

        received, total = 0, 0
        try:
            with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
                response.raise_for_status()
                total = int(response.headers.get("content-length") or 0)
                size = _human_size(total) if total else "size unknown"
                print(f"Downloading {self.name} ({size}) from {url}; this happens once, the "
                      "file is then cached.", flush=True)
                bar = progress(total=total or None, desc=self.name, unit="B", unit_scale=True,
                               unit_divisor=1000, leave=True)
                with bar, open(output_file, "wb") as out:
                    for chunk in response.iter_content(chunk_size=self.chunk_size):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        except requests.exceptions.RequestException as exc:
            if received == 0 and not isinstance(exc, requests.exceptions.ChunkedEncodingError):
                raise  # never started: offline, refused, timed out, HTTP error
            raise DownloadInterrupted(self._cut_off(received, total, exc)) from exc
        if total and received != total:
            raise DownloadInterrupted(self._cut_off(received, total, None))

    def _cut_off(self, received: int, total: int, exc: Exception | None) -> str:
        of = f" of {_human_size(total)}" if total else ""
        why = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        return (
            f"the download of {self.name} was cut off after {_human_size(received)}{of}{why}; "
            "nothing was kept, and the next run downloads it again"
        )



def fetch(
    data_name: str,
    *,
    url: str | None = None,
    known_hash: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Download a data file (or find it in the cache), check its md5 and contents.

    Parameters
    ----------
    data_name : str
        A file name of :data:`DATASETS` (or any name when ``url`` is given).
    url, known_hash : str, optional
        Override the registry's address and checksum (``"md5:<hex>"``), e.g. to test against a
        local server.
    cache_dir : path, optional
        Folder for the file; default :func:`default_cache_dir` (``NMAUTILS_DATA_DIR``).

    Returns
    -------
    pathlib.Path
        The verified file in the cache.

    Raises
    ------
    DataFileError
        (a ValueError) if the download's md5 differs from the expected one (nothing is kept), or
        the file is not a valid ``.npz`` with the expected arrays (the file is deleted so that
        the next call downloads it again).
    DownloadInterrupted
        (an OSError) if the connection broke midway; no file is kept, so the next call
        downloads it again.
    OSError
        If the download fails (offline: a ``requests`` ConnectionError).
    """
    check_type(data_name, "data_name", str, "a file name (str)")
    spec = DATASETS.get(data_name)
    if spec is None and url is None:
        raise ValueError(
            f"data_name should be a file of the course (expected one of {list(DATASETS)}), or "
            f"come with url=..., but got the unknown data file {data_name!r}."
        )
    url = url if url is not None else spec.url
    if known_hash is None and spec is not None:
        known_hash = spec.known_hash
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        path = pooch.retrieve(
            url, known_hash=known_hash, fname=data_name, path=folder,
            downloader=_Downloader(data_name),
        )
    except ValueError as exc:  # pooch: checksum mismatch; the download was deleted
        raise DataFileError(
            f"{data_name} downloaded from {url} does not have the expected checksum "
            f"{known_hash}; nothing was saved. The server sent different data: check the "
            f"address, or update nmautils if the course data changed. ({exc})"
        ) from exc
    path = Path(path)
    try:
        _read(path, data_name)
    except DataFileError:
        path.unlink(missing_ok=True)  # a retry downloads it again
        _read_cached.cache_clear()
        raise
    return path


# --------------------------------------------------------------------------------------------
# choosing the source


@dataclass(frozen=True)
class _Source:
    kind: str  # "real", "local" or "surrogate"
    arrays: dict
    name: str
    path: Path | None = None
    reason: str = ""
    size: str = "full"


_warned: set[str] = set()


def clear_cache() -> None:
    """Forget loaded arrays, source decisions and issued warnings (tests; after a download)."""
    _resolve.cache_clear()
    _read_cached.cache_clear()
    _surrogate_arrays.cache_clear()
    _warned.clear()


@functools.lru_cache(maxsize=4)
def _surrogate_arrays(name: str, size: str) -> dict[str, np.ndarray]:
    arrays = _surrogate.make_surrogate(name, size=size, seed=0)
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def _use_surrogate(name: str, reason: str) -> _Source:
    size = _surrogate.default_size()
    return _Source("surrogate", _surrogate_arrays(name, size), name, None, reason, size)


def _source(data_name: str | os.PathLike) -> _Source:
    """Resolve what the loaders use for ``data_name`` (cached per name and settings)."""
    check_type(data_name, "data_name", (str, os.PathLike), "a file name or path (str)")
    name = os.fspath(data_name)
    if name not in DATASETS and Path(name).is_file():
        path = Path(name).resolve()
        return _Source("local", _read(path, path.name), path.name, path)
    if name not in DATASETS:
        raise ValueError(
            f"data_name should be a file of the course (expected one of {list(DATASETS)}) or the "
            f"path of an existing .npz file, but got the unknown data file {name!r}."
        )
    mode = data_mode()
    size = _surrogate.default_size()
    spec = DATASETS[name]
    return _resolve(name, mode, str(default_cache_dir()), size, spec.url, spec.md5)


@functools.lru_cache(maxsize=16)
def _resolve(name: str, mode: str, folder: str, size: str, url: str, md5: str) -> _Source:
    if mode == "surrogate":
        _log.info("NMAUTILS_DATA=surrogate: using the synthetic surrogate of %s", name)
        return _use_surrogate(name, "NMAUTILS_DATA=surrogate")
    try:
        path = fetch(name, url=url, known_hash=f"md5:{md5}", cache_dir=folder)
    except DataFileError:
        raise  # wrong checksum or corrupt file: never hidden behind the surrogate
    except OSError as exc:
        target = Path(folder) / name
        how = (
            "What you can do: check the internet connection (on Colab: that the runtime is "
            "connected) and run the notebook again from the top (on Colab: Runtime > Restart "
            f"session, then Run all); or download {url} in a browser and save it as {target} "
            "(on Colab: upload it with the Files panel on the left); or carry on: the exercises "
            "work the same on the surrogate, only the numbers differ"
        )
        if mode == "real":
            raise DataDownloadError(
                f"NMAUTILS_DATA=real: could not download {name} from {url} "
                f"({type(exc).__name__}: {exc}). {how} (set NMAUTILS_DATA=auto to fall "
                "back to the synthetic surrogate)."
            ) from exc
        if name not in _warned:
            _warned.add(name)
            what = (str(exc) if isinstance(exc, DownloadInterrupted)
                    else f"could not download {name} from {url} ({type(exc).__name__})")
            warnings.warn(
                f"{what}; using a SYNTHETIC SURROGATE with the same keys, shapes and dtypes "
                f"instead - numbers will differ from the real data. {how}.",
                SurrogateDataWarning,
                stacklevel=4,
            )
        return _use_surrogate(name, "offline: download failed")
    return _Source("real", _read(path, name), name, path)


def data_source(data_name: str = DEFAULT_FILE) -> str:
    """Describe in one line which data the loaders use for ``data_name`` right now.

    Resolving may download the file (mode "auto" or "real"); after a load it is instant.

    Parameters
    ----------
    data_name : str
        A file name of :data:`DATASETS` or the path of a local ``.npz`` file.

    Returns
    -------
    str
        E.g. ``"real data: W3D4_stringer_oribinned1.npz (Stringer et al. 2021, Cell),
        md5-verified, cached at /home/.../W3D4_stringer_oribinned1.npz"`` or ``"SYNTHETIC
        SURROGATE of W3D4_stringer_oribinned1.npz (NMAUTILS_DATA=surrogate): ..."``. The
        surrogate text is deterministic (no paths, no times).

    Examples
    --------
    >>> data_source()  # doctest: +SKIP
    'real data: W3D4_stringer_oribinned1.npz (Stringer et al. 2021, Cell), md5-verified, cached at ...'
    """
    src = _source(data_name)
    if src.kind == "real":
        return f"real data: {src.name} ({CITATION}), md5-verified, cached at {src.path}"
    if src.kind == "local":
        return f"local file: {src.path} (not checksum-verified)"
    n_neurons = next(a for k, a in src.arrays.items() if k.startswith("resp")).shape[1]
    return (
        f"SYNTHETIC SURROGATE of {src.name} ({src.reason}; {src.size} size, "
        f"{n_neurons} neurons): same keys, shapes and dtypes; numbers will differ from the "
        "real data"
    )


# --------------------------------------------------------------------------------------------
# loaders


def _bin(resp: np.ndarray, stimuli: np.ndarray, bin_width: int, start: float):
    """Average responses and stimuli in consecutive bins of ``bin_width`` degrees from ``start``."""
    edges = start + bin_width * np.arange(int(np.ceil(361 / bin_width)) + 1)
    _, group = np.unique(np.digitize(stimuli, edges), return_inverse=True)
    weights = np.zeros((group.max() + 1, stimuli.size), dtype=np.float64)
    weights[group, np.arange(stimuli.size)] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights.astype(resp.dtype) @ resp), weights @ stimuli


def load_data(
    data_name: str = DEFAULT_FILE, bin_width: int = 1, *, tilt: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load the 1-degree-binned V1 responses and stimulus directions.

    Parameters
    ----------
    data_name : str
        ``"W3D4_stringer_oribinned1.npz"`` (default) or the path of a local ``.npz`` with the
        keys ``resp`` and ``stimuli``.
    bin_width : int
        Average responses and stimuli within bins of this many degrees (1: as stored).
    tilt : bool
        The graded assignment's variant: keep directions <= 180 degrees and subtract 90, so 0
        means vertical and the sign is the tilt (left negative, right positive).

    Returns
    -------
    resp : torch.Tensor, float32, shape (n_stimuli, n_neurons)
        z-scored responses averaged per stimulus bin.
    stimuli : torch.Tensor, float32, shape (n_stimuli, 1)
        Stimulus direction in degrees (0..360, or -90..90 with ``tilt=True``).

    Raises
    ------
    TypeError
        For a ``bin_width`` that is not an int (``1.5``, ``True``, ``"6"``), or a ``data_name``
        that is not a str or path.
    ValueError
        For a ``bin_width`` outside 1..360, an unknown file name, or a file without ``resp``.

    Examples
    --------
    Downloads the file on first use (mode "auto"), so the example is not run by the tests:

    >>> resp, stimuli = load_data()  # doctest: +SKIP
    >>> resp.shape, stimuli.shape  # doctest: +SKIP
    (torch.Size([360, 23589]), torch.Size([360, 1]))
    >>> load_data(bin_width=1.5)
    Traceback (most recent call last):
    ...
    TypeError: bin_width should be a whole number of degrees from 1 to 360 (e.g. 1 or 6), but got float.
    """
    bin_width = check_int(bin_width, "bin_width", minimum=1, maximum=360,
                          expected="a whole number of degrees from 1 to 360 (e.g. 1 or 6)")
    src = _source(data_name)
    if "resp" not in src.arrays:
        raise ValueError(
            f"{src.name} has no 'resp' array (it holds {sorted(src.arrays)}); "
            "use load_data_split() for the split file"
        )
    resp = np.asarray(src.arrays["resp"])
    stimuli = np.asarray(src.arrays["stimuli"], dtype=np.float64)
    start = 0.0
    if tilt:
        keep = stimuli <= 180
        resp, stimuli, start = resp[keep], stimuli[keep] - 90.0, -90.0
    if bin_width > 1:
        resp, stimuli = _bin(resp, stimuli, bin_width, start)
    resp_t = torch.tensor(np.asarray(resp), dtype=torch.float32)
    stimuli_t = torch.tensor(stimuli, dtype=torch.float32).unsqueeze(1)
    return resp_t, stimuli_t


def load_data_split(
    data_name: str = DEFAULT_SPLIT_FILE,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Load the split 6-degree data: two halves of the trials, binned separately.

    Parameters
    ----------
    data_name : str
        ``"W3D4_stringer_oribinned6_split.npz"`` (default) or the path of a local ``.npz`` with
        the keys ``resp_train``, ``resp_test`` and ``stimuli``.

    Returns
    -------
    resp_train, resp_test : torch.Tensor, float32, shape (n_stimuli, n_neurons)
        Responses of the two halves of the trials, averaged in 6-degree bins.
    stimuli : torch.Tensor, float32, shape (n_stimuli, 1)
        Bin centres in degrees.

    Examples
    --------
    >>> resp_train, resp_test, stimuli = load_data_split()  # doctest: +SKIP
    >>> resp_train.shape, stimuli[:2, 0].tolist()  # doctest: +SKIP
    (torch.Size([60, 23589]), [2.5, 8.5])
    """
    src = _source(data_name)
    missing = sorted({"resp_train", "resp_test"} - set(src.arrays))
    if missing:
        raise ValueError(
            f"{src.name} has no {missing} (it holds {sorted(src.arrays)}); "
            "use load_data() for the 1-degree file"
        )
    resp_train = torch.tensor(np.asarray(src.arrays["resp_train"]), dtype=torch.float32)
    resp_test = torch.tensor(np.asarray(src.arrays["resp_test"]), dtype=torch.float32)
    stimuli = torch.tensor(np.asarray(src.arrays["stimuli"]), dtype=torch.float32).unsqueeze(1)
    return resp_train, resp_test, stimuli
