import pytest

from jazzd.errors import GrammarError
from jazzd.core.grammar import ELEMENT_TYPES, SLACK_SEMITONES, MelodyNote, Value, element_types, parse_measure
from jazzd.core.harmony import chord_from_symbol


@pytest.mark.parametrize("text", ["C,0.250,<M-2,m-6>", "R,0.500", "S,0.333", "A,1.000,<m3,m-3>", "X,0.083,<P8,d5>"])
def test_value_round_trips_through_its_string(text):
    assert str(Value.parse(text)) == text


def test_value_bounds_are_ordered_and_in_semitones():
    v = Value.parse("C,0.250,<M-2,m-6>")
    assert (v.upper, v.lower) == (-2, -8)
    # either order of the two names reads the same
    assert Value.parse("C,0.250,<m-6,M-2>") == v


@pytest.mark.parametrize("text", ["Q,0.25", "C", "C,abc", "C,0.0", "R,0.25,<M2,m-2>", "C,0.25,<M2>", "C,0.25,<Z9,m2>"])
def test_bad_value_strings_raise_grammar_error_quoting_them(text):
    with pytest.raises(GrammarError, match="bad value"):
        Value.parse(text)


def test_value_checks_its_fields():
    with pytest.raises(GrammarError):
        Value("C", 0.5, upper=2, lower=None)
    with pytest.raises(GrammarError):
        Value("C", 0.5, upper=-2, lower=2)
    with pytest.raises(GrammarError):
        Value("C", 0.0001)


def test_beats_recovers_triplets_from_three_decimals():
    assert Value.parse("C,0.333").beats * 3 == 1
    assert Value.parse("R,0.083").beats * 12 == 1


def test_element_types_follow_the_definition():
    cmaj7 = chord_from_symbol("Cmaj7")  # C E G B, ionian
    types = element_types(cmaj7.pitch_classes, cmaj7.scale)
    assert len(types) == 12 and set(types) <= set(ELEMENT_TYPES) - {"R"}
    for pc in range(12):
        if pc in cmaj7.pitch_classes:
            assert types[pc] == "C"
        elif pc in cmaj7.scale:
            assert types[pc] == "S"
        elif (pc + 1) % 12 in cmaj7.pitch_classes or (pc - 1) % 12 in cmaj7.pitch_classes:
            assert types[pc] == "A"
        else:
            assert types[pc] == "X"
    assert types[0] == "C" and types[2] == "S" and types[3] == "A"  # C, D, Eb over Cmaj7


def test_parse_measure_types_durations_and_interval_bounds():
    chords = [(0.0, chord_from_symbol("Cmaj7")), (2.0, chord_from_symbol("G7"))]
    notes = [MelodyNote(0.0, 1.0, 64), MelodyNote(1.0, 0.5, 62), MelodyNote(1.5, 0.5, None), MelodyNote(2.0, 2.0, 65)]
    values = parse_measure(notes, chords)
    assert [v.kind for v in values] == ["C", "S", "R", "C"]  # E over C, D over C, rest, F over G7
    assert [v.duration for v in values] == [1.0, 0.5, 0.5, 2.0]
    assert not values[0].has_bounds  # the first pitch of a measure has no bounds
    # D after E: -2 semitones, bounds +-a minor third; F after D (the rest does not count): +3
    assert (values[1].upper, values[1].lower) == (-2 + SLACK_SEMITONES, -2 - SLACK_SEMITONES)
    assert (values[3].upper, values[3].lower) == (3 + SLACK_SEMITONES, 3 - SLACK_SEMITONES)


def test_parse_measure_needs_a_chord_for_notes():
    with pytest.raises(GrammarError):
        parse_measure([MelodyNote(0.0, 1.0, 60)], [])
    assert [v.kind for v in parse_measure([MelodyNote(0.0, 4.0, None)], [])] == ["R"]
