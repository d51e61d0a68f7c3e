"""The expected shapes of tests/spec_shapes.py agree with the schemas of the OpenAPI document
(docs/contract.md's entities): each set of expected keys is exactly the fields of a documented
schema, so the tests cannot expect a shape the API does not declare, nor two different ones."""

from __future__ import annotations

import pytest

from tests import spec_shapes

# Fields a set leaves out on purpose: `unreadCount` only comes in session lists, `advanced`
# stats only for admins.
LEFT_OUT = {"SESSION_FIELDS": {"unreadCount"}, "STATS_FIELDS": {"advanced"}}
WEBSOCKET_ONLY = {"FRAME_FIELDS"}
EXPECTED = sorted(
    name for name in vars(spec_shapes) if name.endswith("_FIELDS") and name not in WEBSOCKET_ONLY
)


@pytest.fixture(scope="module")
def schemas(app) -> dict[str, set[str]]:
    document = app.test_client().get("/api/openapi.json").get_json()
    return {
        name: set(schema.get("properties", {}))
        for name, schema in document["components"]["schemas"].items()
    }


def test_the_entities_are_among_the_sets_checked():
    assert {"SESSION_FIELDS", "MESSAGE_FIELDS", "AGENT_FIELDS", "DETAILS_FIELDS"} <= set(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_expected_fields_are_the_fields_of_a_documented_schema(schemas, name):
    expected = getattr(spec_shapes, name)
    left_out = LEFT_OUT.get(name, set())
    matching = [schema for schema, fields in schemas.items() if fields - left_out == expected]
    closest = min(schemas.values(), key=lambda fields: len(fields ^ expected))
    assert matching, f"{name} is no schema of /api/openapi.json; closest: {sorted(closest)}"
