"""Outputs are replaced only by complete new files: an error half-way leaves the old one as it was."""

import os

import pytest

from jazzd.errors import ConfigError
from jazzd.files import check_model_target, check_suffix, replaced, replaced_dir


def test_a_file_is_replaced_only_when_its_writer_finishes(tmp_path):
    out = tmp_path / "solo.mid"
    out.write_bytes(b"old")
    os.chmod(out, 0o640)
    with pytest.raises(OSError):
        with replaced(out) as tmp:
            tmp.write_bytes(b"half")
            raise OSError("No space left on device")
    assert out.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["solo.mid"]
    with replaced(out) as tmp:
        assert tmp != out and tmp.parent == out.parent and tmp.suffix == ".mid"
        tmp.write_bytes(b"new")
    assert out.read_bytes() == b"new" and (out.stat().st_mode & 0o777) == 0o640  # the old file's mode kept


def test_a_device_is_written_directly():
    with replaced("/dev/null") as target:
        assert str(target) == "/dev/null"


def test_a_model_directory_is_swapped_in_only_when_complete(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "weights.npz").write_bytes(b"old weights")
    with pytest.raises(OSError):
        with replaced_dir(out) as tmp:
            (tmp / "weights.npz").write_bytes(b"new weights")
            raise OSError("No space left on device")  # before vocab.json and metadata.json
    assert [p.name for p in tmp_path.iterdir()] == ["model"] and (out / "weights.npz").read_bytes() == b"old weights"
    with replaced_dir(out) as tmp:
        (tmp / "weights.npz").write_bytes(b"new weights")
    assert (out / "weights.npz").read_bytes() == b"new weights" and [p.name for p in tmp_path.iterdir()] == ["model"]


def test_suffixes_and_model_targets_are_checked(tmp_path):
    assert check_suffix(tmp_path / "a.MID", (".mid",), "a MIDI file", "-o").name == "a.MID"
    with pytest.raises(ConfigError, match=r"^-o .*a.txt: a MIDI file must end in .mid$"):
        check_suffix(tmp_path / "a.txt", (".mid",), "a MIDI file", "-o")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        check_model_target(tmp_path / "f")
    assert check_model_target(tmp_path / "new") == tmp_path / "new"
