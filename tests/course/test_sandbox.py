"""The bubblewrap sandbox of grading kernels (nmautils/course/sandbox.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from hostile_sandbox import replace_targets_and_exit

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
    assert [b for b in _binds(cmd) if b[0] == "--bind"] == []  # no host folder is writable
    assert ("--ro-bind", str(private / "ipc"), str(private / "ipc")) in _binds(cmd)
    sizes = {cmd[i + 3]: cmd[i + 1] for i, a in enumerate(cmd) if a == "--size"}
    assert set(sizes) == {"/tmp", sandbox.SANDBOX_HOME, "/dev/shm",
                          sandbox.sandbox_socket_dir(private)}
    assert sizes[sandbox.sandbox_socket_dir(private)] == str(sandbox.SOCKET_DISK_BYTES)
    remounted = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--remount-ro"]
    assert remounted[-1] == "/" and cmd.index("--remount-ro") > max(
        i for i, a in enumerate(cmd) if a in ("--tmpfs", "--ro-bind", "--dir"))
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
         "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0], "pid": os.getpid(),
         "shadowed": os.path.exists("/tmp/shadowed"), "helper": __import__("helper").VALUE}
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
    (tmp_path / "helper.py").write_text("VALUE = 42\n")
    secret = tmp_path.parent / f"{tmp_path.name}-secret"
    secret.write_text("secret")
    os.chmod(secret, 0o600)
    (tmp_path / "leak.txt").symlink_to(secret)  # copied by root, it would hand the kernel a file
    (tmp_path / "ipykernel_launcher.py").write_text(
        "open('/tmp/shadowed', 'w').close()\n"
        "from ipykernel import kernelapp\nkernelapp.launch_new_instance()\n")

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
    assert facts["files"] == ["helper.py", "ipykernel_launcher.py", "notebook.ipynb"]
    assert facts["shadowed"] is False  # the submission cannot replace the kernel program
    assert facts["helper"] == 42  # but the student's own modules still import
    assert facts["repo_visible"] is False
    assert facts["home_visible"] is False
    assert facts["network"] != "connected"
    assert facts["nproc"] <= 256 + (0 if os.geteuid() == 0 else 100_000)
    assert not (tmp_path / "written-here.txt").exists()  # it wrote into its own copy only
    assert not km._private.exists()


@pytest.mark.parametrize("sandboxed", [
    pytest.param(True, marks=needs_sandbox),
    False,  # --no-sandbox grading, and the other side of the sandbox's cost in bench/
])
def test_a_kernel_shut_down_runs_its_exit_handlers_and_skips_the_teardown(tmp_path, sandboxed):
    """A graceful shutdown ends a grading kernel, sandboxed or not, from its last exit handler:
    handlers registered later still run, the interpreter's teardown (here an object's
    ``__del__``) does not."""
    # writes go to a copy of the kernel's own stderr (ipykernel's capture of fd 2 is gone by
    # then); the object sits on a module, whose namespace only the teardown clears
    code = ("import atexit, json, os, sys\n"
            "fd = os.dup(getattr(sys.stderr, '_original_stdstream_copy', None) or 2)\n"
            "atexit.register(os.write, fd, b'exit handler ran\\n')\n"
            "class Last:\n"
            "    def __del__(self, write=os.write, fd=fd):\n"
            "        write(fd, b'interpreter torn down\\n')\n"
            "json.kept = Last()\n")
    log = tmp_path.parent / f"{tmp_path.name}-kernel.log"

    async def scenario():
        km = sandbox.SandboxedKernelManager(kernel_name="python3", sandbox=sandboxed)
        with open(log, "wb") as stderr:  # the kernel's own console output
            await km.start_kernel(cwd=str(tmp_path), stderr=stderr)
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(code, timeout=60)
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=False)
        return await km.is_alive()

    assert asyncio.run(scenario()) is False
    err = log.read_text()
    assert "exit handler ran" in err
    assert "interpreter torn down" not in err


@needs_sandbox
def test_plain_nbgrader_autograde_runs_the_kernel_in_the_sandbox(tmp_path):
    """``nbgrader autograde`` with the project's config (here through nbgrader's API, which the
    command line calls) grades inside the sandbox: the answer cell cannot see the course."""
    from grading_harness import grading_environment

    from nmautils.course import notebooks
    from nmautils.course.build import source_path
    from nmautils.course.grading import temporary_grading_folder

    assignment = "tutorial1_decoding"
    source = notebooks.read(source_path(assignment))
    probe = ("import os\n"
             "print('COURSE-VISIBLE' if os.path.exists('{root}/gradebook.db') else 'hidden')\n"
             "open('{root}/PWNED', 'w') if os.path.isdir('{root}') else None\n")
    with grading_environment(), temporary_grading_folder(timeout=20) as course:
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
        assert result.score == 0


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


# -- attacks on the grader through the sandbox ------------------------------------------------

def _in_thread(scenario, timeout: float):
    """Run ``asyncio.run(scenario())`` in a thread: a grader blocked for good fails the test
    instead of hanging it."""
    import threading

    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(scenario())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the grader is still blocked after {timeout} s"
    if "error" in result:
        raise result["error"]
    return result["value"]


async def _execute(km, kc, code: str, timeout: float = 90) -> tuple[str, bool]:
    """Run ``code``; its printed text, and whether the kernel died while running it."""
    import queue
    import time

    msg_id = kc.execute(code)
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not await km.is_alive():
            return "".join(out), True
        try:
            msg = await kc.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append(f"ERROR {content['ename']}: {content['evalue']}\n")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out), False
    raise TimeoutError(f"no reply in {timeout} s")


async def _started(**traits):
    km = sandbox.SandboxedKernelManager(kernel_name="python3", **traits)
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=90)
    return km, kc


async def _stop(km, kc) -> None:
    kc.stop_channels()
    await km.shutdown_kernel(now=True)


REPLACE_CONNECTION = r"""
import glob, os, sys, time
from ipykernel.kernelapp import IPKernelApp
app = IPKernelApp.instance()
targets = [app.connection_file, *(f"{app.ip}-{n}" for n in range(1, 6)),
           *glob.glob("/tmp/nmautils-kernel-*/*/connection.json")]
