"""Shared by the hostile-input suite: how many examples each property gets.

The defaults keep ``make test`` quick and repeatable (derandomized); ``BIZZLY_FUZZ_EXAMPLES=500`` (say) runs
the same properties deeper, ``BIZZLY_FUZZ_RANDOM=1`` draws new examples each run (the GraphQL suite has
its own ``BIZZLY_FUZZ_GRAPHQL_EXAMPLES``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

# Also the WhatsApp suite's fixtures: the fake Graph API and settings pointing at it (with the app secret).
from tests.integrations.whatsapp.conftest import meta, settings  # noqa: F401

EXAMPLES = int(os.environ.get("BIZZLY_FUZZ_EXAMPLES", "40"))


def fuzz_settings(examples: int | None = None) -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=examples or EXAMPLES,
        deadline=None,
        database=None,
        derandomize=os.environ.get("BIZZLY_FUZZ_RANDOM") is None,
        suppress_health_check=list(HealthCheck),
    )


# Strings a hostile sender would try: NUL (PostgreSQL refuses it in text), lone surrogates (not UTF-8),
# right-to-left marks, very long values, numbers as strings, SQL and markup.
NASTY = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfff",
        "\u202e",
        "\ufeff",
        "0",
        "-1",
        "1e309",
        "' OR 1=1 --",
        "<script>",
        "%s%n",
        "../../etc/passwd",
        "x" * 300,
        "9" * 70,
        "\U0001f600" * 50,
    ]
)
ANY_TEXT = st.one_of(NASTY, st.text(st.characters(codec=None), max_size=40))
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ANY_TEXT)
ANY_JSON = st.recursive(
    JSON_SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
