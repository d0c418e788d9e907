"""Reading any MIDI file as a corpus: melody heuristic, chord symbols, chordified harmony, skipping."""

from __future__ import annotations

import mido
import pytest
from helpers import SHARED
from midi_files import band_type1, chords_only, lead_sheet_markers, melody_only, single_track_type0

from jazzd.pipeline.collection import collect, expand_sources
from jazzd.pipeline.corpus import CorpusSpec, load_piece
from jazzd.core.harmony import chord_of
from jazzd.errors import CorpusError
from jazzd.core.grammar import Value
from jazzd.pipeline.parts import text_chords

WJAZZD = SHARED / "data" / "wjazzd"
WJAZZD_SAMPLE = ["ArtPepper_Anthropology_001.mid", "BenWebster_ByeByeBlackbird_021.mid",
                 "BennyCarter_IGotItBad_007.mid"]


def chord_names(piece):
    return [chord_of(tuple(p), f).root for m in piece.measures for _, p, f in m.chords[:1]]


@pytest.mark.parametrize("make", [band_type1, single_track_type0, lead_sheet_markers])
def test_each_shape_gives_the_melody_over_its_chords(tmp_path, make):
    path = make(tmp_path / f"{make.__name__}.mid")
    piece = load_piece(CorpusSpec(path), use_cache=False)
    assert len(piece.measures) == 8
    pitches = [n.pitch for m in piece.measures for n in m.notes if n.pitch is not None]
    assert pitches[:4] == [74, 72, 71, 69]  # the melody, not the bass, piano or drums
    roots = [2, 7, 0, 0] * 2  # D, G, C, C: from chord notes or from the markers
    assert chord_names(piece) == roots
    # Bar 1 is over Dm7: D (74) and C (72) are chord tones, B (71) is in D dorian.
    kinds = [Value.parse(v).kind for v in piece.measures[0].values]
    assert kinds[:3] == ["C", "C", "S"]


def test_a_file_without_melody_says_why(tmp_path):
    path = chords_only(tmp_path / "comping.mid")
    with pytest.raises(CorpusError, match=r"comping.mid: no melody part \(none is mostly single notes"):
        load_piece(CorpusSpec(path), use_cache=False)


def test_a_file_without_harmony_says_why(tmp_path):
    path = melody_only(tmp_path / "alone.mid")
    with pytest.raises(CorpusError, match=r"alone.mid: no harmony \(no chord symbols in the file"):
        load_piece(CorpusSpec(path), use_cache=False)


def test_text_events_win_over_markers_and_prose_is_ignored(tmp_path):
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    midi.tracks.append(mido.MidiTrack([
        mido.MetaMessage("text", text="Title: Anthropology"),
        mido.MetaMessage("text", text="Art Pepper"),
        mido.MetaMessage("marker", text="Bb-7"),  # WJazzD: "-" is minor
        mido.MetaMessage("text", text="B-m7"),  # the same chord in music21's spelling
        mido.MetaMessage("marker", text="NC", time=1920),
        mido.MetaMessage("marker", text="F7", time=960),
    ]))
    path = tmp_path / "meta.mid"
    midi.save(path)
    events = text_chords(path)
    assert [(e[0], e[2]) for e in events] == [(0.0, "B-m7"), (4.0, "N.C."), (6.0, "F7")]
    assert chord_of(events[0][1], events[0][2]).pitch_classes == frozenset({10, 1, 5, 8})


def test_a_weimar_file_reads_its_chord_symbols():
    path = WJAZZD / WJAZZD_SAMPLE[0]
    piece = load_piece(CorpusSpec(path))
    figures = {f for m in piece.measures for _, _, f in m.chords}
    assert "B-6" in figures  # the Text event, as written
    assert all(f for f in figures)  # every chord came from a symbol, none chordified
    notes = sum(1 for m in piece.measures for n in m.notes if n.pitch is not None)
    midi_notes = sum(1 for msg in mido.MidiFile(path).tracks[1] if msg.type == "note_on" and msg.velocity)
    assert 0.8 * midi_notes <= notes <= midi_notes  # quantizing may merge a few grace notes


