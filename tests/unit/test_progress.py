"""nmautils.progress: bars are on by default, off when NMAUTILS_PROGRESS=off, and a widget only
where the front end renders it (Jupyter; Colab only with ipywidgets 7), text elsewhere."""

import sys

import pytest
from tqdm.notebook import tqdm as widget_bar
from tqdm.std import tqdm as text_bar

from nmautils import progress as progress_module
from nmautils.progress import progress, progress_enabled


def test_progress_switch(monkeypatch):
    monkeypatch.setenv("NMAUTILS_PROGRESS", "off")
    assert not progress_enabled()
    bar = progress(range(3), desc="x")
    assert bar.disable and list(bar) == [0, 1, 2]
    monkeypatch.setenv("NMAUTILS_PROGRESS", "auto")
    assert progress_enabled()
    monkeypatch.setenv("NMAUTILS_PROGRESS", " OFF ")
    assert not progress_enabled()


def test_progress_allows_explicit_disable(monkeypatch):
    monkeypatch.setenv("NMAUTILS_PROGRESS", "auto")
    bar = progress(range(2), disable=True)
    bar.set_postfix(err=1.0)  # works on a disabled bar too
    assert list(bar) == [0, 1]


# ---------------------------------------------------------------------------------------------
# which bar renders where (Jupyter, Colab with ipywidgets 7 or 8, terminal)


@pytest.fixture
def in_notebook(monkeypatch):
    """Pretend to run in a Jupyter kernel (not Colab) with the installed ipywidgets."""
    monkeypatch.setenv("NMAUTILS_PROGRESS", "auto")
    monkeypatch.setattr(progress_module, "_in_notebook", lambda: True)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)


def test_terminal_gets_a_text_bar(monkeypatch):
    monkeypatch.setenv("NMAUTILS_PROGRESS", "auto")
    assert not progress_module._in_notebook()  # pytest is no Jupyter kernel
    assert progress_module.bar_class() is text_bar
    bar = progress(range(3))
    assert type(bar) is text_bar and list(bar) == [0, 1, 2]


def test_jupyter_gets_a_widget_bar(in_notebook):
    assert progress_module.bar_class() is widget_bar


@pytest.mark.parametrize(("major", "expected"), [(7, widget_bar), (8, text_bar)])
def test_colab_renders_widgets_only_with_ipywidgets_7(major, expected, in_notebook, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    monkeypatch.setattr(progress_module, "_ipywidgets_major", lambda: major)
    assert progress_module.bar_class() is expected


def test_without_ipywidgets_the_bar_is_text(in_notebook, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    assert progress_module._ipywidgets_major() is None
    assert progress_module.bar_class() is text_bar


def test_text_mode_and_bad_values(in_notebook, monkeypatch):
    monkeypatch.setenv("NMAUTILS_PROGRESS", "text")
    assert progress_module.bar_class() is text_bar and progress_enabled()
    monkeypatch.setenv("NMAUTILS_PROGRESS", "sometimes")
    with pytest.raises(ValueError, match="NMAUTILS_PROGRESS.*auto, text, off"):
        progress_module.progress_mode()


def test_broken_widget_bar_falls_back_to_text(in_notebook, monkeypatch):
    def no_widgets(*args, **kwargs):
        raise ImportError("IProgress not found. Please update jupyter and ipywidgets.")

    monkeypatch.setattr(progress_module, "bar_class", lambda: no_widgets)
    bar = progress(range(2), desc="x")
    assert type(bar) is text_bar and list(bar) == [0, 1]
