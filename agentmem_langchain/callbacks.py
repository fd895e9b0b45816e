"""Deprecated path of :mod:`agentmem_langchain.langchain.callbacks`, kept for one release."""

from __future__ import annotations

import warnings

from .langchain.callbacks import *  # noqa: F403
from .langchain.callbacks import __all__ as __all__

warnings.warn(
    f"{__name__} is deprecated; import from agentmem_langchain.langchain.callbacks",
    DeprecationWarning,
    stacklevel=2,
)
