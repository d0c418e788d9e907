# jazzd: `make run` plays live with the bundled model and config.toml;
# `make test` runs the whole test suite; `make bench` prints the benchmark table.
# Each sets up what it needs first: the virtualenv, jazzd, and (for tests and
# benchmarks) the Debian packages of the MIDI server they run against.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# jackd2: the MIDI server of the end-to-end tests; fluidsynth, fluid-soundfont-gm,
# lame: `jazzd render` (WAV and MP3); libjack-jackd2-dev, libasound2-dev, pkg-config,
# g++: python-rtmidi built against this machine's libjack (see .rtmidi below); iproute2: `ip`, which brings
# up the loopback interface of the network namespace the Link tests run in (unshare, util-linux).
APT_PACKAGES := jackd2 fluidsynth fluid-soundfont-gm lame libjack-jackd2-dev libasound2-dev pkg-config g++ iproute2
SOUNDFONT := /usr/share/sounds/sf2/FluidR3_GM.sf2

.PHONY: run hear train test bench system-deps audio-deps clean

# `make train OUT=models/mine SOURCES="~/midi/jazz"`: TensorFlow too, then jazzd train
OUT ?= models/mine
SOURCES ?=

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[link]"
	$(MAKE) --no-print-directory $(VENV)/.rtmidi
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[train,test,link]"
	$(MAKE) --no-print-directory $(VENV)/.rtmidi
	touch $@

# python-rtmidi's PyPI wheel bundles a libjack of its own (1.9.22): two libjacks in jazzd's
# process (JACK-Client's is the system's) keep its JACK watch from working. Where JACK's headers
# are installed, python-rtmidi is built here against the system's libjack and ALSA instead
# (same version, ~20 s); elsewhere the wheel stays. (Its JACK input crashed with either
# libjack: jazzd reads JACK input with JACK-Client, jazzd.live.jackinput.)
$(VENV)/.rtmidi: | $(BIN)/python
	@if pkg-config --exists jack alsa 2>/dev/null && command -v c++ >/dev/null; then \
	  version=$$($(BIN)/python -c "import importlib.metadata as m; print(m.version('python-rtmidi'))") && \
	  echo "building python-rtmidi $$version against $$(pkg-config --modversion jack) (the system's libjack)" && \
	  $(BIN)/python -m pip install --quiet --no-deps --force-reinstall --no-binary python-rtmidi \
	    "python-rtmidi==$$version"; \
	else echo "python-rtmidi: keeping the PyPI wheel (no JACK/ALSA headers: apt-get install libjack-jackd2-dev libasound2-dev)"; fi
	touch $@

# The end-to-end tests play through a real JACK server (dummy driver, no sound card)
# and render audio with FluidSynth.
system-deps:
	@if command -v jackd >/dev/null && command -v jack_connect >/dev/null && command -v fluidsynth >/dev/null \
	   && command -v lame >/dev/null && [ -f $(SOUNDFONT) ] && command -v c++ >/dev/null && command -v ip >/dev/null \
	   && pkg-config --exists jack alsa 2>/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else echo "jazzd: install $(APT_PACKAGES) for the end-to-end tests and jazzd render" >&2; fi

run: $(VENV)/.run-deps
	$(BIN)/jazzd run

# `make hear`: FluidSynth and the SoundFont (apt), then jazzd run with the built-in synth to the speakers
hear: audio-deps $(VENV)/.run-deps
	$(BIN)/jazzd run --synth

train: $(VENV)/.test-deps
	$(BIN)/jazzd train $(SOURCES) --out $(OUT)

# `jazzd render` needs FluidSynth, a SoundFont and lame: `make audio-deps` installs them.
audio-deps: system-deps

test: system-deps $(VENV)/.test-deps
	$(BIN)/python -m pytest

bench: system-deps $(VENV)/.test-deps
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
