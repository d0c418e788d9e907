"""Command line: jazzd run | generate | train | evaluate | render | plot.

Every JazzdError is printed as one line without a traceback, with a non-zero
exit (2 for config and usage errors). The daemon never prompts.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from jazzd import __version__
from jazzd.config import Config, check_value, defaults, load_config
from jazzd.settings import SETTING_BY_KEY, flags_of, toml_value
from jazzd.errors import JazzdError
from jazzd.files import AUDIO_SUFFIXES, IMAGE_SUFFIXES, MIDI_SUFFIXES, check_model_target, check_suffix, replaced

log = logging.getLogger("jazzd")

DEFAULT_CONFIG = Path("config.toml")


def _config(args) -> Config:
    """The config file (config.toml here by default, else the built-in defaults) plus the flags that set keys.

    Raises:
        ConfigError: naming the file and key, or the flag, of a bad value.
    """
    if args.config is not None:
        config = load_config(args.config)
    elif DEFAULT_CONFIG.is_file():
        config = load_config(DEFAULT_CONFIG)
    else:
        config = defaults()
    flags = {}
    for setting in flags_of(args.command):
        value = getattr(args, dest(setting), None)
        if value is not None and setting.key == "model.path":
            value = str(Path(value).resolve())  # a path typed on the command line is relative to cwd
        flags[setting.key] = (setting.flag if setting.type is not bool else f"{setting.flag}/--no-{setting.flag[2:]}",
                              value)
    return config.override(flags)


def dest(setting) -> str:
    """The argparse attribute of a setting's flag."""
    return f"setting__{setting.section}__{setting.name}"


def add_setting_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """The flags of the settings a command takes (jazzd.settings), with their help from the table.

    Values are converted here and checked by Config.override, so a bad one is a one-line error naming the flag.
    """
    for s in flags_of(command):
        facts = ", ".join(x for x in (s.range_text() if s.type is not bool else "", s.unit) if x)
        default = "absent" if s.optional else toml_value(s.default)
        text = f"{s.help.rstrip('.')} ({facts + '; ' if facts else ''}default: [{s.section}] {s.name} of the config file, {default})"
        text = text.replace("%", "%%")
        if s.type is bool:
            parser.add_argument(s.flag, dest=dest(s), action=argparse.BooleanOptionalAction, default=None, help=text)
        elif s.type is tuple:  # repeatable: each flag adds one
            parser.add_argument(s.flag, dest=dest(s), action="append", type=str, default=None, help=text,
                                metavar="NAME")
        else:
            parser.add_argument(s.flag, dest=dest(s), type=s.type, default=None, help=text,
                                metavar=s.name.upper() if not s.choices else "{" + ",".join(s.choices) + "}")


def _setup_logging(level: str) -> None:
    from jazzd import logs

    logs.setup(level)


def cmd_run(args) -> int:
    from jazzd.live.daemon import Daemon

    config = _config(args)
    _setup_logging(config["log.level"])
    daemon = Daemon(config, bars=args.bars, timing_log=args.timing_log)
    return daemon.run()


