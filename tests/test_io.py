import json
import subprocess

import pytest

from photonzo.experiments.provenance import NOT_A_CHECKOUT, git_commit
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


def test_git_commit_names_the_checkout_and_its_uncommitted_changes(tmp_path):
    def git(*args):
        identity = ["-c", "user.name=t", "-c", "user.email=t@t"]
        return subprocess.run(
            ["git", *identity, *args], cwd=tmp_path, capture_output=True, text=True, check=True
        )

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "--short", "HEAD").stdout.strip()
    assert git_commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("two")
    assert git_commit(tmp_path) == f"{head} (with uncommitted changes to tracked files)"
    (tmp_path / "site").mkdir()  # a package installed inside some other repository is not its checkout
    assert git_commit(tmp_path / "site") == NOT_A_CHECKOUT
