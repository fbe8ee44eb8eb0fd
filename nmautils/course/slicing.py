"""Which cells a grading run must execute: demonstrations that no graded code needs are skipped.

Most of an assignment's running time is spent in *demonstration* cells: training runs on the
recording, figures, claims checked on the data. The grade cells test the student's code on their
own fixtures, so they rarely need any of it. Cells the instructor tags ``demo`` (locked,
read-only cells whose only effect is on the Python names they mention) are skipped while grading,
unless the code that always runs - the student's answers, the grade cells, every untagged cell -
might read something they make.

"Might read" is decided from the cells' syntax, conservatively:

- a tagged cell is kept when it binds (assigns, defines, imports, deletes) a name that a later
  kept cell reads before binding it, or uses such a name where its object may change: as an
  argument, a callee, the object of a method call, an alias, a stored attribute or item
  (``train(net, ...)``, ``net.fit()``, ``alias = net``). Operands, comparisons, f-string
  fields, indexes and arguments of pure builtins (``print(len(x))``) only read. Only names that
  some cell binds by assignment hold such objects: modules, functions, classes and builtins
  do not;
- calling something may run the notebook's own functions: a cell that calls a function by name
  may change what that function changes (and what the functions it calls change); a cell that
  calls anything may change what methods, lambdas and functions passed around as values change;
- a kept cell's reads are needed in turn, so chains of demonstrations are kept whole;
- above a cell that runs and reaches the namespace dynamically (``globals()``, ``eval``,
  ``get_ipython()``, ``sys.modules``, ``Out[...]``, ...) or cannot be parsed, nothing is skipped.

A student who edits a tag or a locked cell changes only which of the *instructor's* cells run;
answers and grade cells always run, so no submission can make a grade cell skip.
"""

from __future__ import annotations

import ast
import symtable
from collections.abc import Sequence
from dataclasses import dataclass, field

from nbformat import NotebookNode

from .notebooks import cell_kind

#: The cell tag by which an instructor marks a demonstration that grading may skip.
DEMO_TAG = "demo"

#: Names through which code can reach the namespace without naming what it reads.
DYNAMIC_NAMES = frozenset({
    "globals", "locals", "vars", "eval", "exec", "compile", "get_ipython", "__import__",
    "__builtins__", "__main__", "In", "Out", "_ih", "_oh", "_i", "_ii", "_iii", "_", "__", "___",
    "importlib", "inspect",
})

#: Attribute names with the same power (``sys.modules``, ``f.__globals__``, ``frame.f_globals``).
DYNAMIC_ATTRIBUTES = frozenset({
    "modules", "user_ns", "user_global_ns", "__globals__", "f_globals", "f_locals", "f_back",
    "__dict__",
})


@dataclass(frozen=True)
class CellNames:
    """The global names one code cell binds and reads."""

    bound: frozenset[str]  # bound at module level (assigned, imported, defined, deleted, global)
    read: frozenset[str]  # read from the module namespace before the cell binds them itself
    replaced: frozenset[str]  # surely bound, whatever they held before (not read first)
    rebound: frozenset[str]  # bound anywhere other than by import, def or class
    dynamic: bool  # reaches the namespace without naming what it reads
    effects: Effects  # what running it may change


@dataclass
class Effects:
    """What code may change: of the cell itself when it runs, of a function when it is called."""

    touched: set[str] = field(default_factory=set)  # global names used where the object may change
    mentioned: set[str] = field(default_factory=set)  # global names read anywhere
    escaped: set[str] = field(default_factory=set)  # ... other than as the callee of a call
    calls: bool = False  # calls something
    functions: dict[str, Effects] = field(default_factory=dict)  # its top-level defs and classes
    classes: set[str] = field(default_factory=set)  # which of those are classes
    anonymous: set[str] = field(default_factory=set)  # what its lambdas may change


