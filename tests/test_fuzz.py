"""Fuzz: random and mutated config, state, model and MIDI files fed to every command.

Each case writes its mutated inputs into a fresh folder, runs `jazzd.cli.main` in
this process (a subprocess per case would cost a second of imports each) and
asserts what the README promises for bad input: exit code 0, 1 or 2, no
exception and no traceback on stderr, an error in one line, and no file that
existed before the case changed (outputs go to new names; a state file jazzd
cannot use is renamed aside with its bytes intact). The cases are seeded
(JAZZD_FUZZ_SEED, JAZZD_FUZZ_CASES), each case by its own number, so a failure
is repeated by its number; the cases are split into SHARDS tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import random
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import mido
import numpy as np
import pytest

from helpers import DEFAULT_MODEL, random_weights
import midi_files

SEED = int(os.environ.get("JAZZD_FUZZ_SEED", "0"))
CASES = int(os.environ.get("JAZZD_FUZZ_CASES", "520"))
SHARDS = 4  # case n runs in shard n % SHARDS: pytest-xdist spreads the shards over its workers

# Values a hostile or careless user puts where a number, a string or a table belongs.
GARBAGE_TOML = ["nan", "inf", "-inf", "-1", "0", "-0.0", "1e309", "1e-320", "99999999999999999999999",
                '""', '"x"', '"nan"', '"../../.."', "[]", "[1, 2]", "{}", "{a = 1}", "true", "false",
                "1979-05-27", '"\\u0000"', "0x7fffffffffffffff", "-9223372036854775809", "12.5", "3"]
GARBAGE_JSON = [float("nan"), float("inf"), -1, 0, 10**30, 2**70, -(2**63) - 1, 1e308, "", "x", "nan", None, True,
                [], [1, 2, 3], {}, {"a": 1}, 0.5, 1000, 128, -128]
GARBAGE_FLAGS = {
    "--bpm": ["nan", "inf", "0", "-5", "1e9", "x", "1000", "1"],
    "--temperature": ["nan", "-1", "inf", "0", "1e9", "0.5"],
    "--top-p": ["nan", "0", "-1", "2", "0.9"],
    "--seed": ["-1", str(2**70), "nan", "x", "7"],
    "--swing": ["nan", "-1", "2", "0.6"],
    "--bars": ["0", "-1", "100001", "x", "1"],
}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(root: Path) -> dict[Path, str]:
    return {p: _digest(p) for p in root.rglob("*") if p.is_file()}


# --- mutators: each takes the valid bytes or object and a random.Random ---------------------------

def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Flip, drop, insert or truncate bytes; sometimes an empty or random file."""
    kind = rng.random()
    if kind < 0.05:
        return b""
    if kind < 0.10:
        return rng.randbytes(rng.randint(1, 200))
    if kind < 0.25:
        return data[:rng.randint(0, max(len(data) - 1, 0))]
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not out:
            break
        i = rng.randrange(len(out))
        op = rng.random()
        if op < 0.5:
            out[i] = rng.randrange(256)
        elif op < 0.75:
            del out[i:i + rng.randint(1, 16)]
        else:
            out[i:i] = rng.randbytes(rng.randint(1, 16))
    return bytes(out)


def mutate_toml(text: str, rng: random.Random) -> str:
    """Replace key values with garbage, drop lines, add unknown keys or sections, or mangle the text."""
    if rng.random() < 0.15:
        return mutate_bytes(text.encode(), rng).decode("utf-8", "replace")
    lines = text.splitlines()
    keyed = [i for i, line in enumerate(lines) if "=" in line and not line.lstrip().startswith("#")]
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.75 and keyed:
            i = rng.choice(keyed)
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {rng.choice(GARBAGE_TOML)}"
        elif op < 0.85 and keyed:
            lines[rng.choice(keyed)] = ""
        elif op < 0.93:
            lines.insert(rng.randrange(len(lines) + 1), f"unknown_{rng.randrange(100)} = 1")
        else:
            lines.append(rng.choice(["[nosuchsection]", "[clock]", "[[clock]]", "clock = 3"]))
    return "\n".join(lines) + "\n"


