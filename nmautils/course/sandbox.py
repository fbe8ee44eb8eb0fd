"""A bubblewrap sandbox around every grading kernel.

nbgrader runs student code with the grader's rights: answer code could read the instructor's
notebooks and other submissions, rewrite the gradebook, open network connections and leave
processes running after grading. Here every kernel that grades a submission runs inside
`bubblewrap <https://github.com/containers/bubblewrap>`_ (Debian package ``bubblewrap``):

- **files**: the kernel sees read-only system folders (``/usr``, ``/etc``), the Python
  installation and its site-packages, the ``nmautils`` package and the data cache, and nothing
  else of the machine: no course folder (``source/``, ``release/``, gradebook), no repository, no
  other submission, no home folder. Its working folder is a writable *copy* of its own submission
  folder on a size-limited tmpfs (``/home/student/<assignment>``), as are ``/tmp``, ``$HOME`` and
  ``/dev/shm``; everything else (``/``, ``/dev``) is read-only;
- **the grader's files**: no host folder is writable in the sandbox. The grader's connection file
  lives in a folder the sandbox never sees (``<private>/conn``); the kernel reads its own copy
  from a read-only folder (:attr:`SandboxedKernelManager.shared_dir`, where the grader may also
  put files for the kernel to read). So nothing the kernel writes is ever opened, followed or
  chowned by the grader (a symlink or FIFO in place of a connection file cannot reach it);
- **sockets**: the grader talks to the kernel over Unix sockets (ZeroMQ ``ipc`` transport) that
  the kernel creates on a tmpfs of its own (:data:`SOCKET_DISK_BYTES`, inside the sandbox only).
  The grader reaches them through ``/proc/<pid>/root`` of the sandbox (a link in the grader's
  private folder). When the grader runs as root, that folder is made read-only for the kernel as
  soon as its sockets exist: the kernel can then neither replace a socket nor write anything
  there. As another user, the kernel owns the folder and could replace its sockets by links (the
  grader would then connect, as itself, to another Unix socket; it opens no file there);
- **network**: none (a new network namespace);
- **user**: when the grader runs as root, every kernel runs as an unprivileged user id of its
  own, drawn at random from ``[uid_base, uid_base + UID_RANGE)`` among ids no running process
  uses and never reused by the grading process (a restarted kernel keeps its id), with no
  capabilities; otherwise as the grader's user inside a user namespace. The environment is
  cleared except for an allow-list. The working folder is not on ``sys.path`` while the kernel
  starts (``PYTHONSAFEPATH``: a submitted ``ipykernel_launcher.py`` or ``json.py`` is not run)
  and comes last on it afterwards (a submitted ``numpy.py`` does not replace numpy);
- **memory**: when the grader may create a cgroup (root, or a delegated cgroup v2 subtree), the
  kernel and every process it starts share one cgroup with ``memory_gb`` of memory (swap
  included) and ``processes`` tasks (:class:`Cgroup`); tmpfs files and shared memory count too.
  Otherwise (a container without a writable ``/sys/fs/cgroup``, or no delegation) the grader
  logs so and watches the sandbox instead: it adds up the proportional memory (PSS) of the
  sandbox's processes a few times a second and kills the sandbox above ``memory_gb``
  (:class:`MemoryWatch`; a fast allocation can overshoot by what it allocates between two looks,
  and memory no process maps, such as System V shared memory, is not seen). ``RLIMIT_AS`` bounds
  each process in both cases;
- **other limits**: processes, file size and CPU time (``resource`` limits set before the kernel
  starts; as root ``RLIMIT_NPROC`` counts the kernel's own user only, otherwise all processes of
  the grader's user), and the tmpfs sizes bound what it can write;
- **processes**: the kernel is pid 1's child in a new PID namespace; when it ends - shut down,
  killed by the grader, or the grader dying - every process it started ends with it.

:class:`SandboxedKernelManager` is a ``jupyter_client`` kernel manager that launches kernels this
way; :class:`nmautils.course.guard.GuardedExecute` uses it for every autograde (plain
``nbgrader autograde`` with the project's ``nbgrader_config.py`` and ``python -m nmautils.course
grade``). When no sandbox can be made, grading refuses (:class:`SandboxUnavailable`) unless the
instructor opts out explicitly.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_client.utils import run_sync
from traitlets import Bool, Float, Integer

from .. import runtime, settings
from ..settings import GRADING_LIMITS

#: The kernel's home and working folders inside the sandbox (on a size-limited tmpfs).
SANDBOX_HOME = "/home/student"
#: Where the submission folder is mounted read-only inside the sandbox (copied to the home).
SUBMISSION_MOUNT = "/submission"
#: Environment variables passed from the grader into the sandbox (names, or prefixes ending in _).
#: The allocator settings (:data:`nmautils.runtime.ALLOCATOR_ENV`) pass too, and a kernel gets
#: them when the grader's environment does not set them (:func:`sandbox_environment`).
ENV_ALLOW = ("NMAUTILS_", "PYTHONHASHSEED", *runtime.ALLOCATOR_ENV, "OMP_NUM_THREADS",
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
    """Resource limits of one sandboxed kernel (defaults: :data:`nmautils.settings.GRADING_LIMITS`).

    Parameters
    ----------
    memory_gb : float
        Memory of the whole sandbox in GiB (its cgroup, or :class:`MemoryWatch` where no cgroup
        can be made), and the address space of each of its processes (``RLIMIT_AS``).
    processes : int
        Processes and threads of the sandbox (cgroup ``pids.max``, and ``RLIMIT_NPROC`` of its
        user); stops fork bombs.
    file_size_mb : int
        Largest file a process may write, in MiB (``RLIMIT_FSIZE``).
    cpu_seconds : int
        CPU time of each process in seconds (``RLIMIT_CPU``; all threads together).
    disk_mb : int
        Size of each writable tmpfs (the home/working folder, ``/tmp`` and ``/dev/shm``), in MiB.
    """

    memory_gb: float = GRADING_LIMITS.memory_gb
    processes: int = GRADING_LIMITS.processes
    file_size_mb: int = GRADING_LIMITS.file_size_mb
    cpu_seconds: int = GRADING_LIMITS.cpu_seconds
    disk_mb: int = GRADING_LIMITS.disk_mb

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gb * 2**30)

    def rlimits(self, extra_processes: int = 0) -> dict[str, int]:
        """The ``resource`` limits (name -> value) the sandbox entry sets before the kernel."""
        return {
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_NPROC": int(self.processes + extra_processes),
            "RLIMIT_FSIZE": int(self.file_size_mb * 2**20),
            "RLIMIT_CPU": int(self.cpu_seconds),
            "RLIMIT_CORE": 0,
        }


#: The limits of a grading kernel unless configured otherwise.
DEFAULT_LIMITS = SandboxLimits()
#: Size of the tmpfs holding the kernel's sockets (sockets take no space; nothing else belongs).
SOCKET_DISK_BYTES = 2**20
#: Sandbox user ids are drawn from ``[uid_base, uid_base + UID_RANGE)``.
UID_RANGE = 1_000_000
#: Folders of a kernel's private host folder: the grader's own files (never mounted), files the
#: kernel may read (mounted read-only at the same path), and the link to the kernel's sockets.
CONN_DIR, SHARED_DIR, SOCKET_LINK = "conn", "ipc", "sock"

log = logging.getLogger(__name__)


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


def _data_cache_dir() -> Path:
    """The data cache, resolved: :func:`nmautils.data.default_cache_dir`, read through the
    setting it returns (``NMAUTILS_DATA_DIR``) because importing nmautils.data imports torch."""
    return settings.get("NMAUTILS_DATA_DIR").resolve()


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
    if cache.is_dir():
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
        # the working folder (the submission) must not shadow ipykernel or the standard library
        # while the kernel starts (see KERNEL_START_LINES for the student's own modules)
        "PYTHONSAFEPATH": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    runtime.tune(kept)  # faster allocation of big tensors, unless the grader's values say else
    cache = _data_cache_dir()
    if cache.is_dir():
        kept["NMAUTILS_DATA_DIR"] = str(cache)
    # the kernel imports the nmautils the grader runs (the only folder of a checkout that is
    # mounted), also when an editable install of the interpreter points at another checkout
    kept["PYTHONPATH"] = str(_nmautils_dir().parent)
    return kept


#: Run by every grading kernel, sandboxed or not, before any student code: the last exit handler
#: ends the process with ``os._exit``, skipping the interpreter's teardown: a grading kernel's
#: state is thrown away, and tearing down torch is most of what a shutdown costs.
KERNEL_EXIT_LINE = "import os as _o, atexit as _a; _a.register(_o._exit, 0); del _o, _a"

#: Run by a sandboxed kernel before any student code: the working folder goes on ``sys.path``
#: (last, so that a student's own modules import but cannot replace an installed one), then
#: :data:`KERNEL_EXIT_LINE`.
KERNEL_START_LINES = ("import sys as _s, os as _o; _s.path.append(_o.getcwd()); del _s, _o; "
                      + KERNEL_EXIT_LINE)


def with_exec_lines(kernel_cmd: list[str], lines: str) -> list[str]:
    """``kernel_cmd`` with ``lines`` run at the start of an IPython kernel (other kernels as
    they are)."""
    if "ipykernel_launcher" in kernel_cmd or "ipykernel" in kernel_cmd:
        return [*kernel_cmd, f"--IPKernelApp.exec_lines={lines}"]
    return kernel_cmd


def sandbox_socket_dir(private_dir: Path) -> str:
    """Where the kernel's sockets live inside the sandbox (a tmpfs of its own; every folder above
    it is on the sandbox's read-only root, so the kernel cannot move it or put a link there)."""
    return f"/run/{private_dir.name}"