def test_folders_are_walked_and_unusable_files_skipped_with_a_reason(tmp_path):
    (tmp_path / "a" / "deeper").mkdir(parents=True)
    band_type1(tmp_path / "a" / "band.mid")
    single_track_type0(tmp_path / "a" / "deeper" / "tune.MID")
    chords_only(tmp_path / "a" / "comping.mid")
    (tmp_path / "a" / "notes.txt").write_text("not MIDI, and not .mid either")
    (tmp_path / "a" / "broken.mid").write_bytes(b"MThd garbage")
    assert [p.name for p in expand_sources([tmp_path / "a"])] == ["band.mid", "broken.mid", "comping.mid", "tune.MID"]
    lines = []
    collection = collect([tmp_path / "a"], use_cache=False, workers=2, progress=False, report=lines.append)
    assert [p.spec.path.name for p in collection.pieces] == ["band.mid", "tune.MID"]
    assert {s.path.name for s in collection.skipped} == {"broken.mid", "comping.mid"}
    assert any("comping.mid: no melody part" in line for line in lines)
    assert any("broken.mid: not a readable MIDI file" in line for line in lines)


def test_parallel_and_serial_parsing_agree(tmp_path):
    # two shapes written here and a real solo (a Weimar one: the Metheny file takes 20 s a parse)
    files = [band_type1(tmp_path / "band.mid"), lead_sheet_markers(tmp_path / "sheet.mid"),
             SHARED / "data" / "wjazzd" / "ArtPepper_Anthropology_001.mid"]
    serial = collect(files, use_cache=False, workers=1, progress=False)
    parallel = collect(files, use_cache=False, workers=2, progress=False)
    assert [p.measures for p in serial.pieces] == [p.measures for p in parallel.pieces]


def test_nothing_usable_is_one_error(tmp_path):
    chords_only(tmp_path / "x.mid")
    melody_only(tmp_path / "y.mid")
    with pytest.raises(CorpusError, match=r"no usable file in the corpus \(2 skipped; first: .*x.mid: no melody"):
        collect([tmp_path], use_cache=False, workers=1, progress=False, report=lambda line: None)


def test_missing_source_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match=r"nope: no such file or folder"):
        collect([tmp_path / "nope"], progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"empty: no MIDI files"):
        collect([tmp_path / "empty"], progress=False)



def test_snap_to_grid_keeps_fast_notes_and_absorbs_articulation():
    from jazzd.pipeline.corpus import snap_to_grid
    from jazzd.core.grammar import MelodyNote

    # Six sextuplet sixteenths (1/6 beat apart): plain rounding to the 1/4-1/3 grid merges
    # some of them; snapping to the next free grid point keeps all six, in order.
    run = [MelodyNote(i / 6, 1 / 6, 60 + i) for i in range(6)]
    snapped = snap_to_grid(run, 4.0)
    assert [n.pitch for n in snapped] == [60, 61, 62, 63, 64, 65]
    onsets = [n.offset for n in snapped]
    assert onsets == sorted(set(onsets))
    for n in snapped:
        assert round(n.offset * 12) % 3 == 0 or round(n.offset * 12) % 4 == 0  # on the 1/4-or-1/3 grid
        assert abs(n.offset - run[n.pitch - 60].offset) <= 0.25
    # A detached eighth (0.42 of 0.5 beats) is held to the next note; a real rest stays.
    notes = [MelodyNote(0.0, 0.42, 60), MelodyNote(0.5, 0.4, 62), MelodyNote(2.0, 1.0, 64)]
    snapped = snap_to_grid(notes, 4.0)
    assert [(n.offset, n.duration) for n in snapped] == [(0.0, 0.5), (0.5, 0.5), (2.0, 1.0)]
    # Slightly early or late onsets land on the grid points they were meant for.
    swung = snap_to_grid([MelodyNote(0.03, 0.6, 60), MelodyNote(0.69, 0.3, 62)], 4.0)
    assert [n.offset for n in swung] == [0.0, pytest.approx(2 / 3)]


ORDINARY = [  # (file name, how it is made from what music21 ships)
    ("maple_leaf_rag.mid", "joplin/maple_leaf_rag"),  # a rag: the right hand in octaves over the left
    ("foster_brown_hair.mid", "leadSheet/fosterBrownHair"),  # a lead sheet: melody and chords in one track
    ("berlin_alexanders_ragtime.mid", "leadSheet/berlinAlexandersRagtime"),
    ("bach_bwv66_6.mid", "bach/bwv66.6"),  # chorales: four voices
    ("bach_bwv10_7.mid", "bach/bwv10.7"),
    ("reel_cuckoos_nest.mid", ("nottingham-dataset/reelsa-c.abc", 80)),  # reels: ABC with chords
    ("reel_little_czech.mid", ("nottingham-dataset/reelsa-c.abc", 81)),
    ("k525short.mid", "omr/k525short.mid"),  # MIDI files music21 ships
    ("k525MIDIMvt1.mid", "omr/k525MIDIMvt1.mid"),
    ("test05.mid", "midi/testPrimitive/test05.mid"),
]


