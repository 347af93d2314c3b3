"""Print the schema (``make schema`` writes it to schema.graphql, which is committed and checked)."""

from __future__ import annotations

import sys

from graphql_api.schema import build_schema


def schema_sdl() -> str:
    return build_schema().as_str().rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(schema_sdl())
