"""Hostile submissions that attack the grader through the sandbox around their kernel.

Same format as :mod:`hostile_catalogue` (answer-cell source for the first answer cell of an
otherwise blank tutorial 1 submission; the placeholders are filled in with ``str.format``, so
literal braces are doubled). Each case prints ``FOUND <what>`` when its attack worked:

- a link or a FIFO in place of the kernel's connection file and sockets, then ``os._exit``: the
  grader restarts the kernel and must neither chown, open nor truncate the link's target (the
  gradebook) nor block on the FIFO (the rest of the class would never be graded);
- files written into the socket folder and every other place outside the kernel's tmpfs folders;
- four processes that each take three quarters of the memory limit (``RLIMIT_AS``): together
  they must not hold more than the limit. Their cost is the limit the class is graded with, so
  grade these with a small ``memory_limit_gb``.
"""

from __future__ import annotations

from hostile_catalogue import Hostile

_TARGETS = '''
import glob, os, sys, time
targets = []
try:
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    targets += [app.connection_file] + ["%s-%d" % (app.ip, n) for n in range(1, 6)]
except Exception:
    pass
targets += glob.glob("/tmp/nmautils-kernel-*/*/connection.json")
targets += glob.glob("/tmp/nmautils-kernel-*/*/k-*") + glob.glob("/run/nmautils-kernel-*/k-*")
for path in ["{out}/gradebook.db", "/etc/shadow"]:
    try:
        with open(path, "rb") as fh:
            if fh.read(16):
                print("FOUND", path, "readable")
    except OSError:
        pass
'''

def replace_targets_and_exit(make: str, on_replaced: str = "pass", on_kept: str = "pass",
                             pause_s: float = 0.2) -> str:
    """Kernel code that replaces each path of ``targets`` by what ``make`` creates, then exits.

    Parameters
    ----------
    make : str
        A statement on ``path`` that creates the replacement (a link, a FIFO).
    on_replaced, on_kept : str
        Statements run after a path is replaced, or when it is kept (``exc`` is the OSError).
    pause_s : float
        How long the kernel waits after flushing its output, so that the output reaches the
        client before ``os._exit``.
    """
    return f"""
for path in targets:
    try:
        os.unlink(path)
    except OSError:
        pass
    try:
        {make}
        {on_replaced}
    except OSError as exc:
        {on_kept}
sys.stdout.flush()
time.sleep({pause_s})
os._exit(0)
"""


_CONNECTION_SYMLINK = _TARGETS + replace_targets_and_exit('os.symlink("{out}/gradebook.db", path)')
_CONNECTION_FIFO = _TARGETS + replace_targets_and_exit("os.mkfifo(path)")

_FILL_SOCKETS = '''
import glob, os
folders = ["/", "/dev", "/run", "/dev/shm"]
try:
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    folders += [os.path.dirname(app.ip), os.path.dirname(app.connection_file)]
except Exception:
    pass
folders += glob.glob("/tmp/nmautils-kernel-*/*") + glob.glob("/run/nmautils-kernel-*")
chunk = b"x" * (1 << 20)
for folder in sorted(set(folders)):
    written = 0
    for i in range(700):  # 1 MiB files: past the file-size limit, past a 512 MiB tmpfs
        try:
            with open(os.path.join(folder, "fill-{case}-%d" % i), "wb") as fh:
                fh.write(chunk)
        except OSError:
            break
        written += 1
    if written > (600 if folder == "/dev/shm" else 2):
        print("FOUND", written, "MiB written to", folder)
'''

_MEMORY_PROCESSES = '''
import resource, subprocess, sys
limit = resource.getrlimit(resource.RLIMIT_AS)[0]
if limit in (resource.RLIM_INFINITY, -1) or limit <= 0:
    limit = 8 << 30
each = int(limit * 0.75)
child = "import time\\nb = b'x' * %d\\nprint('HELD', flush=True)\\ntime.sleep(3)  # {marker}\\n" % each
procs = [subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) for _ in range(4)]
held = sum(p.stdout.readline() == b"HELD\\n" for p in procs)
if held * each > limit:
    print("FOUND memory:", held, "processes held", (held * each) >> 20, "MiB; limit", limit >> 20)
for p in procs:
    p.kill()
    p.wait()
'''

SANDBOX_CASES: tuple[Hostile, ...] = (
    Hostile("connection_file_symlink", "the grader's connection file and sockets",
            _CONNECTION_SYMLINK),
    Hostile("connection_file_fifo", "the grader's connection file and sockets", _CONNECTION_FIFO),
    Hostile("fill_socket_folder", "filling the disk", _FILL_SOCKETS),
    Hostile("memory_many_processes", "exhausting memory", _MEMORY_PROCESSES),
)
