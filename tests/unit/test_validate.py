"""nmautils._validate: one vocabulary of argument checks, and the public functions that use it.

A wrong *type* raises TypeError and a wrong *value* (range, shape, choice) raises ValueError,
with a message "<name> should <expectation>, but got <what came>." The second half of this file
walks every module's ``__all__`` and checks both rules on each public function.
"""

from __future__ import annotations

import importlib
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from nmautils import _SUBMODULES  # noqa: E402
from nmautils import _validate as v  # noqa: E402

# --------------------------------------------------------------------------------------------
# converters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, expected",
    [
        (torch.tensor([1.0, 2.0]), np.array([1.0, 2.0], dtype=np.float32)),
        (torch.ones(2, requires_grad=True) * 3, np.array([3.0, 3.0], dtype=np.float32)),
        (torch.ones(2, dtype=torch.bfloat16), np.ones(2, dtype=np.float32)),
        (np.arange(3), np.arange(3)),
        ([[1, 2], [3, 4]], np.array([[1, 2], [3, 4]])),
        ((1.5, 2.5), np.array([1.5, 2.5])),
        (7, np.array(7)),
        (np.float32(2.0), np.array(2.0, dtype=np.float32)),
    ],
)
def test_as_numpy_accepts_tensors_arrays_and_array_likes(x, expected):
    a = v.as_numpy(x, "x")
    assert isinstance(a, np.ndarray)
    assert a.dtype == expected.dtype
    np.testing.assert_array_equal(a, expected)


def test_as_numpy_returns_numpy_arrays_themselves():
    a = np.zeros(3)
    assert v.as_numpy(a, "a") is a


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_as_numpy_copies_gpu_tensors_to_the_cpu():  # pragma: no cover - GPU machines only
    np.testing.assert_array_equal(v.as_numpy(torch.ones(2, device="cuda"), "x"), np.ones(2))


@pytest.mark.parametrize("x", ["1 2", None, {"a": 1}, {1, 2}, b"12", object()])
def test_as_numpy_rejects_non_arrays_with_type_error(x):
    with pytest.raises(TypeError, match=r"^x should be a torch\.Tensor or numpy array .*, but got"):
        v.as_numpy(x, "x")


def test_as_numpy_numeric_and_ragged():
    with pytest.raises(TypeError, match=r"^W should hold numbers, but got dtype <U1\.$"):
        v.as_numpy(np.array([["a"]]), "W", numeric=True)
    assert v.as_numpy(np.array([True]), "mask", numeric=True).dtype == np.bool_
    with pytest.raises(ValueError, match=r"^W should be a rectangular array"):
        v.as_numpy([[1.0], [1.0, 2.0]], "W")


def test_as_scalar():
    assert v.as_scalar(3, "angle") == 3.0
    assert v.as_scalar(np.float64(2.5), "angle") == 2.5
    assert v.as_scalar(torch.tensor([[45.0]]), "angle") == 45.0
    assert v.as_scalar(np.array(1.0), "angle") == 1.0
    with pytest.raises(TypeError, match=r"^angle should be a number, but got a bool \(True\)\.$"):
        v.as_scalar(True, "angle")
    with pytest.raises(TypeError, match=r"^angle should be degrees, but got str\.$"):
        v.as_scalar("45", "angle", "degrees")
    with pytest.raises(ValueError, match=r"a scalar\), but got an array of shape \(2,\)"):
        v.as_scalar(torch.zeros(2), "angle")


# --------------------------------------------------------------------------------------------
# types
# --------------------------------------------------------------------------------------------


def test_check_type():
    assert v.check_type("a", "claim", str, "a str") == "a"
    assert v.check_type(None, "ax", plt.Axes, "a matplotlib Axes", allow_none=True) is None
    with pytest.raises(TypeError, match=r"^claim should be a str, but got int\.$"):
        v.check_type(3, "claim", str, "a str")
    with pytest.raises(TypeError, match=r"^ax should be a matplotlib Axes or None, but got str\.$"):
        v.check_type("ax", "ax", plt.Axes, "a matplotlib Axes", allow_none=True)


def test_check_callable():
    assert v.check_callable(len, "loss_fn") is len
    with pytest.raises(TypeError, match=r"^loss_fn should be callable, but got str\.$"):
        v.check_callable("mse", "loss_fn")


