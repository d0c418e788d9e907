"""Run every benchmark and print their tables (`make bench`). Never part of the tests."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import inference  # noqa: E402
import interplay  # noqa: E402
import training  # noqa: E402

if __name__ == "__main__":
    inference.main([])
    print()
    training.main([])
    print()
    interplay.main([])
