"""Shared test set-up: the ``docker`` marker means a real engine and built images.

Tests marked ``docker`` fail (they do not skip) when no engine answers: in CI a silent
skip would hide a broken set-up. Run `make unit` (``-m "not docker"``) for the fast loop.
"""

from __future__ import annotations

import os

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