# --------------------------------------------------------------------------------------------
# scalars
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_check_int_accepts_integers(value):
    out = v.check_int(value, "n", minimum=1, maximum=5)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize(
    "value, kwargs, error, message",
    [
        (2.0, {}, TypeError, "n should be an int, but got float."),
        (True, {}, TypeError, "n should be an int, but got bool."),
        ("3", {}, TypeError, "n should be an int, but got str."),
        (None, {}, TypeError, "n should be an int, but got NoneType."),
        (1.5, {"allow_none": True}, TypeError, "n should be an int or None, but got float."),
        (1, {"minimum": 2}, ValueError, "n should be at least 2, but got 1."),
        (9, {"maximum": 5}, ValueError, "n should be at most 5, but got 9."),
        (9, {"minimum": 1, "maximum": 5}, ValueError, "n should be between 1 and 5, but got 9."),
        (-1, {"minimum": 0}, ValueError, "n should be a non-negative int, but got -1."),
        (
            -1,
            {"minimum": 0, "maximum": 9, "expected": "a seed from 0 to 9"},
            ValueError,
            "n should be a seed from 0 to 9, but got -1.",
        ),
        (1.0, {"expected": "a seed from 0 to 9"}, TypeError,
         "n should be a seed from 0 to 9, but got float."),
    ],
)
def test_check_int_rejects(value, kwargs, error, message):
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        v.check_int(value, "n", **kwargs)


def test_check_int_allow_none():
    assert v.check_int(None, "seed", allow_none=True) is None


def test_check_positive_int():
    assert v.check_positive_int(np.int32(4), "n_iter") == 4
    with pytest.raises(ValueError, match=r"^n_iter should be a positive int, but got 0\.$"):
        v.check_positive_int(0, "n_iter")
    with pytest.raises(TypeError, match=r"^n_iter should be a positive int, but got float\.$"):
        v.check_positive_int(2.0, "n_iter")


@pytest.mark.parametrize(
    "value, kwargs, error, message",
    [
        ("x", {}, TypeError, "x should be a number, but got str."),
        (True, {}, TypeError, "x should be a number, but got bool."),
        (torch.tensor(1.0), {}, TypeError, "x should be a number, but got Tensor."),
        (float("nan"), {}, ValueError, "x should be a finite number, but got nan."),
        (float("inf"), {"minimum": 0}, ValueError, "x should be a non-negative number, but got inf."),
        (0.0, {"minimum": 0, "include_min": False}, ValueError,
         "x should be a positive number, but got 0.0."),
        (-0.1, {"minimum": 0}, ValueError, "x should be a non-negative number, but got -0.1."),
        (1.0, {"minimum": 0, "maximum": 1, "include_min": False, "include_max": False},
         ValueError, "x should be between 0 and 1 (exclusive), but got 1.0."),
        (2.0, {"minimum": 0, "maximum": 1}, ValueError, "x should be between 0 and 1, but got 2.0."),
        (1.0, {"minimum": 0, "maximum": 1, "include_max": False}, ValueError,
         "x should be in the interval [0, 1), but got 1.0."),
        (0.5, {"minimum": 1, "include_min": False}, ValueError,
         "x should be greater than 1, but got 0.5."),
        (0.5, {"maximum": 0.1}, ValueError, "x should be at most 0.1, but got 0.5."),
        (0.5, {"maximum": 0.1, "include_max": False}, ValueError,
         "x should be less than 0.1, but got 0.5."),
    ],
)
def test_check_number_rejects(value, kwargs, error, message):
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        v.check_number(value, "x", **kwargs)


def test_check_number_accepts_real_numbers():
    assert v.check_number(3, "x") == 3.0
    assert v.check_number(np.float32(0.5), "x", minimum=0, maximum=1) == 0.5
    assert v.check_number(0, "x", minimum=0) == 0.0


def test_check_choice():
    assert v.check_choice("grid", "cell_type", ("place", "grid")) == "grid"
    with pytest.raises(ValueError, match=r"^cell_type should be one of \('place', 'grid'\), "
                                         r"but got 'head'\.$"):
        v.check_choice("head", "cell_type", ("place", "grid"))
    with pytest.raises(TypeError, match=r"^cell_type should be one of .* \(a str\), but got int"):
        v.check_choice(3, "cell_type", ("place", "grid"))
    with pytest.raises(ValueError, match="one of"):
        v.check_choice(5, "k", (1, 2))


