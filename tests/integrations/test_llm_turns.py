"""The pieces that take a tenant's model out of the message's transaction: the probe records the question,
the replay answers only that question, and a tenant's slots cap its calls in flight."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY

from integrations.llm import ModelError
from integrations.llm.turns import ModelAnswer, ModelQuestion, ModelSlots, Outcome, Probe, Replay, ask

MESSAGES = [{"role": "user", "content": "got anything for a wedding"}]
TOOLS: list[dict[str, Any]] = [{"type": "function", "function": {"name": "list_services", "parameters": {}}}]
CHOICE = {"name": "list_services", "arguments": {}}


class SlowModel:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0

    async def choose_tool(
        self, messages: Sequence[Mapping[str, str]], tools: Sequence[Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        self.calls += 1
        await self.release.wait()
        return CHOICE


async def test_the_probe_records_the_first_question_and_picks_nothing() -> None:
    probe = Probe()
    assert await probe.choose_tool(MESSAGES, tuple(TOOLS)) is None
    assert await probe.choose_tool([{"role": "user", "content": "another"}], TOOLS) is None
    assert probe.question == ModelQuestion(messages=MESSAGES, tools=TOOLS)
    assert ModelQuestion.from_json(probe.question.to_json()) == probe.question


async def test_the_replay_answers_the_same_question_once_and_nothing_else() -> None:
    question = ModelQuestion.of(MESSAGES, TOOLS)
    answered = ModelAnswer(outcome=Outcome.ANSWERED, choice=CHOICE)
    replay = Replay(question, answered)
    assert await replay.choose_tool(MESSAGES, TOOLS) == CHOICE
    with pytest.raises(ModelError):  # asked twice in one turn
        await replay.choose_tool(MESSAGES, TOOLS)
    moved_on = Replay(question, answered)
    with pytest.raises(ModelError, match="moved on"):  # the conversation asks something else now
        await moved_on.choose_tool(MESSAGES, TOOLS[:0])
    failed = Replay(question, ModelAnswer.failed("model did not answer within 10 s"))
    with pytest.raises(ModelError, match="within 10 s"):
        await failed.choose_tool(MESSAGES, TOOLS)


async def test_a_tenants_calls_beyond_its_slots_are_busy_and_other_tenants_are_not() -> None:
    slots = ModelSlots(1)
    model = SlowModel()
    tenant, other = uuid.uuid4(), uuid.uuid4()
    question = ModelQuestion.of(MESSAGES, TOOLS)
    busy_before = _calls("busy")
    first = asyncio.create_task(ask(model, question, slots=slots, tenant_id=tenant))
    await asyncio.sleep(0)
    assert slots.in_flight(tenant) == 1
    assert (await ask(model, question, slots=slots, tenant_id=tenant)).outcome is Outcome.BUSY
    assert model.calls == 1  # the busy one never reached the model
    assert _calls("busy") == busy_before + 1
    second = asyncio.create_task(ask(model, question, slots=slots, tenant_id=other))
    await asyncio.sleep(0)
    assert model.calls == 2
    model.release.set()
    assert (await first).choice == CHOICE
    assert (await second).outcome is Outcome.ANSWERED
    assert slots.in_flight(tenant) == slots.in_flight(other) == 0


def _calls(outcome: str) -> float:
    return REGISTRY.get_sample_value("bizzly_assistant_model_calls_total", {"outcome": outcome}) or 0.0
