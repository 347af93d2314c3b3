"""docs/design.md section 8: every resolver declares its permission, and CI fails if one does not.

Walks the root types of the schema (Query, Mutation, Subscription), so every field added later is checked.
Each field must name at least one guard of ``graphql_api.permissions`` (they refuse a bad bearer token
before anything else, which a bare ``BasePermission`` would not).
"""

from __future__ import annotations

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types.base import StrawberryObjectDefinition

from graphql_api.permissions import Public, _Guard
from graphql_api.schema import build_schema


def _permissions(field: object) -> list[type[BasePermission]]:
    declared: list[type[BasePermission]] = list(getattr(field, "permission_classes", None) or [])
    for extension in getattr(field, "extensions", None) or []:
        if isinstance(extension, PermissionExtension):
            declared.extend(type(p) for p in extension.permissions)
    return declared


def undeclared(schema: strawberry.Schema) -> list[str]:
    """``Type.field`` of every root field without a guard of ``graphql_api.permissions``."""
    missing = []
    for root in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(root)
        if definition is None:
            continue
        assert isinstance(definition, StrawberryObjectDefinition)
        for field in definition.fields:
            name = f"{root}.{schema.config.name_converter.get_graphql_name(field)}"
            guards = _permissions(field)
            if not guards:
                missing.append(f"{name}: no permission_classes")
            elif not any(issubclass(g, _Guard) for g in guards):
                missing.append(
                    f"{name}: {[g.__name__ for g in guards]} are not guards of graphql_api.permissions"
                )
    return missing


def test_every_query_and_mutation_field_declares_its_permission() -> None:
    schema = build_schema()
    query = schema.get_type_by_name("Query")
    assert isinstance(query, StrawberryObjectDefinition)
    assert query.fields
    missing = undeclared(schema)
    assert not missing, "fields without a declared permission:\n" + "\n".join(missing)


def test_the_walk_notices_a_field_without_a_permission() -> None:
    class Bare(BasePermission):
        def has_permission(self, source: object, info: object, **kwargs: object) -> bool:
            return True

    @strawberry.type
    class Query:
        @strawberry.field(permission_classes=[Public])
        def guarded(self) -> int:
            return 1

        @strawberry.field
        def forgotten(self) -> int:
            return 1

        @strawberry.field(permission_classes=[Bare])
        def home_made(self) -> int:
            return 1

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def unguarded(self) -> int:
            return 1

    missing = undeclared(strawberry.Schema(query=Query, mutation=Mutation))
    assert [m.split(":")[0] for m in missing] == ["Query.forgotten", "Query.homeMade", "Mutation.unguarded"]
