"""The kernel side of the grading guard: snapshot the interpreter, restore it before each test.

:class:`nmautils.course.guard.GuardedExecute` imports this module *inside the grading kernel*
before the first cell runs (``install``), and calls :func:`reset` before every answer and test
cell and :func:`record` after every instructor cell. It is an ordinary module so that it can be
linted and unit-tested in-process (``tests/course/test_kernel_guard.py``).

What :func:`reset` puts back to its state at install time (or at the last :func:`record`):

- attributes of the guarded modules (numpy, torch, nmautils, ...) and names that instructor cells
  bound to library objects (``np``, ``nn``, ``plt``...);
- ``builtins``; ``sys`` hooks (``excepthook``, ``displayhook``, trace and profile functions,
  ``stdout``/``stderr``);
- IPython's machinery: exception handlers (``set_custom_exc``, ``showtraceback``), display hooks
  and publishers, input and AST transformers, event callbacks, the execution methods
  (``run_cell``...), and the kernel's message handlers;
- class attributes of library types (every ``torch.nn.Module`` and optimizer class, ``torch.Tensor``,
  IPython's shell and kernel classes, nmautils' classes), so ``nn.Module.__call__ = ...`` or
  ``torch.Tensor.__eq__ = ...`` in an answer cell does not reach the tests;
- torch's default dtype and autograd switch, warning filters, numpy error settings and, before a
  test cell, the seeds of ``random``, numpy and torch.

None of this decides a grade: a kernel runs the student's code and can undo anything. It keeps
an honest student's earlier mistakes (a rebound ``np``, a patched library) from breaking later
tests; the verdicts come from :mod:`nmautils.course.verdicts`, in the grader's process.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import threading
import types
import warnings
from typing import Any

#: The shell attributes restored before every student and test cell.
SHELL_ATTRIBUTES = (
    "custom_exceptions", "CustomTB", "showtraceback", "_showtraceback", "showsyntaxerror",
    "showindentationerror", "excepthook", "displayhook", "display_pub", "display_formatter",
    "input_transformer_manager", "run_cell", "run_cell_async", "run_ast_nodes", "run_code",
    "should_run_async", "transform_cell", "transform_ast", "user_expressions", "ev", "ex",
    "compile", "events", "_run_cell", "get_exception_only", "_get_exc_info",
)
#: Shell attributes that are lists restored in place (their identity is shared elsewhere).
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
#: Kernel attributes that are handler tables restored in place.
KERNEL_TABLES = ("shell_handlers", "control_handlers")
#: Kernel methods an answer could replace on the instance.
KERNEL_METHODS = ("do_execute", "execute_request", "dispatch_shell", "process_control",
                  "send_response", "_publish_execute_input")
#: Class attributes never restored (bookkeeping that changes legitimately).
CLASS_SKIP = frozenset({"__dict__", "__weakref__", "__doc__", "__abstractmethods__",
                        "_abc_impl", "__slotnames__", "__annotations__", "__parameters__"})

_MISSING = object()


class _State:
    """Everything captured at install time (one instance per kernel)."""

    def __init__(self) -> None:
        self.modules: list[tuple[types.ModuleType, dict[str, Any]]] = []
        self.names: dict[str, Any] = {}
        self.classes: list[tuple[type, dict[str, Any]]] = []
        self.builtins: dict[str, Any] = {}
        self.sys_hooks: dict[str, Any] = {}
        self.shell_attrs: dict[str, Any] = {}
        self.shell_lists: dict[str, list] = {}
        self.transformer_lists: dict[str, list] = {}
        self.events: dict[str, list] = {}
        self.kernel_tables: dict[str, dict] = {}
        self.kernel_attrs: dict[str, Any] = {}
        self.warnings: list = []
        self.seterr: dict | None = None
        self.prefixes: tuple[str, ...] = ()
        self.installed = False


_state = _State()


def _shell():
    try:
        return get_ipython()  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        from IPython import get_ipython

        return get_ipython()


def _library_classes(prefixes: tuple[str, ...]) -> list[type]:
    """Mutable classes whose attributes are snapshot: nn.Module and optimizer subclasses, torch
    tensors, IPython/ipykernel shell and kernel classes, and nmautils' classes."""
    found: dict[int, type] = {}

    def add(cls: type) -> None:
        if id(cls) in found:
            return
        found[id(cls)] = cls

    def walk(root: type) -> None:
        stack = [root]
        while stack:
            cls = stack.pop()
            module = getattr(cls, "__module__", "") or ""
            if module.split(".")[0] in prefixes:
                add(cls)
            try:
                stack.extend(cls.__subclasses__())
            except TypeError:
                continue

    torch = sys.modules.get("torch")
    if torch is not None:
        add(torch.Tensor)
        walk(torch.nn.Module)
        walk(torch.optim.Optimizer)
        walk(torch.autograd.Function)
    ip = _shell()
    for obj in (ip, getattr(ip, "kernel", None)):
        if obj is not None:
            for cls in type(obj).__mro__:
                if cls is not object:
                    add(cls)
    for name, module in list(sys.modules.items()):
        if name.startswith("nmautils") and not name.startswith("nmautils.course") and module:
            for value in list(vars(module).values()):
                if isinstance(value, type) and getattr(value, "__module__", "") == name:
                    add(value)
    return list(found.values())


