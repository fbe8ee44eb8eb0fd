"""First program inside a grading sandbox: limits, a writable copy of the submission, then exec.

Run by :mod:`nmautils.course.sandbox` as the sandbox's unprivileged user, by path (not ``-m``,
so that importing it imports nothing else)::

    python _sandbox_entry.py [--uid UID] LIMITS_JSON SOURCE_DIR WORK_DIR -- KERNEL_COMMAND ...

With ``--uid`` (the sandbox was started by root with only CAP_SETUID/CAP_SETGID) it first drops
to that user and group id, which also drops every capability.

``LIMITS_JSON`` maps ``resource`` limit names (``RLIMIT_AS``, ``RLIMIT_NPROC``, ...) to soft =
hard values. ``SOURCE_DIR`` (read-only) is copied into ``WORK_DIR`` (on the sandbox's size-limited
tmpfs), the process changes into it and replaces itself by the kernel. Limits can only be
lowered, never raised, by the code that runs afterwards.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys


def apply_limits(limits: dict[str, int]) -> None:
    """Set every ``RLIMIT_*`` of ``limits`` (soft = hard, never above the current hard limit)."""
    for name, value in limits.items():
        which = getattr(resource, name)
        _, hard = resource.getrlimit(which)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def main(argv: list[str]) -> None:
    if argv[0] == "--uid":
        uid = int(argv[1])
        argv = argv[2:]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    sep = argv.index("--")
    limits_json, source, work = argv[:sep]
    command = argv[sep + 1 :]
    os.umask(0o077)
    apply_limits(json.loads(limits_json))
    if os.path.isdir(source):
        shutil.copytree(source, work, dirs_exist_ok=True, symlinks=True)
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
