"""A bubblewrap sandbox around every grading kernel.

nbgrader runs student code with the grader's rights: answer code could read the instructor's
notebooks and other submissions, rewrite the gradebook, open network connections and leave
processes running after grading. Here every kernel that grades a submission runs inside
`bubblewrap <https://github.com/containers/bubblewrap>`_ (Debian package ``bubblewrap``):

- **files**: the kernel sees read-only system folders (``/usr``, ``/etc``), the Python
  installation and its site-packages, the ``nmautils`` package and the data cache, and nothing
  else of the machine: no course folder (``source/``, ``release/``, gradebook), no repository, no
  other submission, no home folder. Its working folder is a writable *copy* of its own submission
  folder on a size-limited tmpfs (``/home/student/<assignment>``), as are ``/tmp`` and ``$HOME``;
- **network**: none (a new network namespace). The grader talks to the kernel over Unix
  sockets (ZeroMQ ``ipc`` transport) in a private folder shared with the sandbox;
- **user**: when the grader runs as root, the kernel runs as an unprivileged user id of its own
  (``uid_base + pid % 50000``) with no capabilities; otherwise as the grader's user inside a user
  namespace. The environment is cleared except for an allow-list;
- **limits**: address space, processes, file size and CPU time (``resource`` limits set before the
  kernel starts), and the tmpfs size bounds what it can write;
- **processes**: the kernel is pid 1's child in a new PID namespace; when it ends - shut down,
  killed by the grader, or the grader dying - every process it started ends with it.

:class:`SandboxedKernelManager` is a ``jupyter_client`` kernel manager that launches kernels this
way; :class:`nmautils.course.guard.GuardedExecute` uses it for every autograde (plain
``nbgrader autograde`` with the project's ``nbgrader_config.py`` and ``python -m nmautils.course
grade``). When no sandbox can be made, grading refuses (:class:`SandboxUnavailable`) unless the
instructor opts out explicitly.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_client.utils import run_sync
from traitlets import Bool, Float, Integer

#: The kernel's home and working folders inside the sandbox (on a size-limited tmpfs).
SANDBOX_HOME = "/home/student"
#: Where the submission folder is mounted read-only inside the sandbox (copied to the home).
SUBMISSION_MOUNT = "/submission"
#: Environment variables passed from the grader into the sandbox (names, or prefixes ending in _).
ENV_ALLOW = ("NMAUTILS_", "PYTHONHASHSEED", "THP_MEM_ALLOC_ENABLE", "OMP_NUM_THREADS",
             "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "ATEN_CPU_CAPABILITY", "ONEDNN_",
             "DNNL_", "MKL_ENABLE_INSTRUCTIONS", "MPLBACKEND", "LANG", "LC_ALL", "TZ", "CI")

INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf "
    "install bubblewrap`); `make setup` does this when run as root. Without root, bubblewrap "
    "needs unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1` on older "
    "Debian kernels, or a setuid bwrap). To grade WITHOUT a sandbox anyway (student code then "
    "runs with your rights and can read and write your course folder), pass --no-sandbox to "
    "`python -m nmautils.course grade`, or --GuardedExecute.sandbox=False to `nbgrader autograde`."
)


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine (bubblewrap missing or namespaces not allowed)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed kernel.

    Parameters
    ----------
    memory_gb : float
        Address-space limit of each process in GiB (``RLIMIT_AS``).
    processes : int
        Processes and threads of the sandbox's user (``RLIMIT_NPROC``); stops fork bombs.
    file_size_mb : int
        Largest file a process may write, in MiB (``RLIMIT_FSIZE``).
    cpu_seconds : int
        CPU time of each process in seconds (``RLIMIT_CPU``; all threads together).
    disk_mb : int
        Size of each writable tmpfs (the home/working folder and ``/tmp``), in MiB.
    """

    memory_gb: float = 8.0
    processes: int = 256
    file_size_mb: int = 256
    cpu_seconds: int = 3600
    disk_mb: int = 512

    def rlimits(self, extra_processes: int = 0) -> dict[str, int]:
        """The ``resource`` limits (name -> value) the sandbox entry sets before the kernel."""
        return {
            "RLIMIT_AS": int(self.memory_gb * 2**30),
            "RLIMIT_NPROC": int(self.processes + extra_processes),
            "RLIMIT_FSIZE": int(self.file_size_mb * 2**20),
            "RLIMIT_CPU": int(self.cpu_seconds),
            "RLIMIT_CORE": 0,
        }


