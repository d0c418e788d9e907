"""Audio checks for the built-in synth: read a WAV, find its note onsets, compare them with MIDI onsets.

Onsets by spectral flux (Bello et al. 2005, "A tutorial on onset detection in
music signals"): the rise of the log magnitude spectrum summed over bins, peaks
above a moving median. Used by tests/live/test_synth.py and bench/synth_take.py.
"""

from __future__ import annotations

import wave
from pathlib import Path

import mido
import numpy as np

WINDOW = 1024  # frames of one spectrum (21 ms at 48 kHz)
HOP = 128  # frames between spectra (2.7 ms at 48 kHz)
MIN_GAP_S = 0.03  # two onsets closer than this are one


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(frames, channels) floats in -1..1 and the sample rate of a 16-bit WAV file."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2, f"{path}: not 16-bit"
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
        return data.astype(np.float64) / 32768.0, w.getframerate()


def peak_dbfs(audio: np.ndarray) -> float:
    """The peak level in dB relative to full scale."""
    return 20.0 * np.log10(max(np.abs(audio).max(), 1e-12))


def onsets(audio: np.ndarray, sample_rate: int, threshold: float = 3.0) -> np.ndarray:
    """Onset times (seconds) of a (frames, channels) or mono signal, by spectral flux.

    Args:
        threshold: how far above the local median (in median absolute deviations) a peak must rise.
    """
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    mono = np.concatenate([np.zeros(WINDOW), mono])  # silence before, so an attack at 0 s is found
    starts = np.arange(0, len(mono) - WINDOW, HOP)
    frames = np.stack([mono[s : s + WINDOW] for s in starts]) * np.hanning(WINDOW)
    spectrum = np.log1p(100.0 * np.abs(np.fft.rfft(frames, axis=1)))
    flux = np.concatenate([[0.0], np.maximum(0.0, np.diff(spectrum, axis=0)).sum(axis=1)])
    half = int(0.1 * sample_rate / HOP)  # a 0.2 s window for the local median
    padded = np.pad(flux, half, mode="edge")
    local = np.array([np.median(padded[i : i + 2 * half + 1]) for i in range(len(flux))])
    spread = np.median(np.abs(flux - np.median(flux))) + 1e-9
    found, last = [], -np.inf
    for i in range(1, len(flux) - 1):
        if flux[i] >= flux[i - 1] and flux[i] > flux[i + 1] and flux[i] > local[i] + threshold * spread:
            t = (starts[i] - WINDOW / 2) / sample_rate  # the attack reaches the window's centre
            if t - last >= MIN_GAP_S:
                found.append(t)
                last = t
    return np.array(found)


def midi_notes(path: Path) -> list[tuple[float, float, int, int]]:
    """(onset s, end s, channel, MIDI note) of every note in a MIDI file."""
    now, open_, notes = 0.0, {}, []
    for msg in mido.MidiFile(str(path)):
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            open_.setdefault((msg.channel, msg.note), []).append(now)
        elif msg.type in ("note_on", "note_off") and open_.get((msg.channel, msg.note)):
            notes.append((open_[(msg.channel, msg.note)].pop(0), now, msg.channel, msg.note))
    return sorted(notes)


def onset_errors(expected: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """For each expected onset (seconds), the signed distance to the nearest detected one."""
    if not len(detected):
        return np.full(len(expected), np.inf)
    index = np.clip(np.searchsorted(detected, expected), 1, len(detected) - 1) if len(detected) > 1 else \
        np.zeros(len(expected), dtype=int)
    before = detected[np.maximum(index - 1, 0)]
    after = detected[index]
    return np.where(np.abs(after - expected) < np.abs(before - expected), after - expected, before - expected)


def levels_db(audio: np.ndarray, sample_rate: int, hop_s: float = 0.01) -> np.ndarray:
    """RMS level (dBFS) of every hop_s of the signal."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    hop = int(hop_s * sample_rate)
    n = len(mono) // hop
    rms = np.sqrt(np.mean(mono[: n * hop].reshape(n, hop) ** 2, axis=1))
    return 20.0 * np.log10(np.maximum(rms, 1e-12))
