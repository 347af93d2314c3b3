"""The tenant's optional OpenAI-compatible model (``configureAssistantModel``). Staff set the base URL, the
model name and the API key; the key is encrypted at rest and never returned."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.crypto import KeyRing
from bizzly.egress import EgressPolicy, check_destination
from bizzly.errors import Invalid
from bizzly.ids import new_id
from domain.assistant.models import AssistantModelConfig
from domain.assistant.repository import AssistantStore
from domain.privacy.audit import record

MAX_URL = 500
MAX_MODEL = 200
MAX_KEY = 500


@dataclass(frozen=True)
class ModelSettings:
    """What staff see back: never the key."""

    base_url: str
    model: str


@dataclass(frozen=True)
class ModelCredentials:
    base_url: str
    model: str
    api_key: str


def _clean(value: str, *, field: str, limit: int, what: str) -> str:
    text = (value or "").replace("\x00", "").strip()
    if not text:
        raise Invalid(f"Enter the {what}.", field=field)
    if len(text) > limit:
        raise Invalid(f"Use at most {limit} characters for the {what}.", field=field)
    return text


async def configure_assistant_model(
    session: AsyncSession,
    *,
    keys: KeyRing,
    egress: EgressPolicy,
    actor: str,
    base_url: str | None,
    model: str | None,
    api_key: str | None,
) -> ModelSettings | None:
    """Set the model (all three given) or, with ``base_url=None``, go back to deterministic only. The base
    URL must reach the public internet (or a host the operator allowed): ``bizzly.egress``."""
    store = AssistantStore(session)
    if base_url is None:
        await store.remove_model_config()
        record(
            session,
            actor=actor,
            action="assistant.model_removed",
            subject_type="Integration",
            subject_id=None,
        )
        return None
    url = _clean(base_url, field="baseUrl", limit=MAX_URL, what="base URL")
    name = _clean(model or "", field="model", limit=MAX_MODEL, what="model name")
    key = _clean(api_key or "", field="apiKey", limit=MAX_KEY, what="API key")
    url = (await check_destination(url, egress, field="baseUrl")).url
    row = await store.model_config()
    if row is None:
        row = AssistantModelConfig(id=new_id(), base_url=url, model=name, api_key_encrypted=keys.encrypt(key))
        store.add_model_config(row)
    else:
        row.base_url, row.model, row.api_key_encrypted = url, name, keys.encrypt(key)
    await session.flush()
    record(
        session,
        actor=actor,
        action="assistant.model_configured",
        subject_type="Integration",
        subject_id=row.id,
    )
    return ModelSettings(base_url=url, model=name)


async def assistant_model(session: AsyncSession) -> ModelSettings | None:
    row = await AssistantStore(session).model_config()
    return ModelSettings(base_url=row.base_url, model=row.model) if row is not None else None


async def model_credentials(session: AsyncSession, *, keys: KeyRing) -> ModelCredentials | None:
    """For the adapter only (the key in clear)."""
    row = await AssistantStore(session).model_config()
    if row is None:
        return None
    return ModelCredentials(
        base_url=row.base_url, model=row.model, api_key=keys.decrypt(row.api_key_encrypted)
    )
