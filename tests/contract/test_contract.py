"""The dashboard's contract: every operation of ``contract/*.graphql`` validates against the schema,
through the schema's own pipeline with its depth, alias and token limits on (nothing is executed).

Operations not built yet are listed in ``PENDING`` by name; each issue removes its own. A pending operation
that validates fails the test (remove it from the list), and so does any other operation that does not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from bizzly.settings import Settings
from graphql_api.schema import build_schema
from tests.support.graphql import CONTRACT_DIR, REPO, contract_operations

OPERATIONS = contract_operations()

# Operations of the contract the schema does not serve yet (none now: every operation is served). A new
# contract operation is listed here until the issue that builds it removes it.
PENDING: frozenset[str] = frozenset()


class _ValidateOnly(SchemaExtension):
    """Stops each request after parsing and validation: a result set before execution is returned as is."""

    def on_execute(self) -> Iterator[None]:
        if not self.execution_context.pre_execution_errors:
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=None)
        yield


@pytest.fixture
def schema(settings: Settings) -> strawberry.Schema:
    """The app's schema, limits as configured, with execution switched off."""
    built = build_schema(settings)
    built.extensions = (*built.extensions, _ValidateOnly)
    return built


async def _errors(schema: strawberry.Schema, document: str, name: str | None = None) -> list[str]:
    result = await schema.execute(document, operation_name=name)
    assert result.data is None
    return [e.message for e in result.errors or []]


def test_the_contract_is_there() -> None:
    files = sorted(p.name for p in CONTRACT_DIR.glob("*.graphql"))
    assert {"accounts.graphql", "domain.graphql", "website.graphql"} <= set(files), CONTRACT_DIR
    assert len(OPERATIONS) > 50


# Where the steering copy of the contract sits beside the repository (as in CI), the two must not drift.
SHARED_CONTRACT = Path(os.environ.get("BIZZLY_SHARED_DIR", REPO.parent / "shared")) / "contract"


@pytest.mark.skipif(not SHARED_CONTRACT.is_dir(), reason="no ../shared/contract beside the repository")
def test_the_repositorys_contract_is_the_shared_one() -> None:
    def files(folder: Path) -> dict[str, str]:
        return {p.name: p.read_text() for p in sorted(folder.iterdir()) if p.is_file()}

    shared, ours = files(SHARED_CONTRACT), files(CONTRACT_DIR)
    assert sorted(shared) == sorted(ours)
    changed = sorted(name for name in shared if shared[name] != ours[name])
    assert not changed, f"contract/ differs from {SHARED_CONTRACT}: {changed}"


def test_a_missing_contract_folder_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import graphql

    monkeypatch.setattr(graphql, "CONTRACT_DIR", tmp_path / "contract")
    with pytest.raises(FileNotFoundError, match="no contract operations"):
        graphql.contract_operations()
    (tmp_path / "contract").mkdir()
    with pytest.raises(FileNotFoundError, match="no contract operations"):
        graphql.contract_operations()


def test_every_pending_name_is_an_operation_of_the_contract() -> None:
    unknown = sorted(PENDING - OPERATIONS.keys())
    assert not unknown, f"PENDING names operations the contract does not have: {unknown}"


@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_operation_validates_against_the_schema(schema: strawberry.Schema, name: str) -> None:
    errors = await _errors(schema, OPERATIONS[name], name)
    if name in PENDING:
        assert errors, f"{name} validates now: remove it from PENDING in tests/contract/test_contract.py"
    else:
        assert not errors, f"{name} does not validate:\n" + "\n".join(errors)


# --- the limits are really on in this pipeline ---------------------------------------------------------


def _chain(fields: int) -> str:
    """``{ f { f { ... { leaf } } } }``: ``fields`` fields deep (the names need not exist for the limit)."""
    return "query Deep { " + "f { " * (fields - 1) + "leaf " + "} " * (fields - 1) + "}"


async def test_the_depth_limit_admits_the_contracts_deepest_operation_and_refuses_deeper(
    schema: strawberry.Schema, settings: Settings
) -> None:
    # The contract's deepest operation (Conversations) is 7 fields deep (README of the contract).
    assert not [e for e in await _errors(schema, _chain(7)) if "depth" in e]
    too_deep = await _errors(schema, _chain(settings.graphql_max_depth + 2))
    assert f"'Deep' exceeds maximum operation depth of {settings.graphql_max_depth}" in too_deep


async def test_the_alias_limit_is_on(schema: strawberry.Schema, settings: Settings) -> None:
    n = settings.graphql_max_aliases + 1
    document = "query Many { " + " ".join(f"a{i}: viewer {{ role }}" for i in range(n)) + " }"
    assert f"{n} aliases found. Allowed: {settings.graphql_max_aliases}" in await _errors(schema, document)


async def test_the_token_limit_is_on(schema: strawberry.Schema, settings: Settings) -> None:
    document = "query Long { " + "__typename " * settings.graphql_max_tokens + "}"
    errors = await _errors(schema, document)
    assert any(f"more than {settings.graphql_max_tokens} tokens" in e for e in errors), errors


async def test_the_longest_contract_operation_is_within_the_token_limit(
    schema: strawberry.Schema,
) -> None:
    # Guards the limit itself against being set below what the dashboard sends.
    longest = max(OPERATIONS.values(), key=len)
    assert not [e for e in await _errors(schema, longest) if "tokens" in e]
