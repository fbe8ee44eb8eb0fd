"""Short error displays for the exercises: a failed check, and an answer not written yet.

IPython shows ``exc._render_traceback_()`` (a list of lines) instead of the usual traceback when
an exception has that attribute. Two kinds of error use it:

- a failed visible check (:mod:`nmautils.checks`) keeps the notebook's own frames, so the arrow
  still points at the check that failed, and drops the frames inside nmautils
  (:func:`shorten`);
- nbgrader's stub ``raise NotImplementedError()`` in an answer shows one line that names the
  exercise. The stub raises in the student's code before any check runs, so this goes through
  an IPython exception handler, which ``import nmautils`` installs (:func:`install`).

Both errors keep their type (``AssertionError``, ``NotImplementedError``): the cell still fails,
the kernel still sends an ``error`` output, and a grader's log reads ``Name: message``. Outside
IPython nothing changes. This module imports only the standard library and never imports
IPython itself.
"""

from __future__ import annotations

import functools
import linecache
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Any

#: Folder of the installed package: frames of files below it are left out of short tracebacks.
_PACKAGE_DIR = Path(__file__).resolve().parent

#: The stub nbgrader puts where a solution was (nbgrader_config.py, ClearSolutions.code_stub).
STUB = "raise NotImplementedError()"

#: "Exercise 3" in a comment of the cell that ran, e.g. "# Checks for Exercise 3 (...)".
_EXERCISE = re.compile(r"#.*?\bExercise\s+(\d+[a-z]?)\b")
#: Where the hidden tests of a grading cell start; nothing after it is read.
_HIDDEN = "BEGIN HIDDEN TESTS"


def _shell() -> Any | None:
    """The running IPython shell, or None (IPython is not imported here when it is not loaded)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()
    except Exception:  # noqa: BLE001 - a broken or partial IPython: behave as without one
        return None


def _entries(tb: types.TracebackType | None) -> list[types.TracebackType]:
    """The entries of a traceback, outermost first."""
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    return entries


def _in_package(entry: types.TracebackType) -> bool:
    try:
        return _PACKAGE_DIR in Path(entry.tb_frame.f_code.co_filename).resolve().parents
    except (OSError, ValueError):
        return False


def without_package_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """A copy of the traceback ``tb`` without the entries of files inside nmautils."""
    kept = [entry for entry in _entries(tb) if not _in_package(entry)]
    copy = None
    for entry in reversed(kept):
        copy = types.TracebackType(copy, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return copy


def exception_lines(exc: BaseException) -> list[str]:
    """``"Name: message"`` as lines (a message with a hint has two), the way Python prints an exception."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
    return text.split("\n")


def _short_traceback(exc: BaseException) -> list[str]:
    """IPython's traceback of ``exc`` without nmautils' frames; only the message without IPython.

    Never raises: IPython shows no ``error`` output at all when a renderer fails, and a cell
    without one would not count as failed.
    """
    try:
        shell = _shell()
        tb = without_package_frames(exc.__traceback__)
        if shell is not None and tb is not None:
            lines = shell.InteractiveTB.structured_traceback(type(exc), exc, tb)
            if isinstance(lines, list) and lines and all(isinstance(s, str) for s in lines):
                return lines
    except Exception:  # noqa: BLE001 - fall back to the message
        pass
    return exception_lines(exc)


def shorten(exc: BaseException) -> BaseException:
    """Give ``exc`` a ``_render_traceback_`` that leaves out nmautils' frames; return ``exc``.

    Use it where a check raises: ``raise shorten(AssertionError(text))``. The exception keeps
    its type and message.
    """
    exc._render_traceback_ = functools.partial(_short_traceback, exc)  # type: ignore[attr-defined]
    return exc


# --------------------------------------------------------------------------------------------
# An answer that still raises nbgrader's stub
# --------------------------------------------------------------------------------------------


