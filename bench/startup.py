"""Start-up: from exec of `jazzd run` to the first note-on at a receiving JACK port; `jazzd generate` wall time.

jazzd runs with the bundled model and connects its output to a test client's
input on the benchmarks' own JACK dummy server; the client timestamps the first
note-on. Also the wall time of `jazzd generate` (50 values, as the course) and
of importing TensorFlow alone, which the live path never does.

    python bench/startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_SERVER, ROOT, fmt_ms, machine, print_table, stats, use_tests_helpers  # noqa: E402

JAZZD = [sys.executable, "-m", "jazzd.cli"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    use_tests_helpers()
    from jack_session import LISTENER, Receiver, running_jack_server

    os.environ["JACK_DEFAULT_SERVER"] = BENCH_SERVER
    first_note, generate, tf_import = [], [], []
    with tempfile.TemporaryDirectory() as tmp_name, running_jack_server(256, BENCH_SERVER, None):
        tmp = Path(tmp_name)
        for _ in range(args.repeats):
            receiver = Receiver()
            started = time.monotonic()
            proc = subprocess.Popen([*JAZZD, "run", "--backend", "jack", "--output", LISTENER, "--input", "off"],
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = started + 30
            while not receiver.notes() and time.monotonic() < deadline:
                time.sleep(0.001)
            if receiver.notes():
                first_note.append(receiver.notes()[0][0] - started)
            proc.terminate()
            proc.wait(10)
            receiver.close()
        for i in range(args.repeats):
            started = time.monotonic()
            subprocess.run([*JAZZD, "generate", "-o", str(tmp / f"g{i}.mid")], cwd=ROOT, check=True,
                           capture_output=True)
            generate.append(time.monotonic() - started)
        for _ in range(min(3, args.repeats)):
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", "import tensorflow"], check=True, capture_output=True)
            tf_import.append(time.monotonic() - started)
    results = {
        "exec `jazzd run` -> first note-on at the receiver": stats(first_note),
        "`jazzd generate` (50 values), wall": stats(generate),
        "for scale: `python -c 'import tensorflow'`, wall": stats(tf_import),
    }
    print(f"start-up, bundled model; {machine()}")
    print_table("what", results, fmt=fmt_ms)
    return results


if __name__ == "__main__":
    main()
