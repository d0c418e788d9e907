"""The one table of settings: every key's section, type, default, range, unit, help and command-line flag.

Everything else is derived from SETTINGS, as mido derives its message lookups
from one SPECS list: the checks of config.toml and of the flags (jazzd.config),
the flags and their help (jazzd.cli), config.toml itself (`jazzd settings --toml`
prints it; a test compares it with the shipped file), the README's settings
table (`jazzd settings --markdown`, compared the same way) and the defaults of
jazzd.pipeline.train.train.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import Any

TYPE_NAMES = {str: "a string", int: "an integer", float: "a finite number", bool: "true or false",
              tuple: "a list of strings"}


@dataclass(frozen=True)
class Setting:
    """One setting.

    Args:
        section, name: where it lives in config.toml ([section] name).
        type: str, int, float, bool, or tuple (a list of non-empty strings; a flag given again adds one).
        default: the value when neither config.toml nor a flag sets it (None: absent).
        help: one sentence: what it sets (the flag's help and config.toml's comment).
        unit: the unit of a number ("BPM", "beats", "MIDI note number"...), "" for none.
        low, high: the inclusive range of a number (None: open); low_open makes low exclusive.
        choices: the allowed strings.
        doc: more prose for config.toml and the README (may be several sentences).
        flag: the command-line flag that sets it, and commands: the commands that take it.
        example: for an optional key, the value config.toml shows commented out.
    """

    section: str
    name: str
    type: type
    default: Any
    help: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""
    flag: str | None = None
    commands: tuple[str, ...] = ()
    example: Any = None

    @property
    def key(self) -> str:
        """"section.name"."""
        return f"{self.section}.{self.name}"

    @property
    def optional(self) -> bool:
        return self.default is None

    def range_text(self) -> str:
        """The allowed values in words: 'one of "a", "b"', '0..127', '> 0', ..."""
        if self.choices:
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        if self.type is bool:
            return "true or false"
        if self.type is str:
            return ""
        if self.low is not None and self.high is not None and not self.low_open:
            return f"{_num(self.low)}..{_num(self.high)}"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_num(self.low)}")
        if self.high is not None:
            parts.append(f"<= {_num(self.high)}")
        return " and ".join(parts)

    def problem(self, value) -> str | None:
        """Why a value (already of the right type) is not allowed, or None."""
        if self.choices and value not in self.choices:
            return "must be " + self.range_text()
        if self.type in (int, float):
            if self.type is float and not math.isfinite(value):
                return f"must be a finite number{' ' + self.range_text() if self.range_text() else ''}"
            if self.low is not None and (value <= self.low if self.low_open else value < self.low):
                return f"must be {'>' if self.low_open else '>='} {_num(self.low)}"
            if self.high is not None and value > self.high:
                return f"must be <= {_num(self.high)}"
        if self.type is str and not self.choices and self.low is not None and not value.strip():
            return "must not be empty"
        if self.type is tuple and not all(isinstance(v, str) and v.strip() for v in value):
            return "must be a list of non-empty strings"
        return None


def _num(x) -> str:
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 10_000 else f"{x:g}"


def toml_value(value) -> str:
    """A value as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


NONEMPTY = 1  # low for a string: it must not be empty
MAX_SEED = 2**63 - 1
CC = dict(type=int, low=-1, high=127, unit="CC number")

SECTIONS: dict[str, str] = {
    "model": "",
    "improviser": "",
    "clock": "",
    "harmony": "",
    "melody": "",
    "feel": "",
    "comp": "",
    "band": ("The rhythm section beside the solo: bass, drums and (with [comp]) piano, each on its own channel, "
             "in a style."),
    "midi": "",
    "input": "",
    "controls": ("Live controls by MIDI control change on the input: CC numbers (-1 = none). CC 20-31 are "
                 "unassigned in General MIDI."),
    "state": "",
    "scheduler": "",
    "log": "",
    "train": ("`jazzd train` without arguments reads [train] corpus with these settings; they rebuild "
              "models/default: `jazzd train --out models/default`."),
    "synth": ("`jazzd run --synth`: the live stream played by FluidSynth (in-process) to this machine's audio "
              "output, with [render] soundfont and gain, so it sounds as `jazzd render` does. The MIDI port opens "
              "beside it."),
    "render": "`jazzd render` and `jazzd generate --render`: FluidSynth with a General MIDI SoundFont.",
    "generate": "",
}

