"""The quality report: its statistics on sequences built to have a known answer, and on real models."""

from __future__ import annotations

import json
import math

import pytest
from helpers import METHENY_MODEL, ROOT, jazzd

from jazzd.pipeline.collection import collect
from jazzd.pipeline.evaluate import (distinct_ngram_ratio, format_quality_report, longest_copied_run, longest_repeat_run,
                            quality_report, type_shares)
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


@pytest.fixture(scope="module")
def metheny_pieces():
    return collect([ROOT / "data" / "metheny_guitar.toml"], progress=False).pieces


def test_report_of_the_metheny_model_on_its_corpus(metheny_pieces):
    model = load_model(METHENY_MODEL)
    report = quality_report(model, metheny_pieces, bars=16, seed=3)
    p, g = report["prediction"], report["generation"]
    assert p["bars"] > 0 and p["bars_left_out"] == 0  # its own corpus: every value known
    for name in ("lstm", "unigram", "bigram", "trigram"):
        assert p[name]["loss"] > 0 and p[name]["perplexity"] == pytest.approx(math.exp(p[name]["loss"]))
    # Fitted on the same split, smoothing can only help a higher order on its own training data:
    # the unigram is the weakest baseline on the held-out bars of this corpus.
    assert p["unigram"]["loss"] >= min(p["bigram"]["loss"], p["trigram"]["loss"])
    assert g["values"] > 16 and g["notes"] > 0
    for shares in g["types"].values():
        assert sum(shares.values()) == pytest.approx(100.0)
    assert 1 <= g["longest_repeat_run"] <= g["values"]
    assert 0 < g["distinct_4gram_ratio"] <= 1
    assert 0 <= g["longest_copied_run"] <= g["values"]
    # Same seed, same report; another seed, other bars.
    again = quality_report(model, metheny_pieces, bars=16, seed=3)["generation"]
    assert again == g
    text = format_quality_report(report)
    assert "lstm" in text and "trigram" in text and "longest run copied from the corpus" in text


def test_a_foreign_corpus_leaves_out_bars_with_unknown_values():
    from helpers import SHARED

    from jazzd.pipeline.dataset import split

    pieces = collect([SHARED / "data" / "wjazzd" / "ArtPepper_Anthropology_001.mid"], progress=False).pieces
    model = load_model(METHENY_MODEL)
    report = quality_report(model, pieces, bars=4)
    p = report["prediction"]
    held_out = split(pieces, model.Tx).held_out
    unknown = [h for h in held_out if any(v not in model.vocab.index for v in (*h.context, *h.target))]
    assert p["bars_left_out"] == len(unknown) > 0  # a clarinet solo has values a guitar part never played
    assert p["bars"] == len(held_out) - len(unknown)


def test_evaluate_cli_prints_the_tables_for_the_models_own_corpus():
    # models/metheny names its corpus (data/metheny_guitar.toml) in its metadata
    done = jazzd("evaluate", METHENY_MODEL, "--bars", "16", timeout=300)
    assert done.returncode == 0, done.stderr
    metadata = json.loads((METHENY_MODEL / "metadata.json").read_text())
    assert f"n_values = {metadata['n_values']}" in done.stdout
    for line in ("loss/value", "bigram", "chord tone", "distinct 4-gram ratio", "longest repeated-value run"):
        assert line in done.stdout


def test_evaluate_cli_errors_are_one_line(tmp_path):
    done = jazzd("evaluate", tmp_path / "nope")
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "nope: no such model directory" in done.stderr
