"""Reports of a class run: the competition's bonus, ``grades.csv`` and ``report.txt``.

Everything here is computed from the recorded results (:mod:`.recording`), so a resumed run
reports the whole class, not only what it graded itself.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from .. import competition
from ..grading import SubmissionResult
from .intake import first_line

#: How many of the slowest students the report names.
SLOWEST = 3


@dataclass
class ClassResult:
    """What a class run knows about the class: every recorded result and what this run did.

    Attributes
    ----------
    assignment : str
        The assignment.
    grades : list of SubmissionResult
        The recorded result of every student of the run that has one, in student order.
    seconds : float
        Wall time of this run.
    workers : int
        Worker threads the run started with (1: graded in this process).
    competition : str
        The report's line about the competition seed (never the seed itself).
    graded : list of str
        Students graded and recorded by this run, in the order their results arrived.
    skipped : int
        Students not graded again: their recorded result has the same files, assignment version
        and settings.
    not_graded : dict
        ``{student: why}`` for submissions this run could not grade (a worker without a sandbox,
        a lost connection); they have no record and the next run grades them.
    pending : int
        Students still waiting for their result (while the run goes on).
    duplicates : int
        Results that arrived for a student already recorded by this run (ignored).
    dashboard : str
        The Dask dashboard's address, or why there is none ("" when no cluster was used).
    """

    assignment: str
    grades: list[SubmissionResult]
    seconds: float
    workers: int
    competition: str = ""
    graded: list[str] = field(default_factory=list)
    skipped: int = 0
    not_graded: dict[str, str] = field(default_factory=dict)
    pending: int = 0
    duplicates: int = 0
    dashboard: str = ""

    @property
    def per_minute(self) -> float:
        """Submissions graded by this run per minute of its wall time."""
        return 60.0 * len(self.graded) / self.seconds if self.seconds else 0.0

    def scores(self) -> dict[str, dict[str, float | None]]:
        """``{student: {grade id: score}}`` (for determinism checks)."""
        return {g.student: {k: v.score for k, v in sorted(g.cells.items())} for g in self.grades}

    def slowest(self, n: int = SLOWEST) -> list[SubmissionResult]:
        """The ``n`` results of this run that took longest to grade, slowest first."""
        mine = set(self.graded)
        return sorted((g for g in self.grades if g.student in mine),
                      key=lambda g: -g.seconds)[:n]


def award_competition(assignment: str, grades: list[SubmissionResult],
                      fingerprint: str | None = None) -> list[str]:
    """Give the competition's bonus (as extra credit) to the students with the lowest held-out
    error; return their names. Each student gets a message with their result.

    Parameters
    ----------
    assignment : str
        The assignment; one without a competition awards nothing.
    grades : list of SubmissionResult
        The class's results, with their verified competition records.
    fingerprint : str, optional
        Seed fingerprint (:func:`nmautils.course.competition.fingerprint`) of the held-out set
        to rank on; by default the one most results were made on. Results made on another
        held-out set are not ranked, and their students are told so.

    Returns
    -------
    list of str
        The winners (all of them on a tie; none when nobody has a result on that set).
    """
    spec = competition.COMPETITIONS.get(assignment)
    if spec is None:
        return []
    ok = [g.competition for g in grades if (g.competition or {}).get("status") == "ok"]
    if fingerprint is None and ok:
        counts = Counter(r.get("fingerprint") for r in ok)
        fingerprint = max(sorted(counts, key=str), key=counts.__getitem__)
    errors = {}
    for g in grades:
        record = g.competition or {}
        same_set = record.get("fingerprint") == fingerprint
        errors[g.student] = record.get("mse") if record.get("status") == "ok" and same_set else None
    best = competition.winners(errors)
    for g in grades:
        record = g.competition or {}
        g.extra_credit = spec.bonus if g.student in best else 0.0
        if g.student in best:
            g.messages.append(f"competition: held-out MSE {errors[g.student]:.6g}, the lowest of "
                              f"the class: +{spec.bonus:g} extra credit on {spec.cell}")
        elif errors[g.student] is not None:
            g.messages.append(f"competition: held-out MSE {errors[g.student]:.6g} (lowest "
                              f"{errors[best[0]]:.6g})")
        elif record.get("status") == "ok":
            g.messages.append(f"competition: not ranked (scored on another held-out set: seed "
                              f"fingerprint {record.get('fingerprint')}, not {fingerprint})")
        elif record:
            g.messages.append(first_line(f"competition: not ranked ({record.get('status')}"
                                         f"{': ' + record['error'] if record.get('error') else ''})"))
        elif g.status == "graded":
            g.messages.append("competition: no result (the notebook did not run to the end)")
    return best


def competition_line(seed_fingerprint: str, drawn: bool, file_name: str) -> str:
    """The report's line about the competition seed: where it is kept, never the seed."""
    origin = "drawn for this run" if drawn else "given (--competition-seed)"
    return (f"competition seed: {origin} (recorded in {file_name} and in the autograded "
            f"notebooks' metadata '{competition.METADATA_KEY}'), fingerprint "
            f"{seed_fingerprint}")


def csv_text(result: ClassResult) -> str:
    """``grades.csv``: one row per student with status, totals, per-cell scores and messages."""
    cells = sorted({gid for g in result.grades for gid, v in g.cells.items()
                    if v.kind == "autograded"})
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["student", "status", "score", "max_score", "extra_credit", *cells,
                     "messages"])
    for g in result.grades:
        row = [g.student, g.status, f"{g.score:g}", f"{g.max_score:g}", f"{g.extra_credit:g}"]
        row += ["" if c not in g.cells or g.cells[c].score is None else f"{g.cells[c].score:g}"
                for c in cells]
        row.append(" | ".join(g.messages))
        writer.writerow(row)
    return buffer.getvalue()


def summary(result: ClassResult) -> list[str]:
    """The report's opening lines: how much this run graded, how fast, what it skipped."""
    total = len(result.grades) + result.pending + len(result.not_graded)
    lines = [f"{result.assignment}: {total} submissions; {len(result.graded)} graded in this run "
             f"in {result.seconds:.1f} s with {result.workers} worker(s): "
             f"{result.per_minute:.1f} submissions/minute"]
    if result.skipped:
        lines.append(f"skipped {result.skipped} already graded (same files, assignment version "
                     "and settings; --regrade grades them again)")
    if result.pending:
        lines.append(f"{result.pending} still being graded")
    failed = sum(g.status == "failed" for g in result.grades)
    if failed:
        lines.append(f"{failed} failed (they killed their workers again and again)")
    slow = result.slowest()
    if slow:
        lines.append("slowest: " + ", ".join(f"{g.student} ({g.seconds:.1f} s)" for g in slow))
    if result.dashboard:
        lines.append(result.dashboard)
    if result.competition:
        lines.append(result.competition)
    for student, why in sorted(result.not_graded.items()):
        lines.append(f"NOT GRADED {student}: {why}")
    return lines


def report(result: ClassResult) -> str:
    """``report.txt``: :func:`summary`, then each student's status, score and messages."""
    lines = summary(result)
    for g in result.grades:
        bonus = f" +{g.extra_credit:g} extra credit" if g.extra_credit else ""
        lines.append(f"{g.student:24s} {g.status:8s} {g.score:g}/{g.max_score:g}{bonus}  "
                     f"({g.seconds:.1f} s)")
        lines += [f"    - {m}" for m in g.messages]
    return "\n".join(lines) + "\n"
