"""Command line of the course tooling.

    python -m nmautils.course build [ASSIGNMENT ...]   regenerate release/ and solutions/
    python -m nmautils.course check                    fail when release/ or solutions/ are stale
    python -m nmautils.course main [ASSIGNMENT ...] [--config generic] [--no-demo] [--out DIR]
                                                       build into build/main, execute, autograde
                                                       a demo class, compare with the committed
                                                       release/ and solutions/, print a summary
    python -m nmautils.course grade A SUBMITTED --workers 2 --out DIR [--feedback]
                                                       grade a class on Dask workers, resuming
                                                       what DIR records (classgrade/)
    python -m nmautils.course publish OUT [ASSIGNMENT ...] [--url URL] [--with-solutions A ...]
                                                       write the students' edition into OUT
                                                       (publish.py)

Every command works on one course folder: --root FOLDER, or else the current folder or its
nearest parent that holds nbgrader_config.py and source/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import notebooks
from .build import NUMERIC_CONFIGS, assignments, build, source_path, stale_files, verify
from .grading import CourseNotFound, find_course_root, temporary_grading_folder


def _data_source(assignment: str, course_root: Path) -> str:
    """Which data the assignment's notebook runs on when built (surrogate data in the build)."""
    text = "\n".join(c.source for c in notebooks.read(source_path(assignment, course_root)).cells)
    if "load_data" in text:
        return "synthetic surrogate (offline)"
    if "simulate_place_cells" in text or "ratinabox" in text.lower():
        return "RatInABox simulation"
    return "none"


def cmd_build(names: list[str], course_root: Path) -> int:
    results = build(names or None, course_root)
    failed = [r for r in results if not r.ok]
    for r in results:
        status = f"{r.seconds:.1f} s" if r.ok and r.seconds is not None else f"FAILED {r.error}"
        print(f"{r.assignment:24s} {status}")
    return 1 if failed else 0


def cmd_check(course_root: Path) -> int:
    stale = stale_files(course_root)
    if stale:
        print("Stale generated files (run `make build`):")
        for path in stale:
            print("  ", path)
        return 1
    print("release/ and solutions/ are up to date with source/.")
    return 0


