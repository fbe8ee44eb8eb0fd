"""Every setting of nmautils in one place: its environment variables and the grading limits.

Environment variables
---------------------
nmautils reads a few ``NMAUTILS_*`` environment variables; :data:`VARIABLES` defines each of them
once, with its default, its allowed values and what it does. Every module reads them through
:func:`get`, which returns the validated value; :func:`get_config` returns all of them at once
(like scikit-learn's ``sklearn.get_config``). A variable that is unset, empty or blank has its
default. The environment is read at every call, never cached, so a notebook or a test can change
a variable while it runs. A value that is not allowed raises one :class:`ValueError` that names
the variable, its allowed values and what they mean.

The README's table of environment variables is :func:`environment_table` (a test keeps the two
equal); ``python -m nmautils.settings`` prints the table.

Grading limits
--------------
:data:`GRADING_LIMITS` holds the defaults of everything that bounds the grading of one
submission: the sandbox of its kernel (memory, processes, file size, CPU time, disk), the cell and
submission timeouts and the output kept. :mod:`nmautils.course` and the course's
``nbgrader_config.py`` take their defaults from it; an instructor changes them in
``nbgrader_config.py`` (e.g. ``c.GuardedExecute.submission_timeout = 900``).

This module imports nothing heavy (no torch, no numpy): the grader reads it too.

Examples
--------
>>> get("NMAUTILS_DATA") in VARIABLES["NMAUTILS_DATA"].choices
True
>>> VARIABLES["NMAUTILS_PROGRESS"].parse(" OFF"), VARIABLES["NMAUTILS_PROGRESS"].parse("")
('off', 'auto')
>>> VARIABLES["NMAUTILS_PROGRESS"].parse("sometimes")
Traceback (most recent call last):
...
ValueError: NMAUTILS_PROGRESS should be one of auto, text, off, but got 'sometimes' (progress bars: ...).
>>> GRADING_LIMITS.memory_gb, GRADING_LIMITS.cell_timeout
(8.0, 120)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

__all__ = [
    "GRADING_LIMITS",
    "VARIABLES",
    "GradingLimits",
    "Variable",
    "environment_table",
    "get",
    "get_config",
    "limits_table",
]

#: The kinds of variable :func:`get` knows, and the Python type of their values.
KINDS = {
    "choice": "str: one of the allowed values (lower case)",
    "flag": "bool: ``1`` is True, ``0`` False",
    "device": "str: ``auto`` or a device name",
    "path": "pathlib.Path; when unset, the default folder or None",
    "seed": "int >= 0, or None when unset",
}


@dataclass(frozen=True)
class Variable:
    """One environment variable of nmautils.

    Attributes
    ----------
    name : str
        The variable, e.g. ``"NMAUTILS_DATA"``.
    meaning : str
        What it sets, in a few words.
    kind : str
        How its text is read (:data:`KINDS`): ``"choice"`` (one of ``values``), ``"flag"``
        (``0`` or ``1``), ``"device"`` (``auto`` or a device name), ``"path"`` or ``"seed"``.
    values : tuple of (str, str)
        The allowed values and what each does, the default first (``choice``, ``flag`` and
        ``device``); empty for ``path`` and ``seed``.
    default : str
        What an unset ``path`` or ``seed`` variable means (the others default to the first
        of ``values``).
    default_path : callable, optional
        The folder an unset ``path`` variable stands for (None: it stands for none).
    grading_only : bool
        Read by the course's grading tools only (:mod:`nmautils.course`), never by a notebook.
    """

    name: str
    meaning: str
    kind: str = "choice"
    values: tuple[tuple[str, str], ...] = ()
    default: str = ""
    default_path: Callable[[], Path] | None = None
    grading_only: bool = False

    @property
    def choices(self) -> tuple[str, ...]:
        """The allowed values, the default first (empty for a path or a seed)."""
        return tuple(value for value, _ in self.values)

    @property
    def allowed(self) -> str:
        """The allowed values, as the error message names them."""
        if self.kind == "path":
            return "a folder"
        if self.kind == "seed":
            return "an integer >= 0"
        return ", ".join(self.choices)

    def describe(self) -> str:
        """What the variable does, with its default and allowed values (the README table's text)."""
        prefix = "grading only: " if self.grading_only else ""
        if not self.values:
            return f"{prefix}{self.meaning} (default: {self.default})"
        shown = []
        for i, (value, does) in enumerate(self.values):
            note = "default" + (f": {does}" if does else "") if i == 0 else does
            shown.append(f"`{value}`" + (f" ({note})" if note else ""))
        return f"{prefix}{self.meaning}: " + ", ".join(shown)

    def parse(self, text: str | None) -> object:
        """The value of the variable set to ``text`` (None or blank: its default).

        Raises
        ------
        ValueError
            ``"<name> should be one of <allowed>, but got '<text>' (<meaning>...)."``.
        """
        text = (text or "").strip()
        if self.kind == "path":
            if text:
                return Path(text).expanduser()
            return self.default_path() if self.default_path is not None else None
        if self.kind == "seed":
            if not text:
                return None
            if not (text.isascii() and text.isdigit()):
                raise self._error(text)
            return int(text)
        value = text.lower() or self.choices[0]
        if (value in self.choices and "<" not in value) or (
                self.kind == "device" and _DEVICE.fullmatch(value)):
            return value == "1" if self.kind == "flag" else value
        raise self._error(text)

    def _error(self, text: str) -> ValueError:
        if self.kind in ("path", "seed"):
            should, does = f"be {self.allowed}", f"{self.meaning}; unset: {self.default}"
        else:
            should = f"be one of {self.allowed}"
            does = f"{self.meaning}: " + "; ".join(
                f"{value} = {what}" if what else value for value, what in self.values)
        return ValueError(f"{self.name} should {should}, but got {text!r} ({does}).")


def _os_cache() -> Path:
    """The operating system's cache folder of nmautils (pooch's choice, e.g. ``~/.cache/nmautils``)."""
    import pooch

    return Path(pooch.os_cache("nmautils"))


#: A device name with an index, e.g. ``cuda:1`` (``cuda``, ``cpu``, ``mps`` are listed as such).
_DEVICE = re.compile(r"cuda:\d+")

_ALL = (
    Variable(
        "NMAUTILS_DATA", "which data the loaders use",
        values=(("auto", "the real files, downloaded and cached; offline, the synthetic "
                         "surrogate with a warning"),
                ("surrogate", "never touch the network; CI and the build"),
                ("real", "never fall back"))),
    Variable(
        "NMAUTILS_DATA_DIR", "cache folder for downloads and for tutorial 3's walks",
        kind="path", default="the OS cache folder of `nmautils`", default_path=_os_cache),
    Variable(
        "NMAUTILS_SURROGATE_SIZE", "size of the synthetic surrogate",
        values=(("full", "as many neurons as the real files"),
                ("small", "few neurons; the grading tests use it"))),
    Variable(
        "NMAUTILS_PROGRESS", "progress bars",
        values=(("auto", "widget bars in notebooks whose front end shows them, text elsewhere"),
                ("text", "text bars everywhere"),
                ("off", "none: stored outputs stay deterministic; the build and CI"))),
    Variable(
        "NMAUTILS_DEVICE", "the device the training functions use",
        kind="device",
        values=(("auto", "CUDA when available, else the CPU"), ("cpu", ""), ("cuda", ""),
                ("cuda:<n>", "GPU number n"), ("mps", "Apple's GPUs"))),
    Variable(
        "NMAUTILS_CHECK_MARGINS", "check the margins of rounded numbers",
        kind="flag",
        values=(("0", "no check"),
                ("1", "`nmautils.report.approx` raises when a printed number lies closer to a "
                      "rounding boundary than its measured spread; the build and CI"))),
    Variable(
        "NMAUTILS_STRICT_CLAIMS", "claims the notebooks make about their results",
        kind="flag",
        values=(("0", "a claim that does not hold is printed as such"),
                ("1", "`nmautils.report.verdict` raises when a claim does not hold; the build "
                      "and CI"))),
    Variable(
        "NMAUTILS_PLACECELL_CACHE", "cache of tutorial 3's simulated walks",
        values=(("on", "kept in the data cache, reused by the next run with the same arguments"),
                ("off", "simulated every time"))),
    Variable(
        "NMAUTILS_FIXTURE_SEED",
        "one fixed seed for the hidden tests' fixtures in every grading run",
        kind="seed", grading_only=True,
        default="each run draws its own; the test suite fixes one per session"),
    Variable(
        "NMAUTILS_REFERENCE_STORE",
        "a folder where grading processes share the model answer's reference values, so each "
        "model answer runs once per seed",
        kind="path", grading_only=True,
        default="none; keep it out of every sandbox's view - the test suite uses a temporary "
                "folder per session"),
)

#: Every environment variable nmautils reads, by name (in the README's order).
VARIABLES: dict[str, Variable] = {v.name: v for v in _ALL}


def get(name: str) -> object:
    """The validated value of the environment variable ``name`` (one of :data:`VARIABLES`).

    Parameters
    ----------
    name : str
        E.g. ``"NMAUTILS_DATA"``.

    Returns
    -------
    str, bool, int, pathlib.Path or None
        By the variable's kind (:data:`KINDS`): a choice in lower case, a flag as a bool, a
        path or a seed (None when unset).

    Raises
    ------
    TypeError
        If ``name`` is not a str.
    ValueError
        If ``name`` is not a variable of nmautils, or the variable holds a value that is not
        allowed.

    Examples
    --------
    >>> isinstance(get("NMAUTILS_STRICT_CLAIMS"), bool)
    True
    >>> get("DATA")
    Traceback (most recent call last):
    ...
    ValueError: name should be one of NMAUTILS_DATA, ..., but got 'DATA'.
    """
    if not isinstance(name, str):
        raise TypeError(f"name should be a str (the name of an environment variable), but got "
                        f"{type(name).__name__}.")
    if name not in VARIABLES:
        raise ValueError(f"name should be one of {', '.join(VARIABLES)}, but got {name!r}.")
    return VARIABLES[name].parse(os.environ.get(name))


def get_config() -> dict[str, object]:
    """Every variable's validated value: ``{name: get(name)}``.

    Raises
    ------
    ValueError
        If a variable holds a value that is not allowed.
    """
    return {name: get(name) for name in VARIABLES}


def environment_table() -> str:
    """The README's table of environment variables (Markdown), made from :data:`VARIABLES`."""
    rows = ["| variable | values |", "| --- | --- |"]
    rows += [f"| `{v.name}` | {v.describe()} |" for v in VARIABLES.values()]
    return "\n".join(rows)


def _limit(default: float, unit: str, setting: str, meaning: str):
    """A field of :class:`GradingLimits`: its default, unit, ``nbgrader_config.py`` setting and
    meaning (read by :func:`limits_table`)."""
    return field(default=default, metadata={"unit": unit, "setting": setting, "meaning": meaning})


@dataclass(frozen=True)
class GradingLimits:
    """The default limits of grading one submission; each field's metadata holds its unit, the
    ``nbgrader_config.py`` setting an instructor changes it with, and its meaning
    (:func:`limits_table` lists them).

    Attributes
    ----------
    memory_gb : float
        Memory of the kernel's sandbox as a whole, and address space of each process (GiB).
    processes : int
        Processes and threads in the sandbox.
    file_size_mb : int
        Largest file a process of the sandbox may write (MiB).
    cpu_seconds : int
        CPU time of each process of the sandbox (s).
    disk_mb : int
        Size of each writable folder of the sandbox (MiB).
    cell_timeout : int
        Seconds one cell may run.
    submission_timeout : int
        Seconds one submission may take in all.
    reference_cell_timeout : int
        Seconds one cell of the model answer may run while its reference values are computed.
    cell_output_mb, notebook_output_mb : float
        Output kept per cell and per notebook (MiB).
    """

    memory_gb: float = _limit(8.0, "GiB", "GuardedExecute.memory_limit_gb",
                              "memory of the kernel's sandbox as a whole, and address space of "
                              "each of its processes")
    processes: int = _limit(256, "", "GuardedExecute.sandbox_processes",
                            "processes and threads in the sandbox (stops fork bombs)")
    file_size_mb: int = _limit(256, "MiB", "GuardedExecute.sandbox_file_size_mb",
                               "largest file a process of the sandbox may write")
    cpu_seconds: int = _limit(3600, "s", "GuardedExecute.sandbox_cpu_seconds",
                              "CPU time of each process of the sandbox, all its threads together")
    disk_mb: int = _limit(512, "MiB", "GuardedExecute.sandbox_disk_mb",
                          "size of each writable folder of the sandbox (home, `/tmp`, `/dev/shm`)")
    cell_timeout: int = _limit(120, "s", "Execute.timeout",
                               "time one cell may run before it is interrupted")
    submission_timeout: int = _limit(600, "s", "GuardedExecute.submission_timeout",
                                     "time one submission may take in all, restarts and replays "
                                     "included; the cells left score 0")
    reference_cell_timeout: int = _limit(600, "s", "(fixed)",
                                         "time one cell of the model answer may run while its "
                                         "reference values are computed")
    cell_output_mb: float = _limit(2.0, "MiB", "GuardedExecute.cell_output_mb",
                                   "output kept per cell, display data included")
    notebook_output_mb: float = _limit(16.0, "MiB", "GuardedExecute.notebook_output_mb",
                                       "output kept per notebook")


#: The grading limits of the course (the one place their values are written).
GRADING_LIMITS = GradingLimits()


def limits_table() -> str:
    """The README's table of grading limits (Markdown), made from :data:`GRADING_LIMITS`."""
    rows = ["| grading limit | default | `nbgrader_config.py` setting |", "| --- | --- | --- |"]
    for limit in fields(GradingLimits):
        value = getattr(GRADING_LIMITS, limit.name)
        default = f"{value:g} {limit.metadata['unit']}".strip()
        setting = limit.metadata["setting"]
        setting = setting if setting.startswith("(") else f"`c.{setting}`"
        rows.append(f"| {limit.metadata['meaning']} | {default} | {setting} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover - prints the README's tables
    print(environment_table(), limits_table(), sep="\n\n")
