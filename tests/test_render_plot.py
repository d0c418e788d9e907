"""Hear it and see it: real renders with FluidSynth, real piano-roll images."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from jazzd.errors import ConfigError
from helpers import IN_CI, SHARED, jazzd

from jazzd.pianoroll import TYPE_COLOURS
from jazzd.render import RenderError, melody_channel, render

pytestmark = pytest.mark.e2e


def need(tool):
    if shutil.which(tool) is None:
        if IN_CI:
            pytest.fail(f"{tool} is not installed; make test installs it")
        pytest.skip(f"{tool} is not installed")


def rms(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return float(np.sqrt(np.mean(frames.astype(np.float64) ** 2))) / 32768.0


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def test_generate_render_writes_a_wav_of_the_solos_length(tmp_path):
    need("fluidsynth")
    mid = tmp_path / "solo.mid"
    done = jazzd("generate", "--seed", "1", "--bars", "4", "--bpm", "120", "-o", mid, "--render", timeout=180)
    assert done.returncode == 0, done.stderr
    wav = mid.with_suffix(".wav")
    expected = 4 * 4 * 60 / 120  # 4 bars of 4 beats at 120 BPM: 8 s
    beat = 60 / 120
    assert abs(wav_seconds(wav) - expected) <= beat, wav_seconds(wav)
    assert rms(wav) > 0.005  # not silent


def test_render_mp3_and_the_instruments(tmp_path):
    need("fluidsynth")
    need("lame")
    mid = tmp_path / "solo.mid"
    assert jazzd("generate", "--seed", "2", "--bars", "2", "-o", mid).returncode == 0
    assert melody_channel(mido.MidiFile(mid)) == 0  # the "Melody" track
    done = jazzd("render", mid, "-o", tmp_path / "solo.mp3", "--melody-program", "26", timeout=180)
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "solo.mp3").read_bytes()
    assert len(data) > 10_000 and (data[:3] == b"ID3" or data[0] == 0xFF)  # an MP3 stream
    # A Weimar solo (its own Solo track and program) renders too.
    out = render(SHARED / "data" / "wjazzd" / "DonEllis_YouSteppedOutOfADream-2_152.mid", tmp_path / "pepper.wav")
    assert rms(out.path) > 0.005 and abs(wav_seconds(out.path) - out.seconds) < 1.0


def test_a_note_without_its_note_off_renders_the_files_length(tmp_path):
    """FluidSynth renders until every voice is silent: a held sax note must not make render run for ever."""
    need("fluidsynth")
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.Message("program_change", program=66),
                            mido.Message("note_on", note=60, velocity=90),
                            mido.Message("note_on", note=127, velocity=1, time=480),
                            mido.Message("note_off", note=60, time=480 * 7)])  # 127 is never released
    mid.tracks.append(track)
    mid.save(tmp_path / "held.mid")
    done = jazzd("render", tmp_path / "held.mid", "-o", tmp_path / "held.wav", timeout=170)
    assert done.returncode == 0, done.stderr
    assert abs(wav_seconds(tmp_path / "held.wav") - 4.0) < 0.5  # 8 beats at 120 BPM, plus the short release


def test_missing_fluidsynth_names_the_package(tmp_path):
    mid = tmp_path / "solo.mid"
    assert jazzd("generate", "--seed", "2", "--bars", "1", "-o", mid).returncode == 0
    bin_dir = tmp_path / "bin"  # a PATH without fluidsynth, with the Python that runs jazzd
    bin_dir.mkdir()
    done = jazzd("render", mid, env={"PATH": str(bin_dir)})
    assert done.returncode == 1
    assert done.stderr.strip() == ("jazzd: error: fluidsynth not found: install the package fluidsynth "
                                   "(apt-get install fluidsynth)")


def test_missing_soundfont_and_bad_input_are_one_line(tmp_path):
    need("fluidsynth")
    mid = tmp_path / "solo.mid"
    assert jazzd("generate", "--seed", "2", "--bars", "1", "-o", mid).returncode == 0
    config = tmp_path / "config.toml"
    config.write_text(f'[render]\nsoundfont = "{tmp_path / "none.sf2"}"\n')
    done = jazzd("render", "--config", config, mid)
    assert done.returncode == 1 and "none.sf2: no such SoundFont ([render] soundfont)" in done.stderr
    with pytest.raises(ConfigError, match=r"x.ogg: audio must end in .wav or .mp3"):
        render(mid, tmp_path / "x.ogg")
    (tmp_path / "bad.mid").write_text("no")
    with pytest.raises(RenderError, match=r"bad.mid: not a readable MIDI file"):
        render(tmp_path / "bad.mid", tmp_path / "x.wav")


def colour_pixels(png: Path, hex_colour: str) -> int:
    import matplotlib.image as mpimg

    image = mpimg.imread(str(png))[:, :, :3]
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255.0
    return int((np.abs(image - rgb).max(axis=2) < 0.02).sum())


def test_generate_plot_draws_a_piano_roll(tmp_path):
    import matplotlib.image as mpimg

    png = tmp_path / "solo.png"
    done = jazzd("generate", "--seed", "4", "--bars", "8", "-o", tmp_path / "solo.mid", "--plot", png)
    assert done.returncode == 0, done.stderr
    image = mpimg.imread(str(png))
    height, width = image.shape[:2]
    assert width >= 1200 and height >= 250  # eight bars wide, one row
    assert png.stat().st_size > 20_000
    assert colour_pixels(png, TYPE_COLOURS["C"]) > 200  # chord tones drawn in their colour


def test_plot_reads_any_midi_file_with_its_chords(tmp_path):
    from midi_files import band_type1

    png = tmp_path / "ellis.png"
    done = jazzd("plot", SHARED / "data" / "wjazzd" / "DonEllis_YouSteppedOutOfADream-2_152.mid", "-o", png)
    assert done.returncode == 0, done.stderr
    assert "piano roll of" in done.stdout
    import matplotlib.image as mpimg

    height, width = mpimg.imread(str(png)).shape[:2]
    assert height > 3 * 250  # a long solo wraps into rows
    assert colour_pixels(png, TYPE_COLOURS["C"]) > 200 and colour_pixels(png, TYPE_COLOURS["S"]) > 50
    assert not (tmp_path / "ellis-2.png").exists()  # 29 bars: one page
    band = band_type1(tmp_path / "band.mid")
    done = jazzd("plot", band)
    assert done.returncode == 0, done.stderr
    assert band.with_suffix(".png").stat().st_size > 10_000


def test_plot_errors_are_one_line(tmp_path):
    (tmp_path / "x.mid").write_text("nope")
    done = jazzd("plot", tmp_path / "x.mid")
    assert done.returncode == 1 and done.stderr.strip().startswith("jazzd: error: ")
    assert "x.mid: not a MIDI file" in done.stderr and done.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("beats_per_bar, lines", [(4, 8 * 4 + 1), (1020, 8 + 1)])
def test_a_row_of_huge_bars_gets_bar_lines_only(beats_per_bar, lines):
    """A file's 255/1 time signature (1,020 beats a bar) once meant 8,161 beat lines a row and a minute per plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jazzd.pianoroll import RollNote, _draw_row

    fig, ax = plt.subplots()
    try:
        _draw_row(ax, 0, [RollNote(0.0, 1.0, 60, "C")], [], beats_per_bar, 8, 59, 61, last=True)
        assert len([line for line in ax.lines if len(set(line.get_xdata())) == 1]) == lines
    finally:
        plt.close(fig)


