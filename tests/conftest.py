"""Suite-wide settings: in CI, property tests draw the same examples every run."""

from __future__ import annotations

import os

from hypothesis import settings

# Locally each run explores new examples (and remembers failures in .hypothesis/); CI must be
# reproducible, so it derandomizes and prints the reproduction blob of any failure.
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