def _is_cell(filename: str) -> bool:
    """Whether code of this file name was typed into IPython (a notebook cell)."""
    if filename.startswith("<ipython-input-"):
        return True
    if filename in getattr(linecache, "_ipython_cache", {}):  # IPython < 8.6 (Colab's 7.34)
        return True
    entry = linecache.cache.get(filename)
    # IPython >= 8.6 caches every cell's source with no modification time, so it is never dropped
    return entry is not None and len(entry) == 4 and entry[1] is None


def _answer_name(frame: types.FrameType) -> str | None:
    """``"train"`` or ``"DeepNetReLU.forward"`` for a frame of the answer; None for a cell itself."""
    code = frame.f_code
    if code.co_name == "<module>":
        return None
    qualname = getattr(code, "co_qualname", code.co_name)
    return qualname.split(".<locals>.")[0]


def _exercise_number(cell_filename: str, name: str | None) -> str | None:
    """The exercise number that the cell which ran gives in a comment, if it tests ``name``.

    Only the visible part of the cell is read (up to the hidden tests of a grading cell), and
    only one distinct number counts.
    """
    if name is None:
        return None
    visible = []
    for line in linecache.getlines(cell_filename):
        if _HIDDEN in line:
            break
        visible.append(line)
    text = "".join(visible)
    if not re.search(rf"\b{re.escape(name.split('.')[0])}\b", text):
        return None  # the stub belongs to another exercise than the one this cell checks
    numbers = {match.group(1) for match in _EXERCISE.finditer(text)}
    return numbers.pop() if len(numbers) == 1 else None


def not_done_message(exc: BaseException, tb: types.TracebackType | None) -> str | None:
    """The one-line message for nbgrader's stub, or None when ``exc`` is another error.

    The error must be a bare ``NotImplementedError`` raised by a line ``raise
    NotImplementedError...`` of a notebook cell.
    """
    if type(exc) is not NotImplementedError or exc.args:
        return None
    entries = _entries(tb)
    if not entries:
        return None
    last = entries[-1]
    filename = last.tb_frame.f_code.co_filename
    if not _is_cell(filename):
        return None
    if not linecache.getline(filename, last.tb_lineno).strip().startswith("raise NotImplementedError"):
        return None
    name = _answer_name(last.tb_frame)
    first_cell = next(e for e in entries if _is_cell(e.tb_frame.f_code.co_filename))
    number = _exercise_number(first_cell.tb_frame.f_code.co_filename, name)
    what = f"`{name}`" if name else "this cell"
    if number:
        what = f"Exercise {number} ({what})"
    what = what[0].upper() + what[1:]
    return f"{what} is not done yet: replace `{STUB}` with your code."


def _not_done_handler(shell: Any, etype: type, value: BaseException, tb: Any,
                      tb_offset: int | None = None) -> None:
    """IPython's handler for NotImplementedError: one line for the stub, else the usual display."""
    try:
        message = not_done_message(value, tb)
        if message is not None:
            value.args = (message,)
            value._render_traceback_ = functools.partial(exception_lines, value)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - never keep the error from being shown
        pass
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def install(shell: Any | None = None) -> bool:
    """Show nbgrader's stub as one line in this IPython shell; return whether it was installed.

    It uses IPython's custom exception handler for ``NotImplementedError``; every other error,
    and every ``NotImplementedError`` that is not the stub, is shown as before. A shell that
    already has a custom handler for other exceptions keeps it (nothing is installed).

    Parameters
    ----------
    shell : IPython.core.interactiveshell.InteractiveShell, optional
        The shell; by default the running one (none outside IPython).
    """
    shell = shell if shell is not None else _shell()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    current = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if current and current != (NotImplementedError,):
        return False
    try:
        shell.set_custom_exc((NotImplementedError,), _not_done_handler)
    except Exception:  # noqa: BLE001 - an unusual shell: keep its own display
        return False
    return True