def _restore_mapping(target: Any, saved: dict[str, Any], *, delete_new: bool,
                     skip: frozenset = frozenset()) -> int:
    """Make ``vars(target)`` match ``saved`` again; return how many entries changed."""
    current = vars(target)
    changed = 0
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            try:
                setattr(target, key, value)
                changed += 1
            except (AttributeError, TypeError):
                pass
    if delete_new:
        for key in [k for k in list(current) if k not in saved and k not in skip]:
            try:
                delattr(target, key)
                changed += 1
            except (AttributeError, TypeError):
                pass
    return changed


def install(limit_bytes: int = 0, modules: tuple[str, ...] = (),
            prefixes: tuple[str, ...] = ()) -> None:
    """Snapshot the interpreter (call once, before any student code runs).

    Parameters
    ----------
    limit_bytes : int
        Address-space limit (``RLIMIT_AS``) to set; 0 keeps the current one.
    modules : tuple of str
        Modules whose attributes are restored before each cell (imported here).
    prefixes : tuple of str
        Top-level package names whose objects, bound to a name by instructor cells, are
        rebound by :func:`reset` (``np``, ``nn``...) and whose classes are snapshot.
    """
    if limit_bytes:
        try:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            new = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
            resource.setrlimit(resource.RLIMIT_AS, (new, hard))
        except (ImportError, ValueError, OSError):
            pass
    st = _state
    st.prefixes = tuple(prefixes)
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional library may be absent
            continue
        st.modules.append((module, {k: v for k, v in vars(module).items()
                                    if not k.startswith("__")}))
    st.modules.append((sys.modules[__name__], {k: v for k, v in globals().items()
                                               if not k.startswith("__")}))
    st.builtins = dict(vars(builtins))
    st.sys_hooks = {k: getattr(sys, k, None) for k in
                    ("excepthook", "displayhook", "breakpointhook", "stdout", "stderr", "stdin")}
    try:
        import numpy

        st.seterr = numpy.geterr()
    except ImportError:
        st.seterr = None
    st.warnings = list(warnings.filters)
    ip = _shell()
    if ip is not None:
        st.shell_attrs = {k: (getattr(ip, k, _MISSING) if _is_trait(ip, k)
                              else vars(ip).get(k, _MISSING)) for k in SHELL_ATTRIBUTES}
        st.shell_lists = {k: list(getattr(ip, k)) for k in SHELL_LISTS if hasattr(ip, k)}
        manager = getattr(ip, "input_transformer_manager", None)
        if manager is not None:
            st.transformer_lists = {k: list(getattr(manager, k)) for k in
                                    ("cleanup_transforms", "line_transforms",
                                     "token_transformers") if hasattr(manager, k)}
        events = getattr(ip, "events", None)
        if events is not None:
            st.events = {k: list(v) for k, v in events.callbacks.items()}
        kernel = getattr(ip, "kernel", None)
        if kernel is not None:
            st.kernel_tables = {k: dict(getattr(kernel, k)) for k in KERNEL_TABLES
                                if isinstance(getattr(kernel, k, None), dict)}
            st.kernel_attrs = {k: vars(kernel).get(k, _MISSING) for k in KERNEL_METHODS}
    st.classes = [(cls, {k: v for k, v in vars(cls).items() if k not in CLASS_SKIP})
                  for cls in _library_classes(st.prefixes)]
    st.installed = True


