"""No answer within reach: no public nmautils helper, and no thin wrapper around one, passes an
exercise's tests (hidden tests included) in place of the student's own code.

For each assignment, ``tests/harness/substitution_harness.py`` runs the source notebook's set-up and
definitions once, then puts every signature-compatible public callable of ``nmautils`` (all
public modules but ``nmautils.course``) and every wrapper of ``DELEGATES`` in
``tests/grading/mutants/<assignment>.py`` in the place of each exercise and runs the exercise's test
cells. Each must fail. Sanity checks in the same runs show that the harness can pass and fail:
the model answer passes, the mutant fails, and each delegate passes once
``nmautils.checks.refusing`` is switched off.

The four assignments run in two subprocesses at once (no nbgrader, no kernels), on the small
surrogate data like the grading tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from substitution_harness import (
    RESULT_MARK,
    Outcome,
    judge,
    make_plan,
    public_modules,
    run_plan,
)

ASSIGNMENTS = (
    "tutorial1_decoding",
    "tutorial2_encoding",
    "tutorial3_backprop",
    "assignment3_interpret",
)
HARNESS = Path(__file__).resolve().parents[1] / "harness" / "substitution_harness.py"

#: Assignments per subprocess: two at once (the machines that run this have two cores or more),
#: balanced by their run time.
WORKERS = (
    ("tutorial2_encoding", "tutorial3_backprop"),
    ("tutorial1_decoding", "assignment3_interpret"),
)

#: Environment of the subprocesses: small surrogate data, no progress bars, one thread each
#: (four processes share the machine).
SUBPROCESS_ENV = {
    "NMAUTILS_DATA": "surrogate",
    "NMAUTILS_SURROGATE_SIZE": "small",
    "NMAUTILS_PROGRESS": "off",
    "NMAUTILS_DEVICE": "cpu",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, list[Outcome]]:
    """The outcomes of every candidate, per assignment (two subprocesses at once)."""
    folder = tmp_path_factory.mktemp("substitution")
    env = {**os.environ, **SUBPROCESS_ENV}
    start = time.perf_counter()
    procs = []
    for worker, group in enumerate(WORKERS):
        plans = []
        for assignment in group:
            plans.append(folder / f"{assignment}.json")
            plans[-1].write_text(json.dumps(make_plan(assignment)))
        out, err = folder / f"worker{worker}.out", folder / f"worker{worker}.err"
        with open(out, "w") as out_file, open(err, "w") as err_file:
            proc = subprocess.Popen(
                [sys.executable, str(HARNESS), "--plan", *map(str, plans)],
                stdout=out_file, stderr=err_file, env=env, cwd=HARNESS.parents[2],
            )
        procs.append((proc, out, err))
    results = {}
    for proc, out, err in procs:
        proc.wait(timeout=600)
        text = out.read_text()
        assert proc.returncode == 0 and RESULT_MARK in text, f"harness failed:\n{err.read_text()[-3000:]}"
        for assignment, records in json.loads(text.split(RESULT_MARK, 1)[1]).items():
            results[assignment] = [Outcome(**r) for r in records]
    print(f"\nsubstitution harness: {time.perf_counter() - start:.1f} s for {len(results)} assignments")
    return results


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_public_helper_or_delegate_answers_an_exercise(outcomes, assignment):
    problems = judge(outcomes[assignment])
    assert not problems, f"{assignment}:\n" + "\n".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_was_tried(outcomes, assignment):
    """Each exercise got its model answer, its mutant and many substitutes."""
    plan = make_plan(assignment)
    for grade_id in plan["answer_tests"]:
        kinds = [o.kind for o in outcomes[assignment] if o.grade_id == grade_id]
        assert kinds.count("solution") == 1 and kinds.count("mutant") == 1, (grade_id, kinds)
        assert kinds.count("substitute") >= 5, f"{grade_id}: only {kinds.count('substitute')} substitutes"


def test_the_helpers_that_answered_exercises_are_tried(outcomes):
    """The helpers of issue 10 are among the candidates of the exercises they answered.

    ``Model.loss`` and ``get_hidden_activity`` take other arguments than the exercises they
    answer, so only the wrappers of ``DELEGATES`` try them.
    """
    tried = {(o.grade_id, o.label) for runs in outcomes.values() for o in runs}
    assert ("ex_train", "train = nmautils.train.train_full_batch") in tried
    assert ("ex_train", "train = nmautils.train.train_minibatch") in tried
    delegates = [o for runs in outcomes.values() for o in runs if o.kind == "delegate"]
    assert {o.grade_id for o in delegates} == {"ex_mse", "ex_train", "ex_hidden_activity", "ex_test_mse",
                                               "ex_plot_activity"}


def test_every_assignment_runs():
    assert sorted(a for group in WORKERS for a in group) == sorted(ASSIGNMENTS)


def test_public_modules_are_walked():
    assert public_modules() == [
        f"nmautils.{m}"
        for m in ("analysis", "checks", "data", "models", "placecells", "plotting", "progress",
                  "report", "runtime", "settings", "stimuli", "surrogate", "train", "widgets")
    ]


def test_harness_flags_a_helper_that_answers():
    """The check can fail: an exercise that a public helper answers (RDM) is reported."""
    plan = {
        "assignment": "made_up",
        "answer_tests": {"ex_dissimilarity": ["test_dissimilarity"]},
        "base": [("setup", "import numpy as np\nimport torch")],
        "code": {
            "ex_dissimilarity": "def dissimilarity(resp):\n"
            "    return torch.from_numpy(1 - np.corrcoef(np.asarray(resp, dtype=float)))\n",
            "test_dissimilarity": "from nmautils.course.hidden import expect\n"
            "_r = torch.randn(5, 8, dtype=torch.float64)\n"
            "expect('rdm', dissimilarity(_r), atol=1e-8)\n",
        },
        "methods": {"ex_dissimilarity": {"dissimilarity": []}},
    }
    plan["base"].append(("ex_dissimilarity", plan["code"]["ex_dissimilarity"]))
    outcomes = run_plan(plan, mutants={}, delegates={"ex_dissimilarity": [
        "from nmautils.analysis import RDM\ndef dissimilarity(resp):\n    return RDM(resp)\n",
    ]})
    problems = judge(outcomes)
    assert any("substitute 'dissimilarity = nmautils.analysis.RDM'" in p for p in problems), problems
    assert any("delegate 'DELEGATES[0]' passes" in p for p in problems), problems
    assert not any("solution" in p for p in problems), problems
