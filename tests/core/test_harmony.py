import pytest

from jazzd.errors import ChordSymbolError
from jazzd.core.harmony import CHORD_SCALES, Progression, chord_from_pitches, chord_from_symbol, chord_scale_name

PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6, "G": 7, "Ab": 8, "A": 9, "Bb": 10, "B": 11}


@pytest.mark.parametrize("symbol, root, tones, scale", [
    ("Dm7", "D", "D F A C", "dorian"),
    ("G7", "G", "G B D F", "mixolydian"),
    ("G7b9", "G", "G B D F Ab", "mixolydian"),
    ("Cmaj7", "C", "C E G B", "ionian"),
    ("F#m7b5", "F#", "F# A C E", "locrian"),
    ("Bbmaj7", "Bb", "Bb D F A", "ionian"),
    ("Ebm6", "Eb", "Eb Gb Bb C", "dorian"),
    ("C-7", "C", "C Eb G Bb", "dorian"),
    ("Cdim7", "C", "C Eb Gb A", "diminished"),
    ("Gø7", "G", "G Bb Db F", "locrian"),
    ("Fmaj9", "F", "F A C E G", "ionian"),
    ("Bb7alt", "Bb", "Bb D F# Ab C#", "altered"),
    ("C/E", "C", "C E G", "ionian"),
])
def test_chord_symbols_read_with_music21(symbol, root, tones, scale):
    chord = chord_from_symbol(symbol)
    assert chord.root == PC[root]
    assert chord.pitch_classes == frozenset(PC[t] for t in tones.split())
    assert chord.scale_name == scale
    assert chord.pitch_classes <= chord.scale
    assert sorted(p % 12 for p in chord.voicing) == sorted(chord.pitch_classes)
    assert 48 <= chord.voicing[0] <= 59


@pytest.mark.parametrize("symbol", ["Hm7", "Cfoo", "", "7", "xyz"])
def test_unknown_chord_symbols_raise_naming_the_symbol(symbol):
    with pytest.raises(ChordSymbolError, match="unknown chord symbol"):
        chord_from_symbol(symbol)


def test_chord_scales_are_heptatonic_or_symmetric():
    for name, steps in CHORD_SCALES.items():
        assert steps[0] == 0 and list(steps) == sorted(set(steps)), name
    assert chord_scale_name({0, 4, 7, 10}) == "mixolydian"
    assert chord_scale_name({0, 3, 6, 9}) == "diminished"
    assert chord_scale_name({0, 4, 8}) == "whole tone"
    assert chord_scale_name({0, 4, 8, 10, 3}) == "altered"


def test_chord_from_pitches_finds_root_of_a_voicing():
    chord = chord_from_pitches([55, 59, 62, 65])  # G B D F
    assert chord.root == 7 and chord.pitch_classes == frozenset({7, 11, 2, 5})
    assert chord.scale_name == "mixolydian"


def test_progression_loops_splits_bars_and_repeats():
    prog = Progression("| Dm7 G7 | Cmaj7 | % |", beats_per_bar=4)
    assert prog.bars == 3 and prog.length_beats == 12
    assert str(prog.chord_at(0)) == "Dm7" and str(prog.chord_at(1.99)) == "Dm7"
    assert str(prog.chord_at(2)) == "G7"
    assert str(prog.chord_at(4)) == "Cmaj7" and str(prog.chord_at(8)) == "Cmaj7"
    assert str(prog.chord_at(12)) == "Dm7"  # looped
    starts = [(b, str(s.chord)) for b, s in prog.segments_between(10, 18)]
    assert starts == [(12.0, "Dm7"), (14.0, "G7"), (16.0, "Cmaj7")]


def test_no_chord_keeps_the_last_chord_for_the_melody():
    prog = Progression("| C7 | N.C. |")
    assert str(prog.chord_at(5)) == "C7"
    assert prog.segment_at(5).chord is None


@pytest.mark.parametrize("lead_sheet, message", [
    ("", "no bars"), ("| % | C |", "cannot be %"), ("| C || D |", "bar 2 .* empty"),
    ("| N.C. |", "only N.C."), ("| C7 | Hm7 |", "bar 2: unknown chord symbol 'Hm7'"),
])
def test_bad_progressions_name_the_problem(lead_sheet, message):
    with pytest.raises(ValueError, match=message):
        Progression(lead_sheet)
