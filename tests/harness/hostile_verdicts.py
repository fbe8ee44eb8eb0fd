"""Hostile submissions that try to forge a verdict: make the grader count a wrong answer.

Each case is the first answer cell (``ex_deepnet_relu``) of an otherwise blank submission of
tutorial 1, written by a student who has read this repository: it attacks how nbgrader scores a
cell (its first ``execute_result``), the kernel's messages to the grader, the libraries the
tests call and the hidden tests' own reporting (:mod:`nmautils.course.hidden`). None of them
computes a correct answer, so each must score 0 (``tests/grading/test_hostile.py``).
"""

from __future__ import annotations

from hostile_catalogue import Hostile

#: The first lines of a DeepNetReLU with the right layers, whose forward each case writes.
_NET = '''class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)
        self.out_layer = nn.Linear(n_hidden, 1)
'''

_DISPLAYHOOK_THEN_RAISE = '''
import torch
from torch import nn

''' + _NET + '''
    def forward(self, r):
        get_ipython().displayhook("full marks")  # an execute_result nbgrader would score
        raise RuntimeError("stop here")
'''

_SESSION_SEND = '''
import jupyter_client.session as _session
_orig_send = _session.Session.send

def _send(self, stream, msg_or_type, content=None, *args, **kwargs):
    msg_type = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get("msg_type")
    if msg_type == "error":
        return None  # no traceback reaches the grader
    if msg_type == "execute_reply":
        content = dict(content or {})
        content.update(status="ok", user_expressions={})
        for key in ("ename", "evalue", "traceback"):
            content.pop(key, None)
    if msg_type == "display_data":
        data = (content or {}).get("data", {})
        if any("nmautils" in key for key in data):
            return None  # hide the hidden tests' reports: maybe no report means no failure
    return _orig_send(self, stream, msg_or_type, content, *args, **kwargs)

_session.Session.send = _send
'''

_TENSOR_SUBCLASS = '''
import torch
from torch import nn

class _AlwaysEqual(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.allclose, torch.Tensor.equal):
            return True
        if func in (torch.isclose, torch.eq, torch.Tensor.__eq__):
            return torch.ones((), dtype=torch.bool)
        if func in (torch.sub, torch.Tensor.__sub__, torch.Tensor.__rsub__):
            return torch.zeros(())
        return super().__torch_function__(func, types, args, kwargs or {})

class _Zero(float):
    def __eq__(self, other): return True
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __abs__(self): return 0.0

''' + _NET + '''
    def forward(self, r):
        return torch.zeros(r.shape[0], 1, requires_grad=True).as_subclass(_AlwaysEqual)
'''

_TORCH_FUNCTION_MODE = '''
import torch
from torch.overrides import TorchFunctionMode

class _Agree(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.allclose):
            return True
        return func(*args, **(kwargs or {}))

_Agree().__enter__()  # entered and never left: every later cell runs inside it
'''

_FAKE_MODULES = '''
import sys, types
import torch

class _Fake(types.ModuleType):
    def __getattr__(self, name):
        real = getattr(torch, name)
        if name in ("allclose", "equal"):
            return lambda *a, **k: True
        return real

fake_torch = _Fake("torch")
fake_torch.__dict__.update({k: v for k, v in vars(torch).items() if k not in ("allclose", "equal")})
sys.modules["torch"] = fake_torch
fake_checks = types.ModuleType("nmautils.checks")
for _name in ("check", "check_close", "check_shape", "check_type", "check_finite", "passed"):
    setattr(fake_checks, _name, lambda *a, **k: None)
fake_checks.refusing = lambda *a, **k: __import__("contextlib").nullcontext()
sys.modules["nmautils.checks"] = fake_checks
'''

_FORGE_REPORTS = '''
import numpy as np
import nmautils.course.hidden as _hidden
from IPython.display import display

def _forged(name, value, **kwargs):
    # report zeros of the right shape for everything, whatever the code computed
    try:
        value = np.zeros_like(np.asarray(value.detach() if hasattr(value, "detach") else value, dtype=float))
    except Exception:
        value = 0.0
    record = {"name": name, "value": _hidden.encode(value), "atol": 1e9, "rtol": 1e9, "what": ""}
    display({_hidden.MIME: record}, raw=True)

_hidden.expect = _forged
'''

_FIXED_SEED = '''
import nmautils.course.hidden as _hidden
# fixtures the student knows in advance: answers could be tabulated for them
_hidden.fixture_seed = lambda offset=0: 0
_hidden.configure = lambda seed, grading=True: _hidden._state.update(seed=0, grading=grading)
'''

