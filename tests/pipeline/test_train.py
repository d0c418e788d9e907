"""Training on the real corpus through the real CLI (a short run), then generating with the result."""

import json

import numpy as np
import pytest

from helpers import SOLO_MANIFEST, jazzd
from jazzd.pipeline.corpus import load_corpus
from jazzd.core.modeldir import load_model
from jazzd.core.vocab import Vocabulary
from helpers import read_notes

pytestmark = [pytest.mark.e2e, pytest.mark.tf]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "short"
    result = jazzd("train", SOLO_MANIFEST, "--out", out, "--epochs", "3", "--quiet", timeout=600)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_train_reports_the_corpus_and_held_out_figures(trained):
    out, stdout = trained
    [piece] = load_corpus([SOLO_MANIFEST])
    vocab = Vocabulary.from_corpus(v for m in piece.measures for v in m.values)
    assert f"{len(piece.measures)} measures" in stdout
    assert f"n_values = {vocab.n_values}" in stdout
    assert "Tx = 30" in stdout and "m = " in stdout
    for name in ("lstm", "unigram", "bigram", "trigram"):
        assert any(line.startswith(name) for line in stdout.splitlines()), name


def test_the_trained_model_directory(trained):
    out, _ = trained
    model = load_model(out)
    [piece] = load_corpus([SOLO_MANIFEST])
    assert model.vocab.values == Vocabulary.from_corpus(v for m in piece.measures for v in m.values).values
    meta = json.loads((out / "metadata.json").read_text())
    assert (meta["n_a"], meta["Tx"], meta["epochs"]) == (64, 30, 3)
    assert meta["corpus"]["files"][0]["sha256"] == piece.sha256
    held = meta["metrics"]["held_out"]
    assert held["lstm"]["values"] == held["bigram"]["values"] > 0
    assert np.isfinite(held["lstm"]["loss"]) and 0 <= held["bigram"]["accuracy"] <= 1
    # the course's parameter count, 4 * n_a * (n_values + n_a + 1) + (n_a + 1) * n_values, with the
    # context's columns (conditioning.WIDTH) beside the value's in the LSTM's input
    from jazzd.core import conditioning

    n, a = model.n_values, model.n_a
    assert meta["conditioning"] == conditioning.NAME and model.weights.context_width == conditioning.WIDTH
    assert (sum(w.size for w in model.weights.arrays().values())
            == 4 * a * (n + conditioning.WIDTH + a + 1) + (a + 1) * n)
    assert model.pitch_choice is not None


def test_generate_with_the_trained_model(trained, tmp_path):
    out, _ = trained
    result = jazzd("generate", "--model", out, "--seed", "1", "-o", tmp_path / "my_music.mid")
    assert result.returncode == 0, result.stderr
    _, notes, _ = read_notes(tmp_path / "my_music.mid")
    assert any(ch == 0 for ch, *_ in notes) and any(ch == 1 for ch, *_ in notes)


@pytest.fixture(scope="module")
def trained_on_any_midi(tmp_path_factory):
    from helpers import SHARED
    from midi_files import band_type1, chords_only, lead_sheet_markers, single_track_type0

    corpus = tmp_path_factory.mktemp("anymidi")
    (corpus / "made").mkdir()
    band_type1(corpus / "made" / "band.mid")
    single_track_type0(corpus / "made" / "tune0.mid")
    lead_sheet_markers(corpus / "made" / "sheet.mid")
    chords_only(corpus / "made" / "comping.mid")  # unusable: skipped with its reason
    weimar = [SHARED / "data" / "wjazzd" / name for name in
              ("ArtPepper_Anthropology_001.mid", "BenWebster_ByeByeBlackbird_021.mid", "BennyCarter_IGotItBad_007.mid")]
    out = corpus / "model"
    result = jazzd("train", corpus / "made", SOLO_MANIFEST, *weimar, "--out", out, "--epochs", "3",
                   "--patience", "1", "--quiet", timeout=900)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_training_on_folders_of_differently_shaped_files(trained_on_any_midi):
    out, stdout = trained_on_any_midi
    assert "skipped " in stdout and "comping.mid: no melody part" in stdout
    meta = json.loads((out / "metadata.json").read_text())
    files = [f["file"] for f in meta["corpus"]["files"]]
    assert files == ["band.mid", "sheet.mid", "tune0.mid", "original_metheny.mid", "ArtPepper_Anthropology_001.mid",
                     "BenWebster_ByeByeBlackbird_021.mid", "BennyCarter_IGotItBad_007.mid"]
    assert [s["file"].rsplit("/", 1)[-1] for s in meta["skipped"]] == ["comping.mid"]
    assert meta["epochs_run"] <= 3 and 1 <= meta["best_epoch"] <= meta["epochs_run"]
    quality = meta["metrics"]["quality"]
    assert set(quality) == {"held_out", "prediction", "solos", "goals"}
    assert quality["solos"]["generated"]["notes_per_bar"] > 0
    assert quality["prediction"]["lstm"] == meta["metrics"]["held_out"]["lstm"]


