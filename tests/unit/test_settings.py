"""nmautils.settings: every NMAUTILS_* variable and grading limit is defined once, read through
one function, documented in the README; importing nmautils changes nothing in the process."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nmautils import runtime, settings
from nmautils.settings import GRADING_LIMITS, VARIABLES

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "nmautils"

#: A value each kind of variable refuses.
BAD = {"choice": "sometimes", "flag": "yes", "device": "gpu0", "seed": "-3"}


# ------------------------------------------------------------------------ reading variables


@pytest.mark.parametrize("name", list(VARIABLES))
def test_unset_or_blank_gives_the_default(monkeypatch, name):
    variable = VARIABLES[name]
    monkeypatch.delenv(name, raising=False)
    unset = settings.get(name)
    monkeypatch.setenv(name, "  ")
    assert settings.get(name) == unset
    if variable.choices:
        assert unset == (variable.choices[0] == "1" if variable.kind == "flag"
                         else variable.choices[0])
    elif variable.default_path is None:
        assert unset is None


@pytest.mark.parametrize("name", [n for n, v in VARIABLES.items() if v.kind in BAD])
def test_a_bad_value_names_the_variable_and_its_allowed_values(monkeypatch, name):
    variable = VARIABLES[name]
    monkeypatch.setenv(name, BAD[variable.kind])
    with pytest.raises(ValueError) as err:
        settings.get(name)
    message = str(err.value)
    assert message.startswith(f"{name} should be ")
    assert f"{variable.allowed}, but got {BAD[variable.kind]!r}" in message
    assert variable.meaning in message
    with pytest.raises(ValueError, match=f"^{name} should"):
        settings.get_config()


def test_values_are_read_by_kind(monkeypatch, tmp_path):
    monkeypatch.setenv("NMAUTILS_DATA", " Surrogate ")
    assert settings.get("NMAUTILS_DATA") == "surrogate"
    monkeypatch.setenv("NMAUTILS_CHECK_MARGINS", "1")
    assert settings.get("NMAUTILS_CHECK_MARGINS") is True
    monkeypatch.setenv("NMAUTILS_CHECK_MARGINS", "0")
    assert settings.get("NMAUTILS_CHECK_MARGINS") is False
    for device in ("cpu", "CUDA", "cuda:1", "mps", "auto"):
        monkeypatch.setenv("NMAUTILS_DEVICE", device)
        assert settings.get("NMAUTILS_DEVICE") == device.lower()
    monkeypatch.setenv("NMAUTILS_DEVICE", "cuda:<n>")  # the README's placeholder is no device
    with pytest.raises(ValueError, match="NMAUTILS_DEVICE should be one of auto, cpu, cuda"):
        settings.get("NMAUTILS_DEVICE")
    monkeypatch.setenv("NMAUTILS_FIXTURE_SEED", "12345")
    assert settings.get("NMAUTILS_FIXTURE_SEED") == 12345
    monkeypatch.setenv("NMAUTILS_REFERENCE_STORE", str(tmp_path))
    assert settings.get("NMAUTILS_REFERENCE_STORE") == tmp_path
    monkeypatch.setenv("NMAUTILS_DATA_DIR", "~/somewhere")
    assert settings.get("NMAUTILS_DATA_DIR") == Path("~/somewhere").expanduser()


def test_get_refuses_names_it_does_not_define():
    with pytest.raises(ValueError, match=r"^name should be one of NMAUTILS_DATA, .*'NMAUTILS_NOPE'"):
        settings.get("NMAUTILS_NOPE")
    with pytest.raises(TypeError, match="^name should be a str"):
        settings.get(None)


def test_the_modules_aliases_read_the_same_values(monkeypatch):
    from nmautils import data, progress, surrogate

    monkeypatch.setenv("NMAUTILS_DATA", "real")
    monkeypatch.setenv("NMAUTILS_PROGRESS", "text")
    monkeypatch.setenv("NMAUTILS_SURROGATE_SIZE", "small")
    assert data.data_mode() == settings.get("NMAUTILS_DATA") == "real"
    assert progress.progress_mode() == settings.get("NMAUTILS_PROGRESS") == "text"
    assert progress.progress_enabled()
    assert surrogate.default_size() == "small"
    assert data.MODES == VARIABLES["NMAUTILS_DATA"].choices
    assert progress.PROGRESS_MODES == VARIABLES["NMAUTILS_PROGRESS"].choices
    assert tuple(surrogate.SIZES) == VARIABLES["NMAUTILS_SURROGATE_SIZE"].choices


def test_the_sandbox_mounts_the_data_cache_of_nmautils_data(monkeypatch, tmp_path):
    from nmautils import data
    from nmautils.course import sandbox

    monkeypatch.delenv("NMAUTILS_DATA_DIR", raising=False)
    assert sandbox._data_cache_dir() == data.default_cache_dir().resolve()
    monkeypatch.setenv("NMAUTILS_DATA_DIR", str(tmp_path / "cache"))
    assert sandbox._data_cache_dir() == data.default_cache_dir().resolve() == tmp_path / "cache"


# ------------------------------------------------------------------ one place, one README table


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py")) + [REPO / "nbgrader_config.py"]


def test_every_nmautils_variable_named_in_the_package_is_defined_in_settings():
    named = {}
    for path in _sources():
        for name in re.findall(r"NMAUTILS_[A-Z][A-Z_]*[A-Z]", path.read_text()):
            named.setdefault(name, path.relative_to(REPO).as_posix())
    unknown = {name: where for name, where in named.items() if name not in VARIABLES}
    assert unknown == {}
    unused = set(VARIABLES) - {n for n, w in named.items() if w != "nmautils/settings.py"}
    assert unused == set(), "defined in nmautils.settings but read nowhere"


def _code(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_no_module_or_notebook_reads_an_nmautils_variable_itself():
    direct = re.compile(r"""(environ\.get\(|environ\[|getenv\()\s*["']NMAUTILS_""")
    notebooks = sorted((REPO / "source").rglob("*.ipynb"))
    assert notebooks
    offenders = [path.relative_to(REPO).as_posix() for path in _sources() + notebooks
                 if path.name != "settings.py" and direct.search(_code(path))]
    assert offenders == []


def _readme_table(header: str) -> str:
    readme = (REPO / "README.md").read_text().splitlines()
    start = readme.index(header)
    table = []
    for line in readme[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return "\n".join(table)


def test_the_readme_table_is_the_settings_table():
    """Generated from nmautils.settings (``python -m nmautils.settings`` prints it): a variable
    added to one and not the other fails here."""
    assert _readme_table("| variable | values |") == settings.environment_table()


def test_the_readme_limits_table_is_the_grading_limits():
    table = settings.limits_table()
    assert _readme_table(table.splitlines()[0]) == table
    assert len(table.splitlines()) == 2 + len(dataclasses.fields(GRADING_LIMITS))


def test_each_limit_names_the_setting_that_has_it_as_default():
    """The table's third column is true: ``c.GuardedExecute.<trait>`` defaults to the limit."""
    from nmautils.course import guard

    executor = guard.GuardedExecute()
    named = 0
    for limit in dataclasses.fields(GRADING_LIMITS):
        owner, _, trait = limit.metadata["setting"].partition(".")
        if owner == "GuardedExecute":
            assert getattr(executor, trait) == getattr(GRADING_LIMITS, limit.name), limit.name
            named += 1
    assert named >= 8


def test_the_grading_limits_are_the_defaults_of_the_grading_tools():
    """The sandbox's own defaults and the fixed reference timeout; the ``GuardedExecute`` traits
    are checked through the table's settings column above."""
    from nmautils.course import guard, sandbox

    limits = sandbox.SandboxLimits()
    for field in ("memory_gb", "processes", "file_size_mb", "cpu_seconds", "disk_mb"):
        assert getattr(limits, field) == getattr(GRADING_LIMITS, field)
    assert guard.REFERENCE_CELL_TIMEOUT == GRADING_LIMITS.reference_cell_timeout


def test_nbgrader_config_takes_the_cell_timeout_from_the_grading_limits():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    assert config.Execute.timeout == GRADING_LIMITS.cell_timeout


# ------------------------------------------------------------- import changes nothing; tune()


def test_importing_nmautils_changes_no_environment_variable(tmp_path):
    """In a fresh process with a clean environment, importing nmautils, each of its modules and
    the grading tools leaves ``os.environ`` exactly as it was."""
    code = (
        "import json, os\n"
        "before = dict(os.environ)\n"
        "import nmautils\n"
        "for name in nmautils._SUBMODULES:\n"
        "    getattr(nmautils, name)\n"
        "import nmautils.course.build, nmautils.course.guard, nmautils.course.sandbox\n"
        "print(json.dumps([before, dict(os.environ)]))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "MPLBACKEND": "Agg",
           "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    before, after = json.loads(proc.stdout.splitlines()[-1])
    assert after == before


def test_tune_adds_the_allocator_settings_a_value_already_set_wins():
    env = {"MALLOC_MMAP_MAX_": "65536"}
    assert runtime.tune(env) is env
    assert env == {**runtime.ALLOCATOR_ENV, "MALLOC_MMAP_MAX_": "65536"}


def test_the_build_and_the_sandbox_start_kernels_tuned():
    from nmautils.course import build, sandbox

    assert runtime.ALLOCATOR_ENV.items() <= build.EXECUTION_ENV.items()
    kernel_env = sandbox.sandbox_environment({"THP_MEM_ALLOC_ENABLE": "0"}, "/usr/bin")
    assert kernel_env["THP_MEM_ALLOC_ENABLE"] == "0"  # the grader's own value passes
    assert kernel_env["MALLOC_MMAP_MAX_"] == runtime.ALLOCATOR_ENV["MALLOC_MMAP_MAX_"]


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's malloc settings")
def test_a_tuned_process_allocates_big_blocks_in_its_heap():
    """What train() used to do with mallopt, a process started with tune()'s environment does:
    a 100 MB block comes from the heap, not from a mapping of its own."""
    code = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.malloc.restype = ctypes.c_void_p\n"
        "addr = libc.malloc(100 * 2**20)\n"
        "for line in open('/proc/self/maps'):\n"
        "    lo, hi = (int(x, 16) for x in line.split()[0].split('-'))\n"
        "    if lo <= addr < hi:\n"
        "        print(line.split()[5] if len(line.split()) > 5 else 'anonymous')\n"
    )

    def region(env):
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=60)
        return proc.stdout.strip()

    plain = {k: v for k, v in os.environ.items() if k not in runtime.ALLOCATOR_ENV}
    assert region(plain) == "anonymous"
    assert region(runtime.tune(dict(plain))) == "[heap]"