def _paths(tree, prefix=()):
    """Every (path, value) of a JSON tree, depth first."""
    yield prefix, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree[:50]):
            yield from _paths(v, prefix + (i,))


def mutate_json(tree, rng: random.Random):
    """Replace, delete or retype values at random places of a JSON tree (returns the text)."""
    if rng.random() < 0.15:
        return mutate_bytes(json.dumps(tree).encode(), rng).decode("utf-8", "replace")
    tree = json.loads(json.dumps(tree))
    for _ in range(rng.randint(1, 3)):
        path, _ = rng.choice(list(_paths(tree)))
        if not path:
            tree = rng.choice(GARBAGE_JSON + [[tree]])
            continue
        parent = tree
        for k in path[:-1]:
            parent = parent[k]
        if isinstance(parent, dict) and rng.random() < 0.25:
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(GARBAGE_JSON)
    return json.dumps(tree)  # NaN and Infinity as Python writes them


def mutate_npz(path: Path, out: Path, rng: random.Random) -> None:
    """A weights file with one array made non-finite, reshaped, retyped or dropped, or its bytes mangled."""
    if rng.random() < 0.3:
        out.write_bytes(mutate_bytes(path.read_bytes(), rng))
        return
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    key = rng.choice(sorted(arrays))
    a = arrays[key]
    op = rng.random()
    if op < 0.25:
        a = a.copy()
        a.flat[rng.randrange(a.size)] = rng.choice([np.nan, np.inf, -np.inf])
        arrays[key] = a
    elif op < 0.45:
        arrays[key] = a.reshape(-1)[: max(a.size - rng.randint(1, 5), 0)]
    elif op < 0.60:
        del arrays[key]
    elif op < 0.75:
        arrays[key] = a.astype(rng.choice([np.int8, np.complex64, np.bool_]))
    elif op < 0.85:
        arrays[key] = np.array([{"planted": "pickle"}], dtype=object)  # np.load must refuse it
    else:
        arrays[f"extra_{rng.randrange(9)}"] = np.zeros(3)
    with open(out, "wb") as fh:
        np.savez(fh, **arrays)


def mutate_midi(path: Path, out: Path, rng: random.Random) -> None:
    """A MIDI file with mangled bytes, or one whose messages carry extreme but well-formed values."""
    if rng.random() < 0.6:
        out.write_bytes(mutate_bytes(path.read_bytes(), rng))
        return
    mid = mido.MidiFile(path)
    for _ in range(rng.randint(1, 6)):
        track = rng.choice(mid.tracks)
        i = rng.randrange(len(track) + 1)
        msg = rng.choice([
            mido.MetaMessage("set_tempo", tempo=rng.choice([1, 16_777_215])),
            mido.MetaMessage("time_signature", numerator=rng.choice([1, 13, 255]), denominator=rng.choice([1, 64])),
            mido.MetaMessage("key_signature", key=rng.choice(["C#", "Cb", "Am"])),
            mido.Message("note_on", note=rng.choice([0, 127]), velocity=rng.choice([1, 127]),
                         time=rng.choice([0, 1, 100_000])),
            mido.Message("note_off", note=rng.randrange(128), time=rng.choice([0, 7])),
            mido.Message("pitchwheel", pitch=rng.choice([-8192, 8191])),
            mido.Message("sysex", data=[1, 2, 3]),
            mido.MetaMessage("text", text="\x00" * rng.randint(0, 3) + "Hm7"),
            mido.MetaMessage("marker", text=rng.choice(["G7", "Xmaj99", "", "C/E"])),
        ])
        track.insert(i, msg)
    if rng.random() < 0.2:
        mid.ticks_per_beat = rng.choice([96, 32767])  # 1 tick a beat makes a 960-bar file: a minute of plotting
    if rng.random() < 0.1:
        mid.tracks = mid.tracks[:1]
    mid.save(out)