SETTINGS: tuple[Setting, ...] = (
    Setting("model", "path", str, "models/default", "Model directory: weights.npz, vocab.json, metadata.json "
            "(made by `jazzd train`)", low=NONEMPTY, flag="--model", commands=("run", "generate"),
            doc="A relative path is read from this file's folder, then from jazzd's own folder (the bundled "
                "models)."),
    Setting("improviser", "temperature", float, 1.0, "Sampling temperature", low=0.0, high=5.0,
            flag="--temperature", commands=("run", "generate"),
            doc="0 takes the most likely value every step (the course's argmax: the same solo every run); 1.0 "
                "samples the model's own distribution; above 1 flattens it (wilder), below 1 sharpens it."),
    Setting("improviser", "top_p", float, 0.9, "Nucleus sampling: sample among the most likely values that "
            "together hold this share of the probability", low=0.01, high=1.0, flag="--top-p",
            commands=("run", "generate"),
            doc="Cuts the model's unlikely tail without flattening the rest (Holtzman et al. 2020); applied after "
                "the temperature. 1.0 keeps every value. The models are trained with label smoothing, which "
                "spreads a tenth of the probability over every value: at 1.0 a solo draws from that tail and "
                "comes out sparser and leapier than the players' (see the README's model card)."),
    Setting("improviser", "seed", int, None, "Seed for a reproducible solo", low=0, high=MAX_SEED,
            flag="--seed", commands=("run", "generate"), example=42,
            doc="The same seed, model and settings play the same notes live and in `jazzd generate`. Leave it "
                "out for a new solo on every run."),
    Setting("clock", "source", str, "internal", "Where the beat comes from",
            choices=("internal", "midi", "link", "jack"), flag="--clock", commands=("run",),
            doc='"internal": the tempo below. "midi": follow the MIDI beat clock a DAW sends to the input port '
                "(24 pulses per quarter note, Start, Stop, Continue, Song Position): jazzd plays only while the "
                "DAW's transport runs. If the clock stops arriving for more than two beats (and half a second) "
                'without a Stop, every note is released, and the solo plays on from there when it comes back. '
                '"link": join the Ableton Link session on the local network (tempo, phase with a quantum of one '
                'bar, start/stop; needs the link extra). "jack": follow the JACK transport (rolling, bar, beat '
                "and BPM of its timebase master, relocation)."),
    Setting("clock", "bpm", float, 120.0, "Tempo in beats (quarter notes) per minute", unit="BPM", low=4.0,
            high=1000.0, flag="--bpm", commands=("run", "generate"),
            doc='With source = "midi", the tempo assumed until the first pulses arrive; "link": the tempo jazzd '
                'offers while alone in a session (one it joins keeps its own); "jack": the tempo frames are counted '
                'at where no timebase master gives one. At least 4: a MIDI '
                "file's tempo holds at most 16,777,215 microseconds a beat (3.58 BPM)."),
    Setting("clock", "link_start_stop", bool, True, "Link: play while the session plays (start/stop sync)",
            doc="Off: jazzd plays from the session's next bar line after it joins, whatever the session's "
                "start/stop says."),
    Setting("clock", "link_tempo_control", bool, False, "Link: the tempo CC sets the session's tempo",
            doc="Off (the default): jazzd never changes the session's tempo, which every peer follows; the "
                "tempo CC is ignored with a log line."),
    Setting("harmony", "source", str, "progression", "Where the chords come from",
            choices=("progression", "corpus", "live"), flag="--harmony", commands=("run", "generate"),
            doc='"progression": the lead sheet below, looped. "corpus": the chords of the model\'s training '
                'corpus, looped, as the course does. "live": the keys the player holds on [input] chord_channel '
                "or below [input] split_note, named with music21 (with no keys held the last chord stays; until "
                "the first chord, the progression's first chord)."),
    Setting("harmony", "progression", str, "| Dm7 | G7 | Cmaj7 | Cmaj7 |", "The chord progression, a lead "
            "sheet, looped", low=NONEMPTY, flag="--progression", commands=("run", "generate"),
            doc='Bars between "|" (at most 1024); several chords in a bar share it equally ("| Dm7 G7 |"); '
                '"%" repeats the bar before; "N.C." is no chord. Chord symbols as on a lead sheet: Dm7, G7b9, '
                "Cmaj7, F#m7b5, Bb7alt, Ebm6, C-7 (minor), Gø7, A7sus4, C/E (read with music21.harmony)."),
    Setting("harmony", "beats_per_bar", int, 0, "Beats per bar; 0 = the style's (3 for the waltz, else 4)",
            unit="beats", low=0, high=16,
            doc="A style is played in its own meter: with [band] style = \"waltz\" this must be 0 or 3."),
    Setting("melody", "channel", int, 1, "MIDI channel of the solo", low=1, high=16),
    Setting("melody", "program", int, 26, "General MIDI program of the solo, sent at the start and at bar lines "
            "where it rests", low=-1, high=127,
            doc="26 = electric jazz guitar, 66 = tenor sax; -1 sends no program change (keep the DAW's "
                "instrument)."),
    Setting("melody", "low", int, 52, "Lowest note of the solo", unit="MIDI note number", low=0, high=127,
            doc="52..81 (E3..A5) is where guitar and tenor saxophone overlap; low and high must be at least "
                "an octave apart."),
    Setting("melody", "high", int, 81, "Highest note of the solo", unit="MIDI note number", low=0, high=127),
    Setting("melody", "velocity", int, 90, "MIDI velocity of the solo's notes", low=1, high=127),
    Setting("feel", "swing", float, 0.5, "Swing: the share of a beat the first of two eighth notes takes",
            low=0.5, high=0.75, flag="--swing", commands=("run", "generate"),
            doc="0.5 is straight, 0.67 the triplet feel. Applied when notes are scheduled."),
    Setting("feel", "timing", str, "players", "Where a note falls around its grid point",
            choices=("players", "grid"), flag="--timing", commands=("run", "generate", "evaluate"),
            doc="\"players\": as the players of the model's corpus put it (their push, lay-back and swing, "
                "learned with the model: jazzd.core.timing); \"grid\": exactly on the grammar's 1/4- and "
                "1/3-beat grid, as the course plays it (and any model saved without the timing). Keep swing at "
                "0.5 with \"players\": their swing is in it."),
    Setting("feel", "accent", int, 8, "Velocity added to notes on beat 1", low=0, high=40,
            doc="Half of it on beat 3; a quarter of it is taken off notes that start between beats."),
    Setting("feel", "humanize_ms", float, 0.0, "The largest random shift of a note's onset", unit="ms",
            low=0.0, high=50.0, doc="0 = exact."),
    Setting("feel", "humanize_velocity", int, 0, "The largest random change of a note's velocity", low=0,
            high=40, doc="0 = exact."),
    Setting("comp", "enabled", bool, True, "Play the piano: the band's comping, on its own channel",
            flag="--comp", commands=("run", "generate"),
            doc="Voicings and rhythms of [band] style (rootless voicings led from one to the next, Charleston, "
                "anticipations...); the \"pads\" style is the old block chords. Over live chords the piano lays "
                "out: the player comps."),
    Setting("comp", "channel", int, 2, "MIDI channel of the piano; must differ from the other parts'", low=1,
            high=16),
    Setting("comp", "program", int, 0, "General MIDI program of the piano (0 = acoustic grand piano); -1 "
            "sends none", low=-1, high=127),
    Setting("comp", "velocity", int, 60, "MIDI velocity of the piano's notes", low=1, high=127),
    Setting("band", "style", str, "swing", "The band's style", choices=("swing", "up", "ballad", "bossa", "waltz",
                                                                        "pads"),
            flag="--style", commands=("run", "generate"),
            doc='"swing": medium swing (walking bass, ride and hi-hat on 2 and 4, rootless voicings in Charleston '
                'and anticipations); "up": up-tempo swing (lighter, shell voicings, sparser); "ballad": two-feel '
                'bass, brushes, sustained voicings; "bossa": bossa nova (root and fifth, straight eighths, '
                'cross-stick); "waltz": jazz waltz in 3/4; "pads": block chords only (jazzd\'s old comp, no bass '
                "or drums). Swing ratio and humanize follow the tempo."),
    Setting("band", "bass", bool, True, "Play the bass", flag="--bass", commands=("run", "generate"),
            doc="A walking line learned from the Weimar Jazz Database's bass lines ([band] bass_model), a two-feel "
                "in the ballad, root and fifth in the bossa."),
    Setting("band", "drums", bool, True, "Play the drums", flag="--drums", commands=("run", "generate")),
    Setting("band", "bass_channel", int, 3, "MIDI channel of the bass", low=1, high=16),
    Setting("band", "bass_program", int, 32, "General MIDI program of the bass (32 = acoustic bass); -1 sends none",
            low=-1, high=127),
    Setting("band", "bass_velocity", int, 80, "MIDI velocity of the bass's notes", low=1, high=127),
    Setting("band", "bass_low", int, 28, "Lowest note of the bass", unit="MIDI note number", low=0, high=127,
            doc="28..55 (E1..G3) is the upright bass's walking register."),
    Setting("band", "bass_high", int, 55, "Highest note of the bass", unit="MIDI note number", low=0, high=127),
    Setting("band", "drums_channel", int, 10, "MIDI channel of the drums (10: General MIDI percussion)", low=1,
            high=16),
    Setting("band", "drum_kit", str, "style", "The drum kit, sent as a program change on the drums' channel",
            choices=("style", "standard", "jazz", "brush", "none"),
            doc='"style": the style\'s (jazz; brush for the ballad; standard for the bossa), as GS and GM2 number '
                'them (0 standard, 32 jazz, 40 brush); "none" sends none.'),
    Setting("band", "drums_velocity", int, 100, "Loudness of the drums: 100 plays the style's patterns as written",
            low=1, high=127),
    Setting("band", "humanize_ms", float, 6.0, "The largest move of a band note off its grid point", unit="ms",
            low=0.0, high=30.0),
    Setting("band", "bass_model", str, "models/bass", "The walking bass's model: weights.npz and metadata.json "
            "(made by `jazzd train-bass`)", low=NONEMPTY,
            doc="A relative path is read from this file's folder, then from jazzd's own folder (the bundled one)."),
    Setting("midi", "output", str, "auto", "Where the solo goes", low=NONEMPTY, flag="--output",
            commands=("run",),
            doc='"auto": a virtual port on the backend below; where no MIDI system can open one (no ALSA '
                'sequencer, no JACK server), one warning and the stream is recorded to fallback_file instead. '
                '"virtual": a virtual port, or an error. "FILE.mid": record to this Standard MIDI File. Any other '
                "text: the name (or part of it) of an existing output port to connect to."),
    Setting("midi", "backend", str, "auto", "MIDI system", choices=("auto", "alsa", "jack", "coremidi"),
            flag="--backend", commands=("run",),
            doc='"auto": on Linux the ALSA sequencer where /dev/snd/seq exists, else JACK when a server runs; '
                "CoreMIDI on macOS."),
    Setting("midi", "client_name", str, "jazzd", "MIDI client name of the virtual output", low=NONEMPTY,
            doc='A DAW lists the port as "jazzd out" (ALSA: client "jazzd"; JACK: "jazzd:jazzd out").'),
    Setting("midi", "output_port", str, "jazzd out", "Name of the virtual output port", low=NONEMPTY),
    Setting("midi", "input", str, "auto", "The MIDI input, on the output's backend", low=NONEMPTY,
            flag="--input", commands=("run",),
            doc='"auto": a virtual port where a MIDI system runs, else none. "off": none. "virtual": a virtual '
                "port, or an error. Any other text: the name (or part of it) of an existing input port."),
    Setting("midi", "input_client_name", str, "jazzd-in", "MIDI client name of the virtual input",
            low=NONEMPTY, doc='JACK needs a client name of its own for it: "jazzd-in:jazzd in".'),
    Setting("midi", "input_port", str, "jazzd in", "Name of the virtual input port", low=NONEMPTY),
    Setting("midi", "connect", tuple, (), "Connect the output to every port whose name contains one of these",
            flag="--connect", commands=("run",),
            doc='On JACK, at start and again whenever such a port appears (a synth or DAW started later): '
                '["fluidsynth"] finds "fluidsynth-midi:midi_00", ["Solo/midi_in"] the input of Ardour\'s track '
                '"Solo" ("ardour:Solo/midi_in 1"); `jack_lsp` lists the others. Other backends: one warning; '
                "connect with the system's patchbay (aconnect on ALSA)."),
    Setting("midi", "jack_latency_periods", int, 2, "JACK: every message sounds this many periods after its due "
            "time, on its exact frame", unit="periods", low=1, high=8,
            doc="jazzd hands each message to JACK ahead of time, from a process of its own, and it is written at "
                "its frame offset in its cycle: a fixed latency (2 periods: 10.7 ms at 256 frames, 48 kHz) buys "
                "every note its sample, whatever Python's scheduler does. 1 is tighter and loses a message to a "
                "late wake-up more often (it then goes at the start of the next cycle)."),
    Setting("midi", "fallback_file", str, "jazzd-live.mid", 'The file output = "auto" records to where no MIDI '
            "system runs", low=NONEMPTY, doc="Made whole on disk at least once a bar."),
    Setting("input", "mode", str, "off", "What the player's notes on the input do",
            choices=("off", "prime", "trade"), flag="--mode", commands=("run",),
            doc='"off": nothing (clock and controls still work). "prime": each bar played is quantized, '
                "parsed into values over its chords and fed through the LSTM (not played), so the solo follows "
                'the player while jazzd keeps playing. "trade": call and response: jazzd listens, then answers '
                "from the next bar line for as many bars as the player's phrase, then listens again."),
    Setting("input", "phrase_end_beats", float, 2.0, "Trade: silence that ends the player's phrase",
            unit="beats", low=0.25, high=64.0),
    Setting("input", "trade_bars", int, 4, "Trade: the longest phrase before jazzd answers (4 = trading fours)",
            unit="bars", low=1, high=64),
    Setting("input", "answer_bars", int, 0, "Trade: bars jazzd answers for; 0 = as many as the phrase took",
            unit="bars", low=0, high=64),
    Setting("input", "interrupt", bool, False, "Trade: a note from the player stops jazzd's answer at the next "
            "beat", doc="With false the note starts the player's next phrase, and jazzd finishes."),
    Setting("input", "chord_channel", int, 0, "MIDI channel whose notes are chords, not melody; 0 = none",
            low=0, high=16, doc='For [harmony] source = "live".'),
    Setting("input", "split_note", int, 0, "Notes below this are chords, not melody; 0 = no split",
            unit="MIDI note number", low=0, high=127, doc="60 = middle C."),
    Setting("controls", "channel", int, 0, "MIDI channel the controls listen on; 0 = any", low=0, high=16),
    Setting("controls", "temperature", default=20, help="Temperature: CC value 0..127 -> 0.1..2.0", **CC),
    Setting("controls", "mute", default=21, help="Mute: the solo and the chords are silent while the CC is >= 64",
            **CC),
    Setting("controls", "panic", default=22, help="Panic: any value > 0 sends all notes off now", **CC),
    Setting("controls", "reset", default=23, help="Reset: any value > 0 sets a and c back to zeros", **CC),
    Setting("controls", "top_p", default=26, help="Nucleus sampling: CC value 0..127 -> top_p 0.5..1.0", **CC),
    Setting("controls", "tempo", default=24, help="Tempo of the internal clock: CC value 0..127 -> 40..294 BPM",
            **CC),
    Setting("controls", "mode", default=25, help="Input mode: 0..42 off, 43..85 prime, 86..127 trade", **CC),
    Setting("controls", "mute_bass", default=27, help="Mute the bass while the CC is >= 64", **CC),
    Setting("controls", "mute_drums", default=28, help="Mute the drums while the CC is >= 64", **CC),
    Setting("controls", "mute_piano", default=29, help="Mute the piano while the CC is >= 64", **CC),
    Setting("state", "file", str, "", "Where a, c, the random generators and the playhead are kept across "
            "restarts; empty = off", flag="--state", commands=("run",),
            doc="A JSON file written on exit and read on start, used only when it was written for the same "
                "model."),
    Setting("scheduler", "lookahead_beats", float, 1.0, "How far ahead of the playhead the LSTM generates",
            unit="beats", low=0.25, high=16.0, doc="Notes are queued at least this early and sent at their "
                                                   "exact times."),
    Setting("log", "level", str, "info", "How much jazzd logs", choices=("debug", "info", "warning", "error"),
            flag="--log-level", commands=("run", "generate", "render", "plot", "evaluate", "train", "train-bass"),
            doc="At info the daemon logs one line per bar."),
    Setting("train", "corpus", str, "../shared/data/wjazzd", "The corpus `jazzd train` reads without "
            "arguments: MIDI files, a folder of them (searched recursively) or a manifest (.toml)", low=NONEMPTY),
    Setting("train", "epochs", int, 60, "The most training epochs (the course: 100)", low=1, high=100_000,
            flag="--epochs", commands=("train",)),
    Setting("train", "n_a", int, 64, "LSTM units (the course: 64)", low=1, high=4096, flag="--n-a",
            commands=("train",)),
    Setting("train", "layers", int, 1, "Stacked LSTM layers (the course: 1)", low=1, high=8, flag="--layers",
            commands=("train",), doc="The live path runs any number."),
    Setting("train", "Tx", int, 30, "Training window length in values (the course: 30)", unit="values", low=2,
            high=10_000, flag="--Tx", commands=("train",)),
    Setting("train", "conditioning", str, "position+chord", "What the LSTM hears besides the previous value",
            choices=("position+chord", "none"), flag="--conditioning", commands=("train",),
            doc='"position+chord": where in the bar each value starts and the chords there '
                '(jazzd.core.conditioning), as MINGUS and BebopNet condition. "none": the previous value only '
                "(the course's model)."),
    Setting("train", "seed", int, 0, "Seed for a repeatable training run", low=0, high=MAX_SEED, flag="--seed",
            commands=("train",)),
    Setting("train", "patience", int, 5, "Early stopping: stop when the validation bars' loss has not improved "
            "for this many epochs; 0 = every epoch on every training bar (the course)", unit="epochs", low=0,
            high=100_000, flag="--patience", commands=("train",),
            doc="One 4-bar block in five is kept out for validation; the best epoch's weights are kept."),
    Setting("train", "dropout", float, 0.2, "Share of the LSTM's outputs dropped while training (the course: 0)",
            low=0.0, high=0.9, flag="--dropout", commands=("train",)),
    Setting("train", "label_smoothing", float, 0.1, "Share of each training target spread over every value "
            "(the course: 0)", low=0.0, high=0.5, flag="--label-smoothing", commands=("train",),
            doc="So values rare in the corpus keep some probability."),
    Setting("train", "learning_rate", float, 0.01, "Adam's learning rate (the course: 0.01)", low=0.0, high=1.0,
            low_open=True, flag="--learning-rate", commands=("train",)),
    Setting("train", "stride", int, 1, "Values between training window starts; 1 = every window of the corpus "
            "every epoch", unit="values", low=1, high=10_000, flag="--stride", commands=("train",),
            doc="Windows are cut from the encoded corpus as they are read (tf.data), so memory does not grow "
                "with the corpus."),
    Setting("train", "strategy", str, "default", "How training is spread over devices and machines",
            choices=("default", "mirrored", "multi-worker"), flag="--strategy", commands=("train",),
            doc='"default": this process\'s device. "mirrored": tf.distribute.MirroredStrategy over every '
                'device of this machine (GPUs). "multi-worker": tf.distribute.MultiWorkerMirroredStrategy over '
                "the machines the TF_CONFIG environment variable lists, each running the same `jazzd train`; "
                "the first (chief) writes the model."),
    Setting("train", "batch_size", int, 64, "Training windows per gradient step (the course: 32)", low=1,
            high=65_536, flag="--batch-size", commands=("train",)),
    Setting("train", "workers", int, 0, "Processes that parse the corpus; 0 = one per core", low=0, high=256,
            flag="--workers", commands=("train", "evaluate")),
    Setting("synth", "enabled", bool, False, "Play the live stream through the built-in synth (FluidSynth) too",
            flag="--synth", commands=("run",),
            doc="The solo and the comp on the programs jazzd sends ([melody] program, [comp] program). Where no "
                "audio output can open, one warning and jazzd plays on (the MIDI port, and a recording)."),
    Setting("synth", "audio_driver", str, "auto", "FluidSynth's audio driver",
            choices=("auto", "pulseaudio", "pipewire", "jack", "alsa", "coreaudio", "sdl2", "oss"),
            flag="--audio-driver", commands=("run",),
            doc='"auto": CoreAudio on macOS; on Linux PulseAudio where its server runs (PipeWire serves it too), '
                "else PipeWire, else JACK where a server runs (client jazzd-synth, connected to the speakers), "
                "else ALSA."),
    Setting("synth", "record_audio", str, "", "Also write what the synth plays to this WAV file (16-bit stereo)",
            flag="--record-audio", commands=("run",),
            doc="Implies the synth. Written as it plays and made whole on disk several times a second, so it can "
                "be streamed or kept; an existing file is replaced only once the new recording has begun. "
                "Empty = no recording."),
    Setting("synth", "latency_ms", float, 30.0, "How long after its due time a message sounds in the synth",
            unit="ms", low=1.0, high=1000.0,
            doc="Room for the audio period and the sender's jitter: each note is placed on its sample. The "
                "audio output's own buffer comes on top; the MIDI port is not delayed."),
    Setting("render", "soundfont", str, "", "General MIDI SoundFont (.sf2); empty = the installed one (Debian "
            "package fluid-soundfont-gm)"),
    Setting("render", "melody_program", int, 66, "General MIDI program of the melody in renders (66 = tenor sax, "
            "26 = jazz guitar)", low=0, high=127, flag="--melody-program", commands=("render",)),
    Setting("render", "chord_program", int, 0, "General MIDI program of the chords in renders (0 = acoustic "
            "grand piano)", low=0, high=127),
    Setting("render", "bass_program", int, 32, "General MIDI program of a track named Bass in renders (32 = "
            "acoustic bass)", low=0, high=127),
    Setting("render", "sample_rate", int, 44100, "Audio sample rate", unit="Hz", low=8000, high=192_000),
    Setting("render", "gain", float, 0.5, "FluidSynth's master gain", low=0.0, high=10.0, low_open=True),
    Setting("generate", "values", int, 50, "Values `jazzd generate` writes without --bars (the course: 50)",
            unit="values", low=1, high=100_000, flag="--values", commands=("generate",)),
    Setting("generate", "output", str, "my_music.mid", "The file `jazzd generate` writes without -o",
            low=NONEMPTY),
)
SETTING_BY_KEY = {s.key: s for s in SETTINGS}
assert set(SECTIONS) == {s.section for s in SETTINGS}, "every section has a doc entry"