def cmd_generate(args) -> int:
    from jazzd.generate import generate
    from jazzd.core.modeldir import load_model
    from jazzd.core.solo import band_from_config, from_config
    from jazzd.core.band.bass import bass_choice_from_config

    config = _config(args)
    _setup_logging(config["log.level"])
    model = load_model(config.path_of("model.path"))
    harmony, soloist, feel, generators = from_config(config, model, config["improviser.seed"], live=False)
    band, parts = band_from_config(config, harmony, generators, bass_choice=bass_choice_from_config(config))
    out = check_suffix(Path(args.o), MIDI_SUFFIXES, "a MIDI file", "-o") if args.o else \
        check_suffix(config.path_of("generate.output"), MIDI_SUFFIXES, "a MIDI file", config.where("generate.output"))
    plot = check_suffix(Path(args.plot), IMAGE_SUFFIXES, "a piano roll", "--plot") if args.plot else None
    audio = check_suffix(Path(args.render) if args.render else out.with_suffix(".wav"), AUDIO_SUFFIXES, "audio",
                         "--render") if args.render is not None else None
    values = None if args.bars else config["generate.values"]
    primer = None
    if args.primer:
        from jazzd.primer import read_primer

        primer = read_primer(check_suffix(Path(args.primer), MIDI_SUFFIXES, "a MIDI file", "--primer"),
                             harmony.beats_per_bar, args.primer_bars)
        if args.bars is not None and primer.bars >= args.bars:
            raise JazzdError(f"{args.primer}: the primer fills {primer.bars} bars: --bars must be more than that")
    try:
        with replaced(out) as target:
            result = generate(soloist, feel, target, config["clock.bpm"], values=values, bars=args.bars,
                              melody_channel=config["melody.channel"] - 1, melody_program=config["melody.program"],
                              band=band, parts=parts, primer=primer)
        result = dataclasses.replace(result, path=out)
    except OSError as err:
        raise JazzdError(f"{out}: cannot write ({err.strerror or err})") from None
    if primer is not None:
        print(f"primed on {primer.path}: {len(primer.notes)} notes over {primer.bars} bar"
              f"{'' if primer.bars == 1 else 's'}; the solo goes on from bar {primer.bars + 1}")
    seconds = result.beats * 60.0 / config["clock.bpm"]
    print(f"wrote {result.path}: {len(result.events)} values, {len(result.melody)} notes over "
          f"{result.beats / harmony.beats_per_bar:g} bars of {harmony.lead_sheet} "
          f"at {config['clock.bpm']:g} BPM ({seconds:.1f} s)")
    if plot is not None:
        from jazzd.pianoroll import band_from_generated, notes_from_generated, plot_piano_roll

        notes, chords, bpb, beats = notes_from_generated(result)
        written = plot_piano_roll(notes, chords, bpb, beats, plot,
                                  title=f"{out.name}: {model.path.name}, {config['clock.bpm']:g} BPM"
                                        + (f", {config['band.style']}" if result.band else ""),
                                  band=band_from_generated(result))
        print(f"wrote {', '.join(str(w) for w in written)}: piano roll")
    if audio is not None:
        _render(config, out, audio)
    return 0


def _render(config, midi_path: Path, out: Path) -> None:
    from jazzd.render import render

    soundfont = config.path_of("render.soundfont") if config["render.soundfont"] else None
    rendered = render(midi_path, out, soundfont=soundfont,
                      melody_program=config["render.melody_program"], chord_program=config["render.chord_program"],
                      sample_rate=config["render.sample_rate"], gain=config["render.gain"],
                      bass_program=config["render.bass_program"])
    print(f"wrote {rendered.path}: {rendered.seconds:.1f} s of audio")


def cmd_render(args) -> int:
    config = _config(args)
    _setup_logging(config["log.level"])
    out = check_suffix(Path(args.o), AUDIO_SUFFIXES, "audio", "-o") if args.o else Path(args.midi).with_suffix(".wav")
    _render(config, Path(args.midi), out)
    return 0


def cmd_plot(args) -> int:
    from jazzd.pipeline.corpus import load_piece, spec_for
    from jazzd.pianoroll import notes_from_piece, plot_piano_roll

    config = _config(args)
    _setup_logging(config["log.level"])
    path = Path(args.midi)
    out = check_suffix(Path(args.o), IMAGE_SUFFIXES, "a piano roll", "-o") if args.o else path.with_suffix(".png")
    piece = load_piece(spec_for(path, melody=_part(args.melody), chords=_part(args.chords)), use_cache=False)
    notes, chords, bpb, beats = notes_from_piece(piece)
    written = plot_piano_roll(notes, chords, bpb, beats, out, title=path.name, bars_per_row=args.bars_per_row)
    print(f"wrote {', '.join(str(w) for w in written)}: piano roll of {len(notes)} notes over {len(piece.measures)} bars")
    return 0


