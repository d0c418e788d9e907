"""The live daemon: clock, scheduler, ports, listener, interplay, the session core and its shell.

The live side imports the music core, never the offline pipeline or TensorFlow
(tests/test_layout.py checks it).
"""
