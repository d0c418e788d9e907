import pathlib

import mido
import pytest

from helpers import METHENY, SOLO_MANIFEST
from midi_files import band_type1
from jazzd.pipeline import corpus
from jazzd.pipeline.corpus import CorpusSpec, load_corpus, load_piece, read_manifest
from jazzd.errors import CorpusError
from jazzd.core.grammar import Value


@pytest.fixture(scope="module")
def solo():
    [piece] = load_corpus([SOLO_MANIFEST])
    return piece


def test_course_selection_measures_and_values(solo):
    # offsets 476-548 in 4/4: 18 bars, bars 120..137 in music21's numbering
    assert len(solo.measures) == 18
    assert solo.measures[0].offset == 476.0 and solo.measures[-1].offset + solo.measures[-1].length == 548.0
    assert [m.number for m in solo.measures] == list(range(solo.measures[0].number, solo.measures[0].number + 18))
    values = [Value.parse(v) for m in solo.measures for v in m.values]
    kinds = {v.kind for v in values}
    assert {"C", "S", "A", "R"} <= kinds
    # the values tile the solo: their durations add up to its 72 beats (a note may
    # spill over a bar line, so single bars need not add up)
    total = sum(float(v.beats) for v in values)
    assert total == pytest.approx(548 - 476, abs=1e-6)
    # the course got 78 or 90 distinct values depending on the music21 version
    n_values = len(set(v for m in solo.measures for v in m.values))
    assert 70 <= n_values <= 100


def test_melody_is_monophonic_and_chords_start_each_bar(solo):
    for m in solo.measures:
        assert m.chords[0][0] == m.offset
        onsets = [n.offset for n in m.notes]
        assert onsets == sorted(onsets) and len(set(onsets)) == len(onsets)
        for a, b in zip(m.notes, m.notes[1:]):
            assert a.offset + a.duration <= b.offset + 1e-6


def test_vocabulary_is_the_same_under_any_hash_seed(solo):
    """The course builds its vocabulary with set(), whose order follows Python's string hash seed; jazzd's
    must not. Two interpreters with different PYTHONHASHSEED build it from the same corpus."""
    import json
    import os
    import subprocess
    import sys

    code = ("import json, sys\n"
            "from jazzd.pipeline.corpus import load_corpus\n"
            "from jazzd.core.vocab import Vocabulary\n"
            f"[piece] = load_corpus([{str(SOLO_MANIFEST)!r}])\n"
            "values = [v for m in piece.measures for v in m.values]\n"
            "print(json.dumps([list(Vocabulary.from_corpus(values).values), list(set(values))]))\n")
    runs = []
    for hash_seed in ("1", "2"):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                                env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert result.returncode == 0, result.stderr
        runs.append(json.loads(result.stdout))
    (ours_1, course_1), (ours_2, course_2) = runs
    assert course_1 != course_2, "the hash seed did not change set() order: this test would prove nothing"
    assert ours_1 == ours_2 == sorted(ours_1)


def test_second_load_comes_from_the_cache(solo, monkeypatch):
    from music21 import converter

    def no_parse(*args, **kwargs):
        raise AssertionError("music21 parsed the file again")

    monkeypatch.setattr(converter, "parse", no_parse)
    [again] = load_corpus([SOLO_MANIFEST])
    assert again.measures == solo.measures
    assert list((corpus.cache_dir() / "corpus").glob("*.json"))


def test_manifest_paths_are_relative_to_the_manifest():
    [spec] = read_manifest(SOLO_MANIFEST)
    assert spec.path == METHENY.resolve()
    assert (spec.melody, spec.chords, spec.start, spec.end) == (5, 0, 476.0, 548.0)


def test_missing_file(tmp_path):
    with pytest.raises(CorpusError, match=r"nope.mid: no such MIDI file"):
        load_piece(CorpusSpec(tmp_path / "nope.mid"))


