"""Student feedback without leaks: scores, visible checks and error messages, no hidden tests.

nbgrader's ``generate_feedback`` renders the *autograded* notebook, in which ``autograde`` has
restored the hidden tests: out of the box students would read every hidden test, and the
traceback of a failed hidden assertion quotes the reference solution. :class:`SanitizeFeedback`
runs first in ``GenerateFeedback.preprocessors`` (``nbgrader_config.py``) and, for every cell:

- removes the ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region of test cells;
- replaces an error raised *inside* the hidden region by ``HiddenTestFailed`` with a neutral
  message (the student's own exception type and message are kept when their code raised it,
  without the traceback that quotes the hidden line);
- removes any ``### BEGIN SOLUTION`` / ``### BEGIN MARK SCHEME`` region (model answers, rubrics).

A kernel that has run a hidden test can carry its text in any form (an audit hook sees every
compiled source; a later cell can print it encoded). So from the first test cell on, a cell's
outputs in the feedback are only what the grader wrote itself (listed in the cell's metadata by
:func:`nmautils.course.guard.grader_note`: failed hidden tests, timeouts, restarts), with a note
that the rest is in the student's own notebook (:func:`keep_grader_outputs`). Outputs of the
cells before it, and the first test cell's visible checks, ran before any hidden code and are
kept, with two more defences, because a submission's code writes them:

- redaction by content (:mod:`nmautils.course.redact`): every line of a solution, hidden test or
  rubric (read from ``source/``) is replaced by ``[hidden]`` in every output and markdown cell,
  wherever it turns up (e.g. an error message made of the running cell's source, ``_ih[-1]``);
  without the source notebook no feedback is written (:class:`SecretsUnavailable`);
- HTML that cannot run (:func:`sanitize_rendering`): ``text/html``, ``image/svg+xml``,
  ``text/markdown`` outputs and markdown cells are cleaned (no ``<script>``, ``<iframe>``,
  ``<object>``, ``<embed>``, ``on*=`` handlers, ``javascript:``/``vbscript:``/``data:text/html``
  URLs, risky CSS), JavaScript and widget outputs are dropped. :class:`SanitizeRendering` does
  only this, for formgrader (:func:`formgrader_preprocessors`), where the instructor opens the
  same outputs.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import nh3
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool, Unicode

from . import notebooks, redact

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^\s*-+>\s*(\d+)", re.M)
HIDDEN_MESSAGE = "a hidden test failed (hidden tests check your answer on other inputs)"


def _hidden_lines(source: str) -> set[int]:
    """1-based line numbers of the hidden regions (markers included) of a cell source.

    Malformed markers (:class:`~nmautils.course.notebooks.MarkerError`) count every line from
    the first marker on as hidden: leaking nothing comes first.
    """
    try:
        return {n + 1 for r in notebooks.regions(source) if r.kind == "hidden tests"
                for n in r.lines}
    except notebooks.MarkerError:
        lines = source.splitlines()
        first = next((i for i, line in enumerate(lines) if notebooks.marker_at(line)), len(lines))
        return set(range(first + 1, len(lines) + 1))


def _raised_in_hidden(output: NotebookNode, source: str, hidden: set[int]) -> bool:
    text = _ANSI.sub("", "\n".join(output.get("traceback", [])))
    match = _ARROW.search(text)  # the first frame is the cell itself
    if match:
        return int(match.group(1)) in hidden
    lines = source.splitlines()
    hidden_text = [lines[n - 1].strip() for n in hidden if 0 < n <= len(lines)]
    return any(t and len(t) > 8 and t in text for t in hidden_text)


def sanitize_cell(cell: NotebookNode) -> NotebookNode:
    """Remove hidden tests, their failure details and solution/rubric regions from one cell."""
    source = cell.get("source", "")
    hidden = _hidden_lines(source)
    if cell.cell_type == "code" and hidden:
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and _raised_in_hidden(out, source, hidden):
                if out.get("ename") == "AssertionError":
                    ename, evalue = "HiddenTestFailed", HIDDEN_MESSAGE
                else:
                    ename, evalue = out.get("ename"), f"{out.get('evalue', '')} ({HIDDEN_MESSAGE})"
                out = NotebookNode(output_type="error", ename=ename, evalue=evalue,
                                   traceback=[f"{ename}: {evalue}"])
            outputs.append(out)
        cell.outputs = outputs
    try:
        source = notebooks.drop_regions(source, tuple(notebooks.MARKERS))
    except notebooks.MarkerError:  # malformed markers: drop everything from the first one on
        lines = source.splitlines()
        first = next((i for i, line in enumerate(lines) if notebooks.marker_at(line)), len(lines))
        source = "\n".join(lines[:first])
    cell.source = source
    return cell


# -- HTML that cannot run ------------------------------------------------------------------------
#: Output types that are rendered; any other (JavaScript, widgets, vendor types) is dropped.
RENDERED_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml",
                  "image/png", "image/jpeg", "application/json")
REMOVED_OUTPUT = "[output removed from the feedback: it could run code in the reader's browser]"

_TAGS = set(nh3.ALLOWED_TAGS) | {"tfoot", "caption"}
# removed with their content (the text of a script or stylesheet is no reading matter)
_CONTENT_TAGS = {"script", "style", "iframe", "object", "embed", "template", "noscript",
                 "textarea", "select", "title", "xmp", "noembed", "noframes", "plaintext"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["*"] = {"class", "id", "title", "style", "align", "lang", "dir"}
_ATTRIBUTES["img"] = _ATTRIBUTES.get("img", set()) | {"title"}
_STYLE_PROPERTIES = {
    "color", "background-color", "text-align", "vertical-align", "font-weight", "font-style",
    "font-size", "font-family", "text-decoration", "white-space", "width", "height", "max-width",
    "min-width", "max-height", "border", "border-collapse", "border-spacing", "border-color",
    "border-width", "border-style", "border-top", "border-bottom", "border-left", "border-right",
    "padding", "padding-left", "padding-right", "padding-top", "padding-bottom", "margin",
    "margin-left", "margin-right", "margin-top", "margin-bottom", "display", "line-height",
}
_URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction", "background", "poster",
                   "xlink:href", "data", "longdesc", "usemap"}
_IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$", re.I)
_RISKY = re.compile(r"javascript\s*:|vbscript\s*:|livescript\s*:|data\s*:\s*text/html|"
                    r"expression\s*\(|@import|behavior\s*:|-moz-binding|url\s*\(", re.I)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Drop URLs that are not plain links or inline raster images, and style with URLs or
    scripts (``nh3`` has already removed ``on*`` handlers and unknown schemes)."""
    plain = _CONTROL.sub("", html.unescape(value)).lower()
    if attribute in _URL_ATTRIBUTES:
        if plain.startswith("data:"):
            return value if tag == "img" and attribute == "src" and _IMAGE_DATA.match(
                _CONTROL.sub("", value)) else None
        return None if _RISKY.search(plain) else value
    if attribute == "style" and _RISKY.search(plain):
        return None
    return value


