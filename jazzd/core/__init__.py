"""The music core: values, chords, the realizer and the numpy LSTM, shared by the live daemon and the pipeline.

Nothing here imports TensorFlow or opens a MIDI port.
"""
