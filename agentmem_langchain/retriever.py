"""Deprecated path of :mod:`agentmem_langchain.langchain.retriever`, kept for one release."""

from __future__ import annotations

from ._moved import warn_moved
from .langchain.retriever import *  # noqa: F403
from .langchain.retriever import __all__ as __all__

warn_moved(__name__, "agentmem_langchain.langchain.retriever")
