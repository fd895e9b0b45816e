"""Deprecated path of :mod:`agentmem_langchain.analytics.plots`, kept for one release."""

from __future__ import annotations

from ._moved import warn_moved
from .analytics.plots import *  # noqa: F403
from .analytics.plots import __all__ as __all__

warn_moved(__name__, "agentmem_langchain.analytics.plots")
