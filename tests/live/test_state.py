"""The state file: a round trip continues the same solo; a file that does not fit is set aside, never a crash."""

import json

import pytest

from helpers import DEFAULT_MODEL, jazzd
from jazzd.core.improviser import Improviser
from jazzd.core.modeldir import load_model
from jazzd.core.solo import GENERATORS, seeded_generators
from jazzd.live.state import load_state, model_digest, restore_generators, save_state


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def saved(tmp_path, loaded, **changes):
    """A valid state file for the bundled model, with some fields changed (None removes a field)."""
    path = tmp_path / "state.json"
    generators = seeded_generators(4)
    imp = Improviser(loaded.weights, loaded.vocab, 1.0, generators["sampling"])
    [imp.next_value() for _ in range(5)]
    save_state(path, model_digest(DEFAULT_MODEL), imp, generators, beat=37.5, previous=64, horizon=38.0)
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path.write_text(json.dumps(data))
    return path


def load(path, model):
    return load_state(path, model_digest(DEFAULT_MODEL), (1, model.n_a), model.n_values, GENERATORS)


def test_state_round_trip_continues_the_same_solo(tmp_path, model):
    digest = model_digest(DEFAULT_MODEL)
    generators = seeded_generators(4)
    imp = Improviser(model.weights, model.vocab, 1.0, generators["sampling"])
    [imp.next_value() for _ in range(40)]
    save_state(tmp_path / "state.json", digest, imp, generators, beat=37.5, previous=64)
    expected = [imp.next_value() for _ in range(30)]

    state, why, warn = load(tmp_path / "state.json", model)
    assert state is not None and "resumed" in why and not warn
    assert state.beat == 37.5 and state.previous == 64
    fresh = seeded_generators(None)
    restore_generators(fresh, state.rng)
    again = Improviser(model.weights, model.vocab, 1.0, fresh["sampling"])
    again.a, again.c, again.last = state.a, state.c, state.last
    assert [again.next_value() for _ in range(30)] == expected
    assert json.loads(json.dumps(seeded_generators(1)["feel"].bit_generator.state))  # JSON-able, no pickle


BAD = [
    ("a JSON list", "[1, 2, 3]", "must hold a JSON object"),
    ("not JSON", "{not json", "Expecting property name"),
    ("empty", "", "Expecting value"),
    ("binary", "\udcff", "codec"),
]


@pytest.mark.parametrize("name, text, fragment", BAD)
def test_a_file_that_is_no_state_is_set_aside(tmp_path, model, name, text, fragment):
    path = tmp_path / "state.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    state, why, warn = load(path, model)
    assert state is None and warn and fragment in why and "starting fresh" in why
    assert not path.exists()
    [aside] = tmp_path.glob("state.json.rejected-*")
    assert aside.read_bytes() == text.encode("utf-8", "surrogateescape") and aside.name in why


@pytest.mark.parametrize("changes, field", [
    ({"beat": 1e12}, "beat"), ({"beat": -1}, "beat"), ({"beat": "12"}, "beat"), ({"beat": None}, "beat"),
    ({"horizon": "x"}, "horizon"), ({"horizon": 5000.0}, "horizon"),
    ({"a": [0.1] * 3}, "a"), ({"c": ["x"] * 64}, "c"), ({"a": None}, "a"),
    ({"last": 99999}, "last"), ({"last": "3"}, "last"),
    ({"previous": 128}, "previous"), ({"previous": -5}, "previous"), ({"previous": 60.5}, "previous"),
    ({"rng": {"sampling": "garbage"}}, "rng.sampling"), ({"rng": []}, "rng"),
    ({"rng": {"sampling": {"bit_generator": "PCG64", "state": {}}, "realization": {}, "feel": {}}}, "rng.sampling"),
    ({"format": 7}, "format"), ({"model": "0" * 64}, "model"),
])
def test_every_field_that_does_not_fit_is_named(tmp_path, model, changes, field):
    path = saved(tmp_path, model, **changes)
    state, why, warn = load(path, model)
    assert state is None and warn and field in why, why
    assert "\n" not in why and not path.exists() and list(tmp_path.glob("state.json.rejected-*"))


def test_a_playhead_of_0_and_of_1000_beats_resume(tmp_path, model):
    for beat in (0, 1000):
        path = saved(tmp_path, model, beat=beat, horizon=beat)
        state, why, warn = load(path, model)
        assert state is not None and state.beat == beat, why


@pytest.mark.e2e
@pytest.mark.parametrize("changes", [{"beat": "later"}, {"rng": {"sampling": 5}}, {"previous": 0}, {"beat": 1000},
                                     {"horizon": "soon"}])
def test_jazzd_run_with_a_bad_state_file_warns_starts_fresh_and_keeps_the_file(tmp_path, model, changes):
    path = saved(tmp_path, model, **changes)
    before = path.read_bytes()
    result = jazzd("run", "--output", tmp_path / "x.mid", "--bars", "1", "--bpm", "1000", "--state", path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    resumed = "resumed" in result.stderr
    if not resumed:
        assert "WARNING" in result.stderr and "starting fresh" in result.stderr
        [aside] = tmp_path.glob("state.json.rejected-*")
        assert aside.read_bytes() == before
    assert json.loads(path.read_text())["format"] == 1  # a new, good state file was saved