def _python_source(source: str) -> str:
    """The cell as plain Python (IPython magics and ``!`` lines become calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with nbgrader
        return source
    return TransformerManager().transform_cell(source)


def _global_reads(table: symtable.SymbolTable, top: bool = True) -> set[str]:
    reads = {s.get_name() for s in table.get_symbols()
             if s.is_referenced() and (top or s.is_global())}
    for child in table.get_children():
        reads |= _global_reads(child, top=False)
    return reads


def _global_writes(table: symtable.SymbolTable, top: bool = True) -> set[str]:
    """Names bound at module level: directly, or by nested code (``global x; x = ...``)."""
    writes = {s.get_name() for s in table.get_symbols()
              if (top and (s.is_assigned() or s.is_imported()))
              or (s.is_declared_global() and s.is_assigned())}
    for child in table.get_children():
        writes |= _global_writes(child, top=False)
    return writes


def _target_names(target: ast.AST) -> tuple[set[str], set[str]]:
    """(names a ``for``/``with`` target binds, names it reads: ``for d[k] in ...`` reads d, k)."""
    names = [n for n in ast.walk(target) if isinstance(n, ast.Name)]
    return ({n.id for n in names if not isinstance(n.ctx, ast.Load)},
            {n.id for n in names if isinstance(n.ctx, ast.Load)})


def _table(node: ast.AST, mode: str = "exec") -> symtable.SymbolTable:
    return symtable.symtable(ast.unparse(node), "<cell>", mode)


def _exposed(statements: list[ast.stmt], bound: set[str]) -> tuple[set[str], set[str]]:
    """(names read before this code surely binds them, names surely bound after it).

    Straight-line code in order; a branch, loop or ``try`` binds nothing for sure. Code inside
    functions and classes counts as read where it is defined (earlier than it runs: more names).
    """
    bound = set(bound)
    exposed: set[str] = set()

    def reads(node: ast.AST | None) -> set[str]:
        return set() if node is None else _global_reads(_table(node, "eval")) - bound

    for st in statements:
        if isinstance(st, ast.If):
            exposed |= reads(st.test)
            body_e, body_b = _exposed(st.body, bound)
            else_e, else_b = _exposed(st.orelse, bound)
            exposed |= body_e | else_e
            bound = body_b & else_b
        elif isinstance(st, (ast.For, ast.AsyncFor)):
            targets, target_reads = _target_names(st.target)
            exposed |= reads(st.iter) | (target_reads - bound)
            exposed |= _exposed(st.body, bound | targets)[0] | _exposed(st.orelse, bound)[0]
        elif isinstance(st, ast.While):
            exposed |= reads(st.test)
            exposed |= _exposed(st.body, bound)[0] | _exposed(st.orelse, bound)[0]
        elif isinstance(st, (ast.With, ast.AsyncWith)):
            for item in st.items:
                exposed |= reads(item.context_expr)
            names: set[str] = set()
            for item in st.items:
                if item.optional_vars is not None:
                    targets, target_reads = _target_names(item.optional_vars)
                    names |= targets
                    exposed |= target_reads - bound
            body_e, bound = _exposed(st.body, bound | names)
            exposed |= body_e
        elif isinstance(st, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            exposed |= _exposed(st.body, bound)[0]
            for handler in st.handlers:
                exposed |= reads(handler.type)
                exposed |= _exposed(handler.body, bound | ({handler.name} if handler.name else set()))[0]
            exposed |= _exposed(st.orelse, bound)[0] | _exposed(st.finalbody, bound)[0]
        elif isinstance(st, ast.Match):  # every case is a branch
            exposed |= _global_reads(_table(st)) - bound
        else:  # a simple statement, def or class: its reads happen before its bindings
            table = _table(st)
            exposed |= _global_reads(table) - bound
            bound |= _global_writes(table)
    return exposed, bound


#: Builtins that never change their arguments (as long as no cell rebinds the name).
PURE_BUILTINS = frozenset({
    "print", "len", "float", "int", "str", "repr", "round", "abs", "isinstance", "type",
    "format", "bool", "id", "hash", "callable", "hasattr",
})

#: Parents under which a value is only read: operators, comparisons, f-string fields.
_OPERATORS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.FormattedValue)
#: Parents that pass a value on unchanged (``a or b``, ``a if c else b``): as safe as they are.
_TRANSPARENT = (ast.BoolOp, ast.IfExp)
_SCOPE_NAMES = {ast.Lambda: "lambda", ast.ListComp: "listcomp", ast.SetComp: "setcomp",
                ast.DictComp: "dictcomp", ast.GeneratorExp: "genexpr"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, *_SCOPE_NAMES)


def _only_read(node: ast.AST, parent_of: dict, pure: frozenset[str]) -> bool:
    """Whether the value of ``node`` (a name, attribute or item) can only be read where it is
    used: an operand, an index, a condition, an argument of a pure builtin, a shown value.
    Anything else (a call, a method call, an argument, an assignment that makes an alias, a
    stored attribute or item) may change the object."""
    parent = parent_of.get(node)
    if isinstance(parent, _OPERATORS) or isinstance(parent, ast.Expr):
        return True
    if isinstance(parent, (ast.If, ast.While, ast.Assert)) and node is parent.test:
        return True
    if isinstance(parent, ast.IfExp) and node is parent.test:
        return True
    if isinstance(parent, _TRANSPARENT):
        return _only_read(parent, parent_of, pure)
    if isinstance(parent, ast.Subscript) and node is not parent.value:
        return True  # an index
    if isinstance(parent, (ast.Attribute, ast.Subscript)) and isinstance(parent.ctx, ast.Load):
        return _only_read(parent, parent_of, pure)  # x.shape > 3 reads; x.w.zero_() does not
    call = parent_of.get(parent) if isinstance(parent, ast.keyword) else parent
    return (isinstance(call, ast.Call) and node is not call.func
            and isinstance(call.func, ast.Name) and call.func.id in pure)


def _child_table(table: symtable.SymbolTable | None, node: ast.AST):
    """The symbol table of the scope ``node`` opens inside ``table`` (None when unsure)."""
    if table is None:
        return None
    name = getattr(node, "name", None) or _SCOPE_NAMES.get(type(node))
    same = [c for c in table.get_children() if c.get_name() == name]
    exact = [c for c in same if c.get_lineno() == node.lineno]
    for candidates in (exact, same):
        if len(candidates) == 1:
            return candidates[0]
    return None


def _is_global(name: str, table: symtable.SymbolTable | None) -> bool:
    if table is None or table.get_type() == "module":
        return True
    try:
        return table.lookup(name).is_global()
    except KeyError:
        return True


def _effects(tree: ast.Module, table: symtable.SymbolTable, pure: frozenset[str]) -> Effects:
    """What the cell may change when it runs, and what each of its functions and classes may
    change when called (or, for a class, when its methods are called)."""
    parent_of = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    cell = Effects()

    def visit(node: ast.AST, scope, into: Effects, later: bool) -> None:
        """``into`` collects; ``later``: the code runs when something is called, not now."""
        if isinstance(node, ast.Call):
            into.calls = True
        if isinstance(node, ast.Name) and _is_global(node.id, scope):
            if isinstance(node.ctx, ast.Load):
                into.mentioned.add(node.id)
                parent = parent_of.get(node)
                if not (isinstance(parent, ast.Call) and node is parent.func):
                    into.escaped.add(node.id)
                if not _only_read(node, parent_of, pure):
                    into.touched.add(node.id)
            elif later:
                into.touched.add(node.id)  # global x; x = ... inside a function
        if not isinstance(node, _SCOPES):
            for child in ast.iter_child_nodes(node):
                visit(child, scope, into, later)
            return
        inner = _child_table(scope, node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            body_into = into
            if into is cell and isinstance(node, ast.Lambda):
                body_into = Effects()
            elif into is cell:  # a top-level function or class: its own record
                body_into = cell.functions.setdefault(node.name, Effects())
                if isinstance(node, ast.ClassDef):
                    cell.classes.add(node.name)
            if isinstance(node, ast.ClassDef):  # bases now, the body now, the methods later
                outer, body = [*node.decorator_list, *node.bases, *node.keywords], node.body
            else:
                args = node.args
                outer = [*getattr(node, "decorator_list", []), *args.defaults,
                         *(d for d in args.kw_defaults if d is not None)]
                body = node.body if isinstance(node.body, list) else [node.body]
            for child in outer:
                visit(child, scope, into, later)
            for child in body:
                visit(child, inner, body_into, later or not isinstance(node, ast.ClassDef))
            if into is cell and isinstance(node, ast.ClassDef):  # its body ran just now
                cell.touched |= body_into.touched
            if body_into is not into and into is cell and isinstance(node, ast.Lambda):
                cell.anonymous |= body_into.touched
                cell.mentioned |= body_into.mentioned
                # whoever calls the lambda calls what it names: those can be called from anywhere
                cell.escaped |= body_into.mentioned
        else:  # a comprehension: its first iterable is evaluated outside
            first = node.generators[0].iter
            visit(first, scope, into, later)
            for child in ast.iter_child_nodes(node):
                parts = ast.iter_child_nodes(child) if isinstance(child, ast.comprehension) else [child]
                for part in parts:
                    if part is not first:
                        visit(part, inner, into, later)

    visit(tree, table, cell, False)
    return cell


def cell_names(source: str, pure: frozenset[str] = PURE_BUILTINS) -> CellNames | None:
    """The global names ``source`` (one code cell) binds and reads; None when it is not valid
    Python (after IPython's transformations)."""
    python = _python_source(source)
    try:
        tree = ast.parse(python)
        table = symtable.symtable(python, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return None
    bound = _global_writes(table)
    rebound: set[str] = set()
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                dynamic |= node.id in DYNAMIC_NAMES
            else:
                rebound.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            rebound.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            rebound.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            rebound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            rebound.add(node.rest)
        elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            dynamic = True
        elif isinstance(node, ast.Attribute):
            dynamic |= node.attr in DYNAMIC_ATTRIBUTES
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            dynamic |= "__main__" in node.value
    read, replaced = _exposed(tree.body, set())
    return CellNames(frozenset(bound), frozenset(read), frozenset(replaced - read),
                     frozenset(rebound), dynamic, _effects(tree, table, pure))


def is_demo(cell: NotebookNode) -> bool:
    """Whether ``cell`` is a locked, read-only code cell tagged :data:`DEMO_TAG`."""
    return (cell.get("cell_type") == "code" and cell_kind(cell) == "readonly"
            and DEMO_TAG in cell.get("metadata", {}).get("tags", []))


def _call_effects(cells: list[Effects]):
    """A function giving, for one cell's :class:`Effects`, every global name that running it may
    change: what it touches itself, and what the notebook's functions it calls may touch.

    A function that is only ever called by name changes things only in cells that name it (or
    call a function that does). Methods, and functions passed around as values, may be called by
    any cell that calls anything; so may lambdas.
    """
    functions: dict[str, Effects] = {}
    classes: set[str] = set()
    escaped: set[str] = set()  # names used as values somewhere (not only called by name)
    unnamed: set[str] = set()  # what a call of an unknown callee may change
    for cell in cells:
        for name, fn in cell.functions.items():
            merged = functions.setdefault(name, Effects())
            merged.touched |= fn.touched
            merged.mentioned |= fn.mentioned
            merged.calls |= fn.calls
            escaped |= fn.escaped
        classes |= cell.classes
        escaped |= cell.escaped
        unnamed |= cell.anonymous
    reachable = classes | (escaped & set(functions))  # callable through an object
    total = {name: set(fn.touched) for name, fn in functions.items()}
    changed = True
    while changed:  # close over calls between functions
        changed = False
        unnamed_now = unnamed.union(*(total[f] for f in reachable))
        for name, fn in functions.items():
            new = total[name].union(*(total[g] for g in fn.mentioned & set(functions)))
            if fn.calls:
                new |= unnamed_now
            if new != total[name]:
                total[name], changed = new, True
        if unnamed_now != unnamed:
            unnamed, changed = unnamed_now, True

    def effects(cell: Effects) -> set[str]:
        out = set(cell.touched).union(*(total[f] for f in cell.mentioned & set(total)))
        return out | unnamed if cell.calls else out

    return effects


def _always_runs_trusted(cell: NotebookNode) -> bool:
    """Locked instructor cells that always run: their dynamic access (``%pip`` becomes
    ``get_ipython()``) is the instructor's, not a read of a demonstration's names."""
    return cell_kind(cell) == "readonly" and not is_demo(cell)


def cells_to_skip(cells: Sequence[NotebookNode]) -> set[int]:
    """Indices of the demonstration cells that grading need not execute.

    Parameters
    ----------
    cells : sequence of NotebookNode
        The notebook's cells, as they will be executed (locked cells restored by nbgrader).

    Returns
    -------
    set of int
        Indices of cells tagged :data:`DEMO_TAG` that no later cell which runs might read from;
        none before a cell that runs and cannot be analysed or reaches the namespace dynamically.
    """
    code = [i for i, c in enumerate(cells)
            if c.get("cell_type") == "code" and c.get("source", "").strip()]
    names = {i: cell_names(cells[i].source) for i in code}
    known = [n for n in names.values() if n is not None]
    shadowed = PURE_BUILTINS & set().union(*(n.bound for n in known))
    if shadowed:  # a cell rebinds print, len, ...: they are no longer known to be pure
        names = {i: cell_names(cells[i].source, PURE_BUILTINS - shadowed) for i in code}
        known = [n for n in names.values() if n is not None]
    # only names that some cell binds by assignment (or loop, with, del, ...) can hold data that
    # a use changes (train(net, ...)); modules, functions, classes and builtins cannot
    data = set().union(*(n.rebound for n in known))
    effects = _call_effects([n.effects for n in known])

    needed: set[str] = set()
    skip: set[int] = set()
    for index in reversed(code):
        cell, found = cells[index], names[index]
        if is_demo(cell) and found is not None and not found.dynamic:
            changed = effects(found.effects)
            if not (found.bound | (changed & data)) & needed:
                skip.add(index)
                continue
        if found is None or (found.dynamic and not _always_runs_trusted(cell)):
            return {i for i in skip if i > index}  # it might read anything made above it
        needed = (needed - found.replaced) | found.read
    return skip