def sanitize_html(text: str) -> str:
    """HTML that cannot run code: an allowlist of tags, attributes, URL schemes and CSS
    properties (``nh3``, the Ammonia sanitiser); scripts, frames, plugins and handlers go."""
    return nh3.clean(text, tags=_TAGS, clean_content_tags=_CONTENT_TAGS, attributes=_ATTRIBUTES,
                     attribute_filter=_attribute_filter, strip_comments=True, link_rel=None,
                     url_schemes={"http", "https", "mailto", "data"},
                     filter_style_properties=_STYLE_PROPERTIES)


_SVG = "http://www.w3.org/2000/svg"
_XLINK = "http://www.w3.org/1999/xlink"
_SVG_ELEMENTS = {
    "svg", "g", "defs", "symbol", "use", "path", "rect", "circle", "ellipse", "line", "polyline",
    "polygon", "text", "tspan", "textPath", "title", "desc", "clipPath", "mask", "pattern",
    "marker", "linearGradient", "radialGradient", "stop", "image", "style", "filter", "a",
    "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite", "feConvolveMatrix",
    "feDiffuseLighting", "feDisplacementMap", "feDistantLight", "feFlood", "feFuncA", "feFuncB",
    "feFuncG", "feFuncR", "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology",
    "feOffset", "fePointLight", "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence",
}


