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


def test_a_take_whose_folder_is_removed_is_written_back_there(tmp_path, caplog):
    import shutil

    from jazzd.files import TakeFile

    out = tmp_path / "takes" / "take.mid"
    take = TakeFile(out)
    take.write(b"first bar ")
    take.begin()
    assert out.read_bytes() == b"first bar "
    shutil.rmtree(tmp_path / "takes")  # the open file lives on unlinked: before, the take was lost at the end
    take.write(b"second bar")
    take.keep()
    assert out.read_bytes() == b"first bar second bar"
    take.seek(0)
    take.write(b"FIRST")  # writing goes on in the file at the path (the header patched in place)
    take.close()
    assert out.read_bytes() == b"FIRST bar second bar"
    assert "its folder was removed while recording; the take goes on there" in caplog.text


def test_a_take_whose_place_another_file_took_goes_on_beside_it(tmp_path, caplog):
    from jazzd.files import TakeFile

    out = tmp_path / "take.wav"
    take = TakeFile(out)
    take.write(b"one")
    take.begin()
    out.unlink()
    out.write_bytes(b"someone else's")
    take.write(b" two")
    take.keep()
    take.close()
    assert out.read_bytes() == b"someone else's" and (tmp_path / "take-2.wav").read_bytes() == b"one two"
    assert f"another file took its place while recording; the take goes on as {tmp_path / 'take-2.wav'}" in caplog.text
    assert take.path == tmp_path / "take-2.wav"


def test_a_take_that_cannot_be_kept_raises_naming_it(tmp_path):
    import shutil

    from jazzd.files import TakeFile

    out = tmp_path / "takes" / "take.mid"
    take = TakeFile(out)
    take.write(b"x")
    take.begin()
    shutil.rmtree(tmp_path / "takes")
    (tmp_path / "takes").write_text("a file where the folder was")
    with pytest.raises(OSError, match=str(tmp_path / "takes")):
        take.keep()
    take.close()


def test_two_takes_to_one_path_the_second_is_refused_until_the_first_closes(tmp_path):
    from jazzd.files import TakeBusy, TakeFile

    out = tmp_path / "take.mid"
    first = TakeFile(out)
    with pytest.raises(TakeBusy, match=f"another jazzd \\(pid {os.getpid()}\\) is recording to it"):
        TakeFile(out)
    first.write(b"kept")
    first.begin()
    first.close()
    second = TakeFile(out)  # free again
    second.close()  # never begun: the first take stays
    assert out.read_bytes() == b"kept" and sorted(p.name for p in tmp_path.iterdir()) == ["take.mid"]
