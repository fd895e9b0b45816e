"""A scripted tool-calling chat model for ``create_agent`` and LangGraph tests (no API key).

``ScriptedChatModel(responses=[AIMessage(...), ...])`` answers each call with the next
message in turn (``create_agent`` binds tools to it; the script names the tool calls) and
keeps every list of messages it was given in ``received``, so a test can read the system
message the model really saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field


class ScriptedChatModel(FakeMessagesListChatModel):
    """Answers with ``responses`` in turn (cycling); records what it received."""

    received: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


def tool_call(name: str, args: dict[str, Any], call_id: str, text: str = "") -> AIMessage:
    """A model turn that calls ``name`` with ``args`` (after saying ``text``)."""
    return AIMessage(content=text, tool_calls=[{"name": name, "args": args, "id": call_id}])


def tool_calls(*calls: tuple[str, dict[str, Any], str], text: str = "") -> AIMessage:
    """A model turn that calls several tools at once (parallel tool calls)."""
    return AIMessage(
        content=text,
        tool_calls=[{"name": n, "args": a, "id": i} for n, a, i in calls],
    )
