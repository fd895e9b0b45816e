"""Deprecated path of :mod:`agentmem_langchain.analytics.cloudwatch`, kept for one release."""

from __future__ import annotations

import warnings

from .analytics.cloudwatch import *  # noqa: F403
from .analytics.cloudwatch import __all__ as __all__

warnings.warn(
    f"{__name__} is deprecated; import from agentmem_langchain.analytics.cloudwatch",
    DeprecationWarning,
    stacklevel=2,
)