def cmd_evaluate(args) -> int:
    from jazzd.core.modeldir import load_model
    from jazzd.pipeline.collection import collect
    from jazzd.pipeline.evaluate import format_quality_report, quality_report

    config = _config(args)
    _setup_logging(config["log.level"])
    check_value(SETTING_BY_KEY["improviser.temperature"], args.temperature, "--temperature")
    check_value(SETTING_BY_KEY["improviser.top_p"], args.top_p, "--top-p")
    check_value(SETTING_BY_KEY["improviser.seed"], args.seed, "--seed")
    model = load_model(Path(args.model))
    saved = model.corpus_sources()
    own_sources = [str((model.path / s).resolve()) for s in saved] if saved else None  # saved relative to the model
    workers = config["train.workers"] or None
    if not args.corpus and not own_sources:
        raise JazzdError(f"{args.model}: its metadata names no corpus; give one: jazzd evaluate MODEL CORPUS")
    pieces = collect(args.corpus or own_sources, workers=workers, progress=None, report=print).pieces
    training = None
    if args.corpus:
        if not own_sources:
            raise JazzdError(f"{args.model}: its metadata names no training corpus to fit the n-grams on")
        training = collect(own_sources, workers=workers, progress=None, report=lambda line: None).pieces
    from jazzd.core.band.bass import BassChoice

    bass_path = config.path_of("band.bass_model")
    bass_choice = BassChoice.load(bass_path) if (bass_path / "weights.npz").is_file() else None
    report = quality_report(model, pieces, training_pieces=training, count=args.solos, bars=args.bars,
                            temperature=args.temperature, top_p=args.top_p, seed=args.seed,
                            low=config["melody.low"], high=config["melody.high"], timing=config["feel.timing"],
                            bass_choice=bass_choice)
    print(f"{args.model}: n_values = {model.n_values}, n_a = {model.n_a}, "
          f"{'hears position and chords' if model.weights.context_width else 'hears the previous value only'}; "
          f"corpus: {len(pieces)} file(s), {sum(len(p.measures) for p in pieces)} bars")
    print(format_quality_report(report))
    return 0


TRAIN_INSTALL = "pip install -e '.[train]' in jazzd's folder (or: make train)"


def _need_tensorflow() -> None:
    """Training needs TensorFlow/Keras (the daemon does not): one line with the install command, before any parsing."""
    import importlib.util

    for name in ("tensorflow", "keras"):  # found, not imported: importing costs seconds and prints banners
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
            found = False
        if not found:
            raise JazzdError(f"jazzd train needs TensorFlow, which this install lacks (no module {name!r}): "
                             f"{TRAIN_INSTALL}")


def cmd_train(args) -> int:
    config = _config(args)  # every training flag is checked here, before any parsing
    check_model_target(Path(args.out))
    _setup_logging(config["log.level"])
    _need_tensorflow()
    sources = args.sources or [str(config.path_of("train.corpus"))]
    from jazzd.pipeline.train import train

    train(sources, Path(args.out), **{name: config[f"train.{name}"] for name in TRAIN_SETTINGS},
          verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2),
          melody=_part(args.melody), chords=_part(args.chords), start=args.start, end=args.end)
    return 0


def cmd_train_bass(args) -> int:
    config = _config(args)
    _setup_logging(config["log.level"])
    from jazzd.pipeline.bassfit import train_bass

    corpus = Path(args.corpus) if args.corpus else config.path_of("train.corpus")
    if not Path(args.beat_tracks).is_dir():
        raise JazzdError(f"{args.beat_tracks}: no such folder of beat tracks")
    train_bass(Path(args.beat_tracks), corpus, Path(args.out), iterations=args.iterations)
    return 0


# the [train] settings passed to jazzd.pipeline.train.train by name
TRAIN_SETTINGS = ("n_a", "Tx", "epochs", "seed", "layers", "patience", "dropout", "stride", "batch_size",
                  "workers", "label_smoothing", "learning_rate", "strategy", "conditioning")