def test_check_random_state():
    assert v.check_random_state(None) is np.random.mtrand._rand
    gen = np.random.default_rng(0)
    assert v.check_random_state(gen) is gen
    a = v.check_random_state(3).integers(0, 100, 5)
    np.testing.assert_array_equal(a, np.random.default_rng(3).integers(0, 100, 5))
    with pytest.raises(TypeError, match=r"^rng should be None, an int seed or a "
                                        r"np\.random\.Generator, but got str\.$"):
        v.check_random_state("seed")
    with pytest.raises(TypeError, match="rng should be"):
        v.check_random_state(True)
    with pytest.raises(ValueError, match=r"^rng should be a non-negative int, but got -1\.$"):
        v.check_random_state(-1)


# --------------------------------------------------------------------------------------------
# shapes
# --------------------------------------------------------------------------------------------


def test_shape_error_and_check_ndim():
    err = v.shape_error("stimuli", "(n_stimuli, 1)", np.zeros(360))
    assert isinstance(err, ValueError)
    assert str(err) == "stimuli should have shape (n_stimuli, 1), but got shape (360,)."
    t = torch.zeros(2, 3)
    assert v.check_ndim(t, "resp", 2) is t
    with pytest.raises(ValueError, match=r"^resp should be a 2-D array, but got shape \(3,\)\.$"):
        v.check_ndim(torch.zeros(3), "resp", 2)
    with pytest.raises(ValueError, match=r"^x should be a 3-D or 4-D array, but got shape \(1,\)"):
        v.check_ndim(np.zeros(1), "x", (3, 4))
    with pytest.raises(ValueError, match=r"^resp should have shape \(n_stimuli, n_neurons\), "
                                         r"but got shape \(3,\)\.$"):
        v.check_ndim(np.zeros(3), "resp", 2, "(n_stimuli, n_neurons)")


def test_check_array():
    a = v.check_array(torch.zeros(2, 3), "W", ndim=2)
    assert isinstance(a, np.ndarray) and a.shape == (2, 3)
    with pytest.raises(TypeError, match="W should hold numbers"):
        v.check_array([["a", "b"]], "W", ndim=2)
    assert v.check_array([["a"]], "W", numeric=False).dtype.kind == "U"
    with pytest.raises(ValueError, match="W should be a 2-D array"):
        v.check_array([1.0], "W", ndim=2)
    with pytest.raises(TypeError, match="W should be a torch.Tensor or numpy array"):
        v.check_array(None, "W", ndim=2)


def test_column_or_1d():
    np.testing.assert_array_equal(v.column_or_1d(torch.arange(3.0)[:, None], "s"), [0, 1, 2])
    np.testing.assert_array_equal(v.column_or_1d([1, 2], "s", n=2), [1, 2])
    with pytest.raises(ValueError, match=r"^s should have shape \(n,\) or \(n, 1\), but got shape "
                                         r"\(3, 2\)\.$"):
        v.column_or_1d(np.zeros((3, 2)), "s")
    with pytest.raises(ValueError, match=r"^s should have 3 entries, but got 2\.$"):
        v.column_or_1d([1, 2], "s", n=3)
    with pytest.raises(TypeError, match="s should be a torch.Tensor or numpy array"):
        v.column_or_1d("0 90", "s")


def test_check_n_rows_and_consistent_length():
    a = np.zeros((4, 2))
    assert v.check_n_rows(a, "resp", 4, of="stimulus") is a
    with pytest.raises(ValueError, match=r"^resp should have one row per stimulus \(5\), but got "
                                         r"shape \(4, 2\)\.$"):
        v.check_n_rows(a, "resp", 5, of="stimulus")
    with pytest.raises(ValueError, match="one row per stimulus"):
        v.check_n_rows(np.zeros(()), "resp", 1, of="stimulus")
    v.check_consistent_length(torch.zeros(3, 2), torch.zeros(3), ("x", "y"))
    with pytest.raises(ValueError, match=r"^X and Y should have the same number of samples "
                                         r"\(columns\), but got 3 and 4\.$"):
        v.check_consistent_length(np.zeros((2, 3)), np.zeros((2, 4)), ("X", "Y"), axis=1,
                                  unit="samples (columns)")


def test_student_checks_use_the_converter_and_stay_friendly():
    """nmautils.checks converts with as_numpy (tensors needing grad too) and fails with one
    AssertionError, not a TypeError from inside numpy."""
    from nmautils import checks

    checks.check_finite(torch.ones(2, requires_grad=True) * 2, "w")
    checks.check_close([1.0, 2.0], torch.tensor([1.0, 2.0]), "w")
    with pytest.raises(AssertionError, match=r"^loss should be a tensor, an array or a number, "
                                             r"but it is a NoneType\.\nHint: return it$") as err:
        checks.check_finite(None, "loss", hint="return it")
    assert err.value.__context__ is None
    with pytest.raises(AssertionError, match="w should be a tensor, an array or a number"):
        checks.check_close("1.0", 1.0, "w")


