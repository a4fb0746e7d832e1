"""The sandbox against the providers' OpenAPI documents, and the parsers against anything.

The documents live in ``tests/specs`` (copies of the ones the project started from). Both
use OpenAPI 3.0's ``nullable``, so both are validated with the 3.0 semantics.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from openapi_schema_validator import OAS30Validator

import toolkit as tk
from toolkit._values import Tally
from toolkit.providers import briq as briq_provider
from toolkit.providers import wassist as wassist_provider
from toolkit.sandbox import BRIQ_PATH, WASSIST_PATH

SPECS = Path(__file__).parent / "specs"


def load_spec(name: str) -> dict:
    return yaml.safe_load((SPECS / name).read_text())


WASSIST_SPEC = load_spec("wassist-list-conversations.yaml")
BRIQ_SPEC = load_spec("briq-list-conversations.yaml")


def resolve(node, spec):
    """Inline every ``$ref`` of ``node`` (the documents have no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target, spec)
        return {key: resolve(value, spec) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, spec) for item in node]
    return node


def to_json_schema(node):
    """OpenAPI 3.0 schema to JSON Schema: ``nullable`` becomes a ``null`` type."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items()
           if key not in ("nullable", "readOnly", "example", "description")}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = out["enum"] + [None]
    return out


def response_schema(spec, path):
    operation = spec["paths"][path]["get"]
    return resolve(operation["responses"]["200"]["content"]["application/json"]["schema"], spec)


def get(sandbox, path, key, **params):
    response = requests.get(sandbox.base_url + path, params=params, headers={"X-API-Key": key}, timeout=10)
    assert response.status_code == 200
    return response.json()


def test_documented_wassist_responses_validate_against_the_document(make_sandbox):
    sandbox = make_sandbox(wassist_encoding="documented")
    validator = OAS30Validator(response_schema(WASSIST_SPEC, WASSIST_PATH))
    for offset in (0, 100, 200):
        body = get(sandbox, WASSIST_PATH, sandbox.config.wassist_key, limit=100, offset=offset)
        assert body["results"]
        validator.validate(body)


def test_live_wassist_responses_break_the_document_as_real_ones_do(make_sandbox):
    # The control: the typed live shape is not what the document says, so validation can fail.
    sandbox = make_sandbox(wassist_encoding="live")
    validator = OAS30Validator(response_schema(WASSIST_SPEC, WASSIST_PATH))
    body = get(sandbox, WASSIST_PATH, sandbox.config.wassist_key, limit=5)
    assert not validator.is_valid(body)


@pytest.mark.parametrize("envelope", ["enveloped", "bare"])
def test_briq_responses_validate_against_the_document(make_sandbox, envelope):
    sandbox = make_sandbox(briq_envelope=envelope)
    schema = response_schema(BRIQ_SPEC, BRIQ_PATH)
    if envelope == "bare":
        schema = schema["properties"]["data"]
    validator = OAS30Validator(schema)
    for status in ("all", "open", "unread"):
        body = get(sandbox, BRIQ_PATH, sandbox.config.briq_key, status=status, limit=100)
        validator.validate(body)
        items = body["data"]["items"] if envelope == "enveloped" else body["items"]
        assert items


def test_briq_error_bodies_validate_against_the_error_envelope(sandbox):
    envelope = resolve(BRIQ_SPEC["components"]["schemas"]["WaErrorEnvelope"], BRIQ_SPEC)
    response = requests.get(sandbox.base_url + BRIQ_PATH, headers={"X-API-Key": "sandbox-briq-unlinked"},
                            timeout=10)
    assert response.status_code == 403
    OAS30Validator(envelope).validate(response.json())


# -- property tests: the parsers never raise and always conform ---------------------------

WASSIST_ITEM = to_json_schema(resolve(WASSIST_SPEC["components"]["schemas"]["Conversation"], WASSIST_SPEC))
BRIQ_ITEM = to_json_schema(resolve(BRIQ_SPEC["components"]["schemas"]["WaConversationItem"], BRIQ_SPEC))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
    | st.sampled_from(["", " ", "true", "False", "0", "-5", "1e400", "2026-01-01T00:00:00",
                       "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "+44 77-00", "NaN"]),
    lambda children: (st.lists(children, max_size=3)
                      | st.dictionaries(st.text(max_size=10), children, max_size=3)),
    max_leaves=6,
)


def anything_in_place_of(schema: dict) -> st.SearchStrategy:
    """Objects with the documented keys (and nested objects) holding any JSON value at all."""
    keys = list(schema.get("properties", {}))
    nested = {key: anything_in_place_of(sub) for key, sub in schema.get("properties", {}).items()
              if sub.get("type") == "object" or "properties" in sub}
    values = {key: (nested[key] | json_values) if key in nested else json_values for key in keys}
    return st.fixed_dictionaries({}, optional=values)


fetched_times = st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                             max_value=pd.Timestamp("2100-01-01").to_pydatetime()).map(
    lambda moment: pd.Timestamp(moment, tz="UTC"))


def assert_conforms(frame: pd.DataFrame, rows: int) -> None:
    assert list(frame.columns) == [*tk.SCHEMA, "channel_name"]
    for name, dtype in tk.SCHEMA.items():
        assert frame[name].dtype == dtype, name
    assert pd.api.types.is_string_dtype(frame["channel_name"]) and frame["channel_name"].dtype != object
    assert len(frame) == rows
    assert frame["contact_phone"].dropna().str.fullmatch(r"\d+").all()


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(st.lists(from_schema(WASSIST_ITEM), max_size=5), fetched_times)
def test_wassist_parser_reads_any_documented_page(records, fetched_at):
    frame = wassist_provider.parse_conversations(records, fetched_at, Tally())
    assert_conforms(frame, len(records))


@PROPERTY_SETTINGS
@given(st.lists(from_schema(BRIQ_ITEM), max_size=5), fetched_times)
def test_briq_parser_reads_any_documented_page(records, fetched_at):
    frame = briq_provider.parse_conversations(records, fetched_at, Tally())
    assert_conforms(frame, len(records))
    # Absent or null names are missing values, never the text "None" (a real name may be).
    for record, name in zip(records, frame["contact_name"], strict=True):
        if record.get("contact_profile_name") is None:
            assert name is pd.NA


@PROPERTY_SETTINGS
@given(st.lists(anything_in_place_of(WASSIST_ITEM) | json_values, max_size=5), fetched_times)
def test_wassist_parser_survives_wrong_types_everywhere(records, fetched_at):
    frame = wassist_provider.parse_conversations(records, fetched_at, Tally())
    assert_conforms(frame, sum(isinstance(record, dict) for record in records))


@PROPERTY_SETTINGS
@given(st.lists(anything_in_place_of(BRIQ_ITEM) | json_values, max_size=5), fetched_times)
def test_briq_parser_survives_wrong_types_everywhere(records, fetched_at):
    frame = briq_provider.parse_conversations(records, fetched_at, Tally())
    assert_conforms(frame, sum(isinstance(record, dict) for record in records))


def test_the_strategies_do_produce_hostile_values():
    # The properties above are only worth something if the inputs are really hostile.
    assert "chatWindowRemainingTime" in json.dumps(WASSIST_ITEM)
    seen: set[str] = set()

    @settings(max_examples=400, derandomize=True, database=None, deadline=None)
    @given(json_values)
    def collect(value):
        seen.add(type(value).__name__)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
            seen.add("beyond int64")

    collect()
    assert {"NoneType", "int", "float", "str", "list", "dict", "beyond int64"} <= seen


def test_documented_string_values_are_read_like_live_typed_ones():
    fetched = pd.Timestamp("2026-09-29T01:00:00Z")
    documented = {"id": "6f1c", "contact": {"phoneNumber": "+447424845871", "name": None},
                  "activeAgent": "9b2e", "chatWindowRemainingTime": "3600",
                  "lastMessage": "2026-09-29T00:59:00.5Z", "isHumanTakeover": "false", "active": "true"}
    live = {"id": "6f1c", "contact": {"id": "c-1", "phoneNumber": "447424845871", "name": None},
            "activeAgent": {"id": "9b2e", "name": "Support Bot"}, "chatWindowRemainingTime": 3600,
            "lastMessage": {"type": "text", "body": "hi", "createdAt": "2026-09-29T00:59:00.500000Z",
                            "role": "user"},
            "isHumanTakeover": False, "active": True, "routing": "agent", "webhookId": None}
    left = wassist_provider.parse_conversations([documented], fetched)
    right = wassist_provider.parse_conversations([live], fetched)
    # Only the live shape names the agent; the documented one sends its bare id.
    assert pd.isna(left.loc[0, "channel_name"]) and right.loc[0, "channel_name"] == "Support Bot"
    pd.testing.assert_frame_equal(left.drop(columns="channel_name"), right.drop(columns="channel_name"))
    row = left.iloc[0]
    assert row["window_expires_at"] == pd.Timestamp("2026-09-29T02:00:00Z")
    assert row["channel_id"] == "9b2e" and row["contact_phone"] == "447424845871"
    assert row["last_message_at"] == pd.Timestamp("2026-09-29T00:59:00.5Z")


def test_briq_naive_timestamps_are_utc_and_closed_window_expiry_is_kept():
    records = [{"id": "x", "recipient_phone": "+255 712 345 678", "unread_count": 0,
                "last_message_at": "2026-05-30T10:15:30",
                "window": {"open": False, "expires_at": "2026-05-29T10:00:00Z"}},
               {"id": "y", "last_message_at": None, "window": {"open": True, "expires_at": None}}]
    frame = briq_provider.parse_conversations(records, pd.Timestamp("2026-05-30T12:00:00Z"))
    assert frame.loc[0, "last_message_at"] == pd.Timestamp("2026-05-30T10:15:30Z")
    assert frame.loc[0, "window_expires_at"] == pd.Timestamp("2026-05-29T10:00:00Z")
    assert frame.loc[0, "has_unread"] == False  # noqa: E712
    assert frame.loc[0, "contact_phone"] == "255712345678"
    assert frame.loc[1, "window_open"] == True  # noqa: E712
    assert frame.loc[1, "window_expires_at"] is pd.NaT
    assert frame.loc[1, "unread_count"] is pd.NA and frame.loc[1, "has_unread"] is pd.NA