def demo_grades(names: list[str], course_root: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """Autograde a full-marks and a blank demo submission of each assignment of ``course_root``.

    Returns ``{assignment: {"demo_full": (score, max), "demo_blank": (score, max)}}``.
    """
    out: dict[str, dict[str, tuple[float, float]]] = {}
    with temporary_grading_folder(course_root) as course:
        for name in names:
            course.add_source(name)
            release_dir = course.generate(name)
            release = notebooks.read(release_dir / f"{name}.ipynb")
            source = notebooks.read(source_path(name, course_root))
            course.submit(name, "demo_full", {f"{name}.ipynb": notebooks.fill_submission(release, source)})
            course.submit(name, "demo_blank", {f"{name}.ipynb": release})
            out[name] = {}
            for student in ("demo_full", "demo_blank"):
                res = course.autograde(name, student)
                if not res.cells:
                    raise RuntimeError(f"autograde of {student} failed:\n{res.log}")
                out[name][student] = (res.score, res.max_score)
    return out


def cmd_main(course_root: Path, config: str = "native", demo: bool = True, out: Path | None = None,
             names: list[str] | None = None) -> int:
    """Build the assignments ``names`` (default: all) of the course folder ``course_root`` into ``out``
    (default ``<course_root>/build/main``), execute under the numeric ``config``, autograde the demo
    class (unless ``demo`` is False), compare with the committed release/ and solutions/, and
    print a summary. Tracked files are never written."""
    known = assignments(course_root)
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        print(f"error: no source/ notebook for {', '.join(unknown)} (known: {', '.join(known)})")
        return 2
    names = names or known
    out = out or course_root / "build" / "main"
    t0 = time.perf_counter()
    print(f"Building {len(names)} assignments into {out} ({config} arithmetic): {', '.join(names)}")
    results, diffs = verify(names, out, course_root, config=config)
    build_s = time.perf_counter() - t0
    grades: dict[str, dict[str, tuple[float, float]]] = {}
    grade_s = 0.0
    if demo:
        print(f"Built and executed in {build_s:.0f} s; autograding demo submissions ...")
        t1 = time.perf_counter()
        grades = demo_grades(names, course_root)
        grade_s = time.perf_counter() - t1

    header = ("assignment", "notebook", "exercises", "points (auto+manual)", "exec time",
              "data source", "demo full", "demo blank", "status")
    rows = []
    all_ok = True
    for r in results:
        cells = notebooks.graded_cells(notebooks.read(source_path(r.assignment, course_root)))
        n_ex = sum(c.kind == "answer" for c in cells) + sum(c.kind == "written" for c in cells)
        auto = sum(c.points for c in cells if c.kind == "test")
        manual = sum(c.points for c in cells if c.kind in ("written", "task"))
        ok = r.ok
        full_s = blank_s = "-"
        if demo:
            full, blank = grades[r.assignment]["demo_full"], grades[r.assignment]["demo_blank"]
            ok = ok and full[0] == full[1] and blank[0] == 0
            full_s, blank_s = f"{full[0]:g}/{full[1]:g}", f"{blank[0]:g}/{blank[1]:g}"
        all_ok &= ok
        differs = any(d.startswith((f"release/{r.assignment}/", f"solutions/{r.assignment}/"))
                      for d in diffs)
        rows.append((
            r.assignment, r.notebook, str(n_ex), f"{auto:g}+{manual:g}",
            f"{r.seconds:.1f} s" if r.seconds is not None else "-", _data_source(r.assignment, course_root),
            full_s, blank_s, "FAILED" if not ok else "differs" if differs else "ok",
        ))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print()
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    print(f"\nbuild {build_s:.0f} s, demo grading {grade_s:.0f} s; "
          f"{'all assignments ok' if all_ok else 'SOME ASSIGNMENTS FAILED'}")
    for r in results:
        if not r.ok:
            print(f"\n{r.assignment} failed to execute:\n{r.error}")
    if diffs:
        print(f"\n{len(diffs)} difference(s) between the committed files and this build "
              f"(in {out}; `make build` rewrites the committed ones):")
        for d in diffs:
            print("  " + d)
    else:
        print("\nThe committed release/ and solutions/ match this build (sanitised text outputs).")
    return 0 if all_ok and not diffs else 1


def cmd_publish(out: Path, names: list[str], url: str | None, with_solutions: list[str],
                course_root: Path) -> int:
    """Write the students' edition of ``course_root`` into ``out`` and say what it holds."""
    from . import publish

    try:
        edition = publish.publish(out, names or None, url, with_solutions, course_root)
    except (publish.PublishError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"Wrote the students' edition for {edition.url} into {edition.folder}: "
          f"{len(edition.files)} files; release/ of {', '.join(edition.assignments)}"
          + (f"; solutions/ of {', '.join(edition.solutions)}" if edition.solutions else ""))
    if edition.rewritten:
        print(f"note: the source notebooks of {', '.join(edition.rewritten)} carry another URL "
              f"than {edition.url}; the edition's badges and install cells were rewritten, so "
              "their read-only cells differ from source/ (set [tool.nmautils] students-url in "
              "pyproject.toml and run build, and grading sees the same cells)")
    for file, assignment, line in edition.shared:
        print(f"note: {file} shows a line of {assignment}'s solution or tests: {line}")
    print(("Apart from those notes, the" if edition.shared else "The") + " edition shows no "
          "line of a solution, hidden test or model answer of source/ that the course's release "
          "does not show. Commit and push that folder to the students' repository.")
    return 0


def _add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=None,
                        help="the course folder (nbgrader_config.py + source/); default: the "
                             "current folder or the nearest parent that is one")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nmautils.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="regenerate release/ and solutions/")
    p_build.add_argument("assignments", nargs="*")
    _add_root(p_build)
    p_check = sub.add_parser("check", help="fail when release/ or solutions/ are stale")
    _add_root(p_check)
    p_main = sub.add_parser("main", help="build into build/main, autograde demo submissions, "
                            "compare with the committed files, print a summary")
    p_main.add_argument("assignments", nargs="*", help="default: every assignment of source/")
    p_main.add_argument("--config", choices=sorted(NUMERIC_CONFIGS), default="native",
                        help="numeric configuration to execute under (default: native)")
    p_main.add_argument("--no-demo", action="store_true", help="skip the demo autograding")
    p_main.add_argument("--out", type=Path, default=None,
                        help="build folder (default <course>/build/main)")
    _add_root(p_main)
    p_grade = sub.add_parser("grade", help="autograde a folder of submissions in parallel")
    p_grade.add_argument("assignment")
    p_grade.add_argument("submitted", help="folder of <student>/<assignment>/*.ipynb")
    p_grade.add_argument("--workers", type=int, default=2,
                         help="worker processes of the embedded Dask cluster (1: grade in this "
                              "process)")
    p_grade.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                         help="grade on the Dask cluster of this scheduler instead (its workers "
                              "need nmautils[instructor] and bubblewrap)")
    p_grade.add_argument("--regrade", action="store_true",
                         help="grade every submission again, even those OUT records as graded "
                              "from the same files, assignment version and settings")
    p_grade.add_argument("--retry-failed", action="store_true",
                         help="grade again the submissions recorded as failed (they killed "
                              "their workers)")
    p_grade.add_argument("--out", default="graded",
                         help="the output folder: records/, autograded/, gradebook.db, "
                              "grades.csv, report.txt (run again, it grades what is left)")
    p_grade.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    p_grade.add_argument("--submission-timeout", type=int, default=None,
                         help="seconds for one whole submission, restarts included (default: "
                              "GuardedExecute.submission_timeout, 600); cells left when it runs "
                              "out score 0 and the report says why")
    p_grade.add_argument("--feedback", action="store_true", help="also write sanitised HTML feedback")
    _add_root(p_grade)
    p_grade.add_argument("--no-sandbox", action="store_true",
                         help="grade without the bubblewrap sandbox (student code then runs with "
                              "your rights); only when no sandbox can be made")
    p_grade.add_argument("--competition-seed", type=int, default=None,
                         help="private seed of the competition's held-out set (assignments "
                              "with a competition), at least 2**64; default: the one an earlier "
                              "run recorded in <out>/competition.json, else one drawn for this "
                              "run and written there")
    p_publish = sub.add_parser("publish", help="write the students' edition (release notebooks, "
                               "the student package, a README) into a folder")
    p_publish.add_argument("out", type=Path,
                           help="the edition's folder: new, empty, a clone of the students' "
                                "repository or one publish wrote before")
    p_publish.add_argument("assignments", nargs="*",
                           help="assignments to publish (default: all); the edition holds "
                                "exactly these, so name every one released so far")
    p_publish.add_argument("--url", default=None,
                           help="the students' repository, https://github.com/<owner>/<repo> "
                                "(default: [tool.nmautils] students-url of pyproject.toml)")
    p_publish.add_argument("--with-solutions", nargs="+", action="extend", default=[],
                           metavar="ASSIGNMENT",
                           help="also publish the executed solution of these practice "
                                "assignments (refused for graded ones)")
    _add_root(p_publish)
    args = parser.parse_args(argv)
    if args.command == "grade":
        from . import classgrade

        return classgrade.main(args.assignment, args.submitted, args.out, args.workers,
                               args.timeout, args.feedback, sandbox=not args.no_sandbox,
                               course_root=args.root, competition_seed=args.competition_seed,
                               submission_timeout=args.submission_timeout,
                               scheduler=args.scheduler, regrade=args.regrade,
                               retry_failed=args.retry_failed)
    try:
        course_root = find_course_root(args.root)
    except CourseNotFound as exc:
        print(f"error: {exc}")
        return 2
    if args.command == "build":
        return cmd_build(args.assignments, course_root)
    if args.command == "check":
        return cmd_check(course_root)
    if args.command == "publish":
        return cmd_publish(args.out, args.assignments, args.url, args.with_solutions, course_root)
    return cmd_main(course_root, args.config, demo=not args.no_demo, out=args.out,
                    names=args.assignments)


if __name__ == "__main__":
    sys.exit(main())
