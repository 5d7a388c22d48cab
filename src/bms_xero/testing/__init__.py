"""Test support: :class:`FakeXero`, an in-memory Xero that enforces Xero's rules.

Host test suites use it in place of Xero; every other part of bms_xero is tested against it.
It answers at the HTTP level (a transport for ``api.xero.com`` and ``identity.xero.com`` that
serves httpx and httpx2 clients, or a loopback server), so real client code, headers and JSON
all run::

    from decimal import Decimal
    import httpx
    from bms_xero.testing import FakeXero

    xero = FakeXero(seed=1)
    xero.add_account(code="200", name="Sales")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    http = httpx.Client(transport=xero.transport)

pytest suites get the ``fake_xero`` and ``fake_xero_server`` fixtures from
:mod:`bms_xero.testing.plugin`, registered when bms_xero is installed. See docs/testing.md for
the rules it enforces and what it assumes where Xero is unclear.
"""

from bms_xero.clock import FakeClock
from bms_xero.testing._api import FakeRequest, Reply
from bms_xero.testing._fake import (
    FakeTransport,
    FakeXero,
    InFlightRequest,
    NetworkFault,
    RecordedRequest,
)
from bms_xero.testing._faults import AnswerHook, FaultKind, RandomFaults, ScheduledFault
from bms_xero.testing._model import SentEmail
from bms_xero.testing._server import FakeServer, serve

__all__ = [
    "AnswerHook",
    "FakeClock",
    "FakeRequest",
    "FakeServer",
    "FakeTransport",
    "FakeXero",
    "FaultKind",
    "InFlightRequest",
    "NetworkFault",
    "RandomFaults",
    "RecordedRequest",
    "Reply",
    "ScheduledFault",
    "SentEmail",
    "serve",
]
