"""Reading deliveries: Xero's own examples, case-insensitive enums, clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bms_xero.errors import InvalidWebhook
from bms_xero.webhooks import WebhookEvent, WebhookPayload, parse_payload
from tests import spec
from tests.webhooks._support import delivery, event


def spec_examples() -> list[tuple[str, Any]]:
    """Every payload example in Xero's webhooks spec, with where it is."""
    doc = spec.webhooks()
    found = []
    ok = doc["components"]["responses"]["200WebhookDataReceivedOk"]["content"]
    found.append(("200WebhookDataReceivedOk", ok["application/json"]["schema"]["example"]))
    for name, hook in doc["webhooks"].items():
        body = hook["post"]["requestBody"]["content"]["application/json"]
        for example_name, example in body.get("examples", {}).items():
            found.append((f"{name}/{example_name}", example["value"]))
    return found


def test_the_spec_has_examples() -> None:
    """Xero's spec provides at least the contact and credit note examples used below."""
    assert 2 <= len(spec_examples())


@pytest.mark.parametrize("index", range(2))
def test_spec_examples_parse(index: int) -> None:
    """Each example in Xero's spec is a valid WebhookEvent payload and reads field for
    field."""
    where, example = spec_examples()[index]
    spec.validate(example, "WebhookEvent", source="webhooks")
    payload = parse_payload(json.dumps(example).encode())
    [raw] = example["events"]
    [parsed] = payload.events
    assert (
        raw["resourceId"],
        raw["resourceUrl"],
        raw["tenantId"],
        raw["eventCategory"],
        raw["eventType"],
        "ORGANISATION",
    ) == (
        parsed.resource_id,
        parsed.resource_url,
        parsed.tenant_id,
        parsed.event_category,
        parsed.event_type,
        parsed.tenant_type,
    ), where
    assert (example["firstEventSequence"], example["lastEventSequence"], example["entropy"]) == (
        payload.first_event_sequence,
        payload.last_event_sequence,
        payload.entropy,
    )


def test_contact_example_reads_exactly() -> None:
    """The spec's contact example becomes this event, its date in UTC."""
    [(_, example)] = [e for e in spec_examples() if e[0] == "200WebhookDataReceivedOk"]
    expected = WebhookPayload(
        events=(
            WebhookEvent(
                resource_url="https://api.xero.com/api.xro/2.0/Contacts/717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
                resource_id="717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
                event_date_utc=datetime(2024, 6, 21, 1, 15, 39, 902000, tzinfo=UTC),
                event_type="UPDATE",
                event_category="CONTACT",
                tenant_id="c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",
                tenant_type="ORGANISATION",
            ),
        ),
        first_event_sequence=1,
        last_event_sequence=1,
        entropy="S0m3r4Nd0mt3xt",
    )
    assert expected == parse_payload(json.dumps(example).encode())


def test_our_test_deliveries_match_the_spec() -> None:
    """The deliveries these tests build are valid per Xero's spec."""
    spec.validate(
        json.loads(delivery(event("a"), event("b", category="CONTACT"))),
        "WebhookEvent",
        source="webhooks",
    )


def test_enum_values_are_read_case_insensitively() -> None:
    """eventType "Update", eventCategory "invoice" and tenantType read upper-cased."""
    body = delivery(
        event("x", event_type="Update", category="invoice") | {"tenantType": "Organisation"}
    )
    [parsed] = parse_payload(body).events
    assert ("UPDATE", "INVOICE", "ORGANISATION") == (
        parsed.event_type,
        parsed.event_category,
        parsed.tenant_type,
    )


def test_unknown_categories_and_extra_fields_are_kept_or_ignored() -> None:
    """A category Xero adds later is kept as is; fields we don't know are ignored."""
    body = delivery(event("x", category="QUOTE") | {"data": {"Type": "X"}, "new": 1})
    [parsed] = parse_payload(body).events
    assert "QUOTE" == parsed.event_category