def sandbox_command(kernel_cmd: list[str], *, submission: Path | None, private_dir: Path,
                    env: Mapping[str, str], limits: SandboxLimits = DEFAULT_LIMITS,
                    uid: int | None = None, extra_processes: int = 0) -> list[str]:
    """The full command line that runs ``kernel_cmd`` inside a sandbox.

    Parameters
    ----------
    kernel_cmd : list of str
        The kernel command (``python -m ipykernel_launcher -f <connection file>``); the
        connection file must lie in ``private_dir / SHARED_DIR`` and name the socket folder
        :func:`sandbox_socket_dir`.
    submission : Path or None
        Host folder to copy (read-only mount, then a writable copy) as the working folder.
    private_dir : Path
        Host folder of this kernel (:func:`prepare_private_dir`): ``ipc/`` and ``etc/`` (passwd,
        group) are mounted read-only; nothing of it is writable in the sandbox.
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
    shared = private_dir / SHARED_DIR
    sockets = sandbox_socket_dir(private_dir)
    name = submission.name if submission is not None else "work"
    work = f"{SANDBOX_HOME}/{name}"
    disk = str(int(limits.disk_mb * 2**20))
    args = [bwrap, *_system_mounts()]
    etc = private_dir / "etc"
    for fname in ("passwd", "group"):
        if (etc / fname).exists():
            args += ["--ro-bind", str(etc / fname), f"/etc/{fname}"]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", disk, "--tmpfs", "/dev/shm", "--chmod", "1777", "/dev/shm",
             "--size", disk, "--tmpfs", "/tmp", "--chmod", "1777", "/tmp",
             "--size", disk, "--tmpfs", SANDBOX_HOME, "--chmod", "0777", SANDBOX_HOME,
             "--size", str(SOCKET_DISK_BYTES), "--tmpfs", sockets, "--chmod", "0777", sockets]
    for parent in _parent_dirs([*ro, shared]):
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
    args += ["--ro-bind", str(shared), str(shared)]
    # bwrap's own root and /dev are writable tmpfs without a size for a non-root caller's kernel
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
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
    kernel_cmd = with_exec_lines(kernel_cmd, KERNEL_START_LINES)
    args += [json.dumps(limits.rlimits(extra_processes)), SUBMISSION_MOUNT, work, "--",
             *kernel_cmd]
    return args


#: The sandbox entry program (run by path; see :mod:`nmautils.course._sandbox_entry`).
ENTRY = Path(__file__).with_name("_sandbox_entry.py")

#: User ids this process has handed out (never given to a second kernel).
_ISSUED_UIDS: set[int] = set()
_UID_LOCK = threading.Lock()


def _proc_entries() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def _running_uids() -> set[int]:
    """Every real, effective, saved and filesystem user id of a running process."""
    uids: set[int] = set()
    for pid in _proc_entries():
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        uids.update(int(u) for u in line.split()[1:])
                        break
        except (OSError, ValueError):
            continue
    return uids


def sandbox_uid(base: int = 200_000, span: int = UID_RANGE) -> int:
    """A fresh unprivileged user id for one kernel: drawn at random from ``[base, base + span)``,
    used by no running process and never handed out before by this process."""
    with _UID_LOCK:
        busy = _running_uids() | _ISSUED_UIDS
        for _ in range(1000):
            uid = base + secrets.randbelow(span)
            if uid not in busy:
                _ISSUED_UIDS.add(uid)
                return uid
    raise RuntimeError(f"no free sandbox user id in [{base}, {base + span})")


def _user_process_count() -> int:
    """Processes and threads the current user runs now (they count against ``RLIMIT_NPROC``)."""
    uid, count = os.getuid(), 0
    for pid in _proc_entries():
        try:
            with open(f"/proc/{pid}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields.get("Threads", "1").strip() or 1)
        except (OSError, KeyError, ValueError):
            continue
    return count


def prepare_private_dir(uid: int | None) -> Path:
    """A fresh host folder for one kernel, writable by the grader only.

    ``conn/`` (mode 0700, never mounted) holds the grader's connection file and the kernel's log;
    ``ipc/`` (:data:`SHARED_DIR`, mounted read-only) the kernel's copy of its connection file and
    files the grader hands the kernel; ``etc/`` the sandbox's passwd and group files.
    """
    root = Path(tempfile.mkdtemp(prefix="nmautils-kernel-"))
    os.chmod(root, 0o711)
    (root / CONN_DIR).mkdir(mode=0o700)
    (root / SHARED_DIR).mkdir()
    os.chmod(root / SHARED_DIR, 0o755)
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
    return root


def copy_submission(folder: Path, private_dir: Path) -> Path:
    """A fresh, world-readable copy of ``folder`` in ``private_dir`` (mounted read-only in the
    sandbox and copied once more onto its tmpfs by the entry program), without its symbolic
    links. The student's folder is never mounted itself, so nothing in the sandbox can reach
    it."""
    target = private_dir / "submission" / folder.name
    if target.exists():
        shutil.rmtree(target)

    def skipped(parent: str, names: list[str]) -> set[str]:
        # the grader copies as root: a link in a submission could name any file of the host
        return {n for n in names
                if n == ".ipynb_checkpoints" or os.path.islink(os.path.join(parent, n))}

    shutil.copytree(folder, target, symlinks=True, ignore=skipped)
    for root, _dirs, files in os.walk(private_dir / "submission"):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    os.chmod(private_dir / "submission", 0o755)
    return target


def _write_private_file(path: Path, text: str, *, mode: int, uid: int | None) -> None:
    """Write ``path`` (in a folder only the grader can write) atomically, never through a link."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as fh:
        if uid is not None:
            os.fchown(fh.fileno(), uid, uid)
        fh.write(text)
    os.replace(tmp, path)