def _svg_attribute_ok(name: str, value: str) -> bool:
    local = name.rsplit("}", 1)[-1]
    plain = _CONTROL.sub("", html.unescape(value)).lower()
    if local.lower().startswith("on"):
        return False
    if local in ("href", "src"):
        return plain.startswith("#") or bool(_IMAGE_DATA.match(_CONTROL.sub("", value)))
    return not _RISKY.search(plain.replace("url(#", ""))


def _clean_svg_element(element: ET.Element) -> None:
    for child in list(element):
        tag = child.tag if isinstance(child.tag, str) else ""
        namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        risky_style = local == "style" and _RISKY.search((child.text or "").replace("url(#", ""))
        if namespace != _SVG or local not in _SVG_ELEMENTS or risky_style:
            element.remove(child)  # also comments and processing instructions
            continue
        for name, value in list(child.attrib.items()):
            if not _svg_attribute_ok(name, value):
                del child.attrib[name]
        _clean_svg_element(child)


def sanitize_svg(text: str) -> str | None:
    """An SVG document reduced to drawing: SVG elements only (no ``<script>``,
    ``<foreignObject>``, animation), no ``on*`` handlers, links only within the picture.

    Returns None when ``text`` is not well-formed SVG (or declares entities): the caller drops it.
    """
    import defusedxml.ElementTree as SafeET

    try:
        root = SafeET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except Exception:  # not XML, entities, external references: nothing worth keeping
        return None
    if root.tag != f"{{{_SVG}}}svg":
        return None
    for name, value in list(root.attrib.items()):
        if not _svg_attribute_ok(name, value):
            del root.attrib[name]
    _clean_svg_element(root)
    ET.register_namespace("", _SVG)
    ET.register_namespace("xlink", _XLINK)
    return ET.tostring(root, encoding="unicode")


