"""A small GraphQL client for tests, and the contract's operations by name."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from graphql import OperationDefinitionNode, parse, print_ast

REPO = Path(__file__).resolve().parents[2]
# The dashboard's and websites' operations, kept in the repository beside schema.graphql.
CONTRACT_DIR = REPO / "contract"


def contract_operations() -> dict[str, str]:
    """Every operation of ``contract/*.graphql``, by name, as printable documents.

    A missing or empty contract folder is an error here, not an empty set: every test that sends a
    contract operation, and the contract test itself, would otherwise pass on nothing."""
    # Parsed once per version of the files: every ``gql.op`` call asks, and parsing costs ~15 ms.
    files = tuple((path, path.stat().st_mtime_ns) for path in sorted(CONTRACT_DIR.glob("*.graphql")))
    if not files:
        raise FileNotFoundError(f"no contract operations in {CONTRACT_DIR} (the repository's contract/)")
    return dict(_parse_contract(files))


@functools.lru_cache(maxsize=4)
def _parse_contract(files: tuple[tuple[Path, int], ...]) -> dict[str, str]:
    ops: dict[str, str] = {}
    for path, _ in files:
        document = parse(path.read_text())
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name:
                ops[definition.name.value] = print_ast(definition)
    return ops


@dataclass
class Result:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        data = self.body.get("data")
        assert isinstance(data, dict), self.body
        return data

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def error_codes(self) -> list[str]:
        return [str((e.get("extensions") or {}).get("code")) for e in self.errors]


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if tenant:
            sent["X-Bizzly-Tenant"] = tenant
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )
        try:
            body = response.json()
        except ValueError:  # strawberry answers 400s in plain text
            body = {"text": response.text}
        return Result(status=response.status_code, body=body)

    async def op(self, name: str, variables: dict[str, Any] | None = None, **kw: Any) -> Result:
        """Send one operation of the contract, exactly as the dashboard sends it."""
        return await self(contract_operations()[name], variables, **kw)