_DUPLICATE_REPORTS = '''
import nmautils.course.hidden as _hidden
from IPython.display import display
import torch

def _pre_report(*args, **kwargs):
    # answer first with a made-up value under every name a test might use
    for name in ("output", "input gradient", "mse", "mse shifted", "losses", "parameters"):
        display({_hidden.MIME: {"name": name, "value": _hidden.encode(torch.zeros(9, 1)),
                                "atol": 1e9, "rtol": 1e9, "what": ""}}, raw=True)

get_ipython().events.register("pre_run_cell", _pre_report)
'''

_MALFORMED_REPORTS = '''
import nmautils.course.hidden as _hidden
from IPython.display import display

def _bad(name, value, **kwargs):
    display({_hidden.MIME: {"name": name, "value": {"kind": "float", "shape": [10 ** 12],
                                                    "data": "AAAA"}}}, raw=True)
    display({_hidden.MIME: {"name": name, "value": {"kind": "object", "type": "builtins.float"}}},
            raw=True)
    display({_hidden.MIME: ["not", "a", "record"]}, raw=True)

_hidden.expect = _bad
'''

_SCORE_OUTPUT = '''
import torch
from torch import nn
from IPython.display import display

''' + _NET + '''
    def forward(self, r):
        # a numeric execute_result is a partial-credit score in nbgrader
        get_ipython().displayhook(2.0)
        display({"text/plain": "2.0"}, raw=True)
        return torch.zeros(r.shape[0], 1)
'''

_CLEAR_ERRORS = '''
import sys
ip = get_ipython()
def _quiet(*args, **kwargs):
    from IPython.display import clear_output
    clear_output()
ip.set_custom_exc((BaseException,), _quiet)
sys.excepthook = _quiet
'''

_HUGE_DISPLAY = '''
from IPython.display import display
blob = "x" * (8 << 20)
for _ in range(25):  # 200 MiB of display data if nothing stops it
    display({"text/plain": blob}, raw=True)
'''

_SLOW_AND_STUBBORN = '''
import signal, time
import torch
from torch import nn
signal.signal(signal.SIGINT, signal.SIG_IGN)
time.sleep(5)  # just under the cell timeout: every restart replays this cell

''' + _NET + '''
    def forward(self, r):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:  # ignores the timeout's interrupt: the kernel must be restarted
            time.sleep(1)
'''

def _literal(code: str) -> str:
    """``code`` with its braces doubled: cases are filled in with ``str.format`` (none of these
    uses a placeholder)."""
    return code.replace("{", "{{").replace("}", "}}")


VERDICT_CASES: tuple[Hostile, ...] = tuple(Hostile(c.name, c.group, _literal(c.code)) for c in (
    Hostile("displayhook_then_raise", "forging a verdict", _DISPLAYHOOK_THEN_RAISE),
    Hostile("session_send_patch", "forging a verdict", _SESSION_SEND),
    Hostile("tensor_subclass_equal", "forging a verdict", _TENSOR_SUBCLASS),
    Hostile("torch_function_mode", "forging a verdict", _TORCH_FUNCTION_MODE),
    Hostile("fake_torch_and_checks_modules", "forging a verdict", _FAKE_MODULES),
    Hostile("forged_reports", "forging a verdict", _FORGE_REPORTS),
    Hostile("fixed_fixture_seed", "forging a verdict", _FIXED_SEED),
    Hostile("duplicate_reports", "forging a verdict", _DUPLICATE_REPORTS),
    Hostile("malformed_reports", "forging a verdict", _MALFORMED_REPORTS),
    Hostile("numeric_execute_result", "forging a verdict", _SCORE_OUTPUT),
    Hostile("clear_error_outputs", "hiding or swallowing test failures", _CLEAR_ERRORS),
    Hostile("huge_display_data", "flooding the grader with output", _HUGE_DISPLAY),
    Hostile("slow_stubborn_cells", "sleeping past the deadline", _SLOW_AND_STUBBORN),
))

#: One attack on each layer of the verdict, graded by plain ``nbgrader autograde``
#: (``tests/grading/test_hostile_nbgrader.py``): nbgrader's score from the first
#: ``execute_result`` (two ways), the kernel's messages to the grader, the error outputs and the
#: hidden tests' reports. The class grader's run (``tests/grading/test_hostile.py``) grades the
#: others: both run the same ``GuardedExecute``, so each attack is graded once.
PLAIN_CASES = ("displayhook_then_raise", "numeric_execute_result", "session_send_patch",
               "clear_error_outputs", "forged_reports")