def _render_markdown(source: str, attachments: dict | None = None) -> str:
    """The HTML nbconvert's templates make of a markdown text (``HTMLExporter.markdown2html``)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, anchor_link_text="¶")
    return MarkdownWithMath(renderer=renderer).render(source)


def sanitize_markdown(source: str, attachments: dict | None = None, force: bool = False) -> str:
    """A markdown text that renders to HTML that cannot run code.

    Markdown passes raw HTML and any link URL through, so the text is rendered as the templates
    render it and cleaned with :func:`sanitize_html`. When cleaning changes nothing (and not
    ``force``) the text is returned as it is; otherwise the cleaned HTML comes back as one raw
    HTML line (newlines as ``&#10;``), which markdown passes through and which looks the same.
    nbgrader's marker lines stay lines of their own (only the marker), so that removing marked
    regions afterwards still works; the text between them is always rewritten then, because
    pieces that are harmless alone need not be harmless together.
    """
    lines = source.splitlines()
    if any(notebooks.marker_at(line) for line in lines):
        out, chunk = [], []
        for line in [*lines, None]:
            marker = notebooks.marker_at(line) if line is not None else None
            if line is not None and marker is None:
                chunk.append(line)
                continue
            if chunk:
                out.append(sanitize_markdown("\n".join(chunk), attachments, force=True))
                chunk = []
            if marker is not None:
                kind, side = marker
                out.append(notebooks.MARKERS[kind][0 if side == "begin" else 1])
        return "\n".join(out)
    try:
        rendered = _render_markdown(source, attachments)
    except Exception:  # e.g. a missing attachment: show the text, render nothing
        rendered = f"<pre>{html.escape(source)}</pre>"
    clean = sanitize_html(rendered)
    if clean == rendered and not force:
        return source
    return "<div>" + clean.replace("\r", "").replace("\n", "&#10;") + "</div>"


def _safe_metadata(metadata) -> dict:
    """Output metadata the templates read, with the values they insert unquoted made safe
    (``width=1 onerror=...`` would become an attribute of the image)."""
    def keep(md) -> dict:
        out = {}
        for key in ("width", "height"):
            value = md.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value
        if isinstance(md.get("alt"), str):
            out["alt"] = md["alt"]
        if isinstance(md.get("unconfined"), bool):
            out["unconfined"] = md["unconfined"]
        return out

    metadata = metadata if isinstance(metadata, dict) else {}
    out = keep(metadata)
    for mime, md in metadata.items():
        if mime in RENDERED_TYPES and isinstance(md, dict):
            out[mime] = keep(md)
    return out


def _sanitize_output(out: NotebookNode) -> NotebookNode:
    if out.get("output_type") not in ("display_data", "execute_result"):
        return out  # streams and errors are rendered as escaped text
    data = {}
    for mime, value in dict(out.get("data", {})).items():
        if mime not in RENDERED_TYPES:
            continue
        if mime == "text/html":
            value = sanitize_html(value if isinstance(value, str) else "".join(value))
        elif mime == "text/markdown":
            value = sanitize_markdown(value if isinstance(value, str) else "".join(value))
        elif mime == "image/svg+xml":
            value = sanitize_svg(value if isinstance(value, str) else "".join(value))
            if value is None:
                continue
        data[mime] = value
    if not data:
        data = {"text/plain": REMOVED_OUTPUT}
    clean = NotebookNode(output_type=out.output_type, data=NotebookNode(data),
                         metadata=NotebookNode(_safe_metadata(out.get("metadata"))))
    if out.output_type == "execute_result":
        clean.execution_count = out.get("execution_count")
    return clean


_GRADE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def sanitize_rendering(nb: NotebookNode) -> NotebookNode:
    """Make every part of ``nb`` that nbconvert's HTML templates insert unescaped safe, in place.

    ``text/html``, ``text/markdown`` and ``image/svg+xml`` outputs and markdown and raw cells are
    cleaned; other output types that run code (``application/javascript``, widget views) are
    dropped with the notebook's widget state; output metadata keeps only well-typed sizes; an
    nbgrader grade id that could break out of its HTML attribute is replaced.
    """
    nb.metadata.pop("widgets", None)
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and "grade_id" in meta and not _GRADE_ID.match(
                str(meta["grade_id"])):
            meta["grade_id"] = f"cell-{index}"
        if cell.cell_type == "code":
            cell.outputs = [_sanitize_output(out) for out in cell.get("outputs", [])]
        elif cell.cell_type == "markdown":
            cell.source = sanitize_markdown(cell.source, cell.get("attachments"))
        elif cell.cell_type == "raw":
            cell.source = sanitize_html(cell.source)
    return nb


# -- the feedback ---------------------------------------------------------------------------------
class SecretsUnavailable(RuntimeError):
    """The source notebook of the assignment was not found: no feedback may be written."""


#: Shown in the feedback in place of a kernel's outputs after the first hidden test.
OUTPUTS_WITHHELD = ("Outputs of your code from here on are not shown in feedback (the kernel had "
                    "run hidden tests by then); run your notebook to see them.")


def keep_grader_outputs(nb: NotebookNode) -> int:
    """From the first test cell on, replace each code cell's outputs by the grader's own
    messages (the first test cell keeps its outputs, which ran before its hidden tests);
    return the number of cells changed."""
    from .guard import NOTES_KEY, error_output

    first = next((i for i, c in enumerate(nb.cells) if notebooks.cell_kind(c) == "test"), None)
    if first is None:
        return 0
    changed, noted = 0, False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or index < first:
            continue
        notes = [error_output(n["ename"], n["evalue"].split("] ", 1)[-1])
                 for n in cell.get("metadata", {}).get(NOTES_KEY, [])
                 if isinstance(n, dict) and isinstance(n.get("ename"), str)
                 and isinstance(n.get("evalue"), str)]
        if index == first:
            kept = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"
                    or not str(o.get("evalue", "")).startswith("[grader]")]
            cell.outputs = kept + notes
            continue
        if not cell.get("outputs") and not notes:
            continue
        withheld = [] if noted else [NotebookNode(output_type="stream", name="stdout",
                                                  text=OUTPUTS_WITHHELD + "\n")]
        noted = noted or bool(cell.get("outputs"))
        cell.outputs = (withheld if cell.get("outputs") else []) + notes
        changed += 1
    return changed


def sanitize(nb: NotebookNode, secrets: redact.Secrets | None = None) -> NotebookNode:
    """The feedback form of a notebook, in place: hidden tests, failure details and rubrics
    removed (:func:`sanitize_cell`), secrets redacted, HTML made safe (:func:`sanitize_rendering`).

    Parameters
    ----------
    nb : NotebookNode
        An autograded notebook.
    secrets : redact.Secrets, optional
        The secret lines of the assignment (:func:`redact.secrets_for_assignment`); lines of the
        student's own answer cells are not redacted. Without it, nothing is redacted by content.

    Returns
    -------
    NotebookNode
        ``nb``.
    """
    known = redact.answer_lines(nb)
    keep_grader_outputs(nb)
    for cell in nb.cells:
        sanitize_cell(cell)
    if secrets:
        secrets = secrets.without(known)
        redact.redact_notebook(nb, secrets)
    sanitize_rendering(nb)
    if secrets:  # the cleaner decodes entities: a secret spelt with them is readable now
        redact.redact_notebook(nb, secrets)
    return nb


def _coursedir(obj):
    """nbgrader's CourseDirectory of the converter that owns a preprocessor (or None)."""
    while obj is not None:
        coursedir = getattr(obj, "coursedir", None)
        if coursedir is not None:
            return coursedir
        obj = getattr(obj, "parent", None)
    return None


class SanitizeFeedback(Preprocessor):
    """nbconvert preprocessor form of :func:`sanitize` (for ``GenerateFeedback.preprocessors``).

    The secrets come from the source notebooks of ``resources['nbgrader']['assignment']`` in
    the course root of nbgrader's CourseDirectory (or :attr:`course_root`); when they cannot be
    read, :class:`SecretsUnavailable` stops nbgrader from writing this student's feedback.
    """

    enabled = Bool(True).tag(config=True)  # nbconvert skips disabled preprocessors
    course_root = Unicode("", help="Course root holding source/ (default: nbgrader's "
                                   "CourseDirectory.root)").tag(config=True)

    def _secrets(self, resources) -> redact.Secrets:
        assignment = (resources or {}).get("nbgrader", {}).get("assignment")
        coursedir = _coursedir(self)
        root = self.course_root or (coursedir.root if coursedir is not None else "")
        if not assignment or not root:
            raise SecretsUnavailable("feedback needs the assignment and the course root to read "
                                     "its source notebook; no feedback written")
        source_dir = getattr(coursedir, "source_directory", "source")
        release_dir = getattr(coursedir, "release_directory", "release")
        cache = self.__dict__.setdefault("_cache", {})
        if (root, assignment) not in cache:
            try:
                cache[root, assignment] = redact.secrets_for_assignment(
                    root, assignment, source_dir, release_dir)
            except Exception as exc:  # unreadable source: refuse, whatever the reason
                raise SecretsUnavailable(f"cannot read the source of {assignment!r} under "
                                         f"{root}: {exc}; no feedback written") from None
        return cache[root, assignment]

    def preprocess(self, nb, resources):
        return sanitize(nb, self._secrets(resources)), resources


class SanitizeRendering(Preprocessor):
    """nbconvert preprocessor form of :func:`sanitize_rendering` (HTML safety only, no
    redaction): for formgrader's exporter (:func:`formgrader_preprocessors`)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        return sanitize_rendering(nb), resources


def feedback_preprocessors() -> list:
    """nbgrader's default feedback preprocessors with :class:`SanitizeFeedback` first."""
    from nbgrader.converters.generate_feedback import GenerateFeedback

    default = GenerateFeedback.class_traits()["preprocessors"].default()
    return [SanitizeFeedback, *[p for p in default if p is not SanitizeFeedback]]


def formgrader_preprocessors() -> list:
    """Preprocessors for ``c.HTMLExporter.preprocessors`` in ``nbgrader_config.py``.

    Formgrader renders submissions with an ``HTMLExporter`` built from that configuration, so
    the instructor's browser gets the same clean HTML as the students' feedback (the hidden
    tests stay: the instructor may read them). ``GenerateFeedback``'s exporter runs it too,
    before :class:`SanitizeFeedback`; cleaning twice changes nothing. Formgrader alone also
    gets the model answer and rubric below each written answer
    (:class:`nmautils.course.formgrade.ShowModelAnswers`).
    """
    from .formgrade import ShowModelAnswers

    return [SanitizeRendering, ShowModelAnswers]


def generate(folder, assignment: str, student: str) -> list[Path]:
    """Write the sanitised HTML feedback of one autograded student; return the HTML files.

    ``folder`` is the :class:`nmautils.course.grading.GradingFolder` in which ``student`` was
    autograded.
    """
    result = folder.api.generate_feedback(assignment, student, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_feedback failed for {student}:\n{result.get('log', '')}")
    return sorted((folder.root / "feedback" / student / assignment).glob("*.html"))
