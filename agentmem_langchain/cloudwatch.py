"""Deprecated path of :mod:`agentmem_langchain.analytics.cloudwatch`, kept for one release."""

from __future__ import annotations

from ._moved import warn_moved
from .analytics.cloudwatch import *  # noqa: F403
from .analytics.cloudwatch import __all__ as __all__

warn_moved(__name__, "agentmem_langchain.analytics.cloudwatch")
