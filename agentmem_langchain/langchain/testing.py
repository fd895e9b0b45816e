"""A scripted tool-calling chat model, for agents that must run without an API key.

>>> from langchain_core.messages import AIMessage
>>> model = ScriptedChatModel(responses=[tool_call("get_price", {"symbol": "BTC"}, "c1"),
...                                      AIMessage("BTC trades at 45000.")])

``create_agent(model, tools=[...])`` binds its tools to it (the script names the tool
calls); each call answers with the next message in turn, cycling, and the messages each
call was given are kept in ``received`` — what the model really saw, system message
included. With ``respond=``, a function of the messages chooses each answer instead (a
stand-in for a model that reads its prompt).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field


class ScriptedChatModel(FakeMessagesListChatModel):
    """Answers with ``responses`` in turn (cycling), or with ``respond(messages)``; records
    what it received."""

    received: list[list[BaseMessage]] = Field(default_factory=list)
    respond: Callable[[list[BaseMessage]], AIMessage] | None = None
    responses: list[BaseMessage] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        """The model itself: the script decides which tools are called."""
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received.append(list(messages))
        if self.respond is not None:
            return ChatResult(generations=[ChatGeneration(message=self.respond(list(messages)))])
        return super()._generate(messages, stop, run_manager, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, None, **kwargs)


def tool_call(name: str, args: dict[str, Any], call_id: str, text: str = "") -> AIMessage:
    """A model turn that says ``text`` and calls ``name`` with ``args``."""
    return AIMessage(content=text, tool_calls=[{"name": name, "args": args, "id": call_id}])


def tool_calls(*calls: tuple[str, dict[str, Any], str], text: str = "") -> AIMessage:
    """A model turn that calls several tools at once (parallel tool calls)."""
    return AIMessage(
        content=text, tool_calls=[{"name": n, "args": a, "id": i} for n, a, i in calls]
    )


__all__ = ["ScriptedChatModel", "tool_call", "tool_calls"]
