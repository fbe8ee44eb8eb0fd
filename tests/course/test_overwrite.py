"""No false tampering warnings for honest submissions (nmautils.course.overwrite, nbgrader#1961).

nbgrader stores a locked cell's checksum before it removes the hidden tests, so its own
``OverwriteCells`` reports every untouched test cell of a release as edited. The course's
sanitising step must stay silent on the untouched release and still report, and restore, a cell
the student edited.
"""

from __future__ import annotations

import copy
import logging

import pytest
from nbgrader.preprocessors import OverwriteCells

from nmautils.course import notebooks
from nmautils.course.grading import temporary_grading_folder
from nmautils.course.overwrite import ReleaseAwareOverwriteCells, release_text

ASSIGNMENT = "tutorial1_decoding"


@pytest.fixture(scope="module")
def generated():
    """``(release notebook, gradebook URL)`` of a generated assignment (no kernel runs)."""
    with temporary_grading_folder() as course:
        course.add_source(ASSIGNMENT)
        release = notebooks.read(course.generate(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
        yield release, course.api.coursedir.db_url


def _overwrite(preprocessor, nb, db_url, caplog):
    resources = {"nbgrader": {"notebook": ASSIGNMENT, "assignment": ASSIGNMENT, "db_url": db_url}}
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        out, _ = preprocessor(log=logging.getLogger("test-overwrite")).preprocess(
            copy.deepcopy(nb), resources)
    changed = [r.getMessage() for r in caplog.records if "has changed" in r.getMessage()]
    return out, changed


def test_the_untouched_release_is_not_reported_as_edited(generated, caplog):
    release, db_url = generated
    _, plain = _overwrite(OverwriteCells, release, db_url, caplog)
    assert any("checksum" in m for m in plain), "nbgrader no longer has the false warning"
    out, changed = _overwrite(ReleaseAwareOverwriteCells, release, db_url, caplog)
    assert changed == []
    hidden = [c for c in out.cells if "BEGIN HIDDEN TESTS" in c.source]
    assert hidden, "the hidden tests are put back for grading"


def test_an_edited_test_cell_is_still_reported_and_restored(generated, caplog):
    release, db_url = generated
    nb = copy.deepcopy(release)
    test = next(c for c in nb.cells if notebooks.cell_kind(c) == "test")
    test.source = "pass"
    out, changed = _overwrite(ReleaseAwareOverwriteCells, nb, db_url, caplog)
    gid = notebooks.nbgrader_meta(test)["grade_id"]
    assert any(gid in m and "checksum" in m for m in changed), changed
    restored = next(c for c in out.cells if notebooks.nbgrader_meta(c).get("grade_id") == gid)
    assert "BEGIN HIDDEN TESTS" in restored.source


def test_release_text_drops_hidden_tests_and_mark_schemes():
    source = ("check()\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\n")
    assert release_text(source) == "check()\n"
    rubric = "Answer.\n=== BEGIN MARK SCHEME ===\nrubric\n=== END MARK SCHEME ===\n"
    assert "rubric" not in release_text(rubric, "markdown")
