"""Deprecated path of :mod:`agentmem_langchain.langchain.retriever`, kept for one release."""

from __future__ import annotations

import warnings

from .langchain.retriever import *  # noqa: F403
from .langchain.retriever import __all__ as __all__

warnings.warn(
    f"{__name__} is deprecated; import from agentmem_langchain.langchain.retriever",
    DeprecationWarning,
    stacklevel=2,
)
