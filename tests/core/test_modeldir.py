import json
import shutil

import numpy as np
import pytest

from helpers import DEFAULT_MODEL
from jazzd.errors import ModelError
from jazzd.core.modeldir import load_model, save_model


def test_the_bundled_model_loads_without_tensorflow():
    import sys

    model = load_model(DEFAULT_MODEL)
    assert model.n_values == len(model.vocab) == model.metadata["n_values"]
    assert model.n_a == model.metadata["n_a"]
    for key in ("Tx", "corpus", "metrics", "trained", "epochs"):
        assert key in model.metadata
    assert "tensorflow" not in sys.modules or "keras" in sys.modules  # loading alone never imports it


def test_round_trip(tmp_path):
    model = load_model(DEFAULT_MODEL)
    copy = save_model(tmp_path / "copy", model.weights, model.vocab, {"Tx": 30})
    again = load_model(copy)
    assert again.vocab.values == model.vocab.values
    for name, array in model.weights.arrays().items():
        assert np.array_equal(array, again.weights.arrays()[name]), name


@pytest.fixture
def model_copy(tmp_path):
    return shutil.copytree(DEFAULT_MODEL, tmp_path / "m")


def test_missing_directory(tmp_path):
    with pytest.raises(ModelError, match="no such model directory"):
        load_model(tmp_path / "absent")


@pytest.mark.parametrize("name", ["weights.npz", "vocab.json", "metadata.json"])
def test_missing_file_is_named(model_copy, name):
    (model_copy / name).unlink()
    with pytest.raises(ModelError, match=f"missing {name}"):
        load_model(model_copy)


def test_vocabulary_that_does_not_match_the_weights(model_copy):
    path = model_copy / "vocab.json"
    values = json.loads(path.read_text())["values"]
    path.write_text(json.dumps({"values": values[:-1]}))
    with pytest.raises(ModelError, match=rf"vocab.json: {len(values) - 1} values, but the weights expect {len(values)}"):
        load_model(model_copy)


def test_garbage_files(model_copy):
    (model_copy / "weights.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="weights.npz: not a readable weights file"):
        load_model(model_copy)


def test_bad_vocabulary_value(model_copy):
    (model_copy / "vocab.json").write_text(json.dumps({"values": ["Q,1"]}))
    with pytest.raises(ModelError, match="vocab.json: not a jazzd vocabulary"):
        load_model(model_copy)


def test_misshaped_weights(model_copy):
    with np.load(model_copy / "weights.npz") as npz:
        arrays = dict(npz)
    arrays["lstm/bias"] = arrays["lstm/bias"][:-1]
    np.savez(model_copy / "weights.npz", **arrays)
    with pytest.raises(ModelError, match="weights.npz: LSTM weight bias must have shape"):
        load_model(model_copy)


def test_a_stacked_model_round_trips(tmp_path):
    from helpers import random_weights

    model = load_model(DEFAULT_MODEL)
    weights = random_weights(model.n_values, 16, 3)
    loaded = load_model(save_model(tmp_path / "deep", weights, model.vocab, {"Tx": 30}))
    assert loaded.weights.layers == 3 and loaded.metadata["layers"] == 3
    for name, array in weights.arrays().items():
        assert np.allclose(array, loaded.weights.arrays()[name]), name


def test_a_stacked_model_missing_a_layer_weight(tmp_path):
    from helpers import random_weights

    model = load_model(DEFAULT_MODEL)
    arrays = random_weights(model.n_values, 16, 2).arrays()
    del arrays["lstm_1/bias"]
    path = tmp_path / "broken"
    shutil.copytree(DEFAULT_MODEL, path)
    np.savez(path / "weights.npz", **arrays)
    with pytest.raises(ModelError, match="weights.npz: missing weight 'lstm_1/bias'"):
        load_model(path)


def test_the_bundled_models_carry_the_players_timing_and_a_bad_one_is_one_error(model_copy):
    assert np.abs(load_model(DEFAULT_MODEL).timing.quantiles).max() > 0  # the Weimar players' push and lay-back
    assert not load_model(DEFAULT_MODEL.parent / "metheny").timing.quantiles.any()  # the course's file is on the grid
    with np.load(model_copy / "weights.npz") as npz:
        arrays = dict(npz)
    arrays["timing/quantiles"] = arrays["timing/quantiles"][:, ::-1]
    np.savez(model_copy / "weights.npz", **arrays)
    with pytest.raises(ModelError, match="weights.npz: weight 'timing/quantiles': quantiles must not decrease"):
        load_model(model_copy)