# --- the world every case starts from ------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Valid inputs: config.toml, a small model with its corpus in its metadata, a tune, a state file."""
    from jazzd.core.modeldir import load_model, save_model
    from jazzd.settings import config_toml

    root = tmp_path_factory.mktemp("fuzz-world")
    midi_files.band_type1(root / "tune.mid")
    vocab = load_model(DEFAULT_MODEL).vocab
    save_model(root / "model", random_weights(vocab.n_values, 8, seed=3), vocab,
               {"Tx": 30, "corpus": {"sources": ["../tune.mid"]}})
    (root / "config.toml").write_text(config_toml())
    # a real state file: one bar played by the daemon
    state = root / "state.json"
    code, err = _call(["run", "--config", str(root / "config.toml"), "--model", str(root / "model"), "--bars", "1",
                       "--bpm", "1000", "--output", str(root / "first.mid"), "--input", "off",
                       "--state", str(state)], root)
    assert code == 0 and state.is_file(), err
    return root


@contextlib.contextmanager
def _process_state_kept():
    """Restore what `jazzd run` changes in the process: signal handlers, switch interval, logging, cwd."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    interval = sys.getswitchinterval()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    root.handlers = []  # basicConfig in main binds this case's stderr
    cwd = os.getcwd()
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        sys.setswitchinterval(interval)
        root.handlers, root.level = saved
        os.chdir(cwd)


def _call(argv: list[str], cwd: Path) -> tuple[int | str, str]:
    """Run jazzd.cli.main(argv) in cwd; (exit code or a traceback's text, stderr)."""
    from jazzd.cli import main

    err, out = io.StringIO(), io.StringIO()
    with _process_state_kept(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        os.chdir(cwd)
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001  (the finding is the exception itself)
            code = "exception:\n" + traceback.format_exc()
    return code, err.getvalue()


def _case(world: Path, case_dir: Path, rng: random.Random) -> tuple[list[str], str]:
    """Mutated inputs in case_dir and the command line that reads them; (argv, what was mutated)."""
    shutil.copytree(world / "model", case_dir / "model")
    shutil.copy(world / "tune.mid", case_dir / "tune.mid")
    shutil.copy(world / "config.toml", case_dir / "config.toml")
    shutil.copy(world / "state.json", case_dir / "state.json")
    target = rng.choices(["config", "state", "weights", "vocab", "metadata", "midi", "flags"],
                         weights=[30, 14, 12, 8, 6, 20, 10])[0]
    if target == "config":
        (case_dir / "config.toml").write_text(mutate_toml((world / "config.toml").read_text(), rng))
    elif target == "state":
        (case_dir / "state.json").write_text(mutate_json(json.loads((world / "state.json").read_text()), rng))
    elif target == "weights":
        mutate_npz(world / "model" / "weights.npz", case_dir / "model" / "weights.npz", rng)
    elif target in ("vocab", "metadata"):
        name = f"{target}.json"
        (case_dir / "model" / name).write_text(mutate_json(json.loads((world / "model" / name).read_text()), rng))
    elif target == "midi":
        mutate_midi(world / "tune.mid", case_dir / "tune.mid", rng)

    config, model, tune = str(case_dir / "config.toml"), str(case_dir / "model"), str(case_dir / "tune.mid")
    if target == "state":
        command = "run"
    # valid plots, renders and trainings cost a second or more each: a few of them, many cheap cases
    elif target == "midi":
        command = rng.choices(["plot", "render", "evaluate", "train"], weights=[4, 2, 8, 1])[0]
    elif target in ("weights", "vocab", "metadata"):
        command = rng.choices(["generate", "run", "evaluate"], weights=[6, 3, 2])[0]
    elif target == "config":
        command = rng.choices(["generate", "run", "plot", "evaluate", "train"], weights=[10, 5, 1, 1, 0.5])[0]
    else:
        command = rng.choices(["generate", "run", "evaluate"], weights=[10, 5, 1])[0]
    flags = []
    if target == "flags":
        for flag in rng.sample(sorted(GARBAGE_FLAGS), rng.randint(1, 2)):
            if command in ("generate", "run") or flag in ("--seed", "--temperature", "--top-p", "--bars"):
                flags += [flag, rng.choice(GARBAGE_FLAGS[flag])]
    out = case_dir / "out"
    if command == "generate":
        argv = ["generate", "--config", config, "--model", model, "--bars", "1", "-o", f"{out}.mid"]
    elif command == "run":
        argv = ["run", "--config", config, "--model", model, "--bars", "1", "--bpm", "1000", "--input", "off",
                "--output", f"{out}.mid", "--state", str(case_dir / "state.json")]
    elif command == "plot":
        argv = ["plot", "--config", config, tune, "-o", f"{out}.png"]
    elif command == "render":
        argv = ["render", "--config", config, tune, "-o", f"{out}.wav"]
    elif command == "evaluate":
        argv = ["evaluate", "--config", config, model, tune, "--solos", "1", "--bars", "2"]
        flags = [f for f in flags if not f.startswith("--b")]
    else:  # train stops before TensorFlow is needed when it can; a valid case trains one tiny epoch
        argv = ["train", "--config", config, tune, "--out", str(case_dir / "trained"), "--epochs", "1",
                "--n-a", "2", "--Tx", "4", "--batch-size", "8", "--workers", "1", "--quiet"]
        flags = []
    # flags given after the defaults above win: argparse keeps the last
    return argv + flags, target


@pytest.mark.parametrize("shard", range(SHARDS))
def test_fuzz_every_command_with_bad_files_and_flags(world, tmp_path, shard):
    """At least 500 seeded cases over the shards; each exits 0, 1 or 2 with no traceback and changes no file it did
    not write."""
    threads_before = threading.active_count()
    findings, codes, seconds, started = [], {}, {}, time.monotonic()
    done = 0
    for n in range(shard, CASES, SHARDS):
        rng = random.Random(f"{SEED}-{n}")  # case n is the same whatever ran before it
        done += 1
        case_dir = tmp_path / f"case{n}"
        case_dir.mkdir()
        argv, target = _case(world, case_dir, rng)
        state = case_dir / "state.json"
        state_bytes = state.read_bytes()
        before = {p: h for p, h in _snapshot(case_dir).items() if p != state}
        t0 = time.monotonic()
        code, err = _call(argv, case_dir)
        seconds[argv[0]] = seconds.get(argv[0], 0.0) + time.monotonic() - t0
        what = f"case {n} ({target}): jazzd {' '.join(argv)}"
        key = code if isinstance(code, int) else "exception"
        codes[key] = codes.get(key, 0) + 1
        if not isinstance(code, int) or code not in (0, 1, 2):
            findings.append(f"{what}\n  exit {code}\n  {err[-2000:]}")
        elif "Traceback" in err:
            findings.append(f"{what}\n  traceback on stderr:\n{err[-3000:]}")
        elif code != 0 and len([line for line in err.splitlines() if "error:" in line.lower()]) != 1:
            findings.append(f"{what}\n  exit {code} without exactly one error line:\n{err[-2000:]}")
        after = _snapshot(case_dir)
        changed = [p.name for p, h in before.items() if after.get(p) != h]
        if changed:
            findings.append(f"{what}\n  changed or removed: {changed}")
        # the state file is jazzd's to update; one it could not use is kept aside, byte for byte
        if "not resumed" in err and not any(p.read_bytes() == state_bytes for p in case_dir.glob("state.json.rejected*")):
            findings.append(f"{what}\n  a rejected state file was not kept aside: {err[-500:]}")
        shutil.rmtree(case_dir, ignore_errors=True)
        if len(findings) >= int(os.environ.get('JAZZD_FUZZ_FINDINGS', '10')):
            break
    elapsed = time.monotonic() - started
    print(f"fuzz shard {shard}: {done} cases in {elapsed:.1f} s (seed {SEED}); exit codes {codes}; "
          f"seconds per command {({k: round(v, 1) for k, v in seconds.items()})}")
    assert not findings, "\n\n".join(findings)
    assert done >= len(range(shard, min(CASES, 500), SHARDS))
    # every thread a run started has ended
    assert threading.active_count() <= threads_before + 1
