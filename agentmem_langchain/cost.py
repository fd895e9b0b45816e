"""Deprecated path of :mod:`agentmem_langchain.analytics.cost`, kept for one release."""

from __future__ import annotations

import warnings

from .analytics.cost import *  # noqa: F403
from .analytics.cost import __all__ as __all__

warnings.warn(
    f"{__name__} is deprecated; import from agentmem_langchain.analytics.cost",
    DeprecationWarning,
    stacklevel=2,
)