def test_an_intent_to_receive_probe_has_no_events() -> None:
    """The handshake's empty events list reads as an intent to receive."""
    payload = parse_payload(delivery())
    assert (True, (), 0) == (
        payload.is_intent_to_receive,
        payload.events,
        payload.last_event_sequence,
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"nope", "not JSON (Expecting value at line 1 column 1)"),
        (b"[]", "the body must be a JSON object"),
        (b"{}", "events: missing or not a list"),
        (
            delivery(event("x") | {"resourceId": ""}),
            "events[0].resourceId: missing or not a non-empty string",
        ),
        (
            delivery(event("a"), event("b") | {"eventDateUtc": "soon"}),
            "events[1].eventDateUtc: 'soon' is not a date and time",
        ),
        (
            delivery(event("x", date="/Date(99999999999999999999)/")),
            "events[0].eventDateUtc: '/Date(99999999999999999999)/' is out of range "
            "(years 1 to 9999)",
        ),
        (
            delivery(event("x", date="/Date(253402300800000)/")),  # 10000-01-01T00:00Z
            "events[0].eventDateUtc: '/Date(253402300800000)/' is out of range (years 1 to 9999)",
        ),
        (
            delivery(event("x", date="/Date(-99999999999999999999)/")),
            "events[0].eventDateUtc: '/Date(-99999999999999999999)/' is out of range "
            "(years 1 to 9999)",
        ),
        (
            delivery(event("x", date="9999-12-31T23:59:59-01:00")),
            "events[0].eventDateUtc: '9999-12-31T23:59:59-01:00' is out of range (years 1 to 9999)",
        ),
        (
            delivery(event("x", date="0001-01-01T00:00:00+01:00")),
            "events[0].eventDateUtc: '0001-01-01T00:00:00+01:00' is out of range (years 1 to 9999)",
        ),
        (
            delivery(event("x", date="/Date(" + "9" * 5000 + ")/")),
            "events[0].eventDateUtc: '/Date(" + "9" * 50 + "... is not a date and time",
        ),
        (
            b'{"events": [], "firstEventSequence": -1}',
            "firstEventSequence: must be a whole number from 0 to 2147483647, not -1",
        ),
        (
            b'{"events": [], "lastEventSequence": 2147483648}',
            "lastEventSequence: must be a whole number from 0 to 2147483647, not 2147483648",
        ),
        (
            b'{"events": [], "lastEventSequence": ' + b"9" * 4000 + b"}",
            "lastEventSequence: must be a whole number from 0 to 2147483647, not "
            + "9" * 57
            + "...",
        ),
        (b'{"events": [], "entropy": 5}', "entropy: must be a string"),
    ],
    ids=[
        "not-json",
        "array",
        "no-events",
        "empty-id",
        "bad-date",
        "ms-date-overflow",
        "ms-date-year-10000",
        "ms-date-underflow",
        "iso-after-9999-in-utc",
        "iso-before-year-1-in-utc",
        "ms-date-5000-digits",
        "negative-sequence",
        "sequence-over-spec-maximum",
        "sequence-4000-digits",
        "entropy",
    ],
)
def test_a_bad_body_says_what_is_wrong(body: bytes, reason: str) -> None:
    """An unreadable body raises InvalidWebhook whose reason points at the problem, quoting
    at most the start of a bad value."""
    with pytest.raises(InvalidWebhook) as caught:
        parse_payload(body)
    assert reason == caught.value.reason


def test_the_largest_values_in_range_are_read() -> None:
    """The spec's largest sequence number and the last millisecond of the year 9999 read."""
    body = delivery(event("x", date="/Date(253402300799999)/"), sequence=2**31 - 1)
    payload = parse_payload(body)
    assert (2**31 - 1, datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)) == (
        payload.first_event_sequence,
        payload.events[0].event_date_utc,
    )


def test_money_categories_are_read_like_the_others() -> None:
    """PAYMENT, PREPAYMENT, OVERPAYMENT and BATCHPAYMENT events read, any case, upper-cased."""
    body = delivery(
        *(
            event(f"r{n}", category=c)
            for n, c in enumerate(["payment", "Prepayment", "OVERPAYMENT", "BatchPayment"])
        )
    )
    assert ["PAYMENT", "PREPAYMENT", "OVERPAYMENT", "BATCHPAYMENT"] == [
        e.event_category for e in parse_payload(body).events
    ]
