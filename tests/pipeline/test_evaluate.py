"""The quality report: its statistics on sequences built to have a known answer, and on real models."""

from __future__ import annotations

import json
import math

import pytest
from helpers import METHENY_MODEL, ROOT, jazzd

from jazzd.pipeline.collection import collect
from jazzd.core.harmony import chord_from_symbol
from jazzd.pipeline.evaluate import (distinct_ngram_ratio, format_quality_report, groove_similarity, longest_copied_run,
                                     longest_loop, longest_repeat_run, mingus_tones, onset_class, pitch_class_entropy,
                                     quality_report, solo_statistics, total_variation, type_shares)
from jazzd.core.modeldir import load_model


def test_longest_repeat_run():
    assert longest_repeat_run([]) == 0
    assert longest_repeat_run(list("abc")) == 1
    assert longest_repeat_run(list("abbbcbb")) == 3
    assert longest_repeat_run(["x"] * 9 + ["y"]) == 9


def test_distinct_ngram_ratio():
    assert distinct_ngram_ratio(list("abcdefg")) == 1.0  # 4 distinct 4-grams of 4
    assert distinct_ngram_ratio(["a"] * 10) == pytest.approx(1 / 7)  # 7 4-grams, one distinct
    assert math.isnan(distinct_ngram_ratio(list("abc")))


def test_longest_copied_run_respects_run_boundaries():
    runs = [list("abcdef"), list("xyz")]
    assert longest_copied_run(list("qqcdeq"), runs) == 3  # c d e
    assert longest_copied_run(list("efxy"), runs) == 2  # "ef" ends one run, "xy" starts the next: not one copy
    assert longest_copied_run(list("qqq"), runs) == 0
    assert longest_copied_run(list("abcdef"), runs) == 6


def test_type_shares_ignore_rests():
    shares = type_shares(["C", "C", "S", "R", "A"])
    assert shares == pytest.approx({"C": 50.0, "S": 25.0, "A": 25.0, "X": 0.0})


def test_a_loop_of_any_period_is_found():
    course_loop = ["R,0.250", "C,0.500"] + ["R,0.500", "C,0.500,<m3,m-3>"] * 12  # temperature 0 of the old model
    loop = longest_loop(course_loop)
    assert loop["period"] == 2 and loop["length"] == 24
    phrase = [f"v{i}" for i in range(10)]
    assert longest_loop(["a", "b"] + phrase * 3)["period"] == 10  # a 10-value phrase, three times
    assert longest_loop(["a", "b"] + phrase + ["x"] + phrase)["length"] == 0  # not at once: no loop
    assert longest_loop(list("abcdefghij") * 1 + list("klmnop"))["length"] == 0
    assert longest_loop(["a"] * 15)["length"] == 0 and longest_loop(["a"] * 16)["length"] == 16


def test_onset_classes():
    assert [onset_class(x) for x in (0, 2.0, 1.5, 0.25, 3.75, 1 / 3, 2 + 2 / 3, 0.1, 0.52)] == [
        "eighth", "eighth", "eighth", "sixteenth", "sixteenth", "triplet", "triplet", "finer", "eighth"]


def test_mingus_tones_and_scale():
    tones, scale = mingus_tones(chord_from_symbol("Dm7"))
    assert tones == {2, 5, 9, 0} and scale == {2, 5, 9, 0} | {2, 4, 6, 7, 9, 11, 1}
    tones, _ = mingus_tones(chord_from_symbol("C"))
    assert tones == {0, 4, 7, 11}  # music21's "add 7" on a triad is the major seventh


def test_pitch_class_entropy_and_groove_similarity():
    assert pitch_class_entropy([list(range(60, 72))], 1) == pytest.approx(math.log2(12))
    assert pitch_class_entropy([[60, 72, 48]] * 4, 4) == 0.0
    assert pitch_class_entropy([[60], [62], [64], [65]], 4) == pytest.approx(2.0)  # one window of 4 pcs
    assert pitch_class_entropy([[60], [62], [64], [65]], 1) == 0.0
    assert groove_similarity([[0, 1, 2, 3]] * 5, 4.0) == 1.0
    assert groove_similarity([[0, 1], [2, 3]], 4.0) == pytest.approx(1 - 4 / 64)
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 1.0, "b": 0.0}) == 0.5


