"""The rhythm section (jazzd.core.band): voicings led from one to the next, drums on the style's grid, the bass's
feel per style, fills, anticipations, and one seed for one band."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import ROOT
from jazzd.core.band.bass import BassChoice, bass_pitch_class
from jazzd.core.band.comping import LOWEST, Voicer, movement
from jazzd.core.band.drums import fill_of
from jazzd.core.band.section import RhythmSection
from jazzd.core.band.styles import CRASH, STYLES, style, swing_ratio, swung
from jazzd.core.harmony import Progression, chord_from_symbol
from jazzd.core.solo import comp_notes

BASS = BassChoice.load(ROOT / "models" / "bass")
# ii-V-I in every key, and the chords a lead sheet has besides
TUNE = " ".join(f"| {k}m7 | {v}7 | {i}maj7 | % |" for k, v, i in (
    ("D", "G", "C"), ("G", "C", "F"), ("C", "F", "Bb"), ("F", "Bb", "Eb"), ("Bb", "Eb", "Ab"), ("Eb", "Ab", "Db"),
    ("Ab", "Db", "Gb"), ("C#", "F#", "B"), ("F#", "B", "E"), ("B", "E", "A"), ("E", "A", "D"), ("A", "D", "G")))
TUNE = TUNE.replace("| |", "|") + " Am7b5 D7b9 | Gm6 | C7alt | Fmaj7 | Bdim7 | E7sus4 |"


def band(name="swing", bpb=None, seed=1, parts=("bass", "drums", "piano"), lead_sheet=TUNE, humanize_ms=6.0):
    st = style(name)
    harmony = Progression(lead_sheet, bpb or st.beats_per_bar or 4)
    return RhythmSection(st, harmony, np.random.default_rng(seed), bass_choice=BASS, parts=parts,
                         humanize_ms=humanize_ms)


def notes_of(section, bars, bpm=120.0, part=None):
    notes = section.notes_until(bars * section.beats_per_bar, bpm)
    return [n for p, n in notes if part is None or p == part]


def strokes(notes):
    by_onset: dict[float, list[int]] = {}
    for n in notes:
        by_onset.setdefault(round(n.onset, 6), []).append(n.pitch)
    return [(onset, tuple(sorted(p))) for onset, p in sorted(by_onset.items())]


def test_voicings_are_rootless_in_the_middle_register_and_led_from_one_to_the_next():
    voicer = Voicer("rootless")
    chords = [chord_from_symbol(s) for s in TUNE.replace("|", " ").replace("%", "").split()]
    voicings = [voicer.voice(c) for c in chords]
    for chord, v in zip(chords, voicings):
        assert LOWEST[0] <= v[0] <= LOWEST[1] and len(v) == 4, (chord, v)
        assert all(p % 12 in chord.scale | chord.pitch_classes for p in v), (chord, v)  # no wrong note
        assert chord.root not in {p % 12 for p in v} or chord.symbol.endswith("6"), (chord, v)  # the bass has it
        intervals = {(p - chord.root) % 12 for p in v}
        assert intervals & {3, 4, 5} and intervals & {9, 10, 11}, (chord, v)  # the guide tones: 3rd and 7th
    moves = [movement(a, b) for a, b in zip(voicings, voicings[1:])]
    # a register reset (the line drifting to the edge of the middle register) moves more, seldom
    assert np.mean(moves) <= 3.0 and max(moves) <= 7.0, np.round(moves, 2)
    # Dm7 G7 Cmaj7 as the piano books voice it: F-A-C-E, F-A-B-E, E-G-B-D
    assert voicings[:3] == [(53, 57, 60, 64), (53, 57, 59, 64), (52, 55, 59, 62)]


def test_with_no_bass_the_voicings_have_the_root_under_them():
    voicer = Voicer("shell", with_root=True)
    for symbol in ("Dm7", "G7", "Cmaj7", "F#m7b5"):
        chord = chord_from_symbol(symbol)
        v = voicer.voice(chord)
        assert v[0] % 12 == chord.root and len(v) == 4, (symbol, v)


@pytest.mark.parametrize("name", [n for n in STYLES if STYLES[n].drums])
@pytest.mark.parametrize("bpm", [70, 140, 280])
def test_every_drum_hit_is_on_the_styles_grid_within_its_humanize_bound(name, bpm):
    st = style(name)
    section = band(name, parts=("drums",))
    share = swing_ratio(bpm) if st.swing else 0.5
    grid = {round(swung(h.at, share) if st.swing else h.at, 6) for h in st.drums + st.fill} | {0.0}
    bound = 6.0 / 1000 * bpm / 60
    bpb = section.beats_per_bar
    hits = notes_of(section, 32, bpm)
    assert len(hits) > 32 * bpb
    off = [(n.onset, n.pitch) for n in hits
           if min(abs((n.onset - (n.onset // bpb) * bpb) - g) for g in grid | {g + bpb for g in grid}) > bound + 1e-9]
    assert not off, off[:5]


def test_fills_come_before_phrases_and_choruses_and_a_crash_after_them():
    assert [b for b in range(32) if fill_of(b, 48) == "full"] == [7, 15, 23, 31]
    assert [b for b in range(16) if fill_of(b, 48) == "short"] == [3, 11]
    assert [b for b in range(16) if fill_of(b, 6) == "full"] == [5, 7, 11, 15]  # a 6-bar tune's chorus ends
    section = band("swing", parts=("drums",), humanize_ms=0.0)
    hits = notes_of(section, 17)
    crashes = sorted({round(n.onset) for n in hits if n.pitch == CRASH})
    assert crashes == [32, 64]  # the downbeats after the full fills (bars 8 and 16)
    toms = sorted({int(n.onset // 4) for n in hits if n.pitch in (43, 45, 47)})
    assert toms == [3, 7, 11, 15]  # the fill's last beat before the middle of a phrase, all of it before one
    full = sorted({int(n.onset // 4) for n in hits if n.pitch == 38 and n.onset % 4 == 2.0})
    assert full == [7, 15]


@pytest.mark.parametrize("name, onsets", [("swing", [0, 1, 2, 3]), ("up", [0, 1, 2, 3]), ("ballad", [0, 2]),
                                          ("bossa", [0, 1.5, 2, 3.5]), ("waltz", [0, 1, 2])])
def test_the_bass_plays_the_styles_feel_within_its_range(name, onsets):
    section = band(name, parts=("bass",), humanize_ms=0.0, lead_sheet="| Dm7 | G7 | Cmaj7 | % |")
    bass = notes_of(section, 16, part="bass")
    bpb = section.beats_per_bar
    assert sorted({round(n.onset % bpb, 6) for n in bass}) == onsets
    assert len(bass) == 16 * len(onsets)
    assert all(28 <= n.pitch <= 55 for n in bass)
    assert all(n.duration < 4 for n in bass)


def test_the_walking_bass_lands_on_chord_changes_as_the_corpus_does_not_at_random():
    """Over 96 bars of changes, the learned choice puts the chord's bass on the change's downbeat far more often
    than a choice that knows nothing (1 in 12), and moves mostly by steps and small leaps."""
    section = band("swing", parts=("bass",), humanize_ms=0.0)
    harmony = section.harmony
    bass = notes_of(section, 96, part="bass")
    changes = [n for n in bass if harmony.chord_at(n.onset).symbol != harmony.chord_at(n.onset - 1).symbol]
    roots = np.mean([n.pitch % 12 == bass_pitch_class(harmony.chord_at(n.onset)) for n in changes])
    uniform = RhythmSection(style("swing"), harmony, np.random.default_rng(1), bass_choice=BassChoice.uniform(),
                            parts=("bass",), humanize_ms=0.0)
    random_bass = notes_of(uniform, 96, part="bass")
    random_roots = np.mean([n.pitch % 12 == bass_pitch_class(harmony.chord_at(n.onset)) for n in random_bass
                            if harmony.chord_at(n.onset).symbol != harmony.chord_at(n.onset - 1).symbol])
    assert roots > 0.3 and roots > 2.5 * random_roots, (roots, random_roots)
    steps = np.abs(np.diff([n.pitch for n in bass]))
    assert np.mean(steps) < 4.5 < np.mean(np.abs(np.diff([n.pitch for n in random_bass])))


def test_every_chord_of_a_bar_is_struck_and_an_anticipation_plays_the_next_bars_chord():
    section = band("swing", parts=("piano",), humanize_ms=0.0, lead_sheet="| Dm7 G7 | Cmaj7 | Fmaj7 | Bb7 |")
    piano = notes_of(section, 32, part="piano")
    harmony = section.harmony
    for bar in range(32):
        for begin, seg in harmony.segments_between(bar * 4, bar * 4 + 4):
            voiced = [n for n in piano if begin - 0.5 - 1e-9 <= n.onset < begin + seg.length - 1e-9]
            assert voiced, f"bar {bar + 1}: {seg.chord} never struck"
    late = [(onset, v) for onset, v in strokes(piano) if onset % 4 >= 3.5 - 1e-9]
    assert late, "no anticipation in 32 bars"
    for onset, v in late:
        next_chord = harmony.chord_at(onset + 0.5)
        if next_chord.symbol != harmony.chord_at(onset).symbol:
            assert {p % 12 for p in v} <= next_chord.scale | next_chord.pitch_classes, (onset, v, next_chord)
            assert not [o for o, _ in strokes(piano) if 0 < o - onset < 1.0 - 1e-9], "struck again under the tie"


def test_no_part_strikes_a_key_that_still_sounds():
    """A note-on of a key already sounding would be cut by the first one's note-off."""
    for name in STYLES:
        for bpm in (60, 300):
            section = band(name)
            ends: dict = {}
            for part, n in sorted(section.notes_until(32 * section.beats_per_bar, bpm), key=lambda pn: pn[1].onset):
                assert ends.get((part, n.pitch), -1) <= n.onset + 1e-9, (name, bpm, part, n)
                ends[(part, n.pitch)] = n.end


