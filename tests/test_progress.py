"""nmautils.progress: bars are on by default and off when NMAUTILS_PROGRESS=off."""

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
