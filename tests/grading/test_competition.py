"""The decoding competition of assignment 3 (nmautils/course/competition.py).

Fast tests of the pieces (seeds, held-out set, scoring, signatures, ties), two attacks on the
held-out set (a kernel that rebuilds it with the generator and every seed it can see; ranking
one's predictions onto the tilt range), then one class run (``python -m nmautils.course
grade``'s API, sandboxed, no seed given) of four made-up submissions:

- ``ridge``: the model answer's ridge decoder of the doubled angle;
- ``network``: ``predict`` returns the trained one-hidden-layer network's output;
- ``cheat``: ``predict`` rebuilds the held-out set with the generator and every seed the kernel
  can see and returns its tilts if one matches, else 0 for everything; the notebook prints a
  perfect score, redefines ``test_mse``, ``print`` and ``numpy.mean``, and ``predict`` patches
  numpy and builtins while it runs; the submitted notebook also carries a forged result;
- ``absent``: ``predict`` left as released (it raises NotImplementedError).

Only ``ridge`` may get the +5, and the gradebook must hold it as extra credit of the
competition cell; the run draws one seed, shared by all, written only where students never look.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from grading_harness import grading_environment

from nmautils.course import build, classgrade, competition, notebooks
from nmautils.course.grading import generated_release

ASSIGNMENT = "assignment3_interpret"
SPEC = competition.COMPETITIONS[ASSIGNMENT]
#: Seeds a kernel can see or guess: the old public default, small numbers, the module's numbers.
VISIBLE_SEEDS = (20260613, 0, 1, 4242, competition.MIN_SEED, competition.SEED_BITS)


# -- the pieces ----------------------------------------------------------------------------------
def test_seeds_are_private_numbers():
    drawn = competition.draw_seed()
    assert drawn >= competition.MIN_SEED and drawn.bit_length() == competition.SEED_BITS + 1
    assert competition.draw_seed() != drawn
    assert competition.process_seed() == competition.process_seed()
    assert competition.check_seed(drawn) == drawn
    for guessable in (0, 4242, 20260613, competition.MIN_SEED - 1):
        with pytest.raises(ValueError, match="search"):
            competition.check_seed(guessable)
    with pytest.raises(TypeError):
        competition.check_seed(True)
    with pytest.raises(TypeError):
        competition.check_seed(str(drawn))
    print_ = competition.fingerprint(drawn)
    assert print_ == competition.fingerprint(drawn) != competition.fingerprint(drawn + 1)
    assert str(drawn) not in print_ and len(print_) == 16
    with pytest.raises(ValueError):
        competition.heldout_set("small", 20260613)


def test_heldout_set_is_a_new_session_of_the_same_neurons():
    from nmautils.surrogate import FILE_1DEG, make_surrogate

    seed = competition.MIN_SEED + 5
    resp, tilts = competition.heldout_set("small", seed)
    assert competition.MIN_ROWS <= len(tilts) <= competition.MAX_ROWS
    assert resp.shape == (len(tilts), 1000) and resp.dtype == np.float32
    assert tilts.min() >= -90.0 and tilts.max() < 90.0
    assert not np.any(tilts == np.round(tilts)), "the tilts should be continuous, not a grid"
    again, tilts_again = competition.heldout_set("small", seed)
    assert np.array_equal(again, resp) and np.array_equal(tilts_again, tilts)
    public = make_surrogate(FILE_1DEG, "small")["resp"]
    assert not np.any(np.all(np.isclose(resp[:, None], public[None]), axis=2)), \
        "a held-out row equals a row of the public file"
    # same neurons: each row follows the public row of the nearest whole direction
    nearest = public[np.round(tilts + 90.0).astype(int) % 360]
    assert np.corrcoef(resp.ravel(), nearest.ravel())[0, 1] > 0.3
    counts = {len(competition.heldout_set("small", seed + k)[1]) for k in range(1, 6)}
    assert len(counts) > 1, "the number of held-out stimuli should depend on the seed"
    other, _ = competition.heldout_set("small", seed + 1)
    assert other.shape != resp.shape or not np.array_equal(other, resp)


ATTACKER = """
import json
import sys
import numpy
from nmautils.course import competition

resp = numpy.load(sys.argv[1])
seeds = [int(s) for s in sys.argv[2].split(",")]
seeds += [getattr(competition, "DEFAULT_SEED", 0), getattr(competition, "process_seed", int)()]
competition.check_seed = int  # the kernel's copy of the module: its checks are the kernel's
found, guesses = None, []
for seed in seeds:
    for size in ("small", "full"):
        try:
            rebuilt, tilts = competition.heldout_set(size, seed)
        except Exception:
            continue
        if rebuilt.shape == resp.shape and numpy.array_equal(rebuilt, resp):
            found = tilts
        if size == "small":
            guesses.append(numpy.resize(tilts, len(resp)).tolist())