# --------------------------------------------------------------------------------------------
# the public functions: wrong type -> TypeError, wrong value or shape -> ValueError
# --------------------------------------------------------------------------------------------

STIM = torch.linspace(0, 350, 8)[:, None]
RESP = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(5, 1))


def _ax():
    return plt.figure().add_subplot()


def _linear_model(**overrides):
    from nmautils.models import Model

    class Linear(Model):
        def forward(self, X):
            return np.zeros((self.n_out, X.shape[1]))

        def fit(self):
            return None

    args = {"X_train": np.zeros((3, 10)), "Y_train": np.zeros((2, 10)),
            "X_test": np.zeros((3, 4)), "Y_test": np.zeros((2, 4))}
    args.update(overrides)
    return Linear(**args)


def _train_full(**overrides):
    from nmautils.train import train_full_batch

    args = {"net": _net(), "loss_fn": nn.MSELoss(), "train_data": RESP,
            "train_labels": STIM, "n_epochs": 1, "progress": False}
    args.update(overrides)
    return train_full_batch(**args)


def _train_mini(**overrides):
    from nmautils.train import train_minibatch

    args = {"net": _net(), "loss_fn": nn.MSELoss(), "train_data": RESP,
            "train_labels": STIM, "n_epochs": 1, "progress": False}
    args.update(overrides)
    return train_minibatch(**args)


def _call(module: str, name: str, *args, **kwargs):
    return getattr(importlib.import_module(f"nmautils.{module}"), name)(*args, **kwargs)


