"""The one table of settings: the CLI's flags and help, train()'s defaults and the README are all checked against it."""

import inspect
import re

import pytest

from helpers import ROOT, jazzd
from jazzd.cli import TRAIN_SETTINGS, build_parser, dest
from jazzd.settings import SETTINGS, flags_of, markdown_table, toml_value

COMMANDS = ("run", "generate", "render", "plot", "evaluate", "train")


def subparser(command):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[command]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_of_a_setting_has_the_tables_help_range_and_default(command):
    options = {a.dest: a for a in subparser(command)._actions}
    for s in flags_of(command):
        action = options[dest(s)]
        assert s.flag in action.option_strings, s.key
        help_text = action.help.replace("%%", "%")
        assert help_text.startswith(s.help.rstrip(".")), s.key
        assert f"[{s.section}] {s.name}" in help_text, s.key
        if not s.optional:
            assert toml_value(s.default) in help_text, s.key
        if s.type is not bool and s.range_text():
            assert s.range_text() in help_text, s.key


def test_no_command_has_a_flag_for_a_setting_outside_the_table():
    """A flag named like a setting's flag must be that setting's, so its default and range are the table's."""
    table_flags = {s.flag for s in SETTINGS if s.flag}
    for command in COMMANDS:
        for action in subparser(command)._actions:
            for option in action.option_strings:
                if option in table_flags and not action.dest.startswith("setting__"):
                    assert command == "evaluate" and option in ("--seed", "--temperature", "--top-p"), (command, option)


def test_train_defaults_are_the_tables():
    from jazzd.pipeline.train import train

    parameters = inspect.signature(train).parameters
    for name in TRAIN_SETTINGS:
        assert parameters[name].default == next(s.default for s in SETTINGS if s.key == f"train.{name}"), name
    assert set(TRAIN_SETTINGS) == {s.name for s in SETTINGS if s.section == "train" and s.name != "corpus"}


def test_the_readme_carries_the_settings_table_and_restates_no_default():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->", readme, re.S)
    assert block, "the README has no settings table"
    assert block.group(1) == markdown_table(), "README settings drifted: jazzd settings --markdown"
    # outside the table, a default is never written as "(default N)" next to a setting's name
    prose = readme.replace(block.group(0), "")
    for s in SETTINGS:
        for match in re.finditer(rf"`?\[{s.section}\] {s.name}`?[^.\n]{{0,40}}\(default ([^)]+)\)", prose):
            assert match.group(1).strip("`\"") == str(s.default).lower().strip("\""), (s.key, match.group(0))


@pytest.mark.parametrize("args, fragment", [
    (["--dropout", "1.5"], "--dropout must be <= 0.9, got 1.5"),
    (["--learning-rate", "nan"], "--learning-rate must be a finite number > 0 and <= 1, got nan"),
    (["--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["--batch-size", "-3"], "--batch-size must be >= 1, got -3"),
])
def test_a_bad_training_flag_is_one_line_before_any_parsing(tmp_path, args, fragment):
    result = jazzd("train", tmp_path / "missing-corpus", "--out", tmp_path / "m", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"jazzd: error: {fragment}"]
    assert not (tmp_path / "m").exists()
