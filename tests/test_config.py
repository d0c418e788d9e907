import pytest

from helpers import ROOT
from jazzd.config import defaults, load_config
from jazzd.settings import SETTINGS, config_toml
from jazzd.errors import ConfigError


def test_the_shipped_config_toml_loads_and_is_the_table_at_its_defaults():
    config = load_config(ROOT / "config.toml")
    assert (ROOT / "config.toml").read_text() == config_toml(), "config.toml drifted: jazzd settings --toml > config.toml"
    for s in SETTINGS:
        assert config[s.key] == s.default, s.key
    assert config.path_of("model.path") == ROOT / "models" / "default"


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("[clock]\nbpm = -120\n", r"config.toml: \[clock\] bpm must be >= 4, got -120"),
    ("[clock]\nbpm = nan\n", r"config.toml: \[clock\] bpm must be a finite number 4..1000, got nan"),
    ("[feel]\nhumanize_ms = inf\n", r"\[feel\] humanize_ms must be a finite number 0..50, got inf"),
    ("[improviser]\nseed = -1\n", r"\[improviser\] seed must be >= 0, got -1"),
    ("[clock]\nbmp = 120\n", r"unknown key \[clock\] bmp \(expected one of source, bpm, link_start_stop, link_tempo_control\)"),
    ("[tempo]\nbpm = 120\n", r"unknown section \[tempo\]"),
    ("[clock]\nbpm = \"fast\"\n", r"\[clock\] bpm must be a finite number, got 'fast'"),
    ("[comp]\nenabled = 1\n", r"\[comp\] enabled must be true or false, got 1"),
    ("[melody]\nchannel = 17\n", r"\[melody\] channel must be <= 16, got 17"),
    ("[midi]\nbackend = \"oss\"\n", r"\[midi\] backend must be one of"),
    ("[melody]\nlow = 60\nhigh = 65\n", r"\[melody\] high must be at least an octave above"),
    ("[comp]\nchannel = 1\n", r"\[comp\] channel must differ from \[melody\] channel"),
    ("[band]\nbass_channel = 2\n", r"\[band\] bass_channel must differ from \[comp\] channel \(2\)"),
    ("[band]\ndrums_channel = 1\n", r"\[band\] drums_channel must differ from \[melody\] channel \(1\)"),
    ("[band]\nstyle = \"polka\"\n", r"\[band\] style must be one of \"swing\", \"up\""),
    ("[band]\nstyle = \"waltz\"\n[harmony]\nbeats_per_bar = 4\n",
     r"\[harmony\] beats_per_bar is 4, but \[band\] style 'waltz' is played in 3/4: set it to 0 \(the style's\) or 3"),
    ("[band]\nbass_low = 40\nbass_high = 48\n", r"\[band\] bass_high must be at least an octave above"),
    ("[controls]\nmute_drums = 20\n", r"\[controls\] mute_drums uses CC 20, as does \[controls\] temperature"),
    ("[clock\nbpm = 1\n", r"not valid TOML"),
    ("clock = 3\n", r"clock must be a \[clock\] table"),
])
def test_bad_config_is_one_line_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(write(tmp_path, text))
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_flags_override_and_are_checked_by_flag_name(tmp_path):
    config = load_config(write(tmp_path, "[clock]\nbpm = 100\n"))
    assert config.override({"clock.bpm": ("--bpm", 140.0)})["clock.bpm"] == 140.0
    assert config.override({"clock.bpm": ("--bpm", None)})["clock.bpm"] == 100.0
    with pytest.raises(ConfigError, match="--bpm must be >= 4, got -1"):
        config.override({"clock.bpm": ("--bpm", -1.0)})
    # a MIDI file's tempo holds at most 16,777,215 us a beat: 1 BPM was a ValueError in mido (found by the fuzz test)
    with pytest.raises(ConfigError, match="--bpm must be >= 4, got 1"):
        config.override({"clock.bpm": ("--bpm", 1.0)})
    with pytest.raises(ConfigError, match="--swing must be a finite number 0.5..0.75, got nan"):
        config.override({"feel.swing": ("--swing", float("nan"))})


def test_unknown_chord_in_the_progression_names_key_and_symbol(tmp_path):
    config = load_config(write(tmp_path, '[harmony]\nprogression = "| Dm7 | Hm7 |"\n'))
    with pytest.raises(ConfigError, match=r"\[harmony\] progression: bar 2: unknown chord symbol 'Hm7'"):
        config.progression()


def test_defaults_are_the_table():
    config = defaults()
    assert all(config[s.key] == s.default for s in SETTINGS)


def test_a_progression_of_more_than_1024_bars_is_refused(tmp_path):
    config = load_config(write(tmp_path, '[harmony]\nprogression = "' + "| C7 " * 10_000 + '|"\n'))
    with pytest.raises(ConfigError, match=r"\[harmony\] progression: the progression has 10000 bars; at most 1024"):
        config.progression()


def test_a_style_sets_the_meter_and_a_muted_style_frees_its_channels(tmp_path):
    assert load_config(write(tmp_path, '[band]\nstyle = "waltz"\n')).beats_per_bar == 3
    assert load_config(write(tmp_path, '[band]\nstyle = "swing"\n')).beats_per_bar == 4
    assert load_config(write(tmp_path, '[harmony]\nbeats_per_bar = 5\n[band]\nstyle = "pads"\n')).beats_per_bar == 5
    # no bass plays: its channel may be another part's
    assert load_config(write(tmp_path, '[band]\nbass = false\nbass_channel = 2\n'))["band.bass_channel"] == 2