def bwrap_executable() -> str | None:
    """Path of the ``bwrap`` program, or None when it is not installed."""
    return shutil.which("bwrap")


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _system_mounts() -> list[str]:
    """bwrap arguments for the read-only system folders (merged-/usr symlinks kept as links)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--ro-bind", "/etc", "/etc"]
    return args


def _nmautils_dir() -> Path:
    import nmautils

    return Path(nmautils.__file__).resolve().parent


def _checkout_root() -> Path | None:
    """The folder holding nmautils when it is not installed into site-packages (an editable
    install: the repository, with the course in it). It is never mounted; the package folder is."""
    parent = _nmautils_dir().parent
    return None if parent.name in ("site-packages", "dist-packages") else parent


def _data_cache_dir() -> Path | None:
    env = os.environ.get("NMAUTILS_DATA_DIR", "").strip()
    if env:
        return Path(env).expanduser().resolve()
    try:
        import pooch

        return Path(pooch.os_cache("nmautils")).resolve()
    except Exception:  # pragma: no cover - pooch is a dependency
        return None


def readonly_paths(python: str | None = None) -> list[Path]:
    """Host folders the kernel may read: Python, its site-packages, nmautils, the data cache.

    Folders below ``/usr`` (mounted anyway) and folders inside another listed folder are left
    out. The repository that holds an editable install (and any folder above it) is *not*
    listed; only its ``nmautils`` package folder is.
    """
    candidates: list[Path] = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
    if python:
        real = Path(os.path.realpath(python))
        candidates.append(real.parent.parent)  # <prefix>/bin/python -> <prefix>
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            candidates.append(Path(value))
    import site

    candidates += [Path(p) for p in site.getsitepackages()]
    # package folders added by .pth files or PYTHONPATH (never a bare checkout: see below)
    candidates += [Path(p) for p in sys.path if p and Path(p).name in ("site-packages",
                                                                       "dist-packages")]
    candidates.append(_nmautils_dir())
    cache = _data_cache_dir()
    if cache is not None and cache.is_dir():
        candidates.append(cache)
    package = _nmautils_dir()
    checkout = _checkout_root()
    resolved = sorted({Path(os.path.realpath(p)) for p in candidates if os.path.isdir(p)})
    resolved = [p for p in resolved if p == package or checkout is None
                or not checkout.is_relative_to(p)]
    kept: list[Path] = []
    for path in resolved:
        if path == Path("/") or str(path).startswith(("/usr/", "/etc/", "/proc", "/dev")):
            continue
        if any(path.is_relative_to(k) for k in kept):
            continue
        kept.append(path)
    return kept


def _parent_dirs(paths: Iterable[Path]) -> list[str]:
    """Every ancestor folder of ``paths`` (to create with mode 0755 inside the sandbox)."""
    out: list[str] = []
    for path in paths:
        for parent in reversed(path.parents):
            text = str(parent)
            if text != "/" and text not in out and not text.startswith(("/usr", "/etc")):
                out.append(text)
    return out


def sandbox_environment(env: Mapping[str, str], python_bin: str) -> dict[str, str]:
    """The kernel's environment: the allow-listed variables of ``env`` plus safe defaults."""
    kept = {k: v for k, v in env.items()
            if any(k == a or (a.endswith("_") and k.startswith(a)) for a in ENV_ALLOW)}
    kept.update({
        "HOME": SANDBOX_HOME,
        "USER": "student",
        "TMPDIR": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "PATH": os.pathsep.join([python_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    cache = _data_cache_dir()
    if cache is not None and cache.is_dir():
        kept["NMAUTILS_DATA_DIR"] = str(cache)
    # the kernel imports the nmautils the grader runs (the only folder of a checkout that is
    # mounted), also when an editable install of the interpreter points at another checkout
    kept["PYTHONPATH"] = str(_nmautils_dir().parent)
    return kept


def sandbox_command(kernel_cmd: list[str], *, submission: Path | None, private_dir: Path,
                    env: Mapping[str, str], limits: SandboxLimits = SandboxLimits(),
                    uid: int | None = None, extra_processes: int = 0) -> list[str]:
    """The full command line that runs ``kernel_cmd`` inside a sandbox.

    Parameters
    ----------
    kernel_cmd : list of str
        The kernel command (``python -m ipykernel_launcher -f <connection file>``); the
        connection file and sockets must lie in ``private_dir / "ipc"``.
    submission : Path or None
        Host folder to copy (read-only mount, then a writable copy) as the working folder.
    private_dir : Path
        Host folder of this kernel: ``ipc/`` (shared read-write) and ``etc/`` (passwd, group).
    env : mapping
        The grader's environment; only :data:`ENV_ALLOW` variables pass.
    limits : SandboxLimits
        Resource limits.
    uid : int or None
        Unprivileged user id to switch to (grader running as root); None: keep the caller's id
        inside a new user namespace.
    extra_processes : int
        Added to ``limits.processes`` (a non-root grader's own processes count against it).

    Returns
    -------
    list of str
        ``bwrap ... -- python _sandbox_entry.py ... -- kernel_cmd``.
    """
    bwrap = bwrap_executable()
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed. " + INSTALL_HINT)
    python = kernel_cmd[0]
    ro = readonly_paths(python)
    ipc = private_dir / "ipc"
    name = submission.name if submission is not None else "work"
    work = f"{SANDBOX_HOME}/{name}"
    disk = str(int(limits.disk_mb * 2**20))
    args = [bwrap, *_system_mounts()]
    etc = private_dir / "etc"
    for fname in ("passwd", "group"):
        if (etc / fname).exists():
            args += ["--ro-bind", str(etc / fname), f"/etc/{fname}"]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", disk, "--tmpfs", "/tmp", "--chmod", "1777", "/tmp",
             "--size", disk, "--tmpfs", SANDBOX_HOME, "--chmod", "0777", SANDBOX_HOME]
    for parent in _parent_dirs([*ro, ipc]):
        if parent in ("/tmp", "/home", SANDBOX_HOME):
            continue
        args += ["--perms", "0755", "--dir", parent]
    for path in ro:
        args += ["--ro-bind", str(path), str(path)]
    venv = Path(os.path.abspath(python)).parent.parent  # as invoked: a symlinked folder stays
    if str(venv) != os.path.realpath(venv) and Path(os.path.realpath(venv)) in ro:
        args += ["--ro-bind", os.path.realpath(venv), str(venv)]
    if submission is not None:
        args += ["--ro-bind", str(submission), SUBMISSION_MOUNT]
    args += ["--bind", str(ipc), str(ipc)]
    args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
             "--unshare-cgroup-try", "--hostname", "grader", "--die-with-parent",
             "--new-session"]
    if uid is None:
        args += ["--unshare-user"]
    else:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += ["--clearenv"]
    for key, value in sorted(sandbox_environment(env, str(Path(python).parent)).items()):
        args += ["--setenv", key, value]
    args += ["--chdir", SANDBOX_HOME, "--", python, "-I", "-S", str(ENTRY)]
    if uid is not None:
        args += ["--uid", str(uid)]
    args += [json.dumps(limits.rlimits(extra_processes)), SUBMISSION_MOUNT, work, "--",
             *kernel_cmd]
    return args


#: The sandbox entry program (run by path; see :mod:`nmautils.course._sandbox_entry`).
ENTRY = Path(__file__).with_name("_sandbox_entry.py")


def sandbox_uid(base: int = 200_000) -> int:
    """An unprivileged user id for this grading process (distinct per concurrent worker)."""
    return base + os.getpid() % 50_000


def _user_process_count() -> int:
    """Processes and threads the current user runs now (they count against ``RLIMIT_NPROC``)."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields.get("Threads", "1").strip() or 1)
        except (OSError, KeyError, ValueError):
            continue
    return count


def prepare_private_dir(uid: int | None) -> Path:
    """A fresh host folder for one kernel: ``ipc/`` (sockets, connection file) and ``etc/``."""
    root = Path(tempfile.mkdtemp(prefix="nmautils-kernel-"))
    os.chmod(root, 0o711)
    (root / "ipc").mkdir()
    (root / "etc").mkdir()
    shown_uid = uid if uid is not None else os.getuid()
    (root / "etc" / "passwd").write_text(
        f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"student:x:{shown_uid}:{shown_uid}:student:{SANDBOX_HOME}:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    (root / "etc" / "group").write_text(
        f"root:x:0:\nstudent:x:{shown_uid}:\nnogroup:x:65534:\n")
    for path in (root / "etc" / "passwd", root / "etc" / "group"):
        os.chmod(path, 0o644)
    if uid is not None:
        os.chown(root / "ipc", uid, uid)
    os.chmod(root / "ipc", 0o700)
    return root


def copy_submission(folder: Path, private_dir: Path) -> Path:
    """A fresh, world-readable copy of ``folder`` in ``private_dir`` (mounted read-only in the
    sandbox and copied once more onto its tmpfs by the entry program). The student's folder is
    never mounted itself, so nothing in the sandbox can reach it."""
    target = private_dir / "submission" / folder.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(folder, target, symlinks=False, ignore_dangling_symlinks=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for root, _dirs, files in os.walk(private_dir / "submission"):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    os.chmod(private_dir / "submission", 0o755)
    return target


@functools.lru_cache(maxsize=1)
def _probe() -> str:
    """"" when a sandbox can be made here, else the reason why not (cached per process)."""
    bwrap = bwrap_executable()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed."
    private = prepare_private_dir(sandbox_uid() if _running_as_root() else None)
    try:
        python = sys.executable
        cmd = sandbox_command([python, "-c", "pass"], submission=None, private_dir=private,
                              env={}, uid=sandbox_uid() if _running_as_root() else None,
                              extra_processes=0 if _running_as_root() else _user_process_count())
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            return f"bubblewrap cannot create a sandbox here: {proc.stderr.strip()[-500:]}"
        return ""
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap failed to start: {exc}"
    finally:
        shutil.rmtree(private, ignore_errors=True)


def check_available() -> None:
    """Raise :class:`SandboxUnavailable` (with what to do) when no sandbox can be made here."""
    reason = _probe()
    if reason:
        raise SandboxUnavailable(f"Refusing to grade without a sandbox: {reason} {INSTALL_HINT}")


def sandbox_available() -> bool:
    """True when this machine can run grading kernels in a sandbox."""
    return not _probe()


def _use_private_sockets(manager, folder: Path) -> None:
    """Make ``manager``'s kernel talk over Unix sockets (and keep its connection file) in
    ``folder`` instead of TCP ports."""
    manager.transport = "ipc"
    manager.ip = str(folder / "k")
    manager.connection_file = str(folder / "connection.json")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels talk over Unix sockets and (optionally) run sandboxed.

    ``sandbox = False`` keeps the IPC transport (no TCP port, no "running over TCP without
    encryption" warning) but runs the kernel unconfined, as nbgrader does.
    """

    sandbox = Bool(True, help="Run the kernel inside bubblewrap.").tag(config=True)
    memory_gb = Float(8.0, help="Address-space limit per process (GiB).").tag(config=True)
    processes = Integer(256).tag(config=True)
    file_size_mb = Integer(256).tag(config=True)
    cpu_seconds = Integer(3600).tag(config=True)
    disk_mb = Integer(512).tag(config=True)
    uid_base = Integer(200_000, help="Sandbox user ids start here (grader running as root).").tag(
        config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._uid = sandbox_uid(self.uid_base) if (self.sandbox and _running_as_root()) else None
        self._private = prepare_private_dir(self._uid)
        _use_private_sockets(self, self._private / "ipc")

    @property
    def limits(self) -> SandboxLimits:
        return SandboxLimits(float(self.memory_gb), self.processes, self.file_size_mb,
                             self.cpu_seconds, self.disk_mb)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self._uid is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, self._uid, self._uid)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        if self.sandbox:
            cwd = kw.get("cwd")
            submission = copy_submission(Path(cwd), self._private) if cwd else None
            extra = 0 if self._uid is not None else _user_process_count()
            kernel_cmd = sandbox_command(
                kernel_cmd, submission=submission, private_dir=self._private,
                env=kw.get("env") or os.environ, limits=self.limits, uid=self._uid,
                extra_processes=extra)
            kw["cwd"] = str(self._private)
            # The kernel's own console output (ipykernel's start-up notes, crash messages) goes
            # to a log beside its sockets, not into the grader's output.
            kw.setdefault("stdout", subprocess.DEVNULL)
            if "stderr" not in kw:
                self._log = open(self._private / "kernel.log", "ab")  # noqa: SIM115
                kw["stderr"] = self._log
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_interrupt_kernel(self) -> None:
        # bubblewrap dies of SIGINT (taking the kernel with it): interrupt by message instead.
        if self.sandbox and self.has_kernel:
            msg = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, msg)
            return
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None
        if not restart:
            shutil.rmtree(self._private, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


class IPCKernelManager(SandboxedKernelManager):
    """An unconfined kernel over Unix sockets, for the maintainer's own notebooks (the build):
    no TCP port and no "running over TCP without encryption" warning in the output."""

    sandbox = Bool(False, help="Never sandboxed (trusted notebooks).").tag(config=True)


class BlockingIPCKernelManager(KernelManager):
    """The blocking (synchronous) counterpart of :class:`IPCKernelManager`, for tools that drive
    kernels with jupyter_client's blocking API, such as nbval in the test suite: an unconfined
    kernel whose sockets live in a private temporary folder, removed at shutdown, instead of TCP
    ports (no "running over TCP without encryption" warning, no port clashes between workers)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._private = Path(tempfile.mkdtemp(prefix="nmautils-kernel-"))
        os.chmod(self._private, 0o700)
        _use_private_sockets(self, self._private)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._private, ignore_errors=True)

    cleanup_resources = run_sync(_async_cleanup_resources)
