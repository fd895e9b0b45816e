"""The scripted tool-calling chat model the agent tests use (the library's own)."""

from __future__ import annotations

from agentmem_langchain.langchain.testing import ScriptedChatModel, tool_call, tool_calls

__all__ = ["ScriptedChatModel", "tool_call", "tool_calls"]
