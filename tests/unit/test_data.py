"""Downloading, verifying, caching and loading the data, all against files served locally.

No test touches the internet or the user's real cache: downloads come from a loopback HTTP
server, and the cache is a temporary folder.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
import warnings
from pathlib import Path

import numpy as np
import pooch
import pytest
import torch

from nmautils import data
from nmautils.data import (
    DataDownloadError,
    DataFile,
    DataFileError,
    SurrogateDataWarning,
    data_source,
    fetch,
    load_data,
    load_data_split,
)
from nmautils.surrogate import make_surrogate

ONE = "W3D4_stringer_oribinned1.npz"
SPLIT = "W3D4_stringer_oribinned6_split.npz"
N_SMALL = 1000


def _md5(path: Path) -> str:
    return "md5:" + hashlib.md5(path.read_bytes()).hexdigest()


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Own cache folder, default settings, small surrogate, fresh in-process caches."""
    monkeypatch.setenv("NMAUTILS_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NMAUTILS_DATA", raising=False)
    monkeypatch.setenv("NMAUTILS_SURROGATE_SIZE", "small")
    data.clear_cache()
    yield
    data.clear_cache()


class _Server:
    """A loopback HTTP server for the files of one folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    srv = _Server(folder)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def small_arrays():
    return {
        ONE: make_surrogate(ONE, "small", seed=3),
        SPLIT: make_surrogate(SPLIT, "small", seed=3),
    }


def _serve(server: _Server, name: str, arrays: dict) -> Path:
    path = server.folder / name
    with path.open("wb") as f:  # np.savez on a file name would append ".npz" to other names
        np.savez(f, **arrays)
    return path


@pytest.fixture
def closed_url():
    """The address of a loopback port nobody listens on: connecting fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/missing.npz"


# ---------------------------------------------------------------------------------------------
# fetch


def test_fetch_downloads_verifies_and_caches(server, small_arrays, tmp_path):
    served = _serve(server, ONE, small_arrays[ONE])
    cache = tmp_path / "cache"
    url, known = server.url(ONE), _md5(served)
    path = fetch(ONE, url=url, known_hash=known, cache_dir=cache)
    assert path == cache / ONE
    assert _md5(path) == known
    server.stop()  # the cached file needs no network
    data.clear_cache()
    assert fetch(ONE, url=url, known_hash=known, cache_dir=cache) == path


def test_wrong_hash_raises_and_keeps_nothing(server, small_arrays, tmp_path):
    _serve(server, ONE, small_arrays[ONE])
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=ONE):
        fetch(ONE, url=server.url(ONE), known_hash="md5:" + "0" * 32, cache_dir=cache)
    assert _files(cache) == []  # no partial or temporary files either


