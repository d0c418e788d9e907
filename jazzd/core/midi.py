"""MIDI numbers jazzd uses, in one table (as python-rtmidi's midiconstants.py).

Channels are 0-based here, as mido numbers them; musicians (and config.toml) say 1..16.
"""

ALL_NOTES_OFF = 123  # control change: every note on the channel off
PPQN = 24  # MIDI beat clock: pulses per quarter note
DRUM_CHANNEL = 9  # General MIDI percussion, channel 10 to a musician
MIDDLE_C = 60  # MIDI note number of C4
NOTE_NUMBERS = range(128)
VELOCITIES = range(1, 128)  # a note-on of velocity 0 is a note-off
CHANNELS = range(16)

# System real-time and common messages of the beat clock (status bytes).
TIMING_CLOCK = 0xF8
START = 0xFA
CONTINUE = 0xFB
STOP = 0xFC
SONG_POSITION = 0xF2
SIXTEENTHS_PER_BEAT = 4  # Song Position Pointer counts MIDI beats, which are sixteenth notes