def test_evaluate_finds_the_models_corpus_from_its_metadata(trained_on_any_midi):
    out, _ = trained_on_any_midi
    result = jazzd("evaluate", out, "--bars", "8", timeout=600)
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "metadata.json").read_text())
    assert f"corpus: {len(meta['corpus']['files'])} file(s)" in result.stdout
    lstm = meta["metrics"]["held_out"]["lstm"]["loss"]
    assert f"{lstm:.3f}" in result.stdout  # the same held-out loss as at training time


def test_an_interrupted_training_leaves_the_old_model_as_it_was(tmp_path):
    """The new model is written beside the old one and moved into place only when complete."""
    import os
    import shutil
    import signal
    import subprocess

    from helpers import JAZZD, METHENY_MODEL, ROOT, wait_for

    out = tmp_path / "model"
    shutil.copytree(METHENY_MODEL, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # PYTHONFAULTHANDLER: a run that does not stop is sent SIGABRT below and prints every thread's stack.
    # preexec_fn: Ctrl-C as in a terminal. A suite started in the background by a non-interactive shell
    # (`make test &`) inherits SIGINT ignored, and Python keeps it ignored: train then ran on through it.
    proc = subprocess.Popen([*JAZZD, "train", str(SOLO_MANIFEST), "--out", str(out), "--epochs", "10000",
                             "--patience", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []

    def epochs_running():
        line = proc.stdout.readline()
        lines.append(line)
        return "Epoch 2" in line or proc.poll() is not None

    try:
        wait_for(epochs_running, 300, 0, "the second epoch")
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(90)  # it exits in ~1.5 s
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            rest = proc.communicate(timeout=30)[0]
            pytest.fail("jazzd train did not stop within 90 s of SIGINT; its threads:\n" + rest[-6000:])
    finally:
        proc.kill()
    assert proc.returncode != 0, "".join(lines)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no half-written model left beside it


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_mirrored_strategy_over_two_logical_cpu_devices(tmp_path):
    """[train] strategy = "mirrored": one replica per device; the CPU is split into two logical devices here."""
    import subprocess
    import sys

    from helpers import ROOT

    out = tmp_path / "mirrored"
    code = ("import sys, tensorflow as tf\n"
            "cpu = tf.config.list_physical_devices('CPU')[0]\n"
            "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
            "from jazzd.pipeline.train import train\n"
            f"train([{str(SOLO_MANIFEST)!r}], {str(out)!r}, epochs=2, patience=0, strategy='mirrored')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "strategy mirrored: 2 replicas, a global batch of 64" in result.stdout
    assert len([line for line in result.stdout.splitlines() if line.startswith("Epoch ")]) == 2
    assert load_model(out).n_values > 0


def test_multi_worker_strategy_trains_one_model_across_a_cluster_of_two(tmp_path):
    """Two `jazzd train` processes on this machine form a cluster from TF_CONFIG; both see the same loss
    every epoch (one model, kept in step), and only the chief writes it."""
    import os
    import subprocess

    from helpers import JAZZD, ROOT

    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen([*JAZZD, "train", str(SOLO_MANIFEST), "--out", str(tmp_path / f"w{index}"),
                                       "--epochs", "2", "--patience", "0", "--strategy", "multi-worker"],
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        outputs.append(out)
        assert proc.returncode == 0, out[-2000:]
    epochs = [[line.split(" (")[0] for line in out.splitlines() if line.startswith("Epoch ")] for out in outputs]
    assert len(epochs[0]) == 2 and epochs[0] == epochs[1]
    assert "task worker 0 of 2 workers" in outputs[0] and "task worker 1 of 2 workers" in outputs[1]
    assert load_model(tmp_path / "w0").n_values > 0 and not (tmp_path / "w1").exists()
    assert "its chief writes the model" in outputs[1]
