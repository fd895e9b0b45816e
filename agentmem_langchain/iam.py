"""Deprecated path of :mod:`agentmem_langchain.stores.dynamodb.iam`, kept for one release."""

from __future__ import annotations

import warnings

from .stores.dynamodb.iam import *  # noqa: F403
from .stores.dynamodb.iam import __all__ as __all__

warnings.warn(
    f"{__name__} is deprecated; import from agentmem_langchain.stores.dynamodb.iam",
    DeprecationWarning,
    stacklevel=2,
)
