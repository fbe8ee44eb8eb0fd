"""Hostile submissions: what a student might put into an answer cell to forge a grade or harm
the instructor. ``tests/grading/test_hostile.py`` grades a blank submission of tutorial 1 with each case
in its first answer cell and checks that none of them scores a point, reads or writes anything
outside its scratch folder, reaches the network or leaves a process running.

Each case is Python source with placeholders filled in by the test: ``{repo}`` (the repository),
``{out}`` (the class run's output folder with gradebook.db), ``{submitted}`` (all submissions),
``{victim}`` (another student's notebook), ``{port}`` (a loopback TCP server of the test),
``{marker}`` (a unique string: processes carrying it must be gone after grading) and ``{case}``.
A case prints ``FOUND <what>`` for everything it managed to read; the test asserts that no such
line appears in the graded notebook.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The assignment the hostile submissions are made of, and the answer cell that holds the attack.
ASSIGNMENT, FIRST_ANSWER = "tutorial1_decoding", "ex_deepnet_relu"
#: Seconds per cell and per submission in the hostile runs (the time budget is part of the test).
#: The cell timeout leaves a loaded CI machine room for the honest student's slowest cell.
CELL_TIMEOUT, SUBMISSION_TIMEOUT = 10, 50


@dataclass(frozen=True)
class Hostile:
    name: str
    group: str  # what it attacks (a row of the README's table)
    code: str


_READ = '''
import glob, os
targets = ["{repo}/source/tutorial1_decoding/tutorial1_decoding.ipynb", "{victim}",
           "{out}/gradebook.db", "/root/.bash_history", "{repo}/nbgrader_config.py"]
targets += glob.glob("/tmp/classgrade-*/template/source/*/*.ipynb")
targets += glob.glob("/tmp/classgrade-*/template/gradebook.db")
targets += glob.glob("/tmp/nmautils-references-*/*.json")  # the model answer's values
for copy in ("/tmp/classgrade-template-*", "/tmp/dask-scratch-space/*/classgrade-template-*"):
    targets += glob.glob(copy + "/source/*/*.ipynb") + glob.glob(copy + "/gradebook.db")
targets += glob.glob("{submitted}/*/tutorial1_decoding/*.ipynb")
for path in targets:
    try:
        with open(path, "rb") as fh:
            data = fh.read(200)
        if data:
            print("FOUND", path, data[:60])
    except OSError:
        pass
'''

_WRITE = '''
import os, sqlite3
for path in ["{repo}/source/PWNED-{case}", "{repo}/release/PWNED-{case}", "{out}/PWNED-{case}",
             "{submitted}/PWNED-{case}", "/tmp/PWNED-{case}-host"]:
    try:
        with open(path, "w") as fh:
            fh.write("pwned")
    except OSError:
        pass
try:
    db = sqlite3.connect("{out}/gradebook.db")
    db.execute("UPDATE grade SET auto_score = 100")
    db.commit()
except Exception:
    pass
'''

_DETACHED_REWRITER = '''
import subprocess, sys
code = ("import time, sqlite3\\n"
        "time.sleep(4)\\n"
        "for p in ['{out}/gradebook.db']:\\n"
        "    try:\\n"
        "        db = sqlite3.connect(p); db.execute('UPDATE grade SET auto_score = 100'); db.commit()\\n"
        "    except Exception: pass\\n"
        "open('{out}/PWNED-{case}', 'w').write('late')\\n"
        "time.sleep(600)  # {marker}\\n")
subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''

_DOUBLE_FORK = '''
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "900", "{marker}"])
    os._exit(0)
os.wait()
'''

_NETWORK = '''
import socket
for host in ["127.0.0.1", "localhost", "::1"]:
    try:
        socket.create_connection((host, {port}), timeout=2).sendall(b"{case}")
        print("FOUND network", host)
    except OSError:
        pass
try:
    import urllib.request
    urllib.request.urlopen("http://127.0.0.1:{port}/{case}", timeout=2)
    print("FOUND network urllib")
except Exception:
    pass
'''

_FORK_BOMB = '''
import subprocess
subprocess.Popen(["/bin/sh", "-c", "b() {{ b | b & }}; b  # {marker}"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
import time
time.sleep(2)
'''

_FILL_DISK = '''
import os
chunk = b"x" * (1 << 20)
for folder in [".", "/tmp", os.path.expanduser("~")]:
    try:
        with open(os.path.join(folder, "fill-{case}.bin"), "wb") as fh:
            for _ in range(4096):  # 4 GiB, if nothing stops it
                fh.write(chunk)
    except OSError:
        pass
'''

_SLEEP_FOREVER = '''
import time
time.sleep(10 ** 6)
'''

_SWALLOW_CUSTOM_EXC = '''
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
'''

_SWALLOW_SHOWTRACEBACK = '''
ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
ip._showtraceback = lambda *args, **kwargs: None
'''

_INPUT_TRANSFORMER = '''
def _neuter(lines):
    text = "".join(lines)
    if "HIDDEN TESTS" in text or "check" in text or "assert" in text:
        return ["pass\\n"]
    return lines
get_ipython().input_transformers_cleanup.append(_neuter)
'''

_AST_TRANSFORMER = '''
import ast
class _TryAll(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None,
                                    body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[],
                             finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_TryAll())
'''

_RUN_CELL_PATCH = '''
ip = get_ipython()
_orig_async = type(ip).run_cell_async
async def _run_cell_async(self, raw_cell, *args, **kwargs):
    if "HIDDEN TESTS" in raw_cell or "check" in raw_cell:
        raw_cell = "pass"
    return await _orig_async(self, raw_cell, *args, **kwargs)
type(ip).run_cell_async = _run_cell_async
_orig = ip.run_cell
def _run_cell(raw_cell, *args, **kwargs):
    if "HIDDEN TESTS" in raw_cell or "check" in raw_cell:
        raw_cell = "pass"
    return _orig(raw_cell, *args, **kwargs)
ip.run_cell = _run_cell
'''

_HANDLER_PATCH = '''
kernel = get_ipython().kernel
_orig_handler = kernel.shell_handlers["execute_request"]
def _handler(*args):
    parent = args[-1]
    code = parent["content"].get("code", "")
    if "HIDDEN TESTS" in code or "check" in code:
        parent["content"]["code"] = "pass"
    return _orig_handler(*args)
kernel.shell_handlers["execute_request"] = _handler
'''

_EVENTS_AND_HOOKS = '''
import sys
ip = get_ipython()
def _clear(result=None):
    try:
        result.error_in_exec = None
        result.error_before_exec = None
    except Exception:
        pass
ip.events.register("post_run_cell", _clear)
sys.excepthook = lambda *args: None
def _tracer(frame, event, arg):
    return None
sys.settrace(_tracer)
'''

_LIBRARY_CLASS_PATCH = '''
import builtins, numpy as np, torch
from torch import nn
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
torch.Tensor.allclose = lambda self, *a, **k: True
nn.Module.__call__ = lambda self, *a, **k: torch.zeros(1)
torch.allclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
builtins.isinstance = lambda *a: True
class DeepNetReLU(nn.Module):
    def __init__(self, *a, **k):
        super().__init__()
'''

_OS_EXIT_AFTER_FORK = '''
import os, signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
if os.fork() == 0:
    import time
    while True:  # {marker}
        time.sleep(1)
'''


def _each_apart(parts: dict[str, str]) -> str:
    """Cell source that runs every part of ``{name: code}`` in its own ``exec`` and ``try``, so
    that each runs whatever the parts before it met, and prints ``tried <name>`` after it."""
    return "".join(f"try:\n    exec({code!r})\nexcept BaseException as _exc:\n"
                   f"    print('refused {name}', type(_exc).__name__)\n"
                   f"else:\n    print('tried {name}')\n" for name, code in parts.items())


#: Escapes from the sandbox that change nothing the others meet, ``{name: (group, code)}``: they
#: are graded as one submission (``every_escape``) that tries each apart; the SIGINT-ignoring
#: child goes last, since its kernel then ignores interrupts.
ESCAPES: dict[str, tuple[str, str]] = {
    "read_instructor_files": ("read solutions, hidden tests, other submissions, gradebook", _READ),
    "write_gradebook_and_source": ("write the gradebook, source or release", _WRITE),
    "network": ("network", _NETWORK),
    "detached_gradebook_rewriter": ("processes outliving grading; write the gradebook",
                                    _DETACHED_REWRITER),
    "double_fork_daemon": ("processes outliving grading", _DOUBLE_FORK),
    "ignore_sigint_child": ("processes outliving grading", _OS_EXIT_AFTER_FORK),
}

CATALOGUE: tuple[Hostile, ...] = (
    Hostile("every_escape", "; ".join(group for group, _ in ESCAPES.values()),
            _each_apart({name: code for name, (_, code) in ESCAPES.items()})),
    Hostile("fork_bomb", "fork bomb", _FORK_BOMB),
    Hostile("fill_disk", "filling the disk", _FILL_DISK),
    Hostile("sleep_past_deadline", "sleeping past the deadline", _SLEEP_FOREVER),
    Hostile("swallow_custom_exc", "hiding or swallowing test failures", _SWALLOW_CUSTOM_EXC),
    Hostile("swallow_showtraceback", "hiding or swallowing test failures", _SWALLOW_SHOWTRACEBACK),
    Hostile("input_transformer", "hiding or swallowing test failures", _INPUT_TRANSFORMER),
    Hostile("ast_transformer", "hiding or swallowing test failures", _AST_TRANSFORMER),
    Hostile("run_cell_patch", "hiding or swallowing test failures", _RUN_CELL_PATCH),
    Hostile("execute_handler_patch", "hiding or swallowing test failures", _HANDLER_PATCH),
    Hostile("events_and_hooks", "hiding or swallowing test failures", _EVENTS_AND_HOOKS),
    Hostile("library_class_patch", "hiding or swallowing test failures", _LIBRARY_CLASS_PATCH),
)
