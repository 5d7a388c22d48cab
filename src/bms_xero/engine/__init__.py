"""The sync engine: push BMS invoices to Xero, pull payments back, show the panel.

:class:`SyncEngine` is the entry point; :mod:`.plan` holds its decisions as pure functions;
:mod:`.credit_plan` the credit notes' decisions; :mod:`.ports` the Protocols it depends on
(:class:`PaymentSink` for hosts).
"""

from bms_xero.engine._customers import CustomerLink, CustomerLinkFailure, CustomerLinkOutcome
from bms_xero.engine._engine import SyncEngine
from bms_xero.engine._ports import PaymentSink, XeroApi
from bms_xero.engine._results import (
    BmsStatus,
    CreditNoteFailure,
    CreditNoteLink,
    CreditNoteOutcome,
    CreditNotePushResult,
    Panel,
    PaymentUpdate,
    PushAction,
    PushFailure,
    PushOutcome,
    PushResult,
    SyncOutcome,
    SyncOutcomeKind,
)
from bms_xero.engine.credit_plan import OverCredit

__all__ = [
    "BmsStatus",
    "CreditNoteFailure",
    "CreditNoteLink",
    "CreditNoteOutcome",
    "CreditNotePushResult",
    "CustomerLink",
    "CustomerLinkFailure",
    "CustomerLinkOutcome",
    "OverCredit",
    "Panel",
    "PaymentSink",
    "PaymentUpdate",
    "PushAction",
    "PushFailure",
    "PushOutcome",
    "PushResult",
    "SyncEngine",
    "SyncOutcome",
    "SyncOutcomeKind",
    "XeroApi",
]
