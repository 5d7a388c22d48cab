"""JSON text for the fake's answers: amounts written exactly, and records written straight
to text where building them as dicts first was most of an answer's cost.

Everything the fake answers is JSON as :func:`dump_json` writes it: ``json.dumps`` with
compact separators and ASCII-only text, each Decimal written as its exact plain digits
(what :func:`~bms_xero.mapping.wire.encode_json` writes). Records read in bulk (a page of
1,000 invoices, the answer to a batch of 50) are written by ``_render``'s ``*_json``
functions instead, piece by piece with :func:`string_json` and :func:`number_json`, to the
same bytes; :data:`JsonText` marks such text so :func:`records_json` splices it in as it is.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any, NewType

from bms_xero.mapping._write import amount_text

__all__ = [
    "JsonText",
    "dump_json",
    "dump_json_text",
    "number_json",
    "numbers_json",
    "records_json",
    "string_json",
]

#: JSON text already written (a record's, from ``_render``): an answer takes it as it is.
JsonText = NewType("JsonText", str)

#: A string as JSON: quoted and escaped to ASCII. This is the very function ``json.dumps``
#: uses for every string when ``ensure_ascii`` is on (its default), so the text is the same.
string_json = encode_basestring_ascii


def number_json(value: Decimal) -> str:
    """A finite Decimal as JSON: its exact plain digits, ``format(value, "f")``, as the
    client writes amounts (:func:`~bms_xero.mapping._write.amount_text`).

    Raises:
        TypeError: Not a finite Decimal (as :func:`dump_json` refuses it).
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"cannot write {value!r} as JSON")
    try:
        return amount_text(value)
    except ValueError:
        raise TypeError(f"cannot write {value!r} as JSON") from None


def numbers_json(*values: Decimal) -> tuple[str, ...]:
    """:func:`number_json` of each of ``values``, checked all at once.

    A record's amounts are written together: their ``str()`` texts are joined once to see
    that none has an exponent (``E`` or ``e``) or is non-finite (``NaN``, ``sNaN`` and
    ``Infinity`` all have an ``N`` or an ``I``; plain digits, points and signs have neither),
    and none is a subclass; otherwise each is written by :func:`number_json`.
    """
    texts = tuple(map(str, values))
    joined = "".join(texts)
    if (
        "E" in joined
        or "e" in joined
        or "N" in joined
        or "I" in joined
        or list(map(type, values)).count(Decimal) != len(values)
    ):
        return tuple(map(number_json, values))
    return texts


# Decimals are written through marker strings and swapped for their exact text afterwards:
# the C JSON encoder does the rest, several times faster than a pure-Python walk. Each amount
# is written between an opening and a closing marker, so two plain ``str.replace`` calls take
# the quotes and markers away (a regular expression's substitution cost as much as the
# encoding). The random markers cannot occur in data a client sent.
_TOKEN = secrets.token_hex(8)
_MARK, _END = f"\x00{_TOKEN}:", f"\x01{_TOKEN}"
_OPENED, _CLOSED = json.dumps(_MARK)[:-1], json.dumps(_END)[1:]  # '"\u0000...:', '\u0001..."'


def _decimal_marker(value: Any) -> str:
    if isinstance(value, Decimal):
        return _MARK + number_json(value) + _END
    raise TypeError(f"cannot write {value!r} as JSON")


def dump_json_text(body: Any) -> str:
    """``body`` as JSON text, exactly as :func:`~bms_xero.mapping.wire.encode_json` writes it."""
    text = json.dumps(body, separators=(",", ":"), default=_decimal_marker)
    return text.replace(_OPENED, "").replace(_CLOSED, "")


def dump_json(body: Any) -> bytes:
    """``body`` as JSON bytes, exactly as :func:`~bms_xero.mapping.wire.encode_json` writes it."""
    return dump_json_text(body).encode()


def records_json(
    head: dict[str, Any], key: str, items: Sequence[dict[str, Any] | JsonText]
) -> bytes:
    """``dump_json({**head, key: items})``, each item that is :data:`JsonText` taken as it is.

    JSON is written piece by piece (a list is its items' texts between brackets, joined by
    commas; an object its members'), so the answer is the same bytes as the whole written at
    once. ``head`` must not hold ``key``, and is never empty (Xero's envelope), so its text
    less the closing brace takes one more member.
    """
    parts = [item if isinstance(item, str) else dump_json_text(item) for item in items]
    text = dump_json_text(head)[:-1] + "," + string_json(key) + ":[" + ",".join(parts) + "]}"
    return text.encode()