def test_phrasing_counts_phrases_rests_and_silent_bars():
    from jazzd.pipeline.evaluate import phrasing

    # bar 1: a phrase of 2.5 beats; a 1.5-beat rest; a note from beat 4 held into bar 3; bar 4 silent; a note in
    # bar 5; bars 6-8 silent
    notes = [(0.0, 1.0), (1.0, 2.5), (4.0, 9.0), (16.0, 16.5)]
    p = phrasing(notes, 8, 4.0)
    assert p["phrases"] == [2.5, 5.0, 0.5] and p["rests"] == [1.5, 7.0]
    assert p["silent_bars"] == 4  # bars 4, 6, 7 and 8; bar 3 holds the note begun in bar 2
    assert p["windows"] == 2 and p["silent_windows"] == 2
    assert phrasing([(0.0, 0.5), (1.25, 2.0)], 1, 4.0)["rests"] == []  # 0.75 beat: within a phrase


def test_statistics_of_a_solo():
    dm7 = chord_from_symbol("Dm7")
    notes = [(0.0, 62, dm7, 0.0), (0.5, 65, dm7, 0.5), (1.25, 64, dm7, 1.25), (4 + 1 / 3, 60, dm7, 1 / 3)]
    stats = solo_statistics(notes, 2, 4.0)
    assert stats["notes_per_bar"] == 2 and stats["range"] == 5 and stats["intervals"] == [3, 1, 4]
    assert stats["onsets"] == {"eighth": 2, "sixteenth": 1, "triplet": 1}
    assert stats["chord_tones"] == 3 and stats["scale_tones"] == 4  # E is D major's, not Dm7's


@pytest.fixture(scope="module")
def metheny_pieces():
    return collect([ROOT / "data" / "metheny_guitar.toml"], progress=False).pieces


def test_report_of_the_metheny_model_on_its_corpus(metheny_pieces):
    model = load_model(METHENY_MODEL)
    report = quality_report(model, metheny_pieces, count=1, bars=16, seed=3)
    p, s = report["prediction"], report["solos"]
    assert p["bars"] > 0 and p["bars_left_out"] == 0  # its own corpus: every value known
    for name in ("lstm", "unigram", "bigram", "trigram"):
        assert p[name]["loss"] > 0 and p[name]["perplexity"] == pytest.approx(math.exp(p[name]["loss"]))
        assert 0 < p[name]["per_note"] < 10 and p[name]["notes"] > 0
    assert p["unigram"]["loss"] >= min(p["bigram"]["loss"], p["trigram"]["loss"])
    assert s["solos"] == 1 and s["values"] > 16
    for side in (s["real"], s["generated"]):
        assert sum(side["onsets"].values()) == pytest.approx(1.0)
        assert 0 < side["notes_per_bar"] and 0 <= side["chord_tones"] <= side["scale_tones"] <= 100
    assert 0 <= s["onset_tvd"] <= 1
    assert all(met is None for met in report["goals"].values())  # 34 held-out bars: under 200, no verdict
    again = quality_report(model, metheny_pieces, count=1, bars=16, seed=3)["solos"]
    assert again == s  # the same seed, the same solos
    text = format_quality_report(report)
    assert "nats/note" in text and "H4 (bits)" in text and "not judged" in text and "timing players" in text


def test_generated_onsets_fall_where_the_timing_puts_them(metheny_pieces):
    from jazzd.pipeline.evaluate import first_bars, generated_solo

    model = load_model(ROOT / "models" / "default")
    measures = first_bars(metheny_pieces[0], 16)
    grid, _ = generated_solo(model, measures, 5, 1.0, 0.9, 52, 81, timing="grid")
    players, values = generated_solo(model, measures, 5, 1.0, 0.9, 52, 81, timing="players")
    assert grid["notes"] == players["notes"] > 30  # the same notes, only their onsets moved
    assert grid["onsets"]["finer"] == 0  # the grammar's grid: 16ths and triplets only
    assert players["onsets"]["finer"] > 0 and players["onsets"] != grid["onsets"]