def _part(text):
    """A part given on the command line: an index if it is a number, else a name."""
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jazzd", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"jazzd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, help):
        p = sub.add_parser(name, help=help)
        p.add_argument("--config", type=Path, help="config file (default: ./config.toml if present)")
        add_setting_flags(p, name)
        return p

    run = command("run", "improvise live to a MIDI port")
    run.add_argument("--bars", type=int, help="stop by itself after this many bars")
    run.add_argument("--timing-log", type=Path, help="write due and sent time of every message to this CSV")
    run.set_defaults(func=cmd_run)

    gen = command("generate", "write a solo to a MIDI file (the course's my_music)")
    gen.add_argument("-o", metavar="FILE.mid", help="output file (default: [generate] output)")
    gen.add_argument("--bars", type=int, help="generate whole bars instead of [generate] values")
    gen.add_argument("--primer", metavar="FILE.mid",
                     help="continue this played phrase: its melody (found as for training) opens the solo, unchanged")
    gen.add_argument("--primer-bars", type=int, metavar="N", help="only the primer's first N bars (default: all)")
    gen.add_argument("--plot", metavar="FILE.png", help="also draw a piano roll of the solo to this image")
    gen.add_argument("--render", nargs="?", const="", metavar="FILE.wav|.mp3",
                     help="also render the MIDI file to audio (default: the .mid's name with .wav)")
    gen.set_defaults(func=cmd_generate)

    ren = command("render", "render a MIDI file to WAV or MP3 with FluidSynth")
    ren.add_argument("midi", help="the MIDI file")
    ren.add_argument("-o", metavar="FILE.wav|.mp3", help="output (default: the MIDI file's name with .wav)")
    ren.set_defaults(func=cmd_render)

    plot = command("plot", "draw a piano roll of a MIDI file's melody over its chords")
    plot.add_argument("midi", help="the MIDI file")
    plot.add_argument("-o", metavar="FILE.png", help="output image (default: the MIDI file's name with .png)")
    plot.add_argument("--melody", help="melody part: index or name (default: found by jazzd)")
    plot.add_argument("--chords", help="chord part: index or name (default: chord symbols in the file, else the other parts)")
    plot.add_argument("--bars-per-row", type=int, default=8, help="bars per row (default 8)")
    plot.set_defaults(func=cmd_plot)

    ev = command("evaluate", "quality report of a model: held-out loss and generated-bar statistics")
    ev.add_argument("model", help="model directory")
    ev.add_argument("corpus", nargs="*", help="MIDI files, folders or manifests (default: the model's own corpus)")
    ev.add_argument("--solos", type=int, default=20, help="held-out solos compared with generated ones (default 20)")
    ev.add_argument("--bars", type=int, default=32, help="bars of each solo compared (default 32)")
    ev.add_argument("--temperature", type=float, default=1.0, help="sampling temperature of the generated solos (default 1.0)")
    top_p = SETTING_BY_KEY["improviser.top_p"].default
    ev.add_argument("--top-p", dest="top_p", type=float, default=top_p,
                    help=f"nucleus sampling of the generated solos (default {top_p:g}, as [improviser] top_p)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the first generated solo (default 0)")
    ev.set_defaults(func=cmd_evaluate)

    tr = command("train", "train a model on MIDI files or corpus manifests")
    tr.add_argument("sources", nargs="*", help="MIDI files, folders (searched recursively) or .toml manifests "
                    "(default: [train] corpus)")
    tr.add_argument("--out", required=True, help="model directory to write, e.g. models/NAME")
    tr.add_argument("--melody", help="melody part: index or name (default: the manifest's)")
    tr.add_argument("--chords", help="chord part: index or name")
    tr.add_argument("--start", type=float, help="first beat of the selection (quarter notes)")
    tr.add_argument("--end", type=float, help="end beat of the selection")
    tr.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    tr.set_defaults(func=cmd_train)

    tb = command("train-bass", "fit the walking bass on the Weimar Jazz Database's beat tracks (bass pitches)")
    tb.add_argument("beat_tracks", help="folder of <solo>_FINAL_beattrack.csv files (jazz_transformer's mcsv_beat)")
    tb.add_argument("--corpus", default=None, help="the WJazzD MIDI folder with its manifest.csv "
                    "(default: [train] corpus)")
    tb.add_argument("--out", required=True, help="model directory to write, e.g. models/bass")
    tb.add_argument("--iterations", type=int, default=300, help="gradient steps (default 300)")
    tb.set_defaults(func=cmd_train_bass)

    st = sub.add_parser("settings", help="print every setting: the default config.toml, or the README's table")
    what = st.add_mutually_exclusive_group()
    what.add_argument("--toml", action="store_true", help="config.toml with every key at its default (the default)")
    what.add_argument("--markdown", action="store_true", help="the settings as a Markdown table (as in the README)")
    st.set_defaults(func=cmd_settings)
    return parser


def cmd_settings(args) -> int:
    from jazzd.settings import config_toml, markdown_table

    sys.stdout.write(markdown_table() if args.markdown else config_toml())
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("bars", "bars_per_row", "solos", "primer_bars"):
        value = getattr(args, name, None)
        if value is not None and not 0 < value <= 100_000:
            parser.error(f"--{name.replace('_', '-')} must be in 1..100000, got {value}")
    try:
        return args.func(args)
    except JazzdError as err:
        print(f"jazzd: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