#: (module, public name, a call with a wrong-type argument, a call with a wrong value or shape).
#: ``None`` where a function has no argument of that kind.
PUBLIC_CASES = [
    ("analysis", "get_data",
     lambda: _call("analysis", "get_data", 3, RESP.tolist(), STIM),
     lambda: _call("analysis", "get_data", 3, RESP, STIM[:-1])),
    ("analysis", "stimulus_class",
     lambda: _call("analysis", "stimulus_class", STIM, 2.5),
     lambda: _call("analysis", "stimulus_class", STIM + 400, 4)),
    ("analysis", "get_hidden_activity",
     lambda: _call("analysis", "get_hidden_activity", _net(), RESP.numpy(), ["0"]),
     lambda: _call("analysis", "get_hidden_activity", _net(), RESP, ["nope"])),
    ("analysis", "RDM",
     lambda: _call("analysis", "RDM", "resp"),
     lambda: _call("analysis", "RDM", RESP[:, :1])),
    ("analysis", "rdm",
     lambda: _call("analysis", "rdm", None),
     lambda: _call("analysis", "rdm", RESP[0])),
    ("checks", "refusing",
     lambda: _call("checks", "refusing", len).__enter__(),
     None),
    ("data", "fetch",
     lambda: _call("data", "fetch", 3),
     lambda: _call("data", "fetch", "nope.npz")),
    ("data", "load_data",
     lambda: _call("data", "load_data", bin_width=1.5),
     lambda: _call("data", "load_data", bin_width=0)),
    ("data", "load_data_split",
     lambda: _call("data", "load_data_split", 3),
     lambda: _call("data", "load_data_split", "nope.npz")),
    ("data", "data_source",
     lambda: _call("data", "data_source", None),
     lambda: _call("data", "data_source", "nope.npz")),
    ("models", "add_bias_row",
     lambda: _call("models", "add_bias_row", None),
     lambda: _call("models", "add_bias_row", np.zeros(3))),
    ("models", "to_numpy",
     lambda: _call("models", "to_numpy", "abc"),
     lambda: _call("models", "to_numpy", [[1.0], [1.0, 2.0]])),
    ("models", "Model",
     lambda: _linear_model(X_train=None),
     lambda: _linear_model(Y_test=np.zeros((3, 4)))),
    ("placecells", "simulate_place_cells",
     lambda: _call("placecells", "simulate_place_cells", n_cells=2.5),
     lambda: _call("placecells", "simulate_place_cells", train_fraction=1.0)),
    ("plotting", "plot_data_matrix",
     lambda: _call("plotting", "plot_data_matrix", RESP, STIM, n_neurons=1.5),
     lambda: _call("plotting", "plot_data_matrix", RESP.T, STIM)),
    ("plotting", "plot_tuning_curves",
     lambda: _call("plotting", "plot_tuning_curves", STIM, RESP, ["a"]),
     lambda: _call("plotting", "plot_tuning_curves", STIM, RESP, [99])),
    ("plotting", "plot_loss",
     lambda: _call("plotting", "plot_loss", [1.0], ax="ax"),
     lambda: _call("plotting", "plot_loss", [3.0, 2.0], [1.0])),
    ("plotting", "plot_weights",
     lambda: _call("plotting", "plot_weights", "W"),
     lambda: _call("plotting", "plot_weights", torch.zeros(3))),
    ("plotting", "plot_hidden_tuning",
     lambda: _call("plotting", "plot_hidden_tuning", STIM, {"h": 1}),
     lambda: _call("plotting", "plot_hidden_tuning", STIM, RESP[:-1])),
    ("plotting", "plot_decoded_vs_true",
     lambda: _call("plotting", "plot_decoded_vs_true", STIM, None),
     lambda: _call("plotting", "plot_decoded_vs_true", STIM, STIM[:-1])),
    ("plotting", "plot_decoding_error",
     lambda: _call("plotting", "plot_decoding_error", "true", STIM),
     lambda: _call("plotting", "plot_decoding_error", STIM, RESP)),
    ("plotting", "plot_decoded_classes",
     lambda: _call("plotting", "plot_decoded_classes", STIM, STIM, 4.0),
     lambda: _call("plotting", "plot_decoded_classes", STIM, STIM, 0)),
    ("plotting", "plot_gratings",
     lambda: _call("plotting", "plot_gratings", torch.zeros(2, 4, 4), [0, 1], ncols="3"),
     lambda: _call("plotting", "plot_gratings", torch.zeros(2, 3, 4, 4), [0, 1])),
    ("plotting", "plot_filters",
     lambda: _call("plotting", "plot_filters", torch.zeros(2, 1, 3, 3), fig="fig"),
     lambda: _call("plotting", "plot_filters", torch.zeros(6, 2, 7, 7))),
    ("plotting", "plot_tuning_predictions",
     lambda: _call("plotting", "plot_tuning_predictions", STIM, RESP, RESP, RESP, [0], ncols=2.0),
     lambda: _call("plotting", "plot_tuning_predictions", STIM, RESP, RESP[:, :3], RESP, [0])),
    ("plotting", "plot_rdms",
     lambda: _call("plotting", "plot_rdms", [np.zeros((8, 8))], STIM),
     lambda: _call("plotting", "plot_rdms", {"V1": np.zeros((7, 7))}, STIM)),
    ("plotting", "plot_binned_tuning_curves",
     lambda: _call("plotting", "plot_binned_tuning_curves", {"a": np.zeros(3)}),
     lambda: _call("plotting", "plot_binned_tuning_curves", {"a": (np.zeros(3), np.zeros(4))})),
    ("report", "approx",
     lambda: _call("report", "approx", 1.0, "0.1", 0.0),
     lambda: _call("report", "approx", 1.0, 0.0, 0.1)),
    ("report", "verdict",
     lambda: _call("report", "verdict", 3, True),
     None),
    ("runtime", "runtime_line",
     lambda: _call("runtime", "runtime_line", 0),
     lambda: _call("runtime", "runtime_line", "warp-drive")),
    ("runtime", "show_runtime",
     lambda: _call("runtime", "show_runtime", 0),
     lambda: _call("runtime", "show_runtime", "meta")),
    ("runtime", "tune",
     lambda: _call("runtime", "tune", ["THP_MEM_ALLOC_ENABLE"]),
     None),
    ("settings", "get",
     lambda: _call("settings", "get", 3),
     lambda: _call("settings", "get", "NMAUTILS_NOPE")),
    ("stimuli", "grating",
     lambda: _call("stimuli", "grating", "45"),
     lambda: _call("stimuli", "grating", 45, res=-0.1)),
    ("stimuli", "filters",
     lambda: _call("stimuli", "filters", 6.0),
     lambda: _call("stimuli", "filters", 6, 6)),
    ("surrogate", "make_new_session",
     lambda: _call("surrogate", "make_new_session", "small", 1.5),
     lambda: _call("surrogate", "make_new_session", "huge")),
    ("surrogate", "make_surrogate",
     lambda: _call("surrogate", "make_surrogate", "W3D4_stringer_oribinned1.npz", "small", 1.5),
     lambda: _call("surrogate", "make_surrogate", "W3D4_stringer_oribinned1.npz", "huge")),
    ("train", "set_seed",
     lambda: _call("train", "set_seed", "1"),
     lambda: _call("train", "set_seed", 2**32)),
    ("train", "pick_device",
     lambda: _call("train", "pick_device", 0),
     lambda: _call("train", "pick_device", "gpu0")),
    ("train", "set_device",
     lambda: _call("train", "set_device", 1.0),
     lambda: _call("train", "set_device", "meta")),
    ("train", "train_full_batch",
     lambda: _train_full(learning_rate="0.1"),
     lambda: _train_full(momentum=-0.5)),
    ("train", "train_minibatch",
     lambda: _train_mini(batch_size=10.0),
     lambda: _train_mini(train_labels=STIM[:-1])),
    ("widgets", "browse_ranks",
     lambda: _call("widgets", "browse_ranks", "show_rank", 5, display=False),
     lambda: _call("widgets", "browse_ranks", print, 0, display=False)),
]

