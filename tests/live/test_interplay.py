"""The input modes on beats, without ports: a scripted player and playhead."""

import pytest

from jazzd.core.harmony import Progression
from jazzd.live.interplay import Answer, Heard, Interplay, Interrupt, Prime
from jazzd.live.phrase import Phrase, quantize
from jazzd.core.grammar import Value

PROG = Progression("| Cmaj7 | Dm7 | G7 | Cmaj7 |")


def play(interplay, notes, step=0.05, until=None):
    """Play (onset, duration, pitch) notes, advancing the playhead in small steps; collect actions."""
    events = []
    for onset, duration, pitch in notes:
        events.append((onset, "on", pitch))
        events.append((onset + duration, "off", pitch))
    events.sort(key=lambda e: (e[0], e[1] == "on"))
    end = until if until is not None else max(e[0] for e in events) + 12
    actions, beat, i = [], 0.0, 0
    while beat <= end:
        while i < len(events) and events[i][0] <= beat:
            t, kind, pitch = events[i]
            (interplay.note_on if kind == "on" else interplay.note_off)(t, pitch)
            i += 1
        actions += [(round(beat, 2), a) for a in interplay.advance(beat)]
        beat += step
    return actions


def test_quantize_to_the_corpus_grid():
    assert quantize(1.02) == 1 and quantize(1.3) == pytest.approx(4 / 3) and quantize(0.49) == 0.5
    assert float(quantize(2.76)) == 2.75


def test_quantize_rounds_as_the_corpus_does():
    """The player's notes and the corpus's land on the same grid point, ties included (the earlier point)."""
    from fractions import Fraction

    import numpy as np

    from jazzd.pipeline.corpus import snap_to_grid
    from jazzd.core.grammar import MelodyNote

    points = sorted({Fraction(k, 4) for k in range(13)} | {Fraction(k, 3) for k in range(10)})
    ties = [float((a + b) / 2) for a, b in zip(points, points[1:])]  # halfway between neighbours
    beats = ties + list(np.random.default_rng(5).uniform(0, 3, 500))
    for beat in beats:
        corpus = snap_to_grid([MelodyNote(beat, 0.25, 60)], end=8.0)[0].offset
        assert quantize(beat) == Fraction(corpus).limit_denominator(12), beat
    assert quantize(0.875) == Fraction(3, 4)  # round-half-even once gave 1


def test_phrase_values_use_the_corpus_grammar():
    phrase = Phrase(4)
    for onset, pitch in ((0.0, 60), (1.0, 64), (2.01, 67), (2.98, 69)):
        phrase.note_on(onset, pitch)
        phrase.note_off(onset + 0.5, pitch)
    [values] = phrase.values(0, 0, PROG, until=4.0)
    parsed = [Value.parse(v) for v in values]
    assert [v.kind for v in parsed] == ["C", "R", "C", "R", "C", "R", "S", "R"]  # A is a scale tone of Cmaj7
    assert [v.duration for v in parsed] == [0.5] * 8
    assert [v.upper - 3 for v in parsed if v.has_bounds] == [4, 3, 2]


def test_prime_reports_a_player_who_never_stops_in_parts_of_a_bounded_size():
    from jazzd.live.interplay import HEARD_MAX_BARS

    interplay = Interplay("prime", PROG, lookahead=1.0)
    bars = 5 * HEARD_MAX_BARS
    notes = [(b * 4 + i, 0.9, 60 + (b + i) % 12) for b in range(bars) for i in range(4)]  # every beat, no rest
    actions = play(interplay, notes, step=0.25)
    heard = [a for _, a in actions if isinstance(a, Heard)]
    primes = [a for _, a in actions if isinstance(a, Prime)]
    assert len(primes) == bars  # every bar primes, as before
    assert [(h.first_bar, h.last_bar) for h in heard] == [(k * HEARD_MAX_BARS, (k + 1) * HEARD_MAX_BARS - 1)
                                                          for k in range(5)]
    assert all(h.notes == 4 * HEARD_MAX_BARS for h in heard)
    assert sum(len(h.values) for h in heard) == sum(len(p.values) for p in primes)  # every value said once