def test_one_seed_one_band_and_pads_are_the_old_block_chords():
    first, again, other = (notes_of(band(seed=s), 16) for s in (3, 3, 4))
    assert first == again and first != other
    pads = band("pads", parts=("bass", "drums", "piano"))
    assert pads.parts == ("piano",)  # the pads style has no bass and no drums
    assert notes_of(pads, 8) == comp_notes(pads.harmony, 0.0, 32.0, 60)


def test_the_swing_ratio_falls_with_the_tempo():
    ratios = [swing_ratio(bpm) for bpm in (60, 120, 160, 200, 240, 300, 400)]
    assert ratios == sorted(ratios, reverse=True)
    assert ratios[0] == pytest.approx(2.3 / 3.3) and ratios[-1] == pytest.approx(1.15 / 2.15)
    assert swung(1.5, 0.6) == pytest.approx(1.6) and swung(1.0, 0.6) == 1.0 and swung(1 + 2 / 3, 0.6) == 1 + 2 / 3


def test_a_style_in_another_meter_than_the_harmony_is_an_error():
    with pytest.raises(ValueError, match="waltz.*3/4"):
        RhythmSection(style("waltz"), Progression("| C |", 4), np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown style 'polka'"):
        style("polka")


def test_a_restart_makes_its_bar_again_from_the_beat_on():
    section = band("swing", humanize_ms=0.0)
    whole = notes_of(section, 4)
    section.restart(9.0)  # a song position in bar 3
    again = section.notes_until(16, 120.0)
    assert again and min(n.onset for _, n in again) >= 9.0 - 1e-9
    assert max(n.onset for _, n in again) > 12 and len(whole) > len(again)
