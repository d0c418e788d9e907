"""The offline pipeline: corpus MIDI -> values -> windows -> Keras training -> model directory, and its evaluation."""
