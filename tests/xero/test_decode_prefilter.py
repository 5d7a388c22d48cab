"""The byte-level check that lets a write's answer skip the search for messages.

``decode_invoice_results`` walks each element for ``ValidationErrors`` only when
``may_hold_messages`` says the body may hold one. It must never say no when a message is
there, however the JSON is spaced or escaped.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero.mapping.wire import WireInvoice
from bms_xero.xero import _decode
from bms_xero.xero._decode import _validation_messages, decode_invoice_results, may_hold_messages

words = st.sampled_from(["ValidationErrors", "Message", "Description", "x", 'a"b', "é"])
messages = st.one_of(
    st.lists(st.fixed_dictionaries({"Message": st.text(max_size=5)}), max_size=2),
    st.lists(st.text(max_size=5), max_size=2),
    st.none(),
    st.just([]),
)
nested = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=8), words),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(words, inner, max_size=3),
        st.fixed_dictionaries({"ValidationErrors": messages}, optional={"Tracking": inner}),
    ),
    max_leaves=12,
)
layouts = st.sampled_from(
    [
        {"separators": (",", ":")},
        {"separators": (", ", ": ")},
        {"indent": 2},
        {"ensure_ascii": False},
        {"separators": (" , ", " : ")},
    ]
)


# Every encoding json.loads reads from bytes (it detects UTF-16 and UTF-32 by their zeros).
encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])


@settings(max_examples=500, deadline=None)
@given(st.lists(nested, min_size=1, max_size=4), layouts, encodings)
def test_a_body_with_a_message_is_always_walked(
    elements: list[Any], layout: dict[str, Any], encoding: str
) -> None:
    body = json.dumps({"Invoices": elements}, **layout).encode(encoding)
    found = [
        m for i, e in enumerate(elements) for m in _validation_messages(e, index=i, number=None)
    ]

    if found:
        assert may_hold_messages(body) is True


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"Invoices":[{"InvoiceID":"a","StatusAttributeString":"OK"}]}', False),
        (b'{"Invoices":[{"ValidationErrors":[]}]}', False),
        (b'{"Invoices":[{"ValidationErrors" : [ ] , "Warnings":[]}]}', False),
        (b'{"Invoices":[{"ValidationErrors":null}]}', False),
        (b'{"Invoices":[{"Description":"\\"ValidationErrors\\":[1]"}]}', False),
        (b'{"Invoices":[{"LineItems":[{"ValidationErrors":[{"Message":"m"}]}]}]}', True),
        (b'{"Invoices":[{"\\u0056alidationErrors":[{"Message":"m"}]}]}', True),
    ],
)
def test_literal_bodies(body: bytes, expected: bool) -> None:
    assert expected == may_hold_messages(body)


def _sent(count: int) -> list[WireInvoice]:
    return [
        WireInvoice.of_payload({"InvoiceNumber": f"INV-{n}", "Type": "ACCREC"})
        for n in range(count)
    ]


answer_elements = st.lists(
    st.fixed_dictionaries(
        {"InvoiceID": st.uuids().map(str)},
        optional={
            "StatusAttributeString": st.sampled_from(["OK", "ERROR", "WARNING"]),
            "HasErrors": st.booleans(),
            "ValidationErrors": messages,
            "LineItems": st.lists(
                st.fixed_dictionaries({}, optional={"ValidationErrors": messages}), max_size=2
            ),
            "Warnings": st.lists(
                st.fixed_dictionaries({"Message": st.text(max_size=4)}), max_size=1
            ),
        },
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(answer_elements, layouts)
def test_results_are_the_same_as_with_every_element_walked(
    elements: list[dict[str, Any]], layout: dict[str, Any]
) -> None:
    for n, element in enumerate(elements):
        element["InvoiceNumber"] = f"INV-{n}"
    body = json.dumps({"Invoices": elements}, **layout).encode()
    sent = _sent(len(elements))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_decode, "may_hold_messages", lambda _body: True)
        expected = decode_invoice_results(sent, body)
    actual = decode_invoice_results(sent, body)

    assert expected == actual
