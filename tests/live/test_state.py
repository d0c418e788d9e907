import json


from helpers import DEFAULT_MODEL
from jazzd.core.improviser import Improviser
from jazzd.core.modeldir import load_model
from jazzd.core.solo import seeded_generators
from jazzd.live.state import load_state, model_digest, restore_generators, save_state


def test_state_round_trip_continues_the_same_solo(tmp_path):
    model = load_model(DEFAULT_MODEL)
    digest = model_digest(DEFAULT_MODEL)
    generators = seeded_generators(4)
    imp = Improviser(model.weights, model.vocab, 1.0, generators["sampling"])
    [imp.next_value() for _ in range(40)]
    save_state(tmp_path / "state.json", digest, imp, generators, beat=37.5, previous=64)
    expected = [imp.next_value() for _ in range(30)]

    state, why = load_state(tmp_path / "state.json", digest, (1, model.n_a))
    assert state is not None and "resumed" in why and state["beat"] == 37.5 and state["previous"] == 64
    fresh = seeded_generators(None)
    restore_generators(fresh, state["rng"])
    again = Improviser(model.weights, model.vocab, 1.0, fresh["sampling"])
    again.a, again.c, again.last = state["a"], state["c"], state["last"]
    assert [again.next_value() for _ in range(30)] == expected


def test_state_for_another_model_or_broken_is_not_used(tmp_path):
    path = tmp_path / "state.json"
    model = load_model(DEFAULT_MODEL)
    imp = Improviser(model.weights, model.vocab)
    save_state(path, "0" * 64, imp, {}, 0.0, None)
    state, why = load_state(path, model_digest(DEFAULT_MODEL), (1, model.n_a))
    assert state is None and "another model" in why
    path.write_text("{not json")
    state, why = load_state(path, "x", (1, model.n_a))
    assert state is None and "unreadable" in why
    state, why = load_state(tmp_path / "none.json", "x", (1, model.n_a))
    assert state is None and "no saved state" in why
    assert json.loads(json.dumps(seeded_generators(1)["feel"].bit_generator.state))  # JSON-able, no pickle
