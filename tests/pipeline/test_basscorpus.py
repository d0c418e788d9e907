"""The walking-bass corpus and its fit (jazzd.pipeline.basscorpus, bassfit): beat tracks read beside the WJazzD MIDI
files' chords, the figures a line is judged by, and a fit that learns what the lines do.

The beat tracks themselves (jazz_transformer's mcsv_beat) are not on a test machine: these tests write beat tracks
of their own, beside real WJazzD MIDI files of ../shared (linked, never copied into the project).
"""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from helpers import WJAZZD, jazzd
from jazzd.core.band.bass import BassChoice, BassContext, bass_pitch_class
from jazzd.errors import CorpusError
from jazzd.pipeline.basscorpus import BassBeat, figures, line_counts, load_corpus
from jazzd.pipeline.bassfit import contexts, train_bass
from jazzd.core.harmony import chord_from_symbol

FILES = ("ArtPepper_Anthropology_001.mid", "ArtPepper_BluesForBlanche_002.mid", "ArtPepper_InAMellowTone_004.mid")


def manifest_rows():
    with open(WJAZZD / "manifest.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if row["file"] in FILES]


def corpus(tmp_path, bass, rows=None, columns=True):
    """A MIDI folder (links to real WJazzD files, a manifest of them) and beat tracks whose bass is bass(k, row
    of the real beat grid)."""
    midi, tracks = tmp_path / "wjazzd", tmp_path / "mcsv_beat"
    midi.mkdir(), tracks.mkdir()
    rows = rows or manifest_rows()
    with open(midi / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    from jazzd.pipeline.basscorpus import _chords_by_beat

    for row in rows:
        os.symlink(WJAZZD / row["file"], midi / row["file"])
        changes, _ = _chords_by_beat(WJAZZD / row["file"])
        n = int(row["n_beats"])
        with open(tracks / f"{row['wjazzd_name']}_FINAL_beattrack.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["onset", "duration", "period", "division", "bar", "beat", "signature", "chord", "form",
                             "chorus_id"] + (["bass"] if columns else []))
            for k in range(n):
                writer.writerow([k * 0.3, 0.3, 4, 1, k // 4, k % 4 + 1, "'4/4'", "C", "A1", 1]
                                + ([bass(k + int(row["pad_beats"]), changes)] if columns else []))
    return tracks, midi


def roots_on_changes(k, changes):
    """A made-up walking line: the chord's root on a change, else a step up from the last change's root."""
    from jazzd.core.harmony import chord_from_figure

    at = [c for c in changes if c[0] <= k]
    if not at or at[-1][1].startswith("N.C"):
        return 40
    root = chord_from_figure(at[-1][1]).root
    return 36 + root + 2 * (k - at[-1][0]) % 5


def test_a_made_up_line_is_read_beside_the_midi_files_chords_and_a_fit_learns_it(tmp_path):
    tracks, midi = corpus(tmp_path, roots_on_changes)
    solos, skipped = load_corpus(tracks, midi)
    assert [s.name for s in solos] == list(FILES) and not skipped
    beats = solos[0].beats
    assert beats[8].bar == 2 and beats[8].position == 0  # pad 0: a beat track's row k is MIDI beat k
    changes = [b for i, b in enumerate(beats) if b.chord and i and beats[i - 1].chord
               and b.chord.symbol != beats[i - 1].chord.symbol]
    assert changes and all(b.pitch % 12 == bass_pitch_class(b.chord) for b in changes if "/" not in b.chord.symbol)
    for solo in solos:  # the fit reads the "SWING" lines; these three are
        assert solo.feel == "SWING"
    choice = train_bass(tracks, midi, tmp_path / "bass", iterations=150, report=lambda line: None)
    loaded = BassChoice.load(tmp_path / "bass")
    assert np.allclose(loaded.weights, choice.weights) and loaded.corpus["corpus"]["walking"] == 3
    assert loaded.corpus["figures"]["walking"]["roots"] > 90  # the made-up lines' own figure
    # the fitted choice puts the root on a change far more often than at random (1 in 12)
    rng = np.random.default_rng(0)
    examples = [c for c in contexts(beats) if c[0].kind == 0][:200]
    hits = np.mean([loaded.choose(ctx, rng) % 12 == bass_pitch_class(ctx.chord) for ctx, _ in examples])
    assert hits > 0.6, hits


def test_the_figures_of_a_line():
    dm7, g7, c = (chord_from_symbol(s) for s in ("Dm7", "G7", "Cmaj7"))
    line = [BassBeat(0, 0, 4, 38, dm7), BassBeat(0, 1, 4, 40, dm7), BassBeat(0, 2, 4, 41, dm7),
            BassBeat(0, 3, 4, 42, dm7), BassBeat(1, 0, 4, 43, g7), BassBeat(1, 1, 4, 47, g7),
            BassBeat(1, 2, 4, None, g7), BassBeat(1, 3, 4, 44, g7), BassBeat(2, 0, 4, 45, c)]
    c = line_counts(line)
    assert (c["changes"], c["roots"]) == (3, 2)  # D on Dm7, G on G7; A on Cmaj7 is not its root
    assert (c["moves"], c["steps"], c["chromatic"]) == (6, 5, 4)  # the gap breaks the line: 44->45 counts, 47->44 not
    assert (c["last_beats"], c["approach"]) == (2, 2)  # F#->G and Ab->A
    f = figures(c)
    assert f["roots"] == pytest.approx(200 / 3) and f["mean_interval"] == pytest.approx((2 + 1 + 1 + 1 + 4 + 1) / 6)
    assert f["range"] != f["range"]  # nan: a line of 3 bars has no whole stretch of 32
    long = [BassBeat(bar, 0, 4, 40 + bar % 5, dm7) for bar in range(40)]
    assert figures(line_counts(long))["range"] == 4  # bars 0-31: 40..44; bars 32-39 are no whole stretch


def test_a_solo_kept_for_independent_evaluation_is_never_read(tmp_path):
    rows = manifest_rows()
    rows[0] = {**rows[0], "melid": "13"}
    tracks, midi = corpus(tmp_path, roots_on_changes, rows)
    with pytest.raises(CorpusError, match="melid 13.*kept for an independent evaluation"):
        load_corpus(tracks, midi)


def test_a_beat_track_without_bass_is_left_out_with_why(tmp_path):
    tracks, midi = corpus(tmp_path, roots_on_changes, columns=False)
    solos, skipped = load_corpus(tracks, midi)
    assert not solos and len(skipped) == 3 and all("no bass column" in line for line in skipped)
    result = jazzd("train-bass", tracks, "--corpus", midi, "--out", tmp_path / "bass")
    assert result.returncode == 1 and result.stderr.strip().endswith("no walking bass line to fit"), result.stderr


def test_a_bass_model_that_is_missing_is_one_line(tmp_path):
    from helpers import one_line_error

    config = tmp_path / "config.toml"
    config.write_text(f'[band]\nbass_model = "{tmp_path / "nothing"}"\n')
    one_line_error(jazzd("generate", "--config", config, "--bars", "1", "-o", tmp_path / "x.mid"), 1,
                   "no bass model here (weights.npz missing)")
    assert BassContext  # the context type the fit and the live bass share
