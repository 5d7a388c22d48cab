"""Bad input of every kind meets a typed error, never a traceback from deep inside.

Generated invoices, webhook bodies, Xero answers, command lines and settings: each either
works or raises (or returns) a :class:`~bms_xero.errors.BmsXeroError`; the command line
returns a documented exit status within a deadline, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bms_xero import Customer, Invoice, LineItem, errors
from bms_xero.cli import build_parser, main
from bms_xero.clock import FakeClock
from bms_xero.errors import BmsXeroError
from bms_xero.jobs import MemoryJobStore
from bms_xero.storage import MemoryStore
from bms_xero.transport import HttpxTransport
from bms_xero.webhooks import WebhookReceiver, handle, parse_payload, sign
from bms_xero.xero import ClientCredentials, RetryPolicy, XeroClient
from tests.reliability.conftest import SecretWatch, Tally, engine_for, examples, organisation
from tests.spec import ACCOUNTING, response_examples

#: Each entry point answers a bad input at once: a slow answer is a bug (a quadratic parse,
#: an exponent expanded), so every example must finish within this bound.
ENTRY_DEADLINE = timedelta(seconds=2)
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _typed(tally: Tally, watch: SecretWatch, run: Callable[[], object]) -> object:
    """Run ``run``; a BmsXeroError counts as typed, anything else fails the test."""
    try:
        return run()
    except BmsXeroError as e:
        watch.saw(e)
        tally.add(typed_errors=1)
        return e
    except Exception:
        tally.add(untyped_errors=1)
        raise


# --- invoices --------------------------------------------------------------------------------

text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "INV-1", "x" * 300, "200", "GST15", "OUTPUT2"]),
)
amounts = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals("-1e12", "1e12", places=6),
    st.integers(-(10**15), 10**15),
    st.sampled_from(["1.005", "-0", "1e30", "abc", 1.5, None]),
)
line_items = st.builds(
    LineItem,
    description=text,
    quantity=amounts,
    unit_amount=amounts,
    account_code=st.one_of(text, st.sampled_from(["200", "210", "400", "999"])),
    tax_code=st.one_of(st.none(), text, st.sampled_from(["GST15", "OLD", "IN", "NOPE"])),
    discount_rate=st.one_of(st.none(), amounts),
)


@st.composite
def raw_invoices(draw: st.DrawFn, contact_id: str) -> Invoice:
    linked = draw(st.booleans())
    customer = Customer(
        id=draw(st.sampled_from(["C-1", "C-2"])),
        name="Acme",
        xero_contact_id=contact_id if linked else None,
    )
    return Invoice(
        id=draw(st.one_of(text, st.just("I-1"))),
        number=draw(st.one_of(text, st.just("INV-1"))),
        customer=customer,
        issue_date=draw(st.one_of(st.dates(), st.sampled_from([date(1, 1, 1), "2026-01-01"]))),
        due_date=draw(st.one_of(st.none(), st.dates())),
        lines=draw(st.lists(line_items, max_size=3)),
        currency_code=draw(st.one_of(st.none(), st.sampled_from(["NZD", "usd", "XXX", "€"]))),
        reference=draw(st.one_of(st.none(), text)),
        url=draw(st.one_of(st.none(), st.sampled_from(["https://bms/1", "ftp://x", "nope"]))),
        status=draw(st.sampled_from(["AUTHORISED", "DRAFT", "PAID", "VOIDED", "bogus"])),
        total=draw(st.one_of(st.none(), amounts)),
    )


@settings(SETTINGS, max_examples=examples(150, 3000), deadline=ENTRY_DEADLINE)
@given(data=st.data())
def test_generated_invoices_meet_typed_errors(
    data: st.DataObject, tally: Tally, watch: SecretWatch
) -> None:
    """An invoice built from any values is pushed or refused with a typed error naming it."""
    xero, customer = organisation(21)
    assert customer.xero_contact_id is not None
    engine = engine_for(xero, MemoryStore(), watch)
    built = _typed(tally, watch, lambda: data.draw(raw_invoices(customer.xero_contact_id)))
    if isinstance(built, Invoice):
        [outcome] = engine.push_many([built])
        if outcome.error is not None:
            watch.saw(outcome.error)
            tally.add(typed_errors=1)
        assert outcome.ok or isinstance(outcome.error, BmsXeroError)
    else:
        assert isinstance(built, BmsXeroError)


# --- webhooks --------------------------------------------------------------------------------

KEY = "bad-input-webhook-key-0123456789abcdef"
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {
        "events": st.lists(
            st.dictionaries(
                st.sampled_from(
                    [
                        "resourceUrl",
                        "resourceId",
                        "eventDateUtc",
                        "eventType",
                        "eventCategory",
                        "tenantId",
                        "tenantType",
                    ]
                ),
                st.one_of(st.text(max_size=20), st.integers(), st.none()),
            ),
            max_size=3,
        ),
        "firstEventSequence": st.one_of(st.integers(), st.text(max_size=3)),
        "lastEventSequence": st.one_of(st.integers(), st.none()),
        "entropy": st.text(max_size=10),
    }
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    event_like.map(lambda v: json.dumps(v).encode()),
)


@settings(SETTINGS, max_examples=examples(200, 5000), deadline=ENTRY_DEADLINE)
@given(body=bodies, signed=st.booleans(), signature=st.one_of(st.none(), st.text(max_size=50)))
def test_webhook_bodies_get_a_status_not_a_traceback(
    body: bytes, signed: bool, signature: str | None, tally: Tally, watch: SecretWatch
) -> None:
    """Any body gets 200 when signed (even unreadable: Xero would disable the webhook
    otherwise) and 401 when not, from the receiver; parsing raises typed."""
    watch.secret(KEY)
    receiver = WebhookReceiver(
        key=KEY, jobs=MemoryJobStore(), links=MemoryStore(), clock=FakeClock()
    )
    answer = receiver(body, sign(body, KEY) if signed else signature)
    checked = handle(body, sign(body, KEY) if signed else signature, KEY)
    parsed = _typed(tally, watch, lambda: parse_payload(body))
    watch.saw(answer, checked, parsed)
    if answer.error is not None:
        tally.add(typed_errors=1)

    genuine = signed or signature == sign(body, KEY)
    assert (200 if genuine else 401, answer.status) == (answer.status, checked.status)


# --- Xero's answers --------------------------------------------------------------------------


@functools.cache
def _spec_bodies() -> list[bytes]:
    """The spec's response examples (loaded on first use: the YAML takes seconds to read)."""
    if not ACCOUNTING.exists():
        return [b'{"Invoices": [{"InvoiceID": "x", "Total": 1}]}']
    found = []
    for name in ("Invoices", "Payments", "Accounts", "TaxRates", "Organisations"):
        found += [json.dumps(example, default=str).encode() for example in response_examples(name)]
    return found


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A spec example with one value swapped for junk, or cut short."""
    body = draw(st.sampled_from(_spec_bodies()))
    if draw(st.booleans()):
        return body[: draw(st.integers(0, len(body)))]
    data = json.loads(body)
    target = data
    for _ in range(draw(st.integers(1, 4))):
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target)))
            if draw(st.booleans()) or not isinstance(target[key], dict | list):
                target[key] = draw(json_values)
                break
            target = target[key]
        elif isinstance(target, list) and target:
            target = target[draw(st.integers(0, len(target) - 1))]
        else:
            break
    return json.dumps(data).encode()


answers = st.fixed_dictionaries(
    {
        "status": st.sampled_from(
            [200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 503]
        ),
        "body": st.one_of(
            st.binary(max_size=100), mangled(), json_values.map(lambda v: json.dumps(v).encode())
        ),
        "headers": st.dictionaries(
            st.sampled_from(
                [
                    "Content-Type",
                    "Retry-After",
                    "X-Rate-Limit-Problem",
                    "X-MinLimit-Remaining",
                    "X-DayLimit-Remaining",
                    "X-AppMinLimit-Remaining",
                ]
            ),
            st.one_of(
                st.sampled_from(["application/json", "text/html", "day", "minute", "-1", "9e9"]),
                st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=8),
            ),
            max_size=4,
        ),
    }
)
CALLS: list[tuple[str, Callable[[XeroClient], object]]] = [
    ("get_invoice", lambda c: c.get_invoice("0b9c3a4e-6f8a-4c11-9f1b-1a2b3c4d5e6f")),
    ("iter_invoices", lambda c: list(c.iter_invoices())),
    ("iter_payments", lambda c: list(c.iter_payments())),
    ("get_accounts", lambda c: c.get_accounts()),
    ("get_tax_rates", lambda c: c.get_tax_rates()),
    ("get_organisation", lambda c: c.get_organisation()),
    (
        "create_invoices",
        lambda c: c.create_invoices(
            [{"Type": "ACCREC", "InvoiceNumber": "INV-1"}], idempotency_key="k"
        ),
    ),
    (
        "update_invoices",
        lambda c: c.update_invoices(
            [{"InvoiceID": "0b9c3a4e-6f8a-4c11-9f1b-1a2b3c4d5e6f", "InvoiceNumber": "INV-1"}],
            idempotency_key="k",
        ),
    ),
]


@settings(SETTINGS, max_examples=examples(300, 6000), deadline=ENTRY_DEADLINE)
@given(answer=answers, call=st.sampled_from(CALLS), token_junk=st.booleans())
def test_xero_answers_become_typed_errors(
    answer: dict[str, Any],
    call: tuple[str, Callable[[XeroClient], object]],
    token_junk: bool,
    tally: Tally,
    watch: SecretWatch,
) -> None:
    """Whatever Xero (or the token endpoint) answers, a call returns or raises typed."""
    token = "access-token-for-bad-answers"
    secret = "client-secret-for-bad-answers"
    watch.secret(token, secret)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity.xero.com" and not token_junk:
            return httpx.Response(200, json={"access_token": token, "expires_in": 1800})
        return httpx.Response(answer["status"], headers=answer["headers"], content=answer["body"])

    client = XeroClient(
        HttpxTransport(httpx.Client(transport=httpx.MockTransport(handler))),
        auth=ClientCredentials("client-id", secret),
        tenant_id="tenant",
        clock=FakeClock(),
        retry=RetryPolicy.none(),
    )
    name, run = call
    result = _typed(tally, watch, lambda: run(client))
    watch.saw(client, result)

    assert not isinstance(result, Exception) or isinstance(result, BmsXeroError), name


# --- the command line ------------------------------------------------------------------------

#: Subcommands that serve until interrupted: fuzzed only with arguments argparse refuses.
BLOCKING = frozenset({"fake-server", "worker", "serve", "run-worker"})


def _vocabulary() -> list[str]:
    parser = build_parser()
    words = ["-h", "--help", "--version", "--", "-", "--db", "--json", "--quick", "--port"]
    for action in parser._actions:  # argparse offers no public way to list subcommands
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict):
            for name, sub in choices.items():
                words.append(name)
                for option in sub._actions:
                    words += list(option.option_strings)
    return sorted(set(words))


VOCABULARY = _vocabulary()
argvs = st.lists(
    st.one_of(
        st.sampled_from(VOCABULARY),
        st.text(max_size=12),
        st.sampled_from(["0", "-1", "99999", "x", "127.0.0.1", "8.8.8.8", "/nonexistent/db"]),
    ),
    max_size=6,
)


def _blocks(argv: list[str]) -> bool:
    """Whether argv would start a command that serves until interrupted."""
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            args = build_parser().parse_args(argv)
    except (SystemExit, Exception):  # refused by the parser: main() reports it and returns
        return False
    return getattr(args, "command", None) in BLOCKING


#: Each command line must finish within this (a hang, e.g. reading /dev/zero, fails).
CLI_DEADLINE = timedelta(seconds=10)
#: With no settings in the environment nothing can reach Xero: a command works (0) or is
#: refused as a usage or configuration error (2). 1 would be an unexpected internal error.
CLI_STATUSES = frozenset({0, 2})
#: The command's own error types, beside those of bms_xero.errors.
CLI_ERRORS = frozenset({"UsageError", "SettingsError"})


def _run_cli(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    """main(argv) in an empty folder (a fuzzed --db or --config must not touch the
    repository), with an empty stdin; its status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with (
        tempfile.TemporaryDirectory() as folder,
        contextlib.chdir(folder),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(argv, environ=environ, stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _cli_typed(code: object, stdout: str, stderr: str, argv: list[str]) -> list[str]:
    """What is wrong with a run's outcome: an undocumented status, or an untyped error."""
    wrong = []
    if code not in CLI_STATUSES:
        wrong.append(f"status {code!r}")
    if "an unexpected error" in stderr:
        wrong.append("an unexpected error on stderr")
    if "Traceback" in stderr and not {"-v", "--verbose"} & set(argv):
        wrong.append("a traceback without --verbose")
    if '"error"' in stdout:
        with contextlib.suppress(ValueError):
            doc = json.loads(stdout)
            kind = doc["error"]["type"] if isinstance(doc, dict) and "error" in doc else None
            if kind is not None and kind not in CLI_ERRORS and not hasattr(errors, kind):
                wrong.append(f"untyped error {kind} in the JSON document")
    return wrong


@settings(SETTINGS, max_examples=examples(150, 3000), deadline=CLI_DEADLINE)
@given(argv=argvs)
@example(argv=["--config", "/dev/zero", "jobs"])
@example(argv=["config", "--config", "/"])
@example(argv=["jobs", "--db", "/dev/null", "--json"])
@example(argv=["panel", "I-1", "--db", "/"])
@example(argv=["push", "-", "--background"])
@example(argv=["--json", "push", "/dev/null", "--db", "x.db"])
def test_cli_arguments_exit_cleanly(argv: list[str], tally: Tally, watch: SecretWatch) -> None:
    """Any argument list makes main() return 0 or 2 within the deadline: never an exception,
    a traceback or an "unexpected error"."""
    if _blocks(argv):
        argv = [*argv, "--port", "not-a-port"]
    try:
        code, stdout, stderr = _run_cli(argv, {})
    except BaseException:
        tally.add(untyped_errors=1)
        raise
    watch.saw(stdout, stderr)
    if code:
        tally.add(typed_errors=1)

    assert [] == _cli_typed(code, stdout, stderr, argv), (argv, stdout[-300:], stderr[-300:])


# --- settings: the TOML file and the environment ---------------------------------------------

toml_keys = st.one_of(
    st.sampled_from(
        [
            "db",
            "tenant_id",
            "client_id",
            "api_url",
            "token_url",
            "connections_url",
            "connection_id",
            "client_secret_file",
            "tax_map",
            "tennant_id",
            "client_secret",
            "password",
            "Secret",
        ]
    ),
    st.text(max_size=8),
)
toml_scalars = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "sync.db", "https://x.example/api", "ftp://x", "OUTPUT2"]),
    st.integers(-5, 10**6),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