def test_a_foreign_corpus_leaves_out_bars_with_unknown_values():
    from helpers import SHARED


    pieces = collect([SHARED / "data" / "wjazzd" / "ArtPepper_Anthropology_001.mid"], progress=False).pieces
    from jazzd.pipeline.evaluate import every_bar

    model = load_model(METHENY_MODEL)
    own = collect([ROOT / "data" / "metheny_guitar.toml"], progress=False).pieces
    report = quality_report(model, pieces, training_pieces=own, count=1, bars=8)
    p = report["prediction"]
    held_out = every_bar(pieces, model.Tx, False)  # a corpus the model never saw: every bar is held out
    unknown = [h for h in held_out if any(v not in model.vocab.index for v in (*h.context, *h.target))]
    assert p["bars_left_out"] == len(unknown) > 0  # a clarinet solo has values a guitar part never played
    assert p["bars"] == len(held_out) - len(unknown)
    assert "every bar of another corpus" in report["held_out"]


def test_evaluate_cli_prints_the_tables_for_the_models_own_corpus():
    # models/metheny names its corpus (data/metheny_guitar.toml) in its metadata
    done = jazzd("evaluate", METHENY_MODEL, "--bars", "16", "--solos", "1", timeout=300)
    assert done.returncode == 0, done.stderr
    metadata = json.loads((METHENY_MODEL / "metadata.json").read_text())
    assert f"n_values = {metadata['n_values']}" in done.stdout
    for line in ("loss/value", "bigram", "nats/note", "chord tones % (MINGUS)", "onsets: eighth/16th/triplet/finer %",
                 "longest run copied from the training bars"):
        assert line in done.stdout


def test_evaluate_cli_errors_are_one_line(tmp_path):
    done = jazzd("evaluate", tmp_path / "nope")
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "nope: no such model directory" in done.stderr


def test_temperature_zero_plays_no_loop_over_held_out_solos():
    """The course's argmax fell into a two-value loop; at temperature 0 the bundled model, over the chords of
    three solos it never trained on, plays 32 bars each in which evaluate's loop check finds none."""
    from helpers import DEFAULT_MODEL, WJAZZD

    from jazzd.pipeline.evaluate import solo_report

    model = load_model(DEFAULT_MODEL)
    names = model.metadata["split"]["held_out_solos"][:3]
    pieces = collect([WJAZZD / name for name in names], progress=False).pieces
    report = solo_report(model, pieces, [], count=3, bars=32, temperature=0.0)
    assert report["solos"] == 3 and report["values"] > 3 * 32
    assert report["longest_loop"]["length"] == 0, report["longest_loop"]


def test_the_band_over_held_out_chords_is_judged_against_the_corpus_of_its_bass_model():
    """band_report on three Weimar solos with the bundled bass: every figure measured, beside the corpus's, each
    goal judged, the piano's voicings led; and the report prints them."""
    from jazzd.core.band.bass import BassChoice
    from jazzd.pipeline.evaluate import band_report, format_band_report
    from helpers import WJAZZD

    pieces = collect([WJAZZD / n for n in ("ArtPepper_Anthropology_001.mid", "ArtPepper_BluesForBlanche_002.mid",
                                           "ArtPepper_InAMellowTone_004.mid")], workers=1, progress=None,
                     report=lambda line: None).pieces
    choice = BassChoice.load(ROOT / "models" / "bass")
    report = band_report(choice, pieces, count=3, bars=16, seed=0)
    assert report["solos"] == 3 and report["corpus"] == choice.corpus["figures"]["walking"]
    gen = report["generated"]
    assert all(not math.isnan(v) for k, v in gen.items() if k != "range")  # 16 bars: no whole 32-bar stretch
    assert 20 < gen["roots"] < 80 and 1.5 < gen["mean_interval"] < 6
    assert 0 < report["voice_movement"] <= 3.0 and report["voicings"] > 40
    assert len(report["goals"]) == 7 and report["goals"]["piano: voicings move at most 3 semitones a voice on average"]
    again = band_report(choice, pieces, count=3, bars=16, seed=0)
    assert again["generated"] == gen  # one seed, one band
    text = "\n".join(format_band_report(report))
    assert "corpus (walking)" in text and "[met] piano" in text and "moves of 1 semitone %" in text
