"""Settings shared by every test directory.

Hypothesis runs without deadlines (a real store's first call may be slow, which is not a
failure). In CI (``CI`` set) or with ``HYPOTHESIS_PROFILE=ci`` the examples are also
derandomized, so CI runs the same examples every time and a failure reproduces; local runs
keep drawing new ones.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
