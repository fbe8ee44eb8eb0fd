"""Benchmark: class-size grading in parallel worker processes vs sequential ``nbgrader autograde``.

    python bench/bench_grading.py [--n 52] [--workers 2] [--sequential 12] [--assignment A]

Builds ``--n`` synthetic submissions of tutorial1_decoding (a mix of full solutions, untouched
releases, wrong answers from tests/grading/mutants, and cheap faults from nmautils.course.faults), grades
all of them with ``python -m nmautils.course grade`` logic (``--workers`` processes), and grades a
stratified sample of ``--sequential`` of them with the nbgrader command line
(``nbgrader autograde <assignment>``, one student after another, same configuration). Use
``--sequential 0`` to grade all of them sequentially too (slow). Prints one line per measure:
``name value unit goal status``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nmautils.course import build, classgrade, faults, notebooks  # noqa: E402
from nmautils.course.grading import ensure_tools_on_path, generated_release  # noqa: E402

ENV = {**build.EXECUTION_ENV, "NMAUTILS_SURROGATE_SIZE": "small"}
CHEAP_FAULTS = ["raises", "syntax_error", "missing_package", "wrong_shape", "nan_output",
                "numpy_not_tensor", "rebinds_names", "patches_libraries", "default_dtype"]


def _mutants(assignment: str) -> dict[str, str]:
    path = REPO / "tests" / "grading" / "mutants" / f"{assignment}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location("mutants", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.MUTANTS)


def make_submissions(assignment: str, folder: Path, n: int) -> list[str]:
    """Write ``n`` submissions (cycling full / blank / mutant / fault) under ``folder``."""
    source = notebooks.read(build.source_path(assignment))
    name = f"{assignment}.ipynb"
    release = generated_release(assignment)
    solutions = {notebooks.nbgrader_meta(c)["grade_id"]: c.source for c in source.cells
                 if notebooks.cell_kind(c) == "answer"}
    answers, mutants = list(solutions), _mutants(assignment)
    kinds = ["full", "blank", "mutant", "fault"]
    students = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        answer = answers[(i // len(kinds)) % len(answers)]
        if kind == "full":
            nb = notebooks.fill_submission(release, source)
        elif kind == "blank":
            nb = release
        elif kind == "mutant" and answer in mutants:
            nb = notebooks.fill_submission(release, source, replace={answer: mutants[answer]})
        else:
            fault = CHEAP_FAULTS[(i // len(kinds)) % len(CHEAP_FAULTS)]
            nb = notebooks.fill_submission(
                release, source, replace={answer: faults.inject(solutions[answer], [fault])})
            kind = f"fault-{fault}"
        student = f"s{i:03d}-{kind}"
        notebooks.write(nb, folder / student / assignment / name)
        students.append(student)
    return students


def sequential(assignment: str, submitted: Path, students: list[str], work: Path) -> float:
    """Seconds for ``nbgrader autograde`` (CLI, sequential) over ``students``."""
    course = work / "seq"
    shutil.copytree(REPO / "source" / assignment, course / "source" / assignment)
    shutil.copy2(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    for s in students:
        shutil.copytree(submitted / s, course / "submitted" / s)
    env = {**os.environ, **ENV}
    run = dict(cwd=course, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    subprocess.run(["nbgrader", "generate_assignment", assignment, "--force"], **run)
    start = time.perf_counter()
    subprocess.run(["nbgrader", "autograde", assignment, "--create", "--force"], **run)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="tutorial1_decoding")
    parser.add_argument("--n", type=int, default=52)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sequential", type=int, default=8,
                        help="submissions graded sequentially (0: all)")
    args = parser.parse_args(argv)
    ensure_tools_on_path()
    os.environ.update(ENV)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        students = make_submissions(args.assignment, tmp / "submitted", args.n)
        result = classgrade.grade_class(args.assignment, tmp / "submitted", tmp / "out",
                                        workers=args.workers)
        par_rate = result.per_minute
        k = args.sequential or len(students)
        sample = students[:: max(1, len(students) // k)][:k]
        seq_s = sequential(args.assignment, tmp / "submitted", sample, tmp)
        seq_rate = 60.0 * len(sample) / seq_s
        flagged = sum(g.status == "flagged" for g in result.grades)
    speedup = par_rate / seq_rate
    rows = [
        ("grading_submissions", len(students), "count", ">=50", len(students) >= 50),
        ("grading_parallel_rate", f"{par_rate:.1f}", "submissions/min",
         f"workers={args.workers}", True),
        ("grading_parallel_s_per_submission", f"{result.seconds / len(students):.2f}", "s", "-", True),
        ("grading_sequential_rate", f"{seq_rate:.1f}", "submissions/min",
         f"nbgrader autograde, {len(sample)} subs", True),
        ("grading_sequential_s_per_submission", f"{seq_s / len(sample):.2f}", "s", "-", True),
        ("grading_speedup", f"{speedup:.2f}", "x", ">=1.4", speedup >= 1.4),
        ("grading_flagged", flagged, "count", "0", flagged == 0),
    ]
    for name, value, unit, goal, ok in rows:
        print(f"{name} {value} {unit} {goal.replace(' ', '_')} {'ok' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