def default(key: str):
    """The default of a setting, by "section.name"."""
    return SETTING_BY_KEY[key].default


def flags_of(command: str) -> list[Setting]:
    """The settings a command takes as flags, in table order."""
    return [s for s in SETTINGS if s.flag and command in s.commands]


def _comment(text: str, width: int = 88) -> list[str]:
    return textwrap.wrap(text, width=width - 2, initial_indent="# ", subsequent_indent="# ",
                         break_on_hyphens=False) if text else []


def describe(s: Setting) -> str:
    """A setting's comment: its help, its unit and range, its default."""
    text = s.help.rstrip(".")
    facts = [x for x in (s.unit, s.range_text()) if x]
    if facts:
        text += f" ({', '.join(facts)})"
    text += "."
    if s.doc:
        text += " " + s.doc
    if s.optional:
        text += " Absent by default."
    else:
        text += f" Default {toml_value(s.default)}."
    return text


def config_toml() -> str:
    """config.toml with every key at its default, each with its comment: the shipped file."""
    lines = ["# jazzd configuration. Every key is optional: an absent key takes the default",
             "# shown here. An unknown key or a bad value stops jazzd with one line naming it",
             "# (exit code 2). Command-line flags override these keys (`jazzd run --help`).",
             "# Relative paths are read from this file's folder (a path typed as a flag, from the",
             "# working folder). `jazzd settings --toml` prints this file; the README's settings",
             "# table is `jazzd settings --markdown`."]
    for section, doc in SECTIONS.items():
        lines += ["", f"[{section}]"] + _comment(doc)
        for s in (s for s in SETTINGS if s.section == section):
            lines += _comment(describe(s))
            if s.optional:
                lines.append(f"# {s.name} = {toml_value(s.example)}")
            else:
                lines.append(f"{s.name} = {toml_value(s.default)}")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The README's settings table: one row per setting."""
    rows = ["| setting | default | range | flag | what it sets |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        dflt = "(absent)" if s.optional else f"`{toml_value(s.default)}`"
        rng = ", ".join(x for x in (s.range_text(), s.unit) if x)
        flag = f"`{s.flag}`" if s.flag else ""
        cells = (f"`[{s.section}] {s.name}`", dflt, rng, flag, s.help.rstrip("."))
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
