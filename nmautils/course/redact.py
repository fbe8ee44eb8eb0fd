"""Redaction by content: no line of a solution, hidden test or rubric in what people open.

Removing the hidden regions from a notebook is not enough: a submission's own code runs in the
same kernel as the test cells and can read the running cell's source (``_ih[-1]``, ``In``,
``linecache``) and print it or raise it as an error message, which then sits in the outputs, the
feedback HTML and the instructor's report. This module recognises such text by content:

- :func:`secrets_from_notebooks` / :func:`secrets_for_assignment` collect the *secret lines*:
  every line of a solution region, a hidden-test region, a mark scheme or a written answer's model
  answer in ``source/`` that students cannot read anyway (it stands nowhere in the release) and is
  long enough to be recognisable (:data:`MIN_CHARS` non-space characters, not only keywords);
- :func:`redact_text` replaces every occurrence of a secret line in a string by
  :data:`PLACEHOLDER`, also when it is escaped as ``repr`` or JSON writes it (``\\n``, ``\\'``),
  HTML-escaped (``&lt;``, ``&quot;``), coloured with ANSI codes, split over several lines or
  wrapped in HTML tags, and replaces the whole line (or the whole text) when it cannot locate it;
- :func:`redact_notebook` applies it to every output and every markdown cell of a notebook.

It recognises copies, not transformations: text a submission encodes (base64, reversed, one
character per line, drawn into an image) is not found; keeping the source out of the kernel's
reach is the executor's job (:mod:`nmautils.course.guard`).
"""

from __future__ import annotations

import html
import keyword
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from . import notebooks

#: What a redacted secret looks like.
PLACEHOLDER = "[hidden]"
#: Shorter lines (non-space characters) are too common to be secrets (``y = f(x)``).
MIN_CHARS = 8
#: Lines nbgrader writes into the release in place of solutions (``nbgrader_config.py``).
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE")
#: Outputs that hold binary data (base64), not text.
BINARY_KEYS = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_WORDS = frozenset(keyword.kwlist) | {"self", "cls", "print", "super", "object", "args", "kwargs"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_ESCAPED_CODE = re.compile(r"\\+(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))")
_ESCAPED_SPACE = re.compile(r"\\+[ntr]")
_TAG = re.compile(r"<[^<>]*>")
# What may stand between two characters of a copied line: whitespace, escaped whitespace or
# backslashes (repr, JSON), colour codes (IPython tracebacks), tags (highlighted HTML), entities.
_NOISE = (r"(?:\s|\\+[ntr]|\\+|\x1b\[[0-9;?]*[ -/]*[@-~]|<[^<>]*>"
          r"|&nbsp;|&#0*160;|&#x0*a0;|&#0*32;|&#x0*20;)*+")
_CHAR_FORMS = {
    "<": ["<", "&lt;", "&#0*60;", "&#x0*3c;"],
    ">": [">", "&gt;", "&#0*62;", "&#x0*3e;"],
    "&": ["&", "&amp;", "&#0*38;", "&#x0*26;"],
    '"': ['"', "&quot;", "&#0*34;", "&#x0*22;"],
    "'": ["'", "&apos;", "&#0*39;", "&#x0*27;"],
}


def _key(text: str, tags: bool = False) -> str:
    """``text`` as a secret is compared: escapes decoded, no whitespace (nor tags with ``tags``)."""
    text = _ANSI.sub("", text)
    for _ in range(2):  # HTML of an escaped repr is escaped twice
        text = html.unescape(text)
    text = _ESCAPED_CODE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)
    text = _ESCAPED_SPACE.sub(" ", text).replace("\\", "")
    if tags:
        text = _TAG.sub("", text)
    return "".join(text.split())


def meaningful(line: str, min_chars: int = MIN_CHARS) -> bool:
    """Whether ``line`` is specific enough to be a secret.

    Parameters
    ----------
    line : str
        One source line.
    min_chars : int
        Fewest non-space characters.

    Returns
    -------
    bool
        False for short lines, punctuation and lines made of keywords only (``return None``).
    """
    key = _key(line)
    if len(key) < min_chars or not any(c.isalnum() for c in key) or notebooks.marker_at(line):
        return False
    names = re.findall(r"[A-Za-z_]\w*", line)
    literals = re.search(r"\d|[\"']", line)
    return bool(literals) or not names or any(n not in _WORDS for n in names)


