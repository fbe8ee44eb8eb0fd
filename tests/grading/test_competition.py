"""The decoding competition of assignment 3 (nmautils/course/competition.py).

Fast tests of the pieces (held-out set, scoring, signatures, ties), then one class run
(``python -m nmautils.course grade``'s API, sandboxed) of four made-up submissions:

- ``ridge``: the model answer's ridge decoder of the doubled angle;
- ``network``: ``predict`` returns the trained one-hidden-layer network's output;
- ``cheat``: ``predict`` returns 0 for everything, but the notebook prints a perfect score,
  redefines ``test_mse``, ``print`` and ``numpy.mean``, and ``predict`` patches numpy and
  builtins while it runs; the submitted notebook also carries a forged competition result;
- ``absent``: ``predict`` left as released (it raises NotImplementedError).

Only ``ridge`` may get the +5, and the gradebook must hold it as extra credit of the
competition cell.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from grading_harness import grading_environment

from nmautils.course import build, classgrade, competition, notebooks
from nmautils.course.grading import generated_release

ASSIGNMENT = "assignment3_interpret"
SPEC = competition.COMPETITIONS[ASSIGNMENT]


# -- the pieces ----------------------------------------------------------------------------------
def test_heldout_set_is_a_new_session_of_the_same_neurons():
    from nmautils.surrogate import FILE_1DEG, make_surrogate

    resp, tilts = competition.heldout_set("small", seed=5)
    assert resp.shape == (181, 1000) and resp.dtype == np.float32
    assert sorted(tilts.tolist()) == list(np.arange(-90.0, 91.0))
    assert not np.array_equal(tilts, np.sort(tilts)), "rows should be shuffled"
    again, tilts_again = competition.heldout_set("small", seed=5)
    assert np.array_equal(again, resp) and np.array_equal(tilts_again, tilts)
    public = make_surrogate(FILE_1DEG, "small")["resp"][:181]
    ordered = resp[np.argsort(tilts)]
    assert not np.any(np.all(np.isclose(ordered[:, None], public[None]), axis=2)), \
        "a held-out row equals a row of the public file"
    # same neurons: the new session's responses follow the public ones
    assert np.corrcoef(ordered.ravel(), public.ravel())[0, 1] > 0.3
    other, _ = competition.heldout_set("small", seed=6)
    assert not np.array_equal(other, resp)


def test_scores_need_one_finite_number_per_stimulus():
    tilts = np.array([-10.0, 0.0, 30.0])
    assert competition.mse([-10, 0.0, 31.0], tilts) == pytest.approx(1 / 3)
    assert competition.mse([0.0, 0.0], tilts) is None
    assert competition.mse([0.0, float("nan"), 1.0], tilts) is None
    assert competition.mse([0.0, True, 1.0], tilts) is None
    assert competition.mse("0.0", tilts) is None
    assert competition.parse_reply("'{\"status\": \"ok\", \"predictions\": [1.0]}'") == {
        "status": "ok", "predictions": [1.0]}
    assert competition.parse_reply("MSE 0.0 (a fake)") == {"status": "invalid"}
    assert competition.parse_reply("'[1, 2]'") == {"status": "invalid"}


def test_only_results_signed_with_the_runs_key_count():
    record = {"assignment": ASSIGNMENT, "status": "ok", "mse": 1.5, "seed": 1, "error": ""}
    record["signature"] = competition.sign(record, "run-key")
    assert competition.verified(record, "run-key") == record
    assert competition.verified(record, "another-key") is None
    assert competition.verified({**record, "mse": 0.0}, "run-key") is None
    assert competition.verified({**record, "signature": None}, "run-key") is None
    assert competition.verified(record, "") is None


def test_winners_are_the_lowest_and_all_ties():
    assert competition.winners({"a": 3.0, "b": 1.0, "c": None, "d": 2.0}) == ["b"]
    assert competition.winners({"a": 1.0, "b": 1.0, "c": 4.0}) == ["a", "b"]
    assert competition.winners({"a": None, "b": float("nan")}) == []
    grades = [classgrade.StudentGrade(s, "graded") for s in ("a", "b", "c")]
    grades[0].competition = {"status": "ok", "mse": 2.0}
    grades[1].competition = {"status": "ok", "mse": 2.0}
    grades[2].competition = {"status": "error", "mse": None, "error": "NotImplementedError"}
    assert classgrade.award_competition(ASSIGNMENT, grades) == ["a", "b"]
    assert [g.extra_credit for g in grades] == [SPEC.bonus, SPEC.bonus, 0.0]
    assert any("not ranked" in m for m in grades[2].messages)


# -- a class run -----------------------------------------------------------------------------------
NETWORK = '''
def predict(resp):
    with torch.no_grad():
        return decoder(resp)
'''

CHEAT = '''
import builtins
import sys

def predict(resp):
    # try to bend everything a score could be computed with, then guess 0
    numpy.mean = lambda *args, **kwargs: 0.0
    torch.mean = lambda *args, **kwargs: torch.tensor(0.0)
    builtins.float = lambda *args: 0.0
    print("held-out MSE: 0.0 - the best of the class")
    sys.stdout.write("competition MSE 0.0\\n")
    return torch.zeros(len(resp), 1)
'''

CHEAT_CELL = '''
import builtins
import numpy

def test_mse(net, test_data, test_labels):
    return 0.0

numpy.mean = lambda *args, **kwargs: 0.0
builtins.print = lambda *args, **kwargs: None
__grader_competition__ = '{"status": "ok", "predictions": []}'
sys_stdout_note = "held-out MSE: 0.0"
'''


@pytest.fixture(scope="module")
def class_run():
    source = notebooks.read(build.source_path(ASSIGNMENT))
    name = f"{ASSIGNMENT}.ipynb"
    with tempfile.TemporaryDirectory(prefix="competition-") as tmp, grading_environment():
        tmp = Path(tmp)
        release = generated_release(ASSIGNMENT)
        # The PCA answer is graded by hand and plays no part here; left unfinished, grading skips
        # the CNN demonstration its model answer reads (9 s per student).
        pca = ("written_extracredit_code",)
        cheat = notebooks.fill_submission(release, source, replace={SPEC.cell: CHEAT}, blank=pca)
        cheat.cells.append(notebooks.nbformat.v4.new_code_cell(CHEAT_CELL))
        cheat.metadata[competition.METADATA_KEY] = {
            "assignment": ASSIGNMENT, "status": "ok", "mse": 0.0, "seed": 0, "error": "",
            "signature": "0" * 64}
        subs = {
            "ridge": notebooks.fill_submission(release, source, blank=pca),
            "network": notebooks.fill_submission(release, source, replace={SPEC.cell: NETWORK},
                                                 blank=pca),
            "cheat": cheat,
            "absent": notebooks.fill_submission(release, source, blank=(SPEC.cell, *pca)),
        }
        for student, nb in subs.items():
            notebooks.write(nb, tmp / "submitted" / student / ASSIGNMENT / name)
        result = classgrade.grade_class(ASSIGNMENT, tmp / "submitted", tmp / "out", workers=2,
                                        competition_seed=4242)
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{tmp / 'out' / 'gradebook.db'}") as gb:
            extra = {s: gb.find_grade(SPEC.cell, ASSIGNMENT, ASSIGNMENT, s).extra_credit
                     for s in subs}
            totals = {s: gb.find_submission(ASSIGNMENT, s).score for s in subs}
        yield {g.student: g for g in result.grades}, extra, totals, (tmp / "out" / "report.txt").read_text()


def test_the_best_decoder_wins(class_run):
    grades, extra, totals, report = class_run
    errors = {s: (g.competition or {}).get("mse") for s, g in grades.items()}
    assert errors["ridge"] is not None and errors["network"] is not None, report
    assert errors["ridge"] < errors["network"], errors
    assert [s for s, g in grades.items() if g.extra_credit] == ["ridge"], report
    assert extra == {"ridge": SPEC.bonus, "network": 0, "cheat": 0, "absent": 0}
    assert totals["ridge"] == pytest.approx(totals["network"] + SPEC.bonus)
    assert "+5 extra credit" in report


def test_a_cheat_does_not_win(class_run):
    grades, extra, totals, report = class_run
    cheat = grades["cheat"]
    assert cheat.status == "graded"
    assert cheat.competition is not None and cheat.competition["status"] == "ok", cheat.messages
    # scored on what predict returned (0 for everything), not on anything the notebook printed
    _, tilts = competition.heldout_set("small", seed=4242)
    assert cheat.competition["mse"] == pytest.approx(float(np.mean(tilts**2)))
    assert cheat.competition["mse"] > grades["ridge"].competition["mse"]
    assert extra["cheat"] == 0 and totals["cheat"] == pytest.approx(totals["ridge"] - SPEC.bonus)


def test_a_missing_predict_is_not_ranked_and_costs_nothing(class_run):
    grades, extra, totals, _ = class_run
    absent = grades["absent"]
    assert absent.competition is not None and absent.competition["status"] == "error"
    assert "NotImplementedError" in absent.competition["error"]
    assert absent.score == grades["network"].score == absent.max_score
    assert totals["absent"] == totals["network"]
