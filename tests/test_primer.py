"""`jazzd generate --primer FILE.mid` (jazzd.primer): a played phrase continued, its notes unchanged at the start of
the melody track, the LSTM primed on it; on a corpus file and on a take of `jazzd run --output`."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from helpers import DEFAULT_MODEL, WJAZZD, jazzd, one_line_error

SOLO = WJAZZD / "ArtPepper_Anthropology_001.mid"


def note_list(path, channel=None, track_name=None):
    """(onset ticks, end ticks, MIDI note, velocity) of every note of a file (one track or channel), by onset."""
    midi = mido.MidiFile(str(path))
    notes, sounding = [], {}
    for track in midi.tracks:
        if track_name is not None and track.name != track_name:
            continue
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off") or (channel is not None and msg.channel != channel):
                continue
            key = (msg.channel, msg.note)
            if key in sounding:
                on, velocity = sounding.pop(key)
                notes.append((on, tick, msg.note, velocity))
            if msg.type == "note_on" and msg.velocity:
                sounding[key] = (tick, msg.velocity)
    return sorted(notes), midi.ticks_per_beat


def melody_of(path, bars):
    """The output's Melody track in beats: (onset, end, note, velocity), split at a bar line (4/4)."""
    notes, tpb = note_list(path, track_name="Melody")
    inside = [(on / tpb, off / tpb, p, v) for on, off, p, v in notes]
    return [n for n in inside if n[0] < bars * 4 - 1e-9], [n for n in inside if n[0] >= bars * 4 - 1e-9]


def test_a_corpus_solo_opens_the_melody_unchanged_and_the_solo_goes_on_from_the_next_bar(tmp_path):
    out = tmp_path / "continued.mid"
    result = jazzd("generate", "--primer", SOLO, "--primer-bars", 4, "--bars", 12, "--seed", 5, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "the solo goes on from bar 5" in result.stdout
    primer, continuation = melody_of(out, 4)
    # the source's own notes, read here with mido: the solo's first four bars from its first note's bar line
    source, tpb = note_list(SOLO, track_name="Solo")
    first_bar = source[0][0] // (4 * tpb) * 4 * tpb
    played = [((on - first_bar) / tpb, (off - first_bar) / tpb, p, v) for on, off, p, v in source
              if on - first_bar < 16 * tpb]
    # the same onsets, notes and velocities, to the output's resolution (1/480 beat)
    assert [(n[0], n[2], n[3]) for n in primer] == pytest.approx([(n[0], n[2], n[3]) for n in played],
                                                                 abs=1 / 480)
    for (_, end, _, _), (_, played_end, _, _), following in zip(primer, played, primer[1:] + [None]):
        # each as long as played, or up to the next onset (one line), or to the primer's last bar line
        assert end == pytest.approx(min(played_end, following[0] if following else 16.0), abs=1 / 480)
    assert continuation and continuation[0][0] >= 16.0 - 1e-9
    assert max(n[0] for n in continuation) < 48.0


def test_the_primer_changes_what_follows(tmp_path):
    """The LSTM is primed on the phrase: the same seed's continuation differs from the solo without a primer."""
    with_primer, without = tmp_path / "a.mid", tmp_path / "b.mid"
    assert jazzd("generate", "--primer", SOLO, "--primer-bars", 4, "--bars", 12, "--seed", 5,
                 "-o", with_primer).returncode == 0
    assert jazzd("generate", "--bars", 12, "--seed", 5, "-o", without).returncode == 0
    after_primer = [n[2] for n in melody_of(with_primer, 4)[1]]
    alone = [n[2] for n in melody_of(without, 4)[1]]
    assert after_primer and alone and after_primer != alone


def test_priming_feeds_the_phrases_values_and_leaves_the_soloist_on_its_last_pitch(tmp_path):
    from jazzd.config import load_config
    from jazzd.core.modeldir import load_model
    from jazzd.core.solo import from_config
    from jazzd.primer import prime_soloist, read_primer

    (tmp_path / "config.toml").write_text(f'[model]\npath = "{DEFAULT_MODEL}"\n')
    config = load_config(tmp_path / "config.toml")
    model = load_model(DEFAULT_MODEL)
    _, soloist, _, _ = from_config(config, model, 1, live=False)
    primer = read_primer(SOLO, 4, max_bars=4)
    a_before = soloist.improviser.a.copy()
    fed = prime_soloist(soloist, primer)
    assert fed >= len(primer.notes)  # a value a note at least, and the rests
    assert not np.allclose(soloist.improviser.a, a_before)
    assert soloist.horizon == 16.0 and soloist.previous == primer.notes[-1].pitch


@pytest.mark.e2e
def test_a_take_of_jazzd_run_is_continued(tmp_path):
    take, out = tmp_path / "take.mid", tmp_path / "more.mid"
    run = jazzd("run", "--output", take, "--bars", 4, "--bpm", 240, "--seed", 2, "--input", "off")
    assert run.returncode == 0, run.stderr
    result = jazzd("generate", "--primer", take, "--bars", 8, "--seed", 1, "-o", out)
    assert result.returncode == 0, result.stderr
    primer, continuation = melody_of(out, 4)
    solo, tpb = note_list(take, channel=0)  # the take's solo, channel 1
    assert [(n[0], n[2], n[3]) for n in primer] == pytest.approx(
        [(on / tpb, p, v) for on, _, p, v in solo if on < 16 * tpb], abs=1 / 480)
    assert continuation


def test_a_primer_that_is_no_midi_file_or_fills_every_bar_is_one_line(tmp_path):
    text = tmp_path / "phrase.mid"
    text.write_text("not midi")
    one_line_error(jazzd("generate", "--primer", text, "-o", tmp_path / "x.mid"), 1, str(text), "not a readable MIDI")
    one_line_error(jazzd("generate", "--primer", tmp_path / "phrase.txt", "-o", tmp_path / "x.mid"), 2,
                   "--primer", "must end in .mid")
    one_line_error(jazzd("generate", "--primer", SOLO, "--primer-bars", 4, "--bars", 4, "-o", tmp_path / "x.mid"),
                   1, "the primer fills 4 bars")