""" + replace_targets_and_exit(
    'os.symlink(HOST_FILE, path) if MODE == "symlink" else os.mkfifo(path)',
    on_replaced='print("REPLACED", path)', on_kept='print("kept", path, type(exc).__name__)',
    pause_s=0.5)


@needs_sandbox
@pytest.mark.parametrize("mode", ["symlink", "fifo"])
def test_a_replaced_connection_file_neither_hands_out_a_file_nor_blocks_the_grader(tmp_path,
                                                                                  mode):
    """The kernel puts a link to a host file (or a FIFO) where its connection file and sockets
    are, and dies: the grader restarts it within seconds and chowns, opens or truncates
    nothing of the host."""
    import time

    secret = tmp_path / "host-secret"
    secret.write_text("secret")
    os.chmod(secret, 0o600)
    before = os.stat(secret)

    async def scenario():
        km, kc = await _started()
        try:
            code = f"HOST_FILE, MODE = {str(secret)!r}, {mode!r}\n" + REPLACE_CONNECTION
            text, died = await _execute(km, kc, code)
            assert died
            start = time.monotonic()
            kc.stop_channels()
            await km.restart_kernel(now=True)
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=90)
            restart_s = time.monotonic() - start
            after_text, died = await _execute(km, kc, "import os; print('UID', os.getuid())")
            return text, restart_s, after_text, died, km.sandbox_uid
        finally:
            await _stop(km, kc)

    text, restart_s, after_text, died, uid = _in_thread(scenario, timeout=180)
    assert restart_s < 60 and not died
    after = os.stat(secret)
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid,
                                                            before.st_mode)
    assert secret.read_text() == "secret"
    if os.geteuid() == 0:
        assert "REPLACED" not in text, text  # its connection file and sockets are read-only
        assert f"UID {uid}" in after_text  # a restarted kernel keeps its student's user id


FILL = r"""
import json, os
from ipykernel.kernelapp import IPKernelApp
app = IPKernelApp.instance()
places = {"sockets": os.path.dirname(app.ip), "shared": os.path.dirname(app.connection_file),
          "shm": "/dev/shm", "root": "/", "dev": "/dev"}
written, chunk = {}, b"x" * (1 << 20)
for name, folder in places.items():
    written[name] = 0
    for i in range(32):
        try:
            with open(os.path.join(folder, f"fill-{i}"), "wb") as fh:
                fh.write(chunk)
        except OSError:
            break
        written[name] += len(chunk)
