"""The built-in synth's take against the notes jazzd sent, and its level against `jazzd render`.

For each seed: `jazzd run --synth --audio-driver jack --record-audio take.wav
--output take.mid --bars 8` on the benchmarks' own JACK dummy server (FluidSynth's
JACK driver, the MIDI stream recorded to a file beside it). The take's note onsets
(spectral flux, tests/audio.py) are compared with the MIDI file's, both measured
from the first message (the take begins there); then the peak level of the take
against `jazzd render take.mid` (the same notes) and `jazzd generate --seed S
--bars 8 --render` (the same seed offline), both with the live instruments.

    python bench/synth_take.py [--seeds 0 1 2] [--bars 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_SERVER, ROOT, count_xruns, machine, use_tests_helpers  # noqa: E402

JAZZD = [sys.executable, "-m", "jazzd.cli"]


def _jazzd(*args: str) -> None:
    done = subprocess.run([*JAZZD, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"jazzd {' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--bars", type=int, default=8)
    args = parser.parse_args(argv)
    use_tests_helpers()
    from audio import midi_notes, onset_errors, onsets, peak_dbfs, read_wav
    from jack_session import running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    rows = []
    with tempfile.TemporaryDirectory(prefix="jazzd-bench-synth-") as tmp:
        tmp = Path(tmp)
        config = tmp / "config.toml"
        config.write_text("[render]\nmelody_program = 26\n")  # render with the live solo's instrument
        log = tmp / "jackd.log"
        with running_jack_server(period=256, name=BENCH_SERVER, log_path=log):
            for seed in args.seeds:
                take, mid = tmp / f"take{seed}.wav", tmp / f"take{seed}.mid"
                _jazzd("run", "--config", str(config), "--backend", "jack", "--output", str(mid), "--synth",
                       "--audio-driver", "jack", "--record-audio", str(take), "--bars", str(args.bars),
                       "--seed", str(seed), "--style", "pads")
                audio, rate = read_wav(take)
                notes = midi_notes(mid)
                expected = np.unique(np.round([n[0] for n in notes], 4))
                errors = onset_errors(expected, onsets(audio, rate))
                _jazzd("render", "--config", str(config), str(mid), "-o", str(tmp / f"render{seed}.wav"))
                _jazzd("generate", "--config", str(config), "--seed", str(seed), "--bars", str(args.bars), "--style",
                       "pads", "-o",
                       str(tmp / f"gen{seed}.mid"), "--render")
                rows.append({
                    "seed": seed, "onsets": len(expected), "median_ms": float(np.median(np.abs(errors)) * 1e3),
                    "p90_ms": float(np.percentile(np.abs(errors), 90) * 1e3),
                    "max_ms": float(np.abs(errors).max() * 1e3), "within30": float(np.mean(np.abs(errors) <= 0.03)),
                    "peak_live": peak_dbfs(audio), "peak_render": peak_dbfs(read_wav(tmp / f"render{seed}.wav")[0]),
                    "peak_generate": peak_dbfs(read_wav(tmp / f"gen{seed}.wav")[0]),
                })
        xruns = count_xruns(log)
    print(f"Machine: {machine()}; JACK dummy -p 256 at 48 kHz, {xruns} xruns\n")
    print("| seed | onsets | |error| median | p90 | max | within 30 ms | peak live | render (same notes) "
          "| generate --render (same seed) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['onsets']} | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | {r['max_ms']:.1f} ms "
              f"| {r['within30']:.0%} | {r['peak_live']:.1f} dBFS | {r['peak_render']:.1f} dBFS "
              f"({r['peak_live'] - r['peak_render']:+.1f} dB) | {r['peak_generate']:.1f} dBFS "
              f"({r['peak_live'] - r['peak_generate']:+.1f} dB) |")
    return {"rows": rows, "xruns": xruns}


if __name__ == "__main__":
    main()