print(json.dumps({"found": None if found is None else found.tolist(), "guesses": guesses}))
"""


@pytest.mark.parametrize("grader_seed", ["drawn", "process"])
def test_a_kernel_cannot_rebuild_the_heldout_set(tmp_path, grader_seed):
    """A kernel that imports the generator and tries every seed it can see learns nothing."""
    seed = competition.draw_seed() if grader_seed == "drawn" else competition.process_seed()
    resp, tilts = competition.heldout_set("small", seed)
    np.save(tmp_path / "resp.npy", resp)
    env = {**os.environ, "NMAUTILS_SURROGATE_SIZE": "small"}
    out = subprocess.run([sys.executable, "-c", ATTACKER, str(tmp_path / "resp.npy"),
                          ",".join(map(str, VISIBLE_SEEDS))],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    answer = json.loads(out.stdout)
    assert answer["found"] is None, "the kernel rebuilt the held-out set"
    chance = float(np.mean(tilts**2))  # the error of guessing 0 for everything
    assert len(answer["guesses"]) >= len(VISIBLE_SEEDS)
    for guess in answer["guesses"]:
        assert competition.mse(guess, tilts) > 0.8 * chance


def _model_answer():
    """``predict`` of the model answer (the notebook's ridge decoder of the doubled angle),
    trained on the public small surrogate like the notebook."""
    import torch

    from nmautils.surrogate import FILE_1DEG, make_surrogate

    public = make_surrogate(FILE_1DEG, "small")
    keep = public["stimuli"] <= 180
    x = torch.from_numpy(public["resp"][keep]).double()
    y = torch.from_numpy(public["stimuli"][keep] - 90.0).double().unsqueeze(1)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(4))
    n_train = int(0.6 * len(y))
    x_train, y_train = x[order[:n_train]], y[order[:n_train]]
    x_test, y_test = x[order[n_train:]], y[order[n_train:]]
    x_mean = x_train.mean(dim=0)
    centred = x_train - x_mean
    doubled = torch.deg2rad(2 * y_train)
    targets = torch.cat([torch.cos(doubled), torch.sin(doubled)], dim=1)
    target_mean = targets.mean(dim=0)
    gram = centred @ centred.T

    def tilts(weights, r):
        out = (torch.as_tensor(r).double() - x_mean) @ weights + target_mean
        return torch.rad2deg(torch.atan2(out[:, 1], out[:, 0])) / 2

    best = min(((float(((tilts(w, x_test) - y_test[:, 0]) ** 2).mean()), w) for w in (
        centred.T @ torch.linalg.solve(gram + p * torch.eye(len(gram), dtype=gram.dtype),
                                       targets - target_mean)
        for p in (1.0, 10.0, 100.0, 1000.0))), key=lambda t: t[0])
    return lambda resp: tilts(best[1], resp).numpy()


def test_ranking_the_predictions_does_not_beat_the_model_answer():
    """Sorting one's predictions and mapping them onto the tilt range -90..90 would be exact
    for a known grid of tilts; on tilts drawn at random it loses to the plain predictions."""
    predict = _model_answer()
    for k in range(8):
        resp, tilts = competition.heldout_set("small", competition.MIN_SEED + 1000 + k)
        plain = predict(resp)
        ranked = np.empty_like(plain)
        ranked[np.argsort(plain, kind="stable")] = np.linspace(-90.0, 90.0, len(plain))
        model, attack = competition.mse(plain.tolist(), tilts), competition.mse(ranked.tolist(), tilts)
        assert model < 0.2 * float(np.mean(tilts**2)), "the model answer should decode"
        assert attack > model, (k, attack, model)


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
    record = {"assignment": ASSIGNMENT, "status": "ok", "mse": 1.5, "seed": "1",
              "fingerprint": "f", "error": ""}
    record["signature"] = competition.sign(record, "run-key")
    assert competition.verified(record, "run-key") == record
    assert competition.verified(record, "another-key") is None
    assert competition.verified({**record, "mse": 0.0}, "run-key") is None
    assert competition.verified({**record, "fingerprint": "g"}, "run-key") is None
    assert competition.verified({**record, "signature": None}, "run-key") is None
    assert competition.verified(record, "") is None


def test_winners_are_the_lowest_and_all_ties():
    assert competition.winners({"a": 3.0, "b": 1.0, "c": None, "d": 2.0}) == ["b"]
    assert competition.winners({"a": 1.0, "b": 1.0, "c": 4.0}) == ["a", "b"]
    assert competition.winners({"a": None, "b": float("nan")}) == []
    grades = [classgrade.SubmissionResult(s, "graded") for s in ("a", "b", "c", "d")]
    grades[0].competition = {"status": "ok", "mse": 2.0, "fingerprint": "same"}
    grades[1].competition = {"status": "ok", "mse": 2.0, "fingerprint": "same"}
    grades[2].competition = {"status": "error", "mse": None, "error": "NotImplementedError"}
    # best of all, but on another held-out set: not comparable, so not ranked
    grades[3].competition = {"status": "ok", "mse": 0.5, "fingerprint": "other"}
    assert classgrade.award_competition(ASSIGNMENT, grades) == ["a", "b"]
    assert [g.extra_credit for g in grades] == [SPEC.bonus, SPEC.bonus, 0.0, 0.0]
    assert any("not ranked" in m for m in grades[2].messages)
    assert any("another held-out set" in m for m in grades[3].messages)
    for g in grades:
        g.extra_credit, g.messages = 0.0, []
    assert classgrade.award_competition(ASSIGNMENT, grades, fingerprint="other") == ["d"]
    assert any("another held-out set" in m for m in grades[0].messages)


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
    # rebuild the held-out set with the generator and every seed in reach: its tilts if one matches
    import numpy as np_
    from nmautils.course import competition as generator
    from nmautils.surrogate import default_size

    generator.check_seed = int
    seeds = (getattr(generator, "DEFAULT_SEED", 0), getattr(generator, "process_seed", int)(),
             0, 1, 4242, 20260613)
    for seed in seeds:
        try:
            rebuilt, tilts = generator.heldout_set(default_size(), seed)
        except Exception:
            continue
        if rebuilt.shape == tuple(resp.shape) and np_.array_equal(rebuilt, resp.numpy()):
            return torch.from_numpy(tilts).reshape(-1, 1)
    # then try to bend everything a score could be computed with, and guess 0
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
        # no seed given: the run draws one
        result = classgrade.grade_class(ASSIGNMENT, tmp / "submitted", tmp / "out", workers=2,
                                        feedback=True)
        from nbgrader.api import Gradebook

        out = tmp / "out"
        with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
            extra = {s: gb.find_grade(SPEC.cell, ASSIGNMENT, ASSIGNMENT, s).extra_credit
                     for s in subs}
            totals = {s: gb.find_submission(ASSIGNMENT, s).score for s in subs}
        record = out / "competition.json"
        files = {"record": json.loads(record.read_text()), "record_mode": record.stat().st_mode,
                 "csv": (out / "grades.csv").read_text(),
                 "feedback": {p.parent.parent.name: p.read_text()
                              for p in sorted((out / "feedback").rglob("*.html"))}}
        yield ({g.student: g for g in result.grades}, extra, totals, (out / "report.txt").read_text(),
               files)


def test_the_best_decoder_wins(class_run):
    grades, extra, totals, report, _ = class_run
    errors = {s: (g.competition or {}).get("mse") for s, g in grades.items()}
    assert errors["ridge"] is not None and errors["network"] is not None, report
    assert errors["ridge"] < errors["network"], errors
    assert [s for s, g in grades.items() if g.extra_credit] == ["ridge"], report
    assert extra == {"ridge": SPEC.bonus, "network": 0, "cheat": 0, "absent": 0}
    assert totals["ridge"] == pytest.approx(totals["network"] + SPEC.bonus)
    assert "+5 extra credit" in report


def test_a_cheat_does_not_win(class_run):
    grades, extra, totals, report, _ = class_run
    cheat = grades["cheat"]
    assert cheat.status == "graded"
    assert cheat.competition is not None and cheat.competition["status"] == "ok", cheat.messages
    # scored on what predict returned (0 for everything: no seed in reach rebuilt the held-out
    # set), not on anything the notebook printed
    _, tilts = competition.heldout_set("small", int(cheat.competition["seed"]))
    assert cheat.competition["mse"] == pytest.approx(float(np.mean(tilts**2)))
    assert cheat.competition["mse"] > grades["ridge"].competition["mse"]
    assert extra["cheat"] == 0 and totals["cheat"] == pytest.approx(totals["ridge"] - SPEC.bonus)


def test_a_missing_predict_is_not_ranked_and_costs_nothing(class_run):
    grades, extra, totals, _, _ = class_run
    absent = grades["absent"]
    assert absent.competition is not None and absent.competition["status"] == "error"
    assert "NotImplementedError" in absent.competition["error"]
    assert absent.score == grades["network"].score == absent.max_score
    assert totals["absent"] == totals["network"]


def test_the_run_draws_one_seed_that_no_student_sees(class_run):
    grades, _, _, report, files = class_run
    records = [g.competition for g in grades.values()]
    assert all(r is not None for r in records), report
    seeds = {r["seed"] for r in records}
    assert len(seeds) == 1, "students of one class run should share the held-out set"
    seed = int(seeds.pop())
    assert seed.bit_length() == competition.SEED_BITS + 1  # drawn (draw_seed), not given
    fingerprint = competition.fingerprint(seed)
    assert {r["fingerprint"] for r in records} == {fingerprint}
    # recorded for the instructor: competition.json (owner only) and the notebooks' metadata
    assert files["record"] == {"assignment": ASSIGNMENT, "seed": str(seed),
                               "fingerprint": fingerprint, "drawn": True, "winners": ["ridge"]}
    assert files["record_mode"] & 0o077 == 0
    assert "competition seed: drawn for this run (recorded in competition.json" in report
    assert fingerprint in report
    # ... and in nothing a student receives: messages, report, CSV, feedback
    assert set(files["feedback"]) == set(grades), files["feedback"].keys()
    for text in (report, files["csv"], *files["feedback"].values(),
                 *(m for g in grades.values() for m in g.messages)):
        assert str(seed) not in text
    assert all(competition.METADATA_KEY not in html for html in files["feedback"].values())