# -- memory of the whole sandbox --------------------------------------------------------------

def _cgroup_mounts() -> dict[str, tuple[Path, str]]:
    """Mounted cgroup hierarchies: ``"unified"`` (v2), ``"memory"``, ``"pids"`` (v1) -> (mount
    point, the cgroup at the mount's root)."""
    found: dict[str, tuple[Path, str]] = {}
    try:
        with open("/proc/self/mountinfo") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return found
    for line in lines:
        parts = line.split()
        if "-" not in parts:
            continue
        sep = parts.index("-")
        fstype, options = parts[sep + 1], parts[sep + 3].split(",")
        entry = (Path(parts[4]), parts[3])
        if fstype == "cgroup2":
            found.setdefault("unified", entry)
        elif fstype == "cgroup":
            for controller in ("memory", "pids"):
                if controller in options:
                    found.setdefault(controller, entry)
    return found


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup per hierarchy (``"unified"``, ``"memory"``, ``"pids"``)."""
    own: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return own
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        for name in (controllers.split(",") if controllers else ["unified"]):
            own[name] = path
    return own


def _cgroup_dir(mount: Path, mount_root: str, path: str) -> Path:
    if mount_root != "/" and path.startswith(mount_root):
        path = path[len(mount_root):]
    return mount / path.lstrip("/")


def _v2_parent(mount: Path, own: Path) -> Path | None:
    """The nearest cgroup v2 ancestor of ``own`` that can hold a child with the memory and pids
    controllers (``own`` itself only when it is the root, which may keep processes)."""
    wanted = {"memory", "pids"}
    candidates = [own] if own == mount else []
    candidates += [p for p in own.parents if p.is_relative_to(mount)]
    for parent in candidates:
        try:
            if not wanted <= set((parent / "cgroup.controllers").read_text().split()):
                continue
            enabled = set((parent / "cgroup.subtree_control").read_text().split())
            if not wanted <= enabled:
                (parent / "cgroup.subtree_control").write_text("+memory +pids")
            return parent
        except OSError:
            continue
    return None


def _join_and_wait(procs_files: list[Path]) -> None:
    """Move a throw-away process into ``procs_files`` (raises OSError where the grader may not)."""
    proc = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for procs in procs_files:
            procs.write_text(str(proc.pid))
    finally:
        proc.kill()
        proc.wait()


@functools.lru_cache(maxsize=1)
def _cgroup_parents() -> tuple[str, tuple[Path, ...]] | str:
    """``("v2", (parent,))`` or ``("v1", (memory parent, pids parent))`` where this process can
    make cgroups for its sandboxes, or the reason why it cannot (cached per process)."""
    mounts, own = _cgroup_mounts(), _own_cgroups()
    reasons = []
    if "unified" in mounts and "unified" in own:
        mount, root = mounts["unified"]
        parent = _v2_parent(mount, _cgroup_dir(mount, root, own["unified"]))
        if parent is None:
            reasons.append(f"no cgroup v2 folder under {mount} is writable with the memory "
                           "and pids controllers")
        else:
            return _checked_parents("v2", (parent,), reasons)
    if "memory" in mounts and "pids" in mounts and "memory" in own and "pids" in own:
        parents = tuple(_cgroup_dir(*mounts[c], own[c]) for c in ("memory", "pids"))
        return _checked_parents("v1", parents, reasons)
    return "; ".join(reasons) or "no memory cgroup controller is mounted"


def _checked_parents(version: str, parents: tuple[Path, ...],
                     reasons: list[str]) -> tuple[str, tuple[Path, ...]] | str:
    probe = [p / f"nmautils-probe-{os.getpid()}-{secrets.token_hex(4)}" for p in parents]
    try:
        for folder in probe:
            folder.mkdir()
        _join_and_wait([folder / "cgroup.procs" for folder in probe])
        _remove_stale_cgroups(parents)
        return version, parents
    except OSError as exc:
        return "; ".join([*reasons, f"cannot create a cgroup in {parents[0]}: {exc}"])
    finally:
        for folder in probe:
            _rmdir_when_empty(folder, tries=50)


def _rmdir_when_empty(folder: Path, tries: int) -> None:
    """Remove a cgroup folder, retrying while the kernel still counts processes in it."""
    for _ in range(tries):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _remove_stale_cgroups(parents: tuple[Path, ...]) -> None:
    """Remove the empty cgroups of grading processes that ended without removing them."""
    for parent in parents:
        for folder in parent.glob("nmautils-sandbox-*"):
            try:
                os.kill(int(folder.name.split("-")[2]), 0)
            except ProcessLookupError:
                try:
                    folder.rmdir()
                except OSError:
                    pass
            except (OSError, ValueError, IndexError):
                continue


class Cgroup:
    """A cgroup (v2, or the v1 memory and pids hierarchies) holding one sandbox's processes.

    Parameters
    ----------
    folders : list of Path
        The cgroup's folder in each hierarchy (one for v2).
    version : str
        ``"v2"`` or ``"v1"``.
    """

    def __init__(self, folders: list[Path], version: str):
        self.folders = folders
        self.version = version

    @classmethod
    def create(cls, limits: SandboxLimits) -> Cgroup | str:
        """A new cgroup with the memory and task limits of ``limits``, or why none can be made."""
        found = _cgroup_parents()
        if isinstance(found, str):
            return found
        version, parents = found
        name = f"nmautils-sandbox-{os.getpid()}-{secrets.token_hex(6)}"
        folders = [parent / name for parent in parents]
        memory, tasks = str(limits.memory_bytes), str(int(limits.processes))
        if version == "v2":
            settings = [("memory.max", memory), ("memory.swap.max", "0"), ("pids.max", tasks)]
        else:
            settings = [("memory.limit_in_bytes", memory), ("memory.memsw.limit_in_bytes", memory),
                        ("pids.max", tasks)]
        group = cls(folders, version)
        try:
            for folder in folders:
                folder.mkdir()
            for fname, value in settings:
                for folder in folders:
                    if (folder / fname).exists():
                        (folder / fname).write_text(value)
        except OSError as exc:
            group.remove()
            return f"cannot set up cgroup {folders[0]}: {exc}"
        return group

    @property
    def procs_files(self) -> list[Path]:
        return [folder / "cgroup.procs" for folder in self.folders]

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` run by a shell that first moves itself into this cgroup (before bwrap starts,
        so that no process of the sandbox is ever outside it)."""
        script = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; '
                  'n=$((n - 1)); done; exec "$@"')
        files = [str(f) for f in self.procs_files]
        return ["/bin/sh", "-c", script, "nmautils-cgroup", str(len(files)), *files, *cmd]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            try:
                found.update(int(p) for p in procs.read_text().split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def peak_bytes(self) -> int | None:
        """The most memory the cgroup has held (None where the kernel does not say)."""
        name = "memory.peak" if self.version == "v2" else "memory.max_usage_in_bytes"
        try:
            return int((self.folders[0] / name).read_text())
        except (OSError, ValueError):
            return None

    def kill(self, wait: float = 5.0) -> None:
        """Kill every process in the cgroup and wait (at most ``wait`` s) until it is empty."""
        deadline = time.monotonic() + wait
        kill_file = self.folders[0] / "cgroup.kill"
        while True:
            pids = self.pids()
            if not pids or time.monotonic() > deadline:
                return
            try:
                kill_file.write_text("1")
            except OSError:
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        self.kill()
        for folder in self.folders:
            _rmdir_when_empty(folder, tries=100)


def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _pss_bytes(pid: int) -> int:
    """Proportional set size of ``pid`` (shared pages split among the processes that map them)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class MemoryWatch(threading.Thread):
    """Kills a sandbox whose processes together hold more than ``limit`` bytes (PSS), for
    machines where no cgroup can be made. It looks every ``interval`` seconds.

    Parameters
    ----------
    member : int
        A process of the sandbox (its PID namespace names the others).
    victim : int
        The process to kill (bubblewrap outside the namespace: all the sandbox dies with it).
    limit : int
        Bytes.
    """

    def __init__(self, member: int, victim: int, limit: int, interval: float = 0.1):
        super().__init__(name=f"nmautils-memory-watch-{victim}", daemon=True)
        self.member, self.victim, self.limit, self.interval = member, victim, limit, interval
        self.exceeded: int | None = None
        self._stop = threading.Event()
        # a pid file descriptor names this very process even once its number is reused
        try:
            self._pidfd: int | None = os.pidfd_open(victim)
        except (AttributeError, OSError):
            self._pidfd = None

    def stop(self) -> None:
        self._stop.set()

    def usage(self, namespace: str) -> int:
        return sum(_pss_bytes(pid) for pid in _proc_entries()
                   if pid != self.victim and _pid_namespace(pid) == namespace)

    def run(self) -> None:
        try:
            self._watch()
        finally:
            if self._pidfd is not None:
                os.close(self._pidfd)

    def _watch(self) -> None:
        namespace = _pid_namespace(self.member)
        if namespace is None or namespace == _pid_namespace(os.getpid()):
            return
        while not self._stop.wait(self.interval):
            if _pid_namespace(self.member) != namespace:
                return  # the sandbox has ended
            used = self.usage(namespace)
            if used > self.limit:
                self.exceeded = used
                try:
                    if self._pidfd is not None:
                        signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                    else:
                        os.kill(self.victim, signal.SIGKILL)
                except OSError:
                    pass
                log.warning("sandbox memory limit: killed the kernel (its processes held "
                            "%d MiB, the limit is %d MiB)", used >> 20, self.limit >> 20)
                return


# -- availability -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _probe() -> str:
    """"" when a sandbox can be made here, else the reason why not (cached per process)."""
    bwrap = bwrap_executable()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed."
    uid = sandbox_uid() if _running_as_root() else None
    private = prepare_private_dir(uid)
    try:
        python = sys.executable
        cmd = sandbox_command([python, "-c", "pass"], submission=None, private_dir=private,
                              env={}, uid=uid,
                              extra_processes=0 if uid is not None else _user_process_count())
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


def _use_private_sockets(manager, folder: Path, connection_dir: Path | None = None) -> None:
    """Make ``manager``'s kernel talk over Unix sockets in ``folder`` instead of TCP ports, and
    keep its connection file in ``connection_dir`` (default: ``folder``)."""
    manager.transport = "ipc"
    manager.ip = str(folder / "k")
    manager.connection_file = str((connection_dir or folder) / "connection.json")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except (OSError, ValueError):
        pass
    kids = []
    for entry in _proc_entries():
        try:
            with open(f"/proc/{entry}/stat") as fh:
                if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(entry)
        except (OSError, ValueError, IndexError):
            continue
    return kids


_FALLBACK_LOGGED = False


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels talk over Unix sockets and (optionally) run sandboxed.

    ``sandbox = False`` keeps the IPC transport (no TCP port, no "running over TCP without
    encryption" warning) but runs the kernel unconfined, as nbgrader does.

    Attributes
    ----------
    shared_dir : Path
        A folder the kernel can read (at the same path) but not write: the grader may put files
        there for the kernel (written by the grader only, so plain ``open`` is safe).
    """

    sandbox = Bool(True, help="Run the kernel inside bubblewrap.").tag(config=True)
    memory_gb = Float(DEFAULT_LIMITS.memory_gb,
                      help="Memory of the whole sandbox, and address space of each process (GiB)."
                      ).tag(config=True)
    processes = Integer(DEFAULT_LIMITS.processes,
                        help="Processes and threads of the sandbox.").tag(config=True)
    file_size_mb = Integer(DEFAULT_LIMITS.file_size_mb,
                           help="Largest file a process may write (MiB).").tag(config=True)
    cpu_seconds = Integer(DEFAULT_LIMITS.cpu_seconds,
                          help="CPU time of each process (s).").tag(config=True)
    disk_mb = Integer(DEFAULT_LIMITS.disk_mb,
                      help="Size of each writable tmpfs folder (MiB).").tag(config=True)
    uid_base = Integer(200_000, help="Sandbox user ids start here (grader running as root).").tag(
        config=True)
    socket_timeout = Float(120.0, help="Seconds to wait for a starting kernel's sockets before "
                           "sealing their folder (grader running as root).").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._uid = sandbox_uid(self.uid_base) if (self.sandbox and _running_as_root()) else None
        self._private = prepare_private_dir(self._uid)
        self._cgroup: Cgroup | None = None
        self._watch: MemoryWatch | None = None
        if not self.sandbox:
            (self._private / SOCKET_LINK).mkdir(mode=0o700)
        _use_private_sockets(self, self._private / SOCKET_LINK, self._private / CONN_DIR)

    @property
    def limits(self) -> SandboxLimits:
        return SandboxLimits(float(self.memory_gb), self.processes, self.file_size_mb,
                             self.cpu_seconds, self.disk_mb)

    @property
    def shared_dir(self) -> Path:
        return self._private / SHARED_DIR

    @property
    def sandbox_uid(self) -> int | None:
        """The kernel's user id (None: the grader's own, in a user namespace)."""
        return self._uid

    def _kernel_connection_file(self) -> Path:
        """The kernel's copy of the connection file (sockets as the sandbox sees them), in the
        read-only shared folder, readable by the kernel's user only."""
        info = json.loads(Path(self.connection_file).read_text())
        info["ip"] = f"{sandbox_socket_dir(self._private)}/k"
        target = self.shared_dir / "connection.json"
        _write_private_file(target, json.dumps(info), mode=0o400, uid=self._uid)
        return target

    def _memory_limit(self) -> None:
        """Make the cgroup of this kernel (once, kept across restarts) where it can be made."""
        global _FALLBACK_LOGGED
        if self._cgroup is not None:
            return
        made = Cgroup.create(self.limits)
        if isinstance(made, Cgroup):
            self._cgroup = made
        elif not _FALLBACK_LOGGED:
            _FALLBACK_LOGGED = True
            self.log.warning(
                "No cgroup for the grading sandboxes (%s): the memory of each sandbox as a whole "
                "is watched by the grader instead (checked every few tenths of a second), each "
                "process is limited by RLIMIT_AS.", made)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        if not self.sandbox:
            await super()._async_launch_kernel(with_exec_lines(kernel_cmd, KERNEL_EXIT_LINE),
                                               **kw)
            return
        cwd = kw.get("cwd")
        submission = copy_submission(Path(cwd), self._private) if cwd else None
        own = self._kernel_connection_file()
        grader_file = {self.connection_file, os.path.realpath(self.connection_file)}
        kernel_cmd = [str(own) if arg in grader_file else arg for arg in kernel_cmd]
        extra = 0 if self._uid is not None else _user_process_count()
        cmd = sandbox_command(
            kernel_cmd, submission=submission, private_dir=self._private,
            env=kw.get("env") or os.environ, limits=self.limits, uid=self._uid,
            extra_processes=extra)
        self._memory_limit()
        if self._cgroup is not None:
            cmd = self._cgroup.wrap(cmd)
        self._unlink_sockets()
        kw["cwd"] = str(self._private)
        # The kernel's own console output (ipykernel's start-up notes, crash messages) goes
        # to a log beside the connection file, not into the grader's output.
        kw.setdefault("stdout", subprocess.DEVNULL)
        if "stderr" not in kw:
            self._log = open(self._private / CONN_DIR / "kernel.log", "ab")  # noqa: SIM115
            kw["stderr"] = self._log
        await super()._async_launch_kernel(cmd, **kw)
        await self._link_sockets()

    def _unlink_sockets(self) -> None:
        try:
            os.unlink(self._private / SOCKET_LINK)
        except FileNotFoundError:
            pass

    async def _link_sockets(self) -> None:
        """Point the grader's socket link at the sandbox's socket folder, watch its memory where
        no cgroup bounds it, and (as root) seal the folder once the kernel's sockets exist."""
        process = self.provisioner.process
        deadline = time.monotonic() + 10
        member = None
        while member is None:
            kids = _children(process.pid)
            if kids:
                member = kids[0]
            elif process.poll() is not None or time.monotonic() > deadline:
                return
            else:
                await asyncio.sleep(0.01)
        link = self._private / SOCKET_LINK
        tmp = self._private / f".{SOCKET_LINK}-{secrets.token_hex(4)}"
        os.symlink(f"/proc/{member}/root{sandbox_socket_dir(self._private)}", tmp)
        os.replace(tmp, link)
        if self._cgroup is None:
            self._watch = MemoryWatch(member, process.pid, self.limits.memory_bytes)
            self._watch.start()
        if self._uid is not None:
            await self._seal_sockets(process)

    async def _seal_sockets(self, process) -> None:
        """Wait for the kernel's sockets, then make their folder read-only for the kernel (it
        belongs to root): from then on no socket can be replaced and nothing else written."""
        paths = [f"{self.ip}-{port}" for port in self.ports]
        deadline = time.monotonic() + float(self.socket_timeout)

        def is_socket(path: str) -> bool:
            try:
                return stat.S_ISSOCK(os.lstat(path).st_mode)
            except OSError:
                return False

        while not all(is_socket(p) for p in paths):
            if process.poll() is not None:
                return
            if time.monotonic() > deadline:
                self.log.warning("the sandboxed kernel did not create its sockets in %s s",
                                 self.socket_timeout)
                break
            await asyncio.sleep(0.02)
        try:
            fd = os.open(self._private / SOCKET_LINK, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return  # the sandbox is gone
        try:
            os.fchmod(fd, 0o555)
        finally:
            os.close(fd)
        if not all(is_socket(p) for p in paths):
            self.log.error("the sandboxed kernel replaced its sockets: killing it")
            process.kill()

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
        if self.sandbox:
            # the link would name another process's root once the sandbox's pid is reused
            self._unlink_sockets()
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        await super()._async_cleanup_resources(restart=restart)
        kernel_log = getattr(self, "_log", None)
        if kernel_log is not None:
            kernel_log.close()
            self._log = None
        if self._cgroup is not None:
            cgroup = self._cgroup
            if restart:
                await asyncio.to_thread(cgroup.kill)
            else:
                self._cgroup = None
                await asyncio.to_thread(cgroup.remove)
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