@dataclass(frozen=True)
class Secrets:
    """The secret lines of an assignment (stripped source lines) and their comparison keys.

    Build it with :func:`secrets_from_notebooks` or :func:`secrets_for_assignment`; it is
    immutable, so one instance may serve every student of a class run.
    """

    lines: frozenset[str]
    _keys: tuple[tuple[str, str, str], ...] = field(init=False, repr=False, compare=False)
    _patterns: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = []
        for line in sorted(self.lines, key=lambda s: (-len(s), s)):  # longest first
            plain, bare = _key(line), _key(line, tags=True)
            keys.append((line, plain, bare if len(bare) >= MIN_CHARS else ""))
        object.__setattr__(self, "_keys", tuple(keys))
        object.__setattr__(self, "_patterns", {})

    def __len__(self) -> int:
        return len(self.lines)

    def __bool__(self) -> bool:
        return bool(self.lines)

    def without(self, known: Iterable[str]) -> Secrets:
        """These secrets less the lines in ``known`` (compared like secrets: a student's own
        answer lines are no secret to that student even when they equal the solution's)."""
        known_keys = {_key(line) for line in known}
        return Secrets(frozenset(s for s in self.lines if _key(s) not in known_keys))

    def found_in(self, text: str) -> list[str]:
        """The secret lines that ``text`` contains (in any form :func:`redact_text` knows)."""
        if not self.lines or not text:
            return []
        plain = _key(text)
        bare = _key(text, tags=True) if "<" in text or "&" in text else plain
        return [line for line, k, b in self._keys if k in plain or (b and b in bare)]

    def pattern(self, line: str) -> re.Pattern[str]:
        """A regular expression that finds ``line`` in the forms of :func:`found_in`."""
        if line not in self._patterns:
            parts = []
            for char in _key(line):
                forms = _CHAR_FORMS.get(char)
                parts.append(f"(?i:{'|'.join(forms)})" if forms else re.escape(char))
            self._patterns[line] = re.compile(_NOISE.join(parts))
        return self._patterns[line]


def _as_secrets(secrets: Secrets | Iterable[str] | None) -> Secrets:
    if isinstance(secrets, Secrets):
        return secrets
    return Secrets(frozenset(secrets or ()))


def redact_text(text: str, secrets: Secrets | Iterable[str] | None,
                placeholder: str = PLACEHOLDER) -> str:
    """``text`` with every secret line replaced by ``placeholder``.

    Parameters
    ----------
    text : str
        Any text a person will read: an output, an error message, a report line.
    secrets : Secrets or iterable of str or None
        The secret lines (:func:`secrets_for_assignment`); None redacts nothing.
    placeholder : str
        What stands in place of a secret.

    Returns
    -------
    str
        ``text`` itself when it holds no secret. Otherwise each occurrence is replaced where it
        can be located (also inside a one-line ``repr`` of a whole cell, between HTML tags, across
        lines); a secret that cannot be located costs its whole line, and if even that does not
        remove it, the whole text.
    """
    secrets = _as_secrets(secrets)
    found = secrets.found_in(text)
    if not found:
        return text
    for line in found:
        text = secrets.pattern(line).sub(placeholder, text)
    if not secrets.found_in(text):
        return text
    lines = text.splitlines(keepends=True)
    for i, piece in enumerate(lines):
        if secrets.found_in(piece):
            ending = piece[len(piece.rstrip("\r\n")):]
            lines[i] = placeholder + ending
    text = "".join(lines)
    return placeholder if secrets.found_in(text) else text