def test_not_a_midi_file(tmp_path):
    path = tmp_path / "notes.mid"
    path.write_text("this is not MIDI")
    with pytest.raises(CorpusError, match=r"notes.mid: not a MIDI file"):
        load_piece(CorpusSpec(path))


def test_truncated_midi_file(tmp_path):
    path = tmp_path / "broken.mid"
    path.write_bytes(METHENY.read_bytes()[:300])
    with pytest.raises(CorpusError, match=r"broken.mid: not a readable MIDI file"):
        load_piece(CorpusSpec(path, melody=0, chords=0))


def two_track_file(path, melody_notes):
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    melody, chords = mido.MidiTrack(), mido.MidiTrack()
    melody.append(mido.MetaMessage("track_name", name="Lead"))
    for pitch in melody_notes:
        melody.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        melody.append(mido.Message("note_off", note=pitch, time=480))
    chords.append(mido.MetaMessage("track_name", name="Keys"))
    for bar in range(2):
        for p in (48, 52, 55):
            chords.append(mido.Message("note_on", channel=1, note=p, velocity=60, time=0))
        chords.append(mido.Message("note_off", channel=1, note=48, time=1920))
        chords.append(mido.Message("note_off", channel=1, note=52, time=0))
        chords.append(mido.Message("note_off", channel=1, note=55, time=0))
    midi.tracks += [melody, chords]
    midi.save(path)
    return path


def test_a_small_file_by_part_names(tmp_path):
    path = two_track_file(tmp_path / "tune.mid", [60, 62, 64, 65, 67, 69, 71, 72])
    piece = load_piece(CorpusSpec(path, melody="Lead", chords="Keys"))
    values = [Value.parse(v) for m in piece.measures for v in m.values]
    assert [v.kind for v in values] == ["C", "S", "C", "S", "C", "S", "S", "C"]  # the scale over C major
    assert [v.upper - 3 for v in values if v.has_bounds] == [2, 2, 1, 2, 2, 1]  # steps within each bar


def test_no_melody_notes_is_an_error(tmp_path):
    path = two_track_file(tmp_path / "short.mid", [60, 62])  # notes only in bar 1
    with pytest.raises(CorpusError, match=r"short.mid: no melody notes in part 'Lead' between beats 4 and 8"):
        load_piece(CorpusSpec(path, melody="Lead", chords="Keys", start=4, end=8))


def test_unknown_part_lists_the_parts(tmp_path):
    path = two_track_file(tmp_path / "tune.mid", [60, 62])
    with pytest.raises(CorpusError, match=r"no melody part 'Sax' \(parts are 0: Lead, 1: Keys\)"):
        load_piece(CorpusSpec(path, melody="Sax", chords="Keys"))


class _Planted:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.write_text, (pathlib.Path(self.marker), "unpickled"))


def test_no_pickle_music21_would_load_is_ever_loaded(tmp_path):
    """music21 keeps a pickle of each parsed file in its shared scratch folder and loads it back instead of
    parsing; jazzd parses the source, so a pickle planted there never runs."""
    import pickle
    import zlib

    from music21.converter import PickleFilter

    midi = band_type1(tmp_path / "tune.mid")  # any MIDI file: the pickle is what is tested (the Metheny file takes 20 s)
    marker = tmp_path / "marker"
    _, _, planted_path = PickleFilter(str(midi), False).status()
    assert planted_path is not None
    pathlib.Path(planted_path).write_bytes(zlib.compress(pickle.dumps(_Planted(marker))))
    try:
        from jazzd.pipeline.corpus import CorpusSpec, load_piece

        piece = load_piece(CorpusSpec(midi, quantize="music21"), use_cache=False)
        assert piece.measures
        assert not marker.exists(), "a pickle from music21's scratch folder was loaded"
        # the control: music21's own default path does load it
        from music21 import converter

        with pytest.raises(Exception):
            converter.parse(str(midi))
        assert marker.exists()
    finally:
        pathlib.Path(planted_path).unlink(missing_ok=True)