def test_off_ignores_the_player():
    interplay = Interplay("off", PROG)
    assert play(interplay, [(0, 1, 60), (1, 1, 62)]) == []
    assert interplay.playing(3.0)


def test_prime_primes_each_bar_a_fixed_delay_later():
    interplay = Interplay("prime", PROG, lookahead=1.0)
    actions = play(interplay, [(4.0, 1, 62), (5.0, 1, 65), (8.0, 2, 67)])
    primes = [a for _, a in actions if isinstance(a, Prime)]
    assert [p.at_beat for p in primes] == [12.0, 16.0]  # bar 2 -> bar 4, bar 3 -> bar 5
    # each prime is decided well before the improviser reaches it (horizon = playhead + lookahead)
    for decided, prime in actions:
        if isinstance(prime, Prime):
            assert decided + 1.0 < prime.at_beat
    # the phrase (bars 2-3, 0-based 1-2) is reported once, when a bar without notes ends it
    heard = [a for _, a in actions if isinstance(a, Heard)]
    assert heard == [Heard(1, 2, 3, primes[0].values + primes[1].values, 12.0)]
    assert [type(a).__name__ for _, a in actions] == ["Prime", "Prime", "Heard"]
    assert Value.parse(primes[0].values[0]).kind == "C"  # D over Dm7
    assert interplay.playing(9.0)


def test_trade_answers_on_the_bar_line_after_a_four_bar_phrase():
    interplay = Interplay("trade", PROG, lookahead=1.0, trade_bars=4)
    assert not interplay.playing(0.0)
    notes = [(4.0 + b * 4 + i, 0.9, 60 + i) for b in range(4) for i in range(4)]  # bars 2-5, every beat
    actions = play(interplay, notes, until=30)
    kinds = [type(a).__name__ for _, a in actions]
    assert kinds == ["Prime", "Answer"]
    (decided, prime), (_, answer) = actions
    assert answer == Answer(20.0, 36.0, 63)  # bars 6-9: from the bar line after the phrase, four bars
    assert prime.at_beat == 20.0 and decided >= 19.0  # decided a lookahead before the bar line
    assert interplay.playing(20.0) and interplay.playing(35.9) and not interplay.playing(36.0)


def test_trade_short_phrase_ends_by_silence():
    interplay = Interplay("trade", PROG, lookahead=1.0, phrase_end_beats=2)
    actions = play(interplay, [(4.0, 0.5, 60), (5.0, 0.5, 62)], until=20)
    answer = [a for _, a in actions if isinstance(a, Answer)][0]
    decided = [t for t, a in actions if isinstance(a, Answer)][0]
    assert decided == pytest.approx(7.5, abs=0.06)  # 2 beats after the last note-off at 5.5
    assert (answer.start, answer.end) == (8.0, 12.0)  # the next bar line, for the one bar played


def test_answer_bars_and_interrupt():
    interplay = Interplay("trade", PROG, lookahead=1.0, answer_bars=2, interrupt=True)
    actions = play(interplay, [(0.0, 0.5, 60), (9.3, 0.5, 65)], until=20)
    answer = next(a for _, a in actions if isinstance(a, Answer))
    assert (answer.start, answer.end) == (4.0, 12.0)
    interrupt = next(a for _, a in actions if isinstance(a, Interrupt))
    assert interrupt.at_beat == 10.0  # the next beat after the player's note
    assert not interplay.playing(10.5)


def test_a_note_during_the_answer_starts_the_next_turn_without_interrupt():
    interplay = Interplay("trade", PROG, lookahead=1.0)
    actions = play(interplay, [(0.0, 0.5, 60), (5.0, 0.5, 62)], until=24)
    answers = [a for _, a in actions if isinstance(a, Answer)]
    assert answers[0] == Answer(4.0, 8.0, 60)
    assert answers[1] == Answer(8.0, 12.0, 62)  # the note in bar 2 was the next phrase: answered right after


def test_unknown_mode():
    with pytest.raises(ValueError, match="unknown input mode"):
        Interplay("jam", PROG)
