"""A validation rule: string literals written inside a GraphQL document must be text a database can store.

The endpoint refuses NUL and unpaired surrogates in the JSON body (``graphql_api/view.py``), but a document
may spell them as GraphQL escapes (``"\\u0000"``) inside its own literals, which only the GraphQL parser
decodes; without this rule PostgreSQL would fail on them mid-resolver (a masked server error).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, StringValueNode, ValidationRule

from domain.catalog.text import storable_text

MESSAGE = "Text may not contain NUL (\\u0000) characters or unpaired surrogates (\\ud800)."


class StorableText(ValidationRule):
    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if not storable_text(node.value):
            self.report_error(GraphQLError(MESSAGE, node))