@pytest.fixture(scope="module")
def ordinary_folder(tmp_path_factory):
    """Ten MIDI files nobody here wrote: music21's bundled scores written to MIDI, and MIDI files it ships."""
    import shutil
    from pathlib import Path

    import music21
    from music21 import corpus

    folder = tmp_path_factory.mktemp("ordinary")
    for name, source in ORDINARY:
        if isinstance(source, str) and source.endswith(".mid"):
            shutil.copy(Path(music21.__file__).parent / source, folder / name)
        elif isinstance(source, tuple):
            corpus.parse(source[0], number=source[1]).write("midi", fp=str(folder / name))
        else:
            corpus.parse(source).write("midi", fp=str(folder / name))
    return folder


def test_ordinary_tunes_are_usable_and_the_rest_say_why(ordinary_folder):
    lines = []
    collection = collect([ordinary_folder], use_cache=False, workers=2, progress=False, report=lines.append)
    used = {p.spec.path.name: p for p in collection.pieces}
    assert len(used) >= 8, lines
    assert len(lines) == 10 - len(used) and all(": " in line for line in lines)
    assert not any("::" in line for line in lines)  # an unnamed part is "part N"
    # the rag: the right hand's top line, not the left hand
    rag = [n.pitch for m in used["maple_leaf_rag.mid"].measures for n in m.notes if n.pitch is not None]
    assert sorted(rag)[len(rag) // 2] >= 70
    # a lead sheet: the chords beneath the melody in its own track are its harmony, not melody notes
    sheet = used["foster_brown_hair.mid"]
    melody = [n.pitch for m in sheet.measures for n in m.notes if n.pitch is not None]
    chord_notes = [p for m in sheet.measures for _, pitches, _ in m.chords for p in pitches]
    assert min(melody) > max(chord_notes) - 12 and sorted(melody)[len(melody) // 2] > sorted(chord_notes)[-1] - 5
    assert len({tuple(p) for m in sheet.measures for _, p, _ in m.chords}) >= 3


def test_a_manifest_chooses_the_melody_and_chords_per_file(tmp_path):
    band_type1(tmp_path / "band.mid")
    lead_sheet_markers(tmp_path / "sheet.mid")
    manifest = tmp_path / "mine.toml"
    manifest.write_text('description = "two files, each its own parts"\nchord_window = "beat"\n'
                        '[[files]]\nfile = "band.mid"\nmelody = "Bass"\nchords = "Piano"\n'
                        '[[files]]\nfile = "sheet.mid"\nstart = 4.0\n')
    collection = collect([manifest], use_cache=False, workers=1, progress=False)
    band, sheet = collection.pieces
    assert band.spec.melody == "Bass" and band.spec.chords == "Piano" and sheet.spec.start == 4.0
    assert max(n.pitch for m in band.measures for n in m.notes if n.pitch is not None) < 60  # the bass line
    assert sheet.measures[0].offset == 4.0 and len(sheet.measures) == 7
    manifest.write_text('[[files]]\nmelody = "Bass"\n')
    with pytest.raises(CorpusError, match=r"mine.toml: \[\[files\]\] 1: needs a 'file' key"):
        collect([manifest], use_cache=False, workers=1, progress=False)


def test_parsing_without_a_terminal_reports_progress_in_log_lines(tmp_path, caplog):
    """A service, a log file or CI sees how far parsing got, not nothing."""
    import logging

    from jazzd.pipeline.collection import collect

    paths = []
    for i in range(3):
        paths.append(band_type1(tmp_path / f"tune{i}.mid"))
    with caplog.at_level(logging.INFO, logger="jazzd"):
        collect([str(p) for p in paths], use_cache=False, workers=1, progress=None, report=lambda line: None)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("parsing:")]
    assert [line.split(" (")[0] for line in lines] == ["parsing: 1 of 3 files", "parsing: 2 of 3 files",
                                                        "parsing: 3 of 3 files"]
