import json

import pytest

from photonzo.io import atomic_write_json


def test_atomic_write_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "sub" / "result.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"b": 2})
    assert json.loads(target.read_text()) == {"b": 2}
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    atomic_write_json(target, {"ok": True})

    def killed(*args):  # the process dies between writing the temporary and the rename
        raise KeyboardInterrupt

    monkeypatch.setattr("photonzo.io.os.replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(target, {"new": True})
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_the_grid_cache_and_the_data_cache_share_xdg_cache_home(tmp_path, monkeypatch):
    from photonzo.data.datasets import search_dirs
    from photonzo.io import cache_dir
    from photonzo.pinn.quadrature import _cache_dir

    monkeypatch.delenv("PHOTONZO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "photonzo" and _cache_dir() == tmp_path / "photonzo" / "grids"
    assert tmp_path / "photonzo" in search_dirs("mnist")
    monkeypatch.setenv("PHOTONZO_CACHE", str(tmp_path / "own"))
    assert _cache_dir() == tmp_path / "own" / "grids"
