from __future__ import annotations

from tests.support.graphql import GraphQLClient


async def test_anonymous_viewer_is_null(gql: GraphQLClient) -> None:
    result = await gql("{ viewer { role } }")
    assert result.status == 200
    assert result.data == {"viewer": None}


async def test_a_garbage_token_is_refused_with_a_code(gql: GraphQLClient) -> None:
    result = await gql("{ viewer { role } }", token="not-a-token")
    assert result.error_codes == ["UNAUTHENTICATED"]
