"""A tenant's model is asked outside the message's database transaction, a few calls at a time per tenant.

1. In the message's transaction the assistant runs with a :class:`Probe` for its model: whatever the
   deterministic understanding reads is answered there and then. If the engine asks the model, the probe
   records the question (a :class:`ModelQuestion`) and picks nothing; the caller rolls that turn back and
   queues the question instead (an encrypted outbox row), so nothing waits on the model with a lock held.
2. :func:`ask`, outside any transaction, asks the model within its timeout, holding one of the tenant's
   :class:`ModelSlots` (``BIZZLY_ASSISTANT_MODEL_CONCURRENCY`` per process); with none free it answers
   ``busy`` at once and the caller waits without holding a worker.
3. The caller runs the turn again in a new transaction with a :class:`Replay`: the engine re-reads the
   conversation as it is now, and if it asks the very same question it gets the model's answer; any other
   question (the conversation moved on meanwhile) fails like a broken model, with the deterministic help.
   Whatever the answer, it still goes through the tool layer's policy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bizzly.metrics import ASSISTANT_MODEL_CALLS
from bizzly.ports import LanguageModel
from integrations.llm import ModelError


def _plain(value: Any) -> Any:
    """As it reads back from JSON (tuples become lists), so a recorded question compares equal."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class ModelQuestion:
    """What the engine asked the model: the chat messages and the tools offered."""

    messages: list[dict[str, str]]
    tools: list[dict[str, Any]]

    @classmethod
    def of(cls, messages: Sequence[Mapping[str, str]], tools: Sequence[Mapping[str, Any]]) -> ModelQuestion:
        return cls(messages=_plain(list(messages)), tools=_plain(list(tools)))

    def to_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "tools": self.tools}

    @classmethod
    def from_json(cls, data: Any) -> ModelQuestion | None:
        if not isinstance(data, dict):
            return None
        messages, tools = data.get("messages"), data.get("tools")
        if not isinstance(messages, list) or not isinstance(tools, list):
            return None
        return cls(messages=messages, tools=tools)


class Probe:
    """A ``LanguageModel`` that only records the first question it is asked and picks nothing (the turn
    that asked is rolled back, so what the engine then does is never seen; nothing is logged as a fault)."""

    def __init__(self) -> None:
        self.question: ModelQuestion | None = None

    async def choose_tool(
        self, messages: Sequence[Mapping[str, str]], tools: Sequence[Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        if self.question is None:
            self.question = ModelQuestion.of(messages, tools)
        return None


class Outcome(StrEnum):
    ANSWERED = "answered"
    FAILED = "failed"
    BUSY = "busy"


@dataclass(frozen=True)
class ModelAnswer:
    outcome: Outcome
    choice: Mapping[str, Any] | None = None
    error: str = ""

    @classmethod
    def failed(cls, error: str) -> ModelAnswer:
        return cls(outcome=Outcome.FAILED, error=error)


class Replay:
    """A ``LanguageModel`` that gives ``answer`` to ``question`` once, and fails anything else."""

    def __init__(self, question: ModelQuestion, answer: ModelAnswer) -> None:
        self.question = question
        self.answer = answer
        self.used = False

    async def choose_tool(
        self, messages: Sequence[Mapping[str, str]], tools: Sequence[Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        if self.used or ModelQuestion.of(messages, tools) != self.question:
            raise ModelError("the conversation moved on while the model was asked")
        self.used = True
        if self.answer.outcome is not Outcome.ANSWERED:
            raise ModelError(self.answer.error or "the model did not answer")
        return self.answer.choice


class ModelSlots:
    """At most ``limit`` model calls in flight per tenant, in this process (one per event loop: the
    check and the count happen with no ``await`` between them)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._busy: dict[uuid.UUID, int] = {}

    def in_flight(self, tenant_id: uuid.UUID) -> int:
        return self._busy.get(tenant_id, 0)

    @contextmanager
    def take(self, tenant_id: uuid.UUID) -> Iterator[bool]:
        """Yields whether a slot was free (and then holds it until the block ends)."""
        if self.in_flight(tenant_id) >= self.limit:
            yield False
            return
        self._busy[tenant_id] = self.in_flight(tenant_id) + 1
        try:
            yield True
        finally:
            left = self._busy[tenant_id] - 1
            if left:
                self._busy[tenant_id] = left
            else:
                del self._busy[tenant_id]


async def ask(
    model: LanguageModel, question: ModelQuestion, *, slots: ModelSlots, tenant_id: uuid.UUID
) -> ModelAnswer:
    """The model's answer to ``question`` (its own timeout bounds the call), or ``busy`` at once when the
    tenant already has ``slots.limit`` calls in flight. Never raises for the model's faults."""
    with slots.take(tenant_id) as free:
        if not free:
            answer = ModelAnswer(outcome=Outcome.BUSY)
        else:
            try:
                answer = ModelAnswer(
                    outcome=Outcome.ANSWERED,
                    choice=await model.choose_tool(question.messages, question.tools),
                )
            except ModelError as exc:
                answer = ModelAnswer.failed(str(exc))
    ASSISTANT_MODEL_CALLS.labels(outcome=answer.outcome.value).inc()
    return answer
