# jazzd: `make run` plays live with the bundled model and config.toml;
# `make test` runs the whole test suite; `make bench` prints the benchmark table.
# Each sets up what it needs first: the virtualenv, jazzd, and (for tests and
# benchmarks) the Debian packages of the MIDI server they run against.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# jackd2: the MIDI server of the end-to-end tests; fluidsynth, fluid-soundfont-gm,
# lame: `jazzd render` (WAV and MP3).
APT_PACKAGES := jackd2 fluidsynth fluid-soundfont-gm lame
SOUNDFONT := /usr/share/sounds/sf2/FluidR3_GM.sf2

.PHONY: run test bench system-deps audio-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[train,test]"
	touch $@

# The end-to-end tests play through a real JACK server (dummy driver, no sound card)
# and render audio with FluidSynth.
system-deps:
	@if command -v jackd >/dev/null && command -v jack_connect >/dev/null && command -v fluidsynth >/dev/null \
	   && command -v lame >/dev/null && [ -f $(SOUNDFONT) ]; then :; \
	elif command -v apt-get >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else echo "jazzd: install $(APT_PACKAGES) for the end-to-end tests and jazzd render" >&2; fi

run: $(VENV)/.run-deps
	$(BIN)/jazzd run

# `jazzd render` needs FluidSynth, a SoundFont and lame: `make audio-deps` installs them.
audio-deps: system-deps

test: system-deps $(VENV)/.test-deps
	$(BIN)/python -m pytest

bench: system-deps $(VENV)/.test-deps
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
