"""Deprecated path of :mod:`agentmem_langchain.analytics.plots`, kept for one release."""

from __future__ import annotations

import warnings

from .analytics.plots import *  # noqa: F403
from .analytics.plots import __all__ as __all__

warnings.warn(
    f"{__name__} is deprecated; import from agentmem_langchain.analytics.plots",
    DeprecationWarning,
    stacklevel=2,
)
