from __future__ import annotations

from graphql_api.export import schema_sdl
from tests.support.graphql import REPO


def test_committed_schema_is_up_to_date() -> None:
    committed = (REPO / "schema.graphql").read_text()
    assert committed == schema_sdl(), "schema.graphql is stale: run `make schema` and commit it"