def _is_trait(obj: Any, name: str) -> bool:
    has_trait = getattr(type(obj), "class_traits", None)
    try:
        return bool(has_trait) and name in type(obj).class_trait_names()
    except Exception:  # noqa: BLE001
        return False


def _is_library(value: Any) -> bool:
    if isinstance(value, types.ModuleType):
        return True
    module = getattr(value, "__module__", None)
    return (isinstance(module, str) and module.split(".")[0] in _state.prefixes
            and (callable(value) or isinstance(value, type)))


def record() -> None:
    """Remember names that instructor cells bound to library objects (called after them)."""
    ip = _shell()
    if ip is None:
        return
    for key, value in list(ip.user_ns.items()):
        if key.startswith("_") or key in _state.names:
            continue
        try:
            if _is_library(value):
                _state.names[key] = value
        except Exception:  # noqa: BLE001 - odd objects in the namespace
            continue


def _restore_lists(owner: Any, saved: dict[str, list]) -> int:
    """Put the saved contents back into ``owner``'s lists, in place; return how many changed."""
    changed = 0
    for key, items in saved.items():
        current = getattr(owner, key)
        if current != items:
            current[:] = items
            changed += 1
    return changed


def _restore_interpreter() -> int:
    st = _state
    changed = 0
    current = vars(builtins)
    for key, value in st.builtins.items():
        if current.get(key, _MISSING) is not value:
            current[key] = value
            changed += 1
    for key in [k for k in current if k not in st.builtins and not k.startswith("_")]:
        del current[key]
        changed += 1
    for key, value in st.sys_hooks.items():
        if getattr(sys, key, None) is not value:
            setattr(sys, key, value)
            changed += 1
    if sys.gettrace() is not None or sys.getprofile() is not None:
        changed += 1
    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)  # type: ignore[arg-type]
    threading.setprofile(None)  # type: ignore[arg-type]
    ip = _shell()
    if ip is None:
        return changed
    inst = vars(ip)
    for key, value in st.shell_attrs.items():
        if _is_trait(ip, key):
            if value is not _MISSING and getattr(ip, key, _MISSING) is not value:
                setattr(ip, key, value)
                changed += 1
        elif value is _MISSING:
            if key in inst:
                del inst[key]
                changed += 1
        elif inst.get(key, _MISSING) is not value:
            try:
                setattr(ip, key, value)
            except Exception:  # noqa: BLE001 - a traitlet refusing the value
                inst[key] = value
            changed += 1
    changed += _restore_lists(ip, st.shell_lists)
    changed += _restore_lists(getattr(ip, "input_transformer_manager", None),
                              st.transformer_lists)
    events = getattr(ip, "events", None)
    if events is not None:
        for key, saved in st.events.items():
            if events.callbacks.get(key) != saved:
                events.callbacks[key] = list(saved)
                changed += 1
    kernel = getattr(ip, "kernel", None)
    if kernel is not None:
        for key, saved in st.kernel_tables.items():
            table = getattr(kernel, key)
            if table != saved:
                table.clear()
                table.update(saved)
                changed += 1
        kinst = vars(kernel)
        for key, value in st.kernel_attrs.items():
            if value is _MISSING:
                if key in kinst:
                    del kinst[key]
                    changed += 1
            elif kinst.get(key, _MISSING) is not value:
                kinst[key] = value
                changed += 1
    return changed


def reset(seeds: bool = True) -> int:
    """Restore the install-time state (see the module docstring); return how much was changed.

    Parameters
    ----------
    seeds : bool
        Also reseed ``random``, numpy and torch with 0 (before test cells).
    """
    st = _state
    changed = _restore_interpreter()
    for module, snap in st.modules:
        changed += _restore_mapping(module, snap, delete_new=False)
    for cls, snap in st.classes:
        changed += _restore_mapping(cls, snap, delete_new=True, skip=CLASS_SKIP)
    ip = _shell()
    if ip is not None:
        for key, value in st.names.items():
            if ip.user_ns.get(key, _MISSING) is not value:
                ip.user_ns[key] = value
                changed += 1
    warnings.filters[:] = st.warnings
    import random

    if seeds:
        random.seed(0)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if seeds:
            numpy.random.seed(0)
        if st.seterr is not None:
            numpy.seterr(**st.seterr)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
        if seeds:
            torch.manual_seed(0)
    return changed
