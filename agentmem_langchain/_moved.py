"""Module paths that moved, kept for one release: importing one warns where it is imported."""

from __future__ import annotations

import warnings


def warn_moved(old: str, new: str) -> None:
    """Warn (``DeprecationWarning``) that module ``old`` is now ``new``."""
    warnings.warn(f"{old} is deprecated; import from {new}", DeprecationWarning, stacklevel=3)


__all__ = ["warn_moved"]