toml_values = st.one_of(
    toml_scalars,
    st.lists(toml_scalars, max_size=3),
    st.dictionaries(st.text(max_size=6), toml_scalars, max_size=3),
)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's


toml_files = st.one_of(
    st.dictionaries(toml_keys, toml_values, max_size=6).map(
        lambda d: "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in d.items())
    ),
    st.text(max_size=60),
    st.sampled_from(["db = \n", "[tax_map]\nGST15 = 1\n", "[[db]]\n", "\ufeffdb = 'x'\n"]),
)
environments = st.dictionaries(
    st.sampled_from(
        [
            "BMS_XERO_TAX_MAP",
            "BMS_XERO_API_URL",
            "BMS_XERO_TOKEN_URL",
            "BMS_XERO_CLIENT_SECRET",
            "BMS_XERO_CLIENT_SECRET_FILE",
            "BMS_XERO_TENANT_ID",
            "BMS_XERO_DB",
        ]
    ),
    st.one_of(
        st.text(max_size=24),
        st.sampled_from(["GST15=OUTPUT2,,=", "a=b,c", "https://ok.example", "x" * 20]),
    ),
    max_size=4,
)


@settings(SETTINGS, max_examples=examples(150, 3000), deadline=CLI_DEADLINE)
@given(text=toml_files, environ=environments)
def test_any_settings_give_the_settings_or_every_problem(
    text: str, environ: dict[str, str], tally: Tally, watch: SecretWatch
) -> None:
    """Any config file and environment give `config --json` its settings (0) or one error
    document (2) listing problems, each at a key of the file or a BMS_XERO_ variable."""
    environ = {k: v for k, v in environ.items() if "\x00" not in v}
    with tempfile.TemporaryDirectory() as folder:
        config = os.path.join(folder, "bms-xero.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(text)
        argv = ["config", "--json", "--config", config]
        try:
            code, stdout, stderr = _run_cli(argv, environ)
        except BaseException:
            tally.add(untyped_errors=1)
            raise
    watch.saw(stdout, stderr)
    doc = json.loads(stdout)
    problems = doc.get("error", {}).get("problems", [])
    if code:
        tally.add(typed_errors=1)

    assert [] == _cli_typed(code, stdout, stderr, argv), (text, environ, stdout[-300:])
    assert all(isinstance(p["path"], str) and p["message"] for p in problems), problems
    assert (code == 0) == ("settings" in doc), stdout[-300:]


def test_invoice_amounts_stay_decimal(tally: Tally, watch: SecretWatch) -> None:
    """An invoice with a float amount is refused with a typed error before any request."""
    xero, customer = organisation(22)
    made = _typed(
        tally,
        watch,
        lambda: Invoice(
            id="I-1",
            number="INV-1",
            customer=customer,
            issue_date=date(2026, 1, 5),
            # The line refuses the float itself, before any invoice exists.
            lines=[
                LineItem(description="x", quantity=1.1, unit_amount=Decimal(1), account_code="200")
            ],
        ),
    )

    assert (True, True, 0) == (
        isinstance(made, BmsXeroError),
        "float" in str(made),
        len(xero.requests),
    )
