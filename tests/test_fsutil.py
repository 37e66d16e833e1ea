"""Atomic outputs: the final name appears only complete, and a failure leaves nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ltxkit.fsutil import atomic_path, final_name, scratch_path, write_json_atomic


def test_atomic_path_renames_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "clip.mp4"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.endswith(".part.mp4")
        tmp.write_bytes(b"complete")
        assert not target.exists()
    assert target.read_bytes() == b"complete"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.mp4"]


def test_atomic_path_cleans_up_on_error(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder died")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_write_json_atomic(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "run.json", {"b": 1, "a": [1, 2]})
    text = (tmp_path / "run.json").read_text()
    assert json.loads(text) == {"a": [1, 2], "b": 1} and text.index('"a"') < text.index('"b"')


def test_private_json_is_owner_only(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "run.json", {"url": "https://cdn.example/signed?sig=x"}, private=True)
    assert (tmp_path / "run.json").stat().st_mode & 0o777 == 0o600


def test_scratch_path_is_removed_however_the_block_ends(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with scratch_path(target) as tmp:
        tmp.write_bytes(b"tail")
        assert tmp.parent == tmp_path and final_name(tmp) == "out.mp4" and tmp.suffix == ".mp4"
    assert not tmp.exists()
    with pytest.raises(RuntimeError), scratch_path(target) as tmp:
        tmp.write_bytes(b"tail")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []
