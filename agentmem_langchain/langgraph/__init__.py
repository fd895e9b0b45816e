"""LangGraph on agentmem's memory: a checkpointer (``AgentMemorySaver``) and a long-term
``BaseStore`` (``AgentMemoryStore``) over the same store as the agent's decisions.

Importing this package loads LangGraph (``pip install 'agentmem-langchain[agents]'``).
"""

from __future__ import annotations

from .saver import AgentMemorySaver
from .store import AgentMemoryStore

__all__ = ["AgentMemorySaver", "AgentMemoryStore"]