print("WRITTEN", json.dumps(written))
"""


@needs_sandbox
@pytest.mark.parametrize("defence", ["sealed", "small", "off"])
def test_the_kernel_cannot_fill_the_disk_through_its_socket_folder(monkeypatch, defence):
    """Every place the kernel can write is size-limited; as root its socket folder takes
    nothing at all. ``off`` (no seal, a big socket tmpfs) shows the attack works otherwise."""
    disk_mb = 16
    if defence != "sealed":
        async def no_seal(self, process):
            return None

        monkeypatch.setattr(sandbox.SandboxedKernelManager, "_seal_sockets", no_seal)
    if defence == "off":
        monkeypatch.setattr(sandbox, "SOCKET_DISK_BYTES", 64 * 2**20)

    async def scenario():
        km, kc = await _started(disk_mb=disk_mb)
        try:
            return await _execute(km, kc, FILL)
        finally:
            await _stop(km, kc)

    import json

    text, died = asyncio.run(scenario())
    assert not died, text
    written = json.loads(text.split("WRITTEN", 1)[1])
    if defence == "off":
        assert written["sockets"] > disk_mb * 2**20
        return
    if defence == "sealed" and os.geteuid() == 0:
        assert written["sockets"] == 0
    assert written["sockets"] <= sandbox.SOCKET_DISK_BYTES
    assert written["shm"] <= disk_mb * 2**20
    assert written["shared"] == written["root"] == written["dev"] == 0


HOG = r"""
import subprocess, sys
child = ("import time\nb = b'x' * %d\nprint('HELD', flush=True)\ntime.sleep(5)" % EACH)
procs = [subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE)
         for _ in range(4)]
held = [p.stdout.readline() == b"HELD\n" for p in procs]
total = 0
for p, ok in zip(procs, held):
    try:
        total += int(open(f"/proc/{p.pid}/statm").read().split()[1]) * 4096 if ok else 0
    except OSError:
        pass
print("HELD", sum(held), "TOTAL", total)
for p in procs:
    p.kill()
"""


@needs_sandbox
@pytest.mark.parametrize("defence", ["cgroup", "watch", "off"])
def test_the_memory_of_all_the_kernels_processes_is_bounded(monkeypatch, defence):
    """Four processes each take 80 % of the memory limit: together they never hold more than
    the limit (the cgroup's OOM killer, or the grader's watch killing the sandbox). ``off``
    (neither) shows that the per-process limit alone lets them hold three times as much."""
    memory_gb = 1.0  # the kernel itself needs most of 0.5 GiB of address space
    limit = int(memory_gb * 2**30)
    if defence == "cgroup":
        made = sandbox.Cgroup.create(sandbox.SandboxLimits(memory_gb=memory_gb))
        if isinstance(made, str):
            pytest.skip(f"no cgroup on this machine: {made}")
        made.remove()
    else:
        monkeypatch.setattr(sandbox.Cgroup, "create", classmethod(lambda cls, limits: "off"))
    if defence == "off":
        monkeypatch.setattr(sandbox.MemoryWatch, "start", lambda self: None)

    async def scenario():
        km, kc = await _started(memory_gb=memory_gb)
        cgroup = km._cgroup
        try:
            text, died = await _execute(km, kc, f"EACH = {int(limit * 0.8)}\n" + HOG)
        finally:
            await _stop(km, kc)
        return text, died, cgroup

    text, died, cgroup = asyncio.run(scenario())
    held = 0 if died else int(text.split("TOTAL", 1)[1].split()[0])
    if defence == "off":
        assert held > 2 * limit, text
        return
    assert held <= limit, text
    if defence == "watch":
        assert died  # the grader killed the whole sandbox
    if defence == "cgroup":
        assert cgroup is not None and not any(f.exists() for f in cgroup.folders)


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0, reason="a kernel runs as its own user only under root")
def test_every_kernel_runs_as_a_user_of_its_own():
    async def one():
        km, kc = await _started()
        try:
            text, _ = await _execute(km, kc, "import os; print(os.getuid())")
            return km.sandbox_uid, int(text)
        finally:
            await _stop(km, kc)

    async def scenario():
        return [await one(), await one()]

    (first, seen_first), (second, seen_second) = asyncio.run(scenario())
    assert (seen_first, seen_second) == (first, second)
    assert first != second
