"""The real CLI as a subprocess: errors are one line with a non-zero exit; generate writes the course's file."""

import json
import re
import shutil

import pytest

from helpers import DEFAULT_MODEL, METHENY, ROOT, SHARED, jazzd, one_line_error, read_notes

pytestmark = pytest.mark.e2e


def test_help_of_every_command():
    """`--help` works for jazzd and each of its commands (a stray % in a help string crashed argparse)."""
    top = jazzd("--help")
    assert top.returncode == 0, top.stderr
    commands = re.search(r"\{([a-z,-]+)\}", top.stdout).group(1).split(",")
    assert "run" in commands and "generate" in commands
    for command in commands:
        result = jazzd(command, "--help")
        assert result.returncode == 0, f"jazzd {command} --help: {result.stderr}"
        assert result.stdout.startswith(f"usage: jazzd {command}"), result.stdout[:200]


def test_unknown_chord_in_the_progression_flag():
    result = jazzd("run", "--progression", "| Dm7 | Hm7 |", "--output", "x.mid")
    one_line_error(result, 2, "--progression", "bar 2", "'Hm7'")


def test_unknown_chord_in_the_config_file(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[model]\npath = "{DEFAULT_MODEL}"\n[harmony]\nprogression = "| C7 | F7 | Xm |"\n')
    one_line_error(jazzd("generate", "--config", config, "-o", tmp_path / "x.mid"), 2,
                   "config.toml: [harmony] progression", "'Xm'")


def test_bad_config_key(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[clock]\nbpm = -120\n")
    one_line_error(jazzd("run", "--config", config), 2, "config.toml: [clock] bpm must be >= 4, got -120")


def test_bad_flag_value():
    one_line_error(jazzd("generate", "--temperature", "-1", "-o", "x.mid"), 2, "--temperature must be >= 0, got -1.0")


def test_missing_corpus_file(tmp_path):
    one_line_error(jazzd("train", tmp_path / "nope.mid", "--out", tmp_path / "m"), 1, "nope.mid: no such file or folder")


def test_non_midi_corpus_file(tmp_path):
    path = tmp_path / "readme.mid"
    path.write_text("hello")
    one_line_error(jazzd("train", path, "--out", tmp_path / "m"), 1, "readme.mid: not a MIDI file")


def test_corpus_without_melody_notes(tmp_path):
    # the guitar part is silent in the first bars of the piece (read with mido: music21's reading takes 12 s)
    manifest = tmp_path / "first-bars.toml"
    manifest.write_text(f'file = "{METHENY}"\nmelody = 5\nchords = 0\nstart = 0.0\nend = 8.0\n')
    result = jazzd("train", manifest, "--out", tmp_path / "m")
    one_line_error(result, 1, "original_metheny.mid: no melody notes in part 'Guitar'")


def test_model_directory_missing_a_file(tmp_path):
    model = shutil.copytree(DEFAULT_MODEL, tmp_path / "m")
    (model / "weights.npz").unlink()
    one_line_error(jazzd("run", "--model", model, "--output", tmp_path / "x.mid"), 1, "missing weights.npz")


def test_model_whose_vocabulary_does_not_match(tmp_path):
    model = shutil.copytree(DEFAULT_MODEL, tmp_path / "m")
    values = json.loads((model / "vocab.json").read_text())["values"]
    (model / "vocab.json").write_text(json.dumps({"values": values[:10]}))
    one_line_error(jazzd("generate", "--model", model, "-o", tmp_path / "x.mid"), 1,
                   "vocab.json: 10 values, but the weights expect")


def test_generate_writes_my_music_mid(tmp_path):
    shutil.copy(ROOT / "config.toml", tmp_path)  # the shipped config, found in the working folder
    result = jazzd("generate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "50 values" in result.stdout
    midi, notes, tempo = read_notes(tmp_path / "my_music.mid")
    assert midi.type == 1
    assert [t.name for t in midi.tracks] == ["jazzd", "Melody", "Piano", "Bass", "Drums"]  # the band by default
    assert tempo == pytest.approx(120)
    melody = [n for n in notes if n[0] == 0]
    chords = [n for n in notes if n[0] == 1]
    bass = [n for n in notes if n[0] == 2]
    drums = [n for n in notes if n[0] == 9]
    assert melody and chords and bass and drums
    assert all(28 <= n[1] <= 55 for n in bass)
    assert all(52 <= n[1] <= 81 for n in melody)
    onsets = [n[2] for n in melody]
    assert onsets == sorted(onsets) and len(set(onsets)) == len(onsets)  # one melody line


def test_generate_bars_and_seeds(tmp_path):
    def run(name, *extra):
        result = jazzd("generate", "--bars", "8", "-o", tmp_path / name, *extra)
        assert result.returncode == 0, result.stderr
        return [n for n in read_notes(tmp_path / name)[1] if n[0] == 0]

    a, b, c = run("a.mid", "--seed", "3"), run("b.mid", "--seed", "3"), run("c.mid")
    d = run("d.mid")
    assert a == b
    assert c != d  # two runs without a seed differ
    assert max(n[2] + n[3] for n in a) <= 32 + 1e-9


def test_the_same_seed_over_two_progressions_plays_two_rhythms(tmp_path):
    """The bundled model hears the chords: one seed over a ii-V-I and over Giant Steps gives different onsets
    (the course's value-only model played 190 of 192 onsets alike)."""
    def onsets(name, progression):
        result = jazzd("generate", "--bars", "16", "--seed", "0", "--progression", progression, "-o", tmp_path / name)
        assert result.returncode == 0, result.stderr
        return [round(onset * 12) for ch, _, onset, _ in read_notes(tmp_path / name)[1] if ch == 0]

    ii_v_i = onsets("a.mid", "| Dm7 | G7 | Cmaj7 | Cmaj7 |")
    giant_steps = onsets("b.mid", "| B D7 | G Bb7 | Eb | Am7 D7 | G Bb7 | Eb F#7 | B | Fm7 Bb7 |")
    alike = sum(a == b for a, b in zip(ii_v_i, giant_steps))  # the k-th note starting at the same point
    assert alike < 0.5 * min(len(ii_v_i), len(giant_steps)), (alike, len(ii_v_i), len(giant_steps))


def test_run_never_imports_tensorflow(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from jazzd.cli import main; "
            f"rc = main(['run', '--output', {str(tmp_path / 'x.mid')!r}, '--bars', '1', '--bpm', '400']); "
            "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "print(rc, heavy); sys.exit(rc or bool(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "0 []"


def test_generate_over_the_corpus_chords(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[model]\npath = "{DEFAULT_MODEL}"\n[harmony]\nsource = "corpus"\n[band]\nstyle = "pads"\n')
    result = jazzd("generate", "--config", config, "--bars", "4", "-o", tmp_path / "c.mid")
    assert result.returncode == 0, result.stderr
    chords = [n for n in read_notes(tmp_path / "c.mid")[1] if n[0] == 1]
    first_bar = json.loads((DEFAULT_MODEL / "metadata.json").read_text())["harmony"]["bars"][0]
    voicing = first_bar[1][0][1][2]  # the first chord of the corpus, as the piano voiced it
    assert sorted(n for _, n, onset, _ in chords if onset == 0) == sorted(voicing)


def test_corpus_chords_need_a_model_that_saved_them(tmp_path):
    model = shutil.copytree(DEFAULT_MODEL, tmp_path / "m")
    meta = json.loads((model / "metadata.json").read_text())
    del meta["harmony"]
    (model / "metadata.json").write_text(json.dumps(meta))
    one_line_error(jazzd("generate", "--model", model, "--harmony", "corpus", "-o", tmp_path / "x.mid"), 2,
                   "no corpus chords")


@pytest.mark.parametrize("flags, key", [(["--mode", "trade"], "--mode = 'trade'"),
                                        (["--clock", "midi"], "--clock = 'midi'")])
def test_a_mode_that_needs_a_midi_input_and_has_none_is_exit_2(tmp_path, flags, key):
    """To a file there is no MIDI system, so no input: trade mode or a MIDI clock would wait forever."""
    out = tmp_path / "x.mid"
    result = jazzd("run", "--output", out, "--bars", "1", *flags)
    one_line_error(result, 2, key, "needs a MIDI input")


@pytest.mark.parametrize("args, fragment", [
    (["generate", "-o", "solo.txt"], "-o solo.txt: a MIDI file must end in .mid or .midi"),
    (["generate", "-o", "solo.mid", "--plot", "roll.jpg"], "--plot roll.jpg: a piano roll must end in"),
    (["generate", "-o", "solo.mid", "--render", "solo.ogg"], "--render solo.ogg: audio must end in .wav or .mp3"),
])
def test_an_output_whose_suffix_does_not_match_its_format_is_refused(tmp_path, args, fragment):
    result = jazzd(*args, cwd=tmp_path)
    one_line_error(result, 2, fragment)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_generate_replaces_an_existing_file_only_with_a_complete_one(tmp_path):
    out = tmp_path / "solo.mid"
    out.write_bytes(b"the old take")
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\npath = "models/default"\n[harmony]\nprogression = "| Hm7 |"\n')
    assert jazzd("generate", "--config", bad, "-o", out).returncode == 2
    assert out.read_bytes() == b"the old take"
    assert jazzd("generate", "--seed", 1, "-o", out).returncode == 0
    assert read_notes(out)[1] and sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "solo.mid"]


def test_train_out_naming_a_file_or_a_foreign_folder_is_refused_before_parsing(tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")
    one_line_error(jazzd("train", tmp_path / "nothing-here", "--out", existing), 2, "exists and is not a folder")
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"x")
    one_line_error(jazzd("train", tmp_path / "nothing-here", "--out", folder), 2, "a folder that is not a jazzd model")
    assert existing.read_text() == "mine" and (folder / "a.jpg").exists()


def test_train_without_tensorflow_is_one_line_with_the_install_command_before_any_parsing(tmp_path):
    """An install made by `make run` has no TensorFlow: train says how to get it, at once."""
    import subprocess
    import sys

    # keras and tensorflow made unimportable in the child, as in an install without the [train] extra
    code = ("import sys; sys.modules['keras'] = sys.modules['tensorflow'] = None; "
            "from jazzd.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "train", str(SHARED / "data" / "wjazzd"),
                           "--out", str(tmp_path / "m")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    one_line_error(done, 1, "jazzd train needs TensorFlow", "pip install -e '.[train]'", "make train")
    assert "files" not in done.stderr and "corpus" not in done.stderr  # nothing was parsed
    assert not (tmp_path / "m").exists()