def test_truncated_file_is_rejected_and_removed(server, small_arrays, tmp_path):
    served = _serve(server, ONE, small_arrays[ONE])
    served.write_bytes(served.read_bytes()[: served.stat().st_size // 2])
    cache = tmp_path / "cache"
    with pytest.raises(DataFileError, match=f"{ONE}.*(corrupt|truncated)"):
        fetch(ONE, url=server.url(ONE), known_hash=_md5(served), cache_dir=cache)
    assert not (cache / ONE).exists()


def test_missing_keys_are_named(server, small_arrays, tmp_path):
    arrays = dict(small_arrays[SPLIT])
    del arrays["resp_test"]
    served = _serve(server, SPLIT, arrays)
    cache = tmp_path / "cache"
    with pytest.raises(DataFileError, match=r"missing.*resp_test"):
        fetch(SPLIT, url=server.url(SPLIT), known_hash=_md5(served), cache_dir=cache)
    assert not (cache / SPLIT).exists()


def test_inconsistent_shapes_are_rejected(server, small_arrays, tmp_path):
    arrays = {"resp": small_arrays[ONE]["resp"][:100], "stimuli": small_arrays[ONE]["stimuli"]}
    served = _serve(server, ONE, arrays)
    with pytest.raises(DataFileError, match="rows"):
        fetch(ONE, url=server.url(ONE), known_hash=_md5(served), cache_dir=tmp_path / "cache")


def test_fetch_unknown_name_without_url():
    with pytest.raises(ValueError, match="expected one of"):
        fetch("nope.npz")


# ---------------------------------------------------------------------------------------------
# modes


def _point_registry(monkeypatch, name: str, url: str, known_hash: str) -> None:
    spec = data.DATASETS[name]
    md5 = known_hash.removeprefix("md5:")
    monkeypatch.setitem(data.DATASETS, name, DataFile(name, url, md5, spec.keys))


@pytest.mark.parametrize("mode", ["auto", "real"])
def test_real_data_through_the_loaders(mode, server, small_arrays, monkeypatch):
    monkeypatch.setenv("NMAUTILS_DATA", mode)
    for name in (ONE, SPLIT):
        served = _serve(server, name, small_arrays[name])
        _point_registry(monkeypatch, name, server.url(name), _md5(served))
    resp, stimuli = load_data()
    np.testing.assert_array_equal(resp.numpy(), small_arrays[ONE]["resp"])
    train, test, stim6 = load_data_split()
    np.testing.assert_array_equal(test.numpy(), small_arrays[SPLIT]["resp_test"])
    assert data_source().startswith(f"real data: {ONE}")
    assert "md5-verified" in data_source(SPLIT)


def test_auto_offline_falls_back_with_one_warning(closed_url, monkeypatch):
    _point_registry(monkeypatch, ONE, closed_url, "md5:" + "0" * 32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resp, stimuli = load_data()
        load_data(bin_width=6)
        data_source()
    ours = [w for w in caught if issubclass(w.category, SurrogateDataWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert ONE in message and closed_url in message and "SURROGATE" in message
    assert resp.shape == (360, N_SMALL) and resp.dtype == torch.float32
    assert stimuli.shape == (360, 1) and stimuli.dtype == torch.float32
    assert data_source().startswith(f"SYNTHETIC SURROGATE of {ONE} (offline")


def test_real_mode_offline_raises(closed_url, monkeypatch):
    monkeypatch.setenv("NMAUTILS_DATA", "real")
    _point_registry(monkeypatch, ONE, closed_url, "md5:" + "0" * 32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SurrogateDataWarning)
        with pytest.raises(DataDownloadError, match=f"NMAUTILS_DATA=real.*{ONE}"):
            load_data()


@pytest.mark.parametrize("mode", ["auto", "real"])
def test_hash_mismatch_is_never_replaced_by_the_surrogate(mode, server, small_arrays, monkeypatch):
    monkeypatch.setenv("NMAUTILS_DATA", mode)
    _serve(server, ONE, small_arrays[ONE])
    _point_registry(monkeypatch, ONE, server.url(ONE), "md5:" + "0" * 32)
    with pytest.raises(ValueError, match="checksum"):
        load_data()


def test_surrogate_mode_never_touches_the_network(monkeypatch):
    monkeypatch.setenv("NMAUTILS_DATA", "surrogate")

    def no_network(*args, **kwargs):
        pytest.fail("pooch.retrieve was called in surrogate mode")

    monkeypatch.setattr(pooch, "retrieve", no_network)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SurrogateDataWarning)
        resp, stimuli = load_data()
        train, test, stim6 = load_data_split()
    assert resp.shape == (360, N_SMALL)
    assert train.shape == test.shape == (60, N_SMALL) and train.dtype == torch.float32
    assert stim6.shape == (60, 1) and stim6.dtype == torch.float32
    text = data_source()
    assert text.startswith("SYNTHETIC SURROGATE") and "NMAUTILS_DATA=surrogate" in text
    data.clear_cache()
    assert data_source() == text  # deterministic text


@pytest.mark.parametrize("variable", ["NMAUTILS_DATA", "NMAUTILS_SURROGATE_SIZE"])
def test_bad_environment_values(variable, monkeypatch):
    monkeypatch.setenv(variable, "sometimes")
    with pytest.raises(ValueError, match=f"{variable}.*(surrogate|small)"):
        load_data()


# ---------------------------------------------------------------------------------------------
# load_data / load_data_split


@pytest.fixture
def surrogate_mode(monkeypatch):
    monkeypatch.setenv("NMAUTILS_DATA", "surrogate")


def test_load_data_binning(surrogate_mode):
    resp, stimuli = load_data()
    binned, bin_stimuli = load_data(bin_width=6)
    assert binned.shape == (60, N_SMALL) and binned.dtype == torch.float32
    assert bin_stimuli.shape == (60, 1) and bin_stimuli.dtype == torch.float32
    torch.testing.assert_close(binned, resp.reshape(60, 6, -1).mean(1))
    torch.testing.assert_close(bin_stimuli.squeeze(1), torch.arange(60.0) * 6 + 2.5)
    assert load_data(bin_width=7)[0].shape[0] == 52  # 51 full bins and a partial one


def test_load_data_tilt(surrogate_mode):
    resp, stimuli = load_data()
    tilted, tilt_stimuli = load_data(tilt=True)
    assert tilted.shape == (181, N_SMALL) and tilt_stimuli.shape == (181, 1)
    assert tilt_stimuli.min() == -90 and tilt_stimuli.max() == 90
    torch.testing.assert_close(tilted, resp[:181])
    binned, binned_stimuli = load_data(bin_width=10, tilt=True)
    assert binned_stimuli.min() >= -90 and binned_stimuli.max() <= 90
    torch.testing.assert_close(binned[0], resp[:10].mean(0))


def test_load_data_returns_fresh_tensors(surrogate_mode):
    resp, stimuli = load_data()
    stimuli -= 90
    resp.zero_()
    resp2, stimuli2 = load_data()
    assert stimuli2.min() == 0 and resp2.abs().sum() > 0


@pytest.mark.parametrize(
    "bin_width, error",
    [(0, ValueError), (-6, ValueError), (361, ValueError),
     (1.5, TypeError), (True, TypeError), ("6", TypeError)],  # wrong type: TypeError
)
def test_load_data_bad_bin_width(bin_width, error, surrogate_mode):
    with pytest.raises(error, match="bin_width"):
        load_data(bin_width=bin_width)


def test_load_data_bad_names(surrogate_mode, tmp_path):
    with pytest.raises(ValueError, match="expected one of"):
        load_data("no_such_file.npz")
    with pytest.raises(ValueError, match="load_data_split"):
        load_data(SPLIT)
    with pytest.raises(ValueError, match="load_data\\(\\)"):
        load_data_split(ONE)


def test_local_files(small_arrays, tmp_path):
    good = tmp_path / "mine.npz"
    np.savez(good, **small_arrays[ONE])
    resp, stimuli = load_data(str(good))
    np.testing.assert_array_equal(resp.numpy(), small_arrays[ONE]["resp"])
    assert data_source(str(good)).startswith("local file")
    split = tmp_path / "mine_split.npz"
    np.savez(split, **small_arrays[SPLIT])
    assert load_data_split(split)[0].shape == (60, N_SMALL)
    bad = tmp_path / "broken.npz"
    bad.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(DataFileError, match="broken.npz"):
        load_data(str(bad))
    assert bad.exists()  # the user's own files are never deleted


# ---------------------------------------------------------------------------------------------
# the download as a student sees it: size, progress bar, cut-off connections, what to do offline


class _CutOffHandler(_QuietHandler):
    """Announces the whole file (Content-Length) but sends only its first half, then hangs up."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def cut_off_server(tmp_path):
    """A server on its own folder whose downloads break midway (``srv.cut = False`` heals it)."""
    folder = tmp_path / "served"
    folder.mkdir(exist_ok=True)
    srv = _Server(folder)

    class Switch(_CutOffHandler):
        def do_GET(self):  # noqa: N802
            if srv.cut:
                return super().do_GET()
            return http.server.SimpleHTTPRequestHandler.do_GET(self)

    srv.cut = True
    srv.httpd.RequestHandlerClass = functools.partial(Switch, directory=str(folder))
    yield srv
    srv.stop()


def test_download_announces_its_size_and_shows_a_bar(server, small_arrays, tmp_path, capsys,
                                                     monkeypatch):
    monkeypatch.setenv("NMAUTILS_PROGRESS", "auto")
    served = _serve(server, ONE, small_arrays[ONE])
    fetch(ONE, url=server.url(ONE), known_hash=_md5(served), cache_dir=tmp_path / "cache")
    out, err = capsys.readouterr()
    size = data._human_size(served.stat().st_size)
    assert f"Downloading {ONE} ({size}) from {server.url(ONE)}" in out
    assert "kB" in size or "MB" in size
    assert f"{ONE}: 100%" in err  # the text bar (no notebook here), complete


def test_human_size():
    assert [data._human_size(n) for n in (0, 999, 1000, 4_567_000, 23_589_000_000)] == [
        "0 B", "999 B", "1.0 kB", "4.6 MB", "23.6 GB"]


def test_cut_off_download_leaves_nothing_and_is_retried(cut_off_server, small_arrays, tmp_path):
    served = _serve(cut_off_server, ONE, small_arrays[ONE])
    cache, url, known = tmp_path / "cache", cut_off_server.url(ONE), _md5(served)
    with pytest.raises(data.DownloadInterrupted, match=f"{ONE} was cut off after .* of .*next run"):
        fetch(ONE, url=url, known_hash=known, cache_dir=cache)
    assert _files(cache) == []  # neither the file nor pooch's temporary file
    cut_off_server.cut = False  # the next run, with a working connection
    path = fetch(ONE, url=url, known_hash=known, cache_dir=cache)
    assert _md5(path) == known and _files(cache) == [path]


def test_cut_off_download_in_a_notebook_run(cut_off_server, small_arrays, monkeypatch):
    """auto mode: the surrogate for this run, with a message; the next run gets the real data."""
    served = _serve(cut_off_server, ONE, small_arrays[ONE])
    _point_registry(monkeypatch, ONE, cut_off_server.url(ONE), _md5(served))
    with pytest.warns(SurrogateDataWarning, match="cut off.*nothing was kept.*What you can do"):
        resp, _ = load_data()
    assert resp.shape == (360, N_SMALL) and data_source().startswith("SYNTHETIC SURROGATE")
    cut_off_server.cut = False
    data.clear_cache()  # a new kernel
    resp, _ = load_data()
    np.testing.assert_array_equal(resp.numpy(), small_arrays[ONE]["resp"])
    assert data_source().startswith("real data")


def test_offline_message_says_what_to_do(closed_url, monkeypatch, tmp_path):
    _point_registry(monkeypatch, ONE, closed_url, "md5:" + "0" * 32)
    with pytest.warns(SurrogateDataWarning) as caught:
        load_data()
    message = str(caught[0].message)
    assert "What you can do" in message and "Colab" in message
    assert str(tmp_path / "cache" / ONE) in message  # where to put a file downloaded by hand
    assert "run the notebook again" in message
