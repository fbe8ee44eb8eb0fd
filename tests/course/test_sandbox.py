"""The bubblewrap sandbox of grading kernels (nmautils/course/sandbox.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from nmautils.course import sandbox
from nmautils.course.grading import REPO_ROOT

needs_sandbox = pytest.mark.skipif(not sandbox.sandbox_available(),
                                   reason="no sandbox on this machine: " + sandbox._probe())


def _binds(cmd: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for i, arg in enumerate(cmd):
        if arg in ("--bind", "--ro-bind"):
            out.append((arg, cmd[i + 1], cmd[i + 2]))
    return out


def test_limits_become_rlimits():
    limits = sandbox.SandboxLimits(memory_gb=2, processes=64, file_size_mb=10, cpu_seconds=30)
    r = limits.rlimits(extra_processes=5)
    assert r["RLIMIT_AS"] == 2 * 2**30
    assert r["RLIMIT_NPROC"] == 69
    assert r["RLIMIT_FSIZE"] == 10 * 2**20
    assert r["RLIMIT_CPU"] == 30
    assert r["RLIMIT_CORE"] == 0


def test_readonly_paths_never_expose_the_repository(monkeypatch):
    monkeypatch.setattr(sys, "path", [str(REPO_ROOT), *sys.path])
    paths = sandbox.readonly_paths(sys.executable)
    package = Path(sandbox._nmautils_dir())
    assert package in paths
    for path in paths:
        assert path == package or not package.is_relative_to(path), path


def test_command_isolates_network_processes_and_environment(tmp_path):
    if sandbox.bwrap_executable() is None:
        pytest.skip("bwrap is not installed")
    private = sandbox.prepare_private_dir(None)
    try:
        env = {"NMAUTILS_DATA": "surrogate", "AWS_SECRET_ACCESS_KEY": "x", "HOME": "/root"}
        cmd = sandbox.sandbox_command([sys.executable, "-m", "ipykernel_launcher"],
                                      submission=tmp_path, private_dir=private, env=env)
    finally:
        import shutil

        shutil.rmtree(private)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv",
                 "--new-session"):
        assert flag in cmd
    sources = {src for _, src, _ in _binds(cmd)}
    assert str(REPO_ROOT) not in sources
    assert not any(Path(s) == REPO_ROOT / "source" for s in sources)
    writable = [(src, dst) for kind, src, dst in _binds(cmd) if kind == "--bind"]
    assert writable == [(str(private / "ipc"), str(private / "ipc"))]
    pairs = {cmd[i + 1]: cmd[i + 2] for i, a in enumerate(cmd) if a == "--setenv"}
    assert pairs["NMAUTILS_DATA"] == "surrogate"
    assert "AWS_SECRET_ACCESS_KEY" not in pairs
    assert pairs["HOME"] == sandbox.SANDBOX_HOME


def test_refuses_with_a_clear_message_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    sandbox._probe.cache_clear()
    try:
        assert not sandbox.sandbox_available()
        with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
            sandbox.check_available()
    finally:
        sandbox._probe.cache_clear()


KERNEL_PROBE = r"""
import json, os, resource, socket
facts = {"uid": os.getuid(), "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
         "repo_visible": os.path.exists(REPO + "/source"),
         "home_visible": any(os.path.exists(p) for p in ("/root/.bash_history", "/root/.ssh", "/root/.config", "/work/main/README.md")),
         "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0], "pid": os.getpid()}
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1)
    facts["network"] = "connected"
except OSError as exc:
    facts["network"] = type(exc).__name__
open("written-here.txt", "w").write("ok")
print(json.dumps(facts))
"""


@needs_sandbox
def test_kernel_runs_confined_and_leaves_nothing(tmp_path):
    (tmp_path / "notebook.ipynb").write_text("{}")

    async def scenario():
        km = sandbox.SandboxedKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(tmp_path))
        kc = km.client()
        kc.start_channels()
        outputs = []
        try:
            await kc.wait_for_ready(timeout=60)
            code = f"REPO = {str(REPO_ROOT)!r}\n" + KERNEL_PROBE
            reply = await kc.execute_interactive(
                code, timeout=60,
                output_hook=lambda m: outputs.append(m["content"].get("text", "")))
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return km, "".join(outputs)

    import json

    km, text = asyncio.run(scenario())
    facts = json.loads(text.strip().splitlines()[-1])
    if os.geteuid() == 0:
        assert facts["uid"] != 0
    assert facts["cwd"] == f"{sandbox.SANDBOX_HOME}/{tmp_path.name}"
    assert facts["files"] == ["notebook.ipynb"]
    assert facts["repo_visible"] is False
    assert facts["home_visible"] is False
    assert facts["network"] != "connected"
    assert facts["nproc"] <= 256 + (0 if os.geteuid() == 0 else 100_000)
    assert not (tmp_path / "written-here.txt").exists()  # it wrote into its own copy only
    assert not km._private.exists()


@needs_sandbox
def test_plain_nbgrader_autograde_runs_the_kernel_in_the_sandbox(tmp_path):
    """``nbgrader autograde`` with the project's config (here through nbgrader's API, which the
    command line calls) grades inside the sandbox: the answer cell cannot see the course."""
    from grading_harness import grading_environment

    from nmautils.course import notebooks
    from nmautils.course.build import source_path
    from nmautils.course.grading import temporary_course

    assignment = "tutorial1_decoding"
    source = notebooks.read(source_path(assignment))
    probe = ("import os\n"
             "print('COURSE-VISIBLE' if os.path.exists('{root}/gradebook.db') else 'hidden')\n"
             "open('{root}/PWNED', 'w') if os.path.isdir('{root}') else None\n")
    with grading_environment(), temporary_course(timeout=20) as course:
        course.add_source(assignment)
        release = notebooks.read(course.generate(assignment) / f"{assignment}.ipynb")
        answers = tuple(notebooks.answer_tests(source))
        nb = notebooks.fill_submission(release, source,
                                       replace={answers[0]: probe.format(root=course.root)},
                                       blank=answers[1:])
        course.submit(assignment, "probe", {f"{assignment}.ipynb": nb})
        result = course.autograde(assignment, "probe")
        graded = notebooks.read(course.root / "autograded" / "probe" / assignment /
                                f"{assignment}.ipynb")
        text = "\n".join(str(o) for c in graded.cells for o in c.get("outputs", []))
        assert "hidden" in text and "COURSE-VISIBLE" not in text
        assert not (course.root / "PWNED").exists()
        assert result.auto_score == 0


def test_blocking_ipc_kernel_runs_code_over_unix_sockets():
    from nmautils.course.sandbox import BlockingIPCKernelManager

    km = BlockingIPCKernelManager(kernel_name="python3")
    km.start_kernel()
    private = km._private
    try:
        assert km.transport == "ipc" and str(private) in km.ip
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive("x = 6 * 7", user_expressions={"x": "x"}, timeout=60)
        assert reply["content"]["user_expressions"]["x"]["data"]["text/plain"] == "42"
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    assert not private.exists(), "the private socket folder outlives the kernel"
