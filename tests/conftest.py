"""Settings shared by every test directory.

Hypothesis runs without deadlines (a real store's first call may be slow, which is not a
failure); ``HYPOTHESIS_PROFILE=ci`` also derandomizes, so a CI failure reproduces.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
