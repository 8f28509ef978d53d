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
