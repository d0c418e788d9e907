"""The General MIDI SoundFont that `jazzd render` and the built-in synth play with.

Apart from jazzd.render so the live side (jazzd.live.synth) can find it without
importing the offline pipeline.
"""

from __future__ import annotations

from pathlib import Path

from jazzd.errors import RenderError

SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian/Ubuntu fluid-soundfont-gm
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",  # Fedora, Arch
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",  # macOS Homebrew (fluid-synth)
    "/usr/local/share/soundfonts/default.sf2",
)


def find_soundfont(configured: str | Path | None = None) -> Path:
    """The SoundFont to render with: the configured one, else the first of SOUNDFONT_PATHS present.

    Raises:
        RenderError: if the configured file is missing, or none is installed
            (the message names the package fluid-soundfont-gm).
    """
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise RenderError(f"{path}: no such SoundFont ([render] soundfont)")
        return path
    for candidate in SOUNDFONT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise RenderError("no General MIDI SoundFont found: install the package fluid-soundfont-gm "
                      "(apt-get install fluid-soundfont-gm) or set [render] soundfont")