def _redact_value(value, secrets: Secrets):
    """A JSON-like value with :func:`redact_text` applied to every string in it."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, list):
        return [_redact_value(v, secrets) for v in value]
    if isinstance(value, Mapping):
        return type(value)({k: (v if k in BINARY_KEYS else _redact_value(v, secrets))
                            for k, v in value.items()})
    return value


def answer_lines(nb: NotebookNode) -> set[str]:
    """Stripped lines of the answer cells of a (student's) notebook: the student wrote them."""
    return {line.strip() for cell in nb.cells if notebooks.cell_kind(cell) == "answer"
            for line in cell.source.splitlines() if line.strip()}


def redact_notebook(nb: NotebookNode, secrets: Secrets | Iterable[str],
                    known: Iterable[str] = ()) -> int:
    """Redact every output and every markdown or raw cell of ``nb`` in place.

    Parameters
    ----------
    nb : NotebookNode
        A student's notebook (autograded or feedback); code cell sources are left alone (the
        student's own code, test cells from the release).
    secrets : Secrets or iterable of str
        The secret lines.
    known : iterable of str
        Lines that are no secret to this reader (e.g. :func:`answer_lines` of the notebook).

    Returns
    -------
    int
        How many outputs and cells were changed.
    """
    secrets = _as_secrets(secrets)
    known = list(known)
    if known:
        secrets = secrets.without(known)
    if not secrets:
        return 0
    changed = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                clean = _redact_value(out, secrets)
                changed += clean != out
                outputs.append(NotebookNode(clean))
            cell.outputs = outputs
        else:
            source = redact_text(cell.source, secrets)
            changed += source != cell.source
            cell.source = source
    return changed


# -- the secret lines ------------------------------------------------------------------------------
def _hidden_candidates(source: NotebookNode) -> list[str]:
    """Every stripped line of a region students must not read, in every cell of ``source``."""
    out: list[str] = []
    for cell in source.cells:
        text = cell.source
        kind = notebooks.cell_kind(cell)
        try:
            found = notebooks.regions(text)
        except notebooks.MarkerError:  # malformed markers: every line from the first one on
            lines = text.splitlines()
            first = next((i for i, line in enumerate(lines) if notebooks.marker_at(line)), 0)
            out += lines[first:]
            continue
        if kind in ("answer", "written") and not any(r.kind == "solution" for r in found):
            out += text.splitlines()  # nbgrader replaces an unmarked solution cell as a whole
        for region in found:
            out += region.body(text).splitlines()
    return [line.strip() for line in out if line.strip()]


def _public_view(source: NotebookNode) -> list[str]:
    """The lines of the release nbgrader would make of ``source`` (without running nbgrader)."""
    out = list(STUB_LINES)
    for cell in source.cells:
        kind = notebooks.cell_kind(cell)
        try:
            found = notebooks.regions(cell.source)
        except notebooks.MarkerError:
            continue
        if kind in ("answer", "written") and not any(r.kind == "solution" for r in found):
            continue
        out += notebooks.drop_regions(cell.source, tuple(notebooks.MARKERS)).splitlines()
    return out


def _as_list(nbs) -> list[NotebookNode]:
    if nbs is None:
        return []
    return [nbs] if isinstance(nbs, Mapping) else list(nbs)


def secrets_from_notebooks(source, release=None, min_chars: int = MIN_CHARS) -> Secrets:
    """The secret lines of source notebook(s), given what their release shows.

    Parameters
    ----------
    source : NotebookNode or iterable of NotebookNode
        The instructor notebook(s) of an assignment (with markers).
    release : NotebookNode or iterable of NotebookNode, optional
        Their student versions as nbgrader generated them; without it, the release is derived
        from ``source`` (regions dropped, stubs added), which is what nbgrader does.
    min_chars : int
        Shortest secret (non-space characters).

    Returns
    -------
    Secrets
        Lines of solutions, hidden tests, mark schemes and model answers that appear nowhere in
        the release (not even inside a longer line) and pass :func:`meaningful`.
    """
    sources = _as_list(source)
    if release is None:
        public = [line for nb in sources for line in _public_view(nb)]
    else:
        public = [line for nb in _as_list(release) for cell in nb.cells
                  for line in cell.source.splitlines()] + list(STUB_LINES)
    public_text = "\0".join(_key(line) for line in public)
    # the markers are no secret, but a copied cell showing them tells where hidden tests stand
    secret = {m for pair in notebooks.MARKERS.values() for m in pair}
    for nb in sources:
        for line in _hidden_candidates(nb):
            if meaningful(line, min_chars) and _key(line) not in public_text:
                secret.add(line)
    return Secrets(frozenset(secret))


def secrets_for_assignment(root: str | Path, assignment: str, source_directory: str = "source",
                           release_directory: str = "release",
                           min_chars: int = MIN_CHARS) -> Secrets:
    """The secret lines of every notebook of ``assignment`` in a course folder.

    Parameters
    ----------
    root : str or Path
        The course root (``nbgrader_config.py``'s ``CourseDirectory.root``).
    assignment : str
        The assignment name.
    source_directory, release_directory : str
        nbgrader's folder names under ``root``.
    min_chars : int
        Shortest secret (non-space characters).

    Returns
    -------
    Secrets
        As :func:`secrets_from_notebooks`; the release is read from ``release/<assignment>``
        when it is there and derived from the source otherwise.

    Raises
    ------
    FileNotFoundError
        When ``source/<assignment>`` holds no notebook: without the source nothing can be
        recognised, and callers must not go on as if there were no secrets.
    """
    root = Path(root)
    sources = sorted((root / source_directory / assignment).glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no source notebook in {root / source_directory / assignment}: "
                                "cannot tell which lines are secret")
    releases = sorted((root / release_directory / assignment).glob("*.ipynb"))
    return secrets_from_notebooks([notebooks.read(p) for p in sources],
                                  [notebooks.read(p) for p in releases] or None, min_chars)
