"""Operations built from the schema itself: selections of every readable field, and arguments filled with
plausible values, where every id slot carries an id chosen by the caller (another tenant's, in the attacks).

Used by the generic suites, so a field added to the schema is exercised without anyone editing a test.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    Undefined,
    build_client_schema,
    get_named_type,
    is_leaf_type,
)

from bizzly import clock
from graphql_api.schema import build_schema

# The limits the app runs with; generated operations stay well inside them.
MAX_TOKENS = 1500
SELECTION_DEPTH = 4

# The phone every generated input carries: the cross-tenant factories give tenant B's customers the same one,
# so a phone lookup in A that reached B's rows would show them.
PROBE_PHONE = "+447700900123"


def client_schema() -> GraphQLSchema:
    return build_client_schema(build_schema().introspect())  # type: ignore[arg-type]


def node_types(schema: GraphQLSchema) -> list[str]:
    node = schema.get_type("Node")
    if not isinstance(node, GraphQLInterfaceType):
        return []
    return sorted(t.name for t in schema.get_possible_types(node))


def root_fields(schema: GraphQLSchema, root: str) -> dict[str, GraphQLField]:
    type_ = schema.query_type if root == "query" else schema.mutation_type
    return dict(type_.fields) if type_ is not None else {}


# --- selections -------------------------------------------------------------------------------------------


def _required_args(field: GraphQLField) -> bool:
    return any(is_required(a) for a in field.args.values())


def is_required(arg: GraphQLArgument | GraphQLInputField) -> bool:
    return isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined


def selection(
    schema: GraphQLSchema,
    type_: GraphQLType,
    depth: int = SELECTION_DEPTH,
    skip: frozenset[str] = frozenset(),
) -> str:
    """Every field without required arguments, objects ``depth`` levels down; empty for a leaf type."""
    named = get_named_type(type_)
    if named is None or is_leaf_type(named):
        return ""
    parts = ["__typename"]
    if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
        possible = schema.get_possible_types(named)
        # Same-named fields of different types cannot share one selection set: leave those out.
        seen: dict[str, set[str]] = defaultdict(set)
        for t in possible:
            for fname, f in t.fields.items():
                seen[fname].add(str(f.type))
        clashing = frozenset(fname for fname, types in seen.items() if len(types) > 1)
        for t in possible:
            parts.append(f"... on {t.name} {{ {selection(schema, t, depth, skip=clashing)} }}")
        return " ".join(parts)
    assert isinstance(named, GraphQLObjectType)
    for name, field in named.fields.items():
        if _required_args(field) or name in skip:
            continue
        if is_leaf_type(get_named_type(field.type)):
            parts.append(name)
        elif depth > 0:
            parts.append(f"{name} {{ {selection(schema, field.type, depth - 1)} }}")
    return " ".join(parts)


def count_tokens(document: str) -> int:
    return len(re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[{}():!$\[\]=@]|\.\.\.", document))


# --- argument values --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdSlot:
    """Where an id goes: the argument or input field's name, the root field it belongs to, and whether
    the call must carry it (the slot and every input around it are required)."""

    name: str
    field: str
    required: bool


# An id for the slot, or None to leave an optional slot out.
IdChooser = Callable[[IdSlot], str | None]


def _camel_suffixes(type_name: str) -> list[str]:
    words = re.findall(r"[A-Z][a-z0-9]*", type_name) or [type_name]
    return ["".join(words[i:]) for i in range(len(words))]


def id_types_for(slot: IdSlot, types: list[str]) -> list[str]:
    """The Node types an id slot most plausibly expects (all of them when nothing says)."""
    base = re.sub(r"Ids?$", "", slot.name)
    if base and base != slot.name:
        exact = [t for t in types if t.lower() == base.lower()]
        ending = [t for t in types if t.lower().endswith(base.lower())]
        if exact or ending:
            return exact or ending
    field = slot.field.lower()
    best: list[str] = []
    best_len = 0
    for t in types:
        for suffix in _camel_suffixes(t):
            if suffix.lower() in field:
                if len(suffix) > best_len:
                    best, best_len = [t], len(suffix)
                elif len(suffix) == best_len:
                    best.append(t)
                break
    return best or list(types)


def id_slots(field_name: str, args: Mapping[str, GraphQLArgument]) -> list[IdSlot]:
    """Every place an id can be given to this field: arguments and input fields, at any depth."""
    found: list[IdSlot] = []

    Arg = GraphQLArgument | GraphQLInputField

    def walk(name: str, arg: Arg, seen: frozenset[str], required: bool) -> None:
        named = get_named_type(arg.type)
        required = required and is_required(arg)
        if isinstance(named, GraphQLScalarType) and named.name == "ID":
            found.append(IdSlot(name, field_name, required))
        elif isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            for sub, f in named.fields.items():
                walk(sub, f, seen | {named.name}, required)

    for name, arg in args.items():
        walk(name, arg, frozenset(), True)
    return found


def _has_id(type_: GraphQLInputType, seen: frozenset[str] = frozenset()) -> bool:
    named = get_named_type(type_)
    if isinstance(named, GraphQLScalarType):
        return named.name == "ID"
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return any(_has_id(f.type, seen | {named.name}) for f in named.fields.values())
    return False


def future(days: int = 21, hour: int = 10) -> datetime:
    """A weekday morning three weeks ahead: inside any booking window, past any notice period."""
    day = (clock.now() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return day + timedelta(days=(7 - day.weekday()) % 7)  # a Monday


def scalar_value(type_name: str, name: str, *, tenant_slug: str) -> Any:
    n = name.lower()
    if type_name == "String":
        hints = [
            ("email", "intruder@alpha-intruder.example.com"),
            ("phone", PROBE_PHONE),
            ("password", "Intruder-Pass-42"),
            ("slug", tenant_slug),
            ("currency", "GBP"),
            ("timezone", "Europe/London"),
            ("region", "GB"),
            ("opens", "09:00"),
            ("closes", "17:00"),
            ("url", "https://alpha.example.com/"),
            ("uri", "https://alpha.example.com/"),
            ("token", "not-a-real-token-0000000000"),
        ]
        return next((v for key, v in hints if key in n), "Intruder")
    if type_name == "Int":
        ints = [("first", 5), ("last", 5), ("weekday", 0), ("amount", 1000), ("minutes", 30), ("hours", 2)]
        return next((v for key, v in ints if key in n), 1)
    if type_name == "Float":
        return 1.0
    if type_name == "Boolean":
        return True
    if type_name == "DateTime":
        return future().astimezone(UTC).isoformat()
    if type_name == "Date":
        return future().date().isoformat()
    return "x"


class ValueMaker:
    """Arguments for one call: required values, and every id slot (optional ones too) from ``choose``."""

    def __init__(self, *, tenant_slug: str, choose: IdChooser, field: str, full: bool = False) -> None:
        self.tenant_slug = tenant_slug
        self.choose = choose
        self.field = field
        self.full = full  # optional arguments and input fields too

    def _wanted(self, arg: GraphQLArgument | GraphQLInputField) -> bool:
        return self.full or is_required(arg) or _has_id(arg.type)

    def arguments(self, args: Mapping[str, GraphQLArgument]) -> dict[str, Any]:
        return self._fields(args, frozenset(), True)

    def _fields(
        self,
        fields: Mapping[str, GraphQLArgument | GraphQLInputField],
        seen: frozenset[str],
        required: bool,
    ) -> dict[str, Any]:
        values = {}
        for name, f in fields.items():
            # A recursive input (a filter of filters) is followed once.
            if not self._wanted(f) or (not is_required(f) and get_named_type(f.type).name in seen):
                continue
            value = self.value(name, f.type, seen, required=required and is_required(f))
            if value is not None or is_required(f):
                values[name] = value
        return values

    def value(self, name: str, type_: GraphQLType, seen: frozenset[str], *, required: bool) -> Any:
        if isinstance(type_, GraphQLNonNull):
            return self.value(name, type_.of_type, seen, required=required)
        if isinstance(type_, GraphQLList):
            item = self.value(name, type_.of_type, seen, required=required)
            return None if item is None else [item]
        assert isinstance(type_, GraphQLNamedType)
        if isinstance(type_, GraphQLEnumType):
            return next(iter(type_.values))
        if isinstance(type_, GraphQLInputObjectType):
            return self._fields(type_.fields, seen | {type_.name}, required)
        if type_.name == "ID":
            return self.choose(IdSlot(name, self.field, required))
        return scalar_value(type_.name, name, tenant_slug=self.tenant_slug)


@dataclass(frozen=True)
class Call:
    field: str
    document: str
    variables: dict[str, Any]


def build_call(schema: GraphQLSchema, root: str, name: str, field: GraphQLField, values: ValueMaker) -> Call:
    """``query|mutation Probe($a: T!, ...) { name(a: $a, ...) { <everything> } }`` and its variables."""
    arguments = values.arguments(field.args)
    definitions = ", ".join(f"${a}: {field.args[a].type}" for a in arguments)
    passed = ", ".join(f"{a}: ${a}" for a in arguments)
    head = f"{root} Probe" + (f"({definitions})" if definitions else "")
    call = name + (f"({passed})" if passed else "")
    for depth in range(SELECTION_DEPTH, -1, -1):
        inner = selection(schema, field.type, depth)
        document = f"{head} {{ {call}" + (f" {{ {inner} }}" if inner else "") + " }"
        if count_tokens(document) <= MAX_TOKENS:
            return Call(name, document, arguments)
    raise AssertionError(f"{name}: no selection fits in {MAX_TOKENS} tokens")


def typed_ids(data: Any) -> Iterator[tuple[str, str]]:
    """Every ``(__typename, id)`` pair anywhere in a response's data."""
    if isinstance(data, dict):
        if isinstance(data.get("__typename"), str) and isinstance(data.get("id"), str):
            yield data["__typename"], data["id"]
        for value in data.values():
            yield from typed_ids(value)
    elif isinstance(data, list):
        for item in data:
            yield from typed_ids(item)