def test_a_solo_longer_than_a_page_goes_on_more_pages(tmp_path):
    png = tmp_path / "long.png"
    done = jazzd("generate", "--seed", "4", "--bars", "49", "-o", tmp_path / "long.mid", "--plot", png)
    assert done.returncode == 0, done.stderr
    # six rows of eight bars a page: bar 49 starts page 2
    assert sorted(p.name for p in tmp_path.glob("long*.png")) == ["long-2.png", "long.png"]
    assert "long-2.png" in done.stdout


@pytest.mark.parametrize("style, bars", [("swing", 32), ("ballad", 32), ("bossa", 32), ("waltz", 32)])
def test_generate_with_the_band_writes_four_tracks_and_a_wav_in_which_all_four_sound(tmp_path, style, bars):
    """Each part is heard: the take rendered without it differs from the whole take by a share of its sound
    (FluidSynth renders a file the same way every time, so what changes is that part alone)."""
    from audio import read_wav

    need("fluidsynth")
    out = tmp_path / "band.mid"
    result = jazzd("generate", "--bars", bars, "--style", style, "--seed", 4, "-o", out, "--render")
    assert result.returncode == 0, result.stderr
    midi = mido.MidiFile(out)
    assert [t.name for t in midi.tracks] == ["jazzd", "Melody", "Piano", "Bass", "Drums"]
    channels = {t.name: {m.channel for m in t if m.type == "note_on"} for t in midi.tracks[1:]}
    assert channels == {"Melody": {0}, "Piano": {1}, "Bass": {2}, "Drums": {9}}
    whole, _ = read_wav(out.with_suffix(".wav"))
    level = np.sqrt(np.mean(whole ** 2))
    for k, track in enumerate(midi.tracks[1:], start=1):
        without = mido.MidiFile(type=1, ticks_per_beat=midi.ticks_per_beat)
        without.tracks.extend(t for i, t in enumerate(midi.tracks) if i != k)
        path = tmp_path / f"without-{track.name}.mid"
        without.save(path)
        rendered = jazzd("render", path, "-o", path.with_suffix(".wav"))
        assert rendered.returncode == 0, rendered.stderr
        rest, _ = read_wav(path.with_suffix(".wav"))
        n = min(len(rest), len(whole))
        part = np.sqrt(np.mean((whole[:n] - rest[:n]) ** 2))
        assert part > 0.1 * level, f"{track.name}: {20 * np.log10(part / level):.1f} dB of the whole take"


def test_generate_plot_draws_the_band_faintly_under_the_solo(tmp_path):
    import matplotlib.image

    out = tmp_path / "band.mid"
    result = jazzd("generate", "--bars", 4, "--seed", 1, "-o", out, "--plot", tmp_path / "roll.png")
    assert result.returncode == 0, result.stderr
    image = matplotlib.image.imread(tmp_path / "roll.png")[..., :3]
    bass_colour = np.array([0xd9, 0xa0, 0x66]) / 255  # the bass's notes, faint (alpha 0.7 over the rows)
    faint = 0.7 * bass_colour + 0.3 * np.array([1.0, 1.0, 1.0])
    assert np.any(np.all(np.abs(image - faint) < 0.03, axis=-1)), "no bass note drawn"