#: Public callables of the modules that the table leaves out, and why.
NOT_IN_TABLE = {
    "checks": {"check", "check_type", "check_shape", "check_dtype", "check_finite",
               "check_close", "passed"},  # student-facing: they fail with AssertionError
    "data": {"default_cache_dir", "clear_cache", "data_mode"},  # no arguments
    "models": {"progress", "progress_enabled"},  # re-exported from nmautils.progress
    "plotting": {"use_style",  # no arguments
                 "plot_binned_responses"},  # an alias of plot_binned_tuning_curves (in the table)
    "progress": {"bar_class", "progress", "progress_enabled", "progress_mode"},  # kwargs to tqdm / none
    "settings": {"get_config", "environment_table", "limits_table"},  # no arguments
    "surrogate": {"default_size"},  # no arguments (the environment: test_env_settings below)
}

_MESSAGE = re.compile(r"\bshould\b.*\bbut got\b", re.DOTALL)


@pytest.fixture(autouse=True)
def _offline_and_closed(monkeypatch):
    monkeypatch.setenv("NMAUTILS_DATA", "surrogate")
    monkeypatch.setenv("NMAUTILS_SURROGATE_SIZE", "small")
    monkeypatch.setenv("NMAUTILS_DEVICE", "cpu")
    yield
    plt.close("all")


def _ids(cases):
    return [f"{module}.{name}" for module, name, *_ in cases]


@pytest.mark.parametrize("module, name, wrong_type, wrong_value", PUBLIC_CASES,
                         ids=_ids(PUBLIC_CASES))
def test_wrong_type_raises_type_error(module, name, wrong_type, wrong_value):
    with pytest.raises(TypeError) as err:
        wrong_type()
    assert not isinstance(err.value, ValueError)
    assert _MESSAGE.search(str(err.value)), str(err.value)


@pytest.mark.parametrize("module, name, wrong_type, wrong_value",
                         [c for c in PUBLIC_CASES if c[3] is not None],
                         ids=_ids([c for c in PUBLIC_CASES if c[3] is not None]))
def test_wrong_value_raises_value_error(module, name, wrong_type, wrong_value):
    with pytest.raises(ValueError) as err:
        wrong_value()
    assert not isinstance(err.value, TypeError)
    assert _MESSAGE.search(str(err.value)), str(err.value)


@pytest.mark.parametrize(
    "variable, function",
    [("NMAUTILS_DATA", ("data", "data_mode")),
     ("NMAUTILS_PROGRESS", ("progress", "progress_mode")),
     ("NMAUTILS_SURROGATE_SIZE", ("surrogate", "default_size"))],
)
def test_env_settings_raise_value_error(monkeypatch, variable, function):
    monkeypatch.setenv(variable, "bogus")
    with pytest.raises(ValueError, match=f"^{variable} should be one of .*, but got 'bogus'"):
        _call(*function)


def test_every_public_function_is_in_the_table():
    """The table covers each module's public callables (classes of data and errors aside)."""
    covered = {(module, name) for module, name, *_ in PUBLIC_CASES}
    missing = []
    for module in _SUBMODULES:
        mod = importlib.import_module(f"nmautils.{module}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if isinstance(obj, type) and (issubclass(obj, BaseException) or name != "Model"):
                continue  # exceptions, warnings, dataclasses
            if not callable(obj) or name in NOT_IN_TABLE.get(module, set()):
                continue
            if (module, name) not in covered:
                missing.append(f"{module}.{name}")
    assert missing == []
