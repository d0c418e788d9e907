"""Command line: jazzd run | generate | train.

Every JazzdError is printed as one line without a traceback, with a non-zero
exit (2 for config and usage errors). The daemon never prompts.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from jazzd import __version__
from jazzd.config import Config, defaults, load_config
from jazzd.errors import JazzdError

log = logging.getLogger("jazzd")

DEFAULT_CONFIG = Path("config.toml")


def _config(args) -> Config:
    """The config file (config.toml here by default, else the built-in defaults) plus flags."""
    if args.config is not None:
        config = load_config(args.config)
    elif DEFAULT_CONFIG.is_file():
        config = load_config(DEFAULT_CONFIG)
    else:
        config = defaults()
    flags = {}
    for dotted, (flag, attr) in FLAG_KEYS.items():
        value = getattr(args, attr, None)
        if value is not None and dotted == "model.path":
            value = str(Path(value).resolve())  # a path typed on the command line is relative to cwd
        if hasattr(args, attr):
            flags[dotted] = (flag, value)
    return config.override(flags)


# config key -> (flag, argparse dest)
FLAG_KEYS = {
    "model.path": ("--model", "model"),
    "clock.bpm": ("--bpm", "bpm"),
    "improviser.temperature": ("--temperature", "temperature"),
    "improviser.seed": ("--seed", "seed"),
    "harmony.progression": ("--progression", "progression"),
    "midi.output": ("--output", "output"),
    "midi.backend": ("--backend", "backend"),
    "comp.enabled": ("--comp/--no-comp", "comp"),
    "midi.input": ("--input", "input"),
    "input.mode": ("--mode", "mode"),
    "clock.source": ("--clock", "clock"),
    "harmony.source": ("--harmony", "harmony"),
    "feel.swing": ("--swing", "swing"),
    "state.file": ("--state", "state"),
    "log.level": ("--log-level", "log_level"),
}


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper()), stream=sys.stderr,
                        format="%(asctime)s jazzd %(levelname)s: %(message)s", datefmt="%H:%M:%S")


def cmd_run(args) -> int:
    from jazzd.daemon import Daemon

    config = _config(args)
    _setup_logging(config["log.level"])
    daemon = Daemon(config, bars=args.bars, timing_log=args.timing_log)
    return daemon.run()


def cmd_generate(args) -> int:
    from jazzd.generate import generate
    from jazzd.modeldir import load_model
    from jazzd.solo import from_config

    config = _config(args)
    _setup_logging(config["log.level"])
    model = load_model(config.path_of("model.path"))
    harmony, soloist, feel, _ = from_config(config, model, config["improviser.seed"], live=False)
    out = Path(args.o) if args.o else Path(config["generate.output"])
    values = None if args.bars else (args.values or config["generate.values"])
    try:
        result = generate(soloist, feel, out, config["clock.bpm"], values=values, bars=args.bars,
                          melody_channel=config["melody.channel"] - 1, melody_program=config["melody.program"],
                          comp_channel=config["comp.channel"] - 1, comp_program=config["comp.program"],
                          comp_velocity=config["comp.velocity"])
    except OSError as err:
        raise JazzdError(f"{out}: cannot write ({err.strerror or err})") from None
    seconds = result.beats * 60.0 / config["clock.bpm"]
    print(f"wrote {result.path}: {len(result.events)} values, {len(result.melody)} notes over "
          f"{result.beats / harmony.beats_per_bar:g} bars of {harmony.lead_sheet} "
          f"at {config['clock.bpm']:g} BPM ({seconds:.1f} s)")
    return 0


def cmd_train(args) -> int:
    from jazzd.train import train

    config = _config(args)
    _setup_logging(config["log.level"])
    sources = args.sources or [str(config.path_of("train.corpus"))]
    train(sources, Path(args.out), n_a=args.n_a or config["train.n_a"], Tx=args.Tx or config["train.Tx"],
          epochs=args.epochs or config["train.epochs"],
          seed=config["train.seed"] if args.seed is None else args.seed, layers=args.layers or config["train.layers"],
          verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2),
          melody=_part(args.melody), chords=_part(args.chords), start=args.start, end=args.end)
    return 0


def _part(text):
    """A part given on the command line: an index if it is a number, else a name."""
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jazzd", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"jazzd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, seed=True):
        p.add_argument("--config", type=Path, help="config file (default: ./config.toml if present)")
        p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
        if seed:
            p.add_argument("--model", help="model directory (default: [model] path)")
            p.add_argument("--seed", type=int, help="seed for a reproducible solo")
            p.add_argument("--temperature", type=float, help="sampling temperature; 0 = argmax")
            p.add_argument("--bpm", type=float, help="tempo, beats per minute")
            p.add_argument("--progression", help='lead sheet, e.g. "| Dm7 | G7 | Cmaj7 | % |"')

    run = sub.add_parser("run", help="improvise live to a MIDI port")
    common(run)
    run.add_argument("--output", help="auto | virtual | FILE.mid | name of an existing MIDI output port")
    run.add_argument("--backend", choices=["auto", "alsa", "jack", "coremidi"])
    run.add_argument("--comp", action=argparse.BooleanOptionalAction, default=None, help="play the chords too")
    run.add_argument("--input", help="auto | off | virtual | name of an existing MIDI input port")
    run.add_argument("--mode", choices=["off", "prime", "trade"], help="what the player's notes do")
    run.add_argument("--clock", choices=["internal", "midi"], help="internal tempo, or follow MIDI beat clock")
    run.add_argument("--harmony", choices=["progression", "corpus", "live"], help="where the chords come from")
    run.add_argument("--swing", type=float, help="share of the beat the first eighth takes, 0.5..0.75")
    run.add_argument("--state", help="state file kept across restarts")
    run.add_argument("--bars", type=int, help="stop by itself after this many bars")
    run.add_argument("--timing-log", type=Path, help="write due and sent time of every message to this CSV")
    run.set_defaults(func=cmd_run)

    gen = sub.add_parser("generate", help="write a solo to a MIDI file (the course's my_music)")
    common(gen)
    gen.add_argument("-o", metavar="FILE.mid", help="output file (default: [generate] output)")
    gen.add_argument("--harmony", choices=["progression", "corpus"], help="the chords: the progression or the model's corpus")
    length = gen.add_mutually_exclusive_group()
    length.add_argument("--values", type=int, help="number of values (default: [generate] values, 50)")
    length.add_argument("--bars", type=int, help="generate whole bars instead")
    gen.set_defaults(func=cmd_generate)

    tr = sub.add_parser("train", help="train a model on MIDI files or corpus manifests")
    common(tr, seed=False)
    tr.add_argument("sources", nargs="*", help="MIDI files or .toml manifests (default: [train] corpus)")
    tr.add_argument("--out", required=True, help="model directory to write, e.g. models/NAME")
    tr.add_argument("--melody", help="melody part: index or name (default: the manifest's)")
    tr.add_argument("--chords", help="chord part: index or name")
    tr.add_argument("--start", type=float, help="first beat of the selection (quarter notes)")
    tr.add_argument("--end", type=float, help="end beat of the selection")
    tr.add_argument("--epochs", type=int, help="default: [train] epochs (100)")
    tr.add_argument("--n-a", dest="n_a", type=int, help="LSTM units (default 64)")
    tr.add_argument("--Tx", type=int, help="window length (default 30)")
    tr.add_argument("--layers", type=int, help="stacked LSTM layers (default 1)")
    tr.add_argument("--seed", type=int, help="training seed")
    tr.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    tr.set_defaults(func=cmd_train)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("bars", "values", "epochs", "n_a", "Tx", "layers"):
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {value}")
    try:
        return args.func(args)
    except JazzdError as err:
        print(f"jazzd: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
