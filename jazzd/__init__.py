"""jazzd: a real-time MIDI jazz improvisation daemon.

An LSTM learns jazz solos as grammar *values* (Gillick, Tang & Keller 2009, as
in the deeplearning.ai "Improvise a Jazz Solo with an LSTM Network" course and
Ji-Sung Kim's deepjazz); the daemon steps it on a beat clock and plays the
realized notes to a MIDI port.
"""

__version__ = "0.1.0"
