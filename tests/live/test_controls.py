import pytest

from jazzd.live.events import ControlChange
from jazzd.live.controls import ControlMap, mode_from_cc, temperature_from_cc, tempo_from_cc


def test_mappings_cover_their_ranges():
    assert temperature_from_cc(0) == 0.1 and temperature_from_cc(127) == 2.0
    assert tempo_from_cc(0) == 40 and tempo_from_cc(40) == 120
    assert [mode_from_cc(v) for v in (0, 42, 43, 85, 86, 127)] == ["off", "off", "prime", "prime", "trade", "trade"]


def test_control_map_reads_its_ccs_on_its_channel():
    controls = ControlMap({"temperature": 20, "panic": 22, "mute": -1}, channel=0)
    assert controls.read(ControlChange(0.0, 0, 20, 127)) == ("temperature", 2.0)
    assert controls.read(ControlChange(0.0, 0, 22, 1)) == ("panic", True)
    assert controls.read(ControlChange(0.0, 1, 20, 1)) is None  # another channel
    assert controls.read(ControlChange(0.0, 0, 64, 127)) is None  # not mapped


def test_bad_maps():
    with pytest.raises(ValueError, match="CC 20 is mapped to both"):
        ControlMap({"temperature": 20, "tempo": 20})
    with pytest.raises(ValueError, match="unknown control"):
        ControlMap({"volume": 7})
