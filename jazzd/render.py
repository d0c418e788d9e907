"""Hear it: a MIDI file rendered to WAV or MP3 with FluidSynth and a General MIDI SoundFont.

The course ends with "convert my_music.midi to mp3 with an online converter";
`jazzd render my_music.mid -o my_music.wav` (or .mp3) does it here. The melody
gets a jazz instrument (General MIDI program, default 66 tenor sax; 26 is jazz
guitar), a track named Bass an acoustic bass (32), and every other pitched part a
piano (program 0); drums keep theirs (jazzd's band: the jazz or brush kit).

Tools, all Debian packages: `fluidsynth` (the synthesizer, run as a CLI),
`fluid-soundfont-gm` (the SoundFont), `lame` or `ffmpeg` (MP3). A missing
tool is one error line naming the package to install.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import mido

from jazzd.errors import ConfigError, RenderError
from jazzd.core.midi import DRUM_CHANNEL
from jazzd.files import replaced
from jazzd.soundfont import find_soundfont
from jazzd.pipeline.parts import MIN_MONOPHONIC, SOLO_REGISTER_LOW

MELODY_TRACK_NAMES = ("melody", "solo", "lead")
BASS_TRACK_NAMES = ("bass",)
RELEASE_SECONDS = 0.25  # kept after the file's end, faded out: FluidSynth renders ~2 s of reverb tail
RENDER_TIMEOUT_S = 120.0  # plus the file's length: FluidSynth renders ~50x faster than real time


@dataclass(frozen=True)
class Rendered:
    """A rendered audio file and its length in seconds (that of the MIDI file)."""

    path: Path
    seconds: float


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if not found:
        raise RenderError(f"{name} not found: install the package {package} (apt-get install {package})")
    return found


def melody_channel(midi: mido.MidiFile) -> int | None:
    """The melody's MIDI channel (0-based): that of a track named Melody/Solo/Lead, else
    the busiest mostly monophonic non-drum channel in a solo register.

    Returns:
        The channel, or None if no channel looks like a melody.
    Source: the same heuristic as jazzd.pipeline.parts.find_melody, on raw MIDI channels.
    """
    for track in midi.tracks:
        if track.name.strip().lower() in MELODY_TRACK_NAMES:
            channels = {m.channel for m in track if m.type == "note_on"}
            if len(channels) == 1:
                return channels.pop()
    onsets: dict[int, dict[int, int]] = {}
    pitches: dict[int, list[int]] = {}
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0 and msg.channel != DRUM_CHANNEL:
                at = onsets.setdefault(msg.channel, {})
                at[tick] = at.get(tick, 0) + 1
                pitches.setdefault(msg.channel, []).append(msg.note)
    best, best_notes = None, 0
    for channel, at in onsets.items():
        single = sum(1 for k in at.values() if k == 1) / len(at)
        notes = len(pitches[channel])
        if (single >= MIN_MONOPHONIC and statistics.median(pitches[channel]) >= SOLO_REGISTER_LOW
                and notes > best_notes):
            best, best_notes = channel, notes
    return best


def bass_channels(midi: mido.MidiFile) -> set[int]:
    """The channels of the tracks named Bass (jazzd generate writes its walking bass there)."""
    return {m.channel for t in midi.tracks if t.name.strip().lower() in BASS_TRACK_NAMES for m in t
            if m.type == "note_on"}


def with_instruments(midi: mido.MidiFile, melody_program: int, chord_program: int,
                     bass_program: int = 32) -> mido.MidiFile:
    """A copy of a MIDI file whose melody channel plays melody_program, a Bass track's channel bass_program and
    the other pitched channels chord_program.

    Program changes in the file are replaced; drums (channel 10) are left alone, their kit with them.
    Args:
        melody_program, chord_program, bass_program: General MIDI programs 0..127.
    """
    lead = melody_channel(midi)
    basses = bass_channels(midi) - {lead}
    used = sorted({m.channel for t in midi.tracks for m in t if m.type == "note_on" and m.channel != DRUM_CHANNEL})
    sounding = sorted({m.channel for t in midi.tracks for m in t if m.type == "note_on"})
    end = max((sum(m.time for m in t) for t in midi.tracks), default=0)
    out = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for i, track in enumerate(midi.tracks):
        new = mido.MidiTrack()
        carry = 0
        for msg in track:
            if (msg.type == "program_change" and msg.channel != DRUM_CHANNEL) or msg.type == "end_of_track":
                carry += msg.time  # dropped: its delta time moves to the next message
                continue
            new.append(msg.copy(time=msg.time + carry))
            carry = 0
        if i == 0:
            programs = [mido.Message("program_change", channel=ch, time=0,
                                     program=melody_program if ch == lead else bass_program if ch in basses
                                     else chord_program) for ch in used]
            new[0:0] = programs
            # a note-on without its note-off would sound for ever, and FluidSynth renders until
            # every voice is silent: pedal up and All Notes Off on every channel at the file's end
            at = end - sum(m.time for m in new)
            for ch in sounding:
                new.append(mido.Message("control_change", channel=ch, control=64, value=0, time=max(at, 0)))
                new.append(mido.Message("control_change", channel=ch, control=123, value=0, time=0))
                at = 0
        new.append(mido.MetaMessage("end_of_track", time=carry))
        out.tracks.append(new)
    return out


def render(midi_path: Path, out: Path, *, soundfont: str | Path | None = None, melody_program: int = 66,
           chord_program: int = 0, sample_rate: int = 44100, gain: float = 0.5, bass_program: int = 32) -> Rendered:
    """Render a MIDI file to WAV (16-bit stereo) or MP3, chosen by out's suffix.

    Args:
        midi_path: the Standard MIDI File.
        out: the .wav or .mp3 file to write.
        soundfont: a .sf2 file; None finds the General MIDI one (find_soundfont).
        melody_program: General MIDI program of the melody (66 tenor sax, 26 jazz guitar).
        chord_program: program of the other pitched parts (0 acoustic grand piano).
        bass_program: program of a track named Bass (32 acoustic bass).
        sample_rate: Hz. Default 44100.
        gain: FluidSynth's master gain, 0..10. Default 0.5.
    Returns:
        Rendered(path, seconds).
    Raises:
        RenderError: unreadable MIDI file, unknown suffix, a missing tool or
            SoundFont (naming the package), or a tool that fails.
    Source: the course's last step (MIDI -> MP3), done with the fluidsynth and lame CLIs.
    """
    midi_path, out = Path(midi_path), Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".wav", ".mp3"):
        raise ConfigError(f"{out}: audio must end in .wav or .mp3")
    try:
        midi = mido.MidiFile(str(midi_path))
    except FileNotFoundError:
        raise RenderError(f"{midi_path}: no such MIDI file") from None
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        raise RenderError(f"{midi_path}: not a readable MIDI file ({err})") from None
    fluidsynth = _tool("fluidsynth", "fluidsynth")
    sf2 = find_soundfont(soundfont)
    encoder = None
    if suffix == ".mp3":
        encoder = shutil.which("lame") or shutil.which("ffmpeg")
        if encoder is None:
            raise RenderError("lame not found (nor ffmpeg) to write MP3: install the package lame (apt-get install lame)")
    with tempfile.TemporaryDirectory(prefix="jazzd-render-") as tmp, replaced(out) as target:
        source = Path(tmp) / "in.mid"
        with_instruments(midi, melody_program, chord_program, bass_program).save(source)
        wav = target if suffix == ".wav" else Path(tmp) / "out.wav"
        # FluidSynth renders many times faster than real time; a file it cannot finish is an error, not a hang
        _run([fluidsynth, "-n", "-i", "-q", "-F", str(wav), "-T", "wav", "-O", "s16", "-r", str(sample_rate),
              "-g", str(gain), str(sf2), str(source)], "fluidsynth", timeout=RENDER_TIMEOUT_S + midi.length)
        if not wav.is_file() or wav.stat().st_size <= 44:
            raise RenderError(f"fluidsynth wrote no audio for {midi_path}")
        trim(wav, midi.length + RELEASE_SECONDS, RELEASE_SECONDS)
        if encoder is not None:
            if Path(encoder).name.startswith("lame"):
                _run([encoder, "--quiet", "-b", "192", str(wav), str(target)], "lame")
            else:
                _run([encoder, "-loglevel", "error", "-y", "-i", str(wav), "-b:a", "192k", str(target)], "ffmpeg")
    return Rendered(out, midi.length)


def _run(command: list[str], name: str, timeout: float | None = None) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout)
    except OSError as err:
        raise RenderError(f"{name} could not start ({err})") from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"{name} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise RenderError(f"{name} failed with exit code {done.returncode}: {detail[-1] if detail else 'no message'}")


def trim(path: Path, seconds: float, fade: float) -> None:
    """Cut a 16-bit WAV file to `seconds`, fading the last `fade` seconds out (no click at the cut)."""
    import numpy as np

    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, params.nchannels)
    keep = min(len(frames), int(round(seconds * params.framerate)))
    audio = frames[:keep].astype(np.float64)
    n_fade = min(keep, int(round(fade * params.framerate)))
    if n_fade:
        audio[keep - n_fade :] *= np.linspace(1.0, 0.0, n_fade)[:, None]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(params.nchannels)
        w.setsampwidth(params.sampwidth)
        w.setframerate(params.framerate)
        w.writeframes(np.round(audio).astype(np.int16).tobytes())


def wav_seconds(path: Path) -> float:
    """Length of a WAV file in seconds (for checks and messages)."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()
