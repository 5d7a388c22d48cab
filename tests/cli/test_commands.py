"""The operator's commands, in-process against FakeXero (fast; no network, no subprocess)."""

from __future__ import annotations

import io
import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bms_xero.cli import main
from bms_xero.cli._output import EXIT_REMOTE, Output, Progress, exit_code
from bms_xero.errors import (
    AuthError,
    ConfigurationError,
    InvoiceValidationError,
    TransportError,
    XeroValidationError,
)
from bms_xero.storage._tokens import SQLiteTokenStore
from bms_xero.testing import FakeXero
from bms_xero.transport import HttpxTransport
from bms_xero.xero import exchange_code
from tests.cli.conftest import EXAMPLES, Cli, invoice, write

EXAMPLE = str(EXAMPLES / "invoices.json")


def numbers_in_xero(xero: FakeXero[Any]) -> list[str]:
    return sorted(i["InvoiceNumber"] for i in xero.invoices())


class TestPush:
    def test_the_example_file_is_pushed(self, cli: Cli) -> None:
        """push --link-customers creates the example file's three invoices in Xero."""
        ran = cli("push", EXAMPLE, "--link-customers")

        assert (0, ["INV-1001", "INV-1002", "INV-1003"]) == (
            ran.status,
            numbers_in_xero(cli.xero),
        )

    def test_the_json_result_names_each_invoice(self, cli: Cli) -> None:
        """--json gives one document with each invoice's action, totals as strings."""
        ran = cli("push", EXAMPLE, "--link-customers", "--json")

        doc = ran.json()
        rows = [(i["invoice_number"], i["action"], i["total"]) for i in doc["invoices"]]
        expected = [
            ("INV-1001", "created", "211.89"),
            ("INV-1002", "created", "2070.00"),
            ("INV-1003", "created", "573.85"),
        ]
        assert (expected, {"invoices": 3, "failed": 0, "created": 3}) == (rows, doc["summary"])

    def test_unlinked_customers_fail_with_the_fix(self, cli: Cli) -> None:
        """Without --link-customers, invoices of unlinked customers fail and say what to do."""
        ran = cli("push", EXAMPLE)

        lines = ran.stdout.splitlines()[:3]
        assert (1, [True] * 3) == (ran.status, ["--link-customers" in line for line in lines])

    def test_a_bad_invoice_does_not_stop_the_others(self, cli: Cli, tmp_path: Path) -> None:
        """One invalid invoice fails with its paths; the others are pushed; exit status 1."""
        bad = invoice(2, lines=[{"description": "x", "quantity": 1, "unit_amount": 1}])
        path = write(tmp_path / "in.json", [invoice(1), bad, invoice(3)])

        ran = cli("push", path, "--link-customers", "--json")

        doc = ran.json()
        second = doc["invoices"][1]["error"]
        assert (
            1,
            ["INV-1", "INV-3"],
            "InvoiceValidationError",
            ["lines[0].account_code", "lines[0].tax_code"],
        ) == (
            ran.status,
            numbers_in_xero(cli.xero),
            second["type"],
            [p["path"] for p in second["problems"]],
        )

    def test_a_repeated_invoice_is_pushed_once(self, cli: Cli, tmp_path: Path) -> None:
        """The second occurrence of an invoice id in a file fails; the first is pushed."""
        path = write(tmp_path / "in.json", [invoice(1), invoice(1)])

        ran = cli("push", path, "--link-customers", "--json")

        actions = [i["action"] for i in ran.json()["invoices"]]
        assert (1, ["created", "failed"], ["INV-1"]) == (
            ran.status,
            actions,
            numbers_in_xero(cli.xero),
        )

    def test_stdin_is_read_for_a_dash(self, cli: Cli) -> None:
        """push - reads the invoices from stdin."""
        ran = cli("push", "-", "--link-customers", stdin=json.dumps([invoice(5)]))

        assert (0, ["INV-5"]) == (ran.status, numbers_in_xero(cli.xero))

    def test_a_missing_file_is_a_usage_error(self, cli: Cli) -> None:
        """A file that does not exist exits 2 with one line."""
        ran = cli("push", "no-such.json")

        assert (2, "bms-xero push: no-such.json: no such file\n") == (ran.status, ran.stderr)

    def test_a_file_that_is_not_json(self, cli: Cli, tmp_path: Path) -> None:
        """A file that is not JSON exits 2 naming the file, line and column."""
        path = tmp_path / "broken.json"
        path.write_text("[\n{")

        ran = cli("push", str(path))

        assert (2, True) == (ran.status, f"{path} can't be read at line 2" in ran.stderr)

    def test_progress_when_asked(self, cli: Cli, tmp_path: Path) -> None:
        """--progress reports on stderr (a line per batch when it is not a terminal)."""
        path = write(tmp_path / "in.json", [invoice(n) for n in range(1, 61)])

        ran = cli("push", path, "--link-customers", "--progress")

        progress = [line for line in ran.stderr.splitlines() if "invoices pushed" in line]
        assert ["0/60 invoices pushed", "50/60 invoices pushed", "60/60 invoices pushed"] == (
            progress
        )

    def test_no_progress_unless_a_terminal(self, cli: Cli) -> None:
        """Without --progress nothing is drawn when stderr is not a terminal."""
        ran = cli("push", EXAMPLE, "--link-customers")

        assert "" == ran.stderr

    def test_force_needs_an_immediate_push(self, cli: Cli) -> None:
        """--force with --background is a usage error."""
        ran = cli("push", EXAMPLE, "--force", "--background")

        assert 2 == ran.status


class TestProgress:
    def test_a_terminal_bar_is_redrawn_in_place(self) -> None:
        """On a terminal the bar is redrawn with carriage returns and ends with a newline."""
        err = io.StringIO()
        out = Output(json_mode=False, verbose=False, stdout=io.StringIO(), stderr=err)
        progress = Progress(4, out, enabled=True, tty=True, label="pushed")

        progress.update(2)
        progress.finish()

        assert "\r[" + "#" * 15 + "-" * 15 + "] 2/4 pushed\n" == err.getvalue()


class TestPullAndPanel:
    def test_pull_reports_a_payment(self, cli: Cli) -> None:
        """After a payment in Xero, pull prints the invoice as paid."""
        cli("push", EXAMPLE, "--link-customers")
        paid = {i["InvoiceNumber"]: i["InvoiceID"] for i in cli.xero.invoices()}["INV-1003"]
        cli.xero.pay(paid, amount=Decimal("573.85"))

        ran = cli("pull", "--json")

        updates = [
            (u["invoice_number"], u["status"], u["amount_due"]) for u in ran.json()["updates"]
        ]
        assert [("INV-1003", "paid", "0.00")] == updates

    def test_nothing_to_pull(self, cli: Cli) -> None:
        """A pull with no changes says so."""
        ran = cli("pull")

        assert (0, "No changes in Xero since the last pull.\n") == (ran.status, ran.stdout)

    def test_panel_shows_the_link(self, cli: Cli) -> None:
        """panel shows the status, the total and the link into Xero."""
        cli("push", EXAMPLE, "--link-customers")

        panel = cli("panel", "I-1002", "--json").json()["panel"]

        assert ("awaiting_payment", "2070.00", True) == (
            panel["status"],
            panel["total"],
            panel["view_url"].startswith("https://go.xero.com/"),
        )

    def test_panel_of_an_unknown_invoice(self, cli: Cli) -> None:
        """panel of an invoice never pushed says so."""
        ran = cli("panel", "I-404")

        assert (0, "I-404: not pushed to Xero yet.\n") == (ran.status, ran.stdout)

    def test_panel_needs_no_credentials(self, cli: Cli) -> None:
        """panel reads the SQLite file only: without client id, secret or tenant it shows
        the invoice of the one organisation the file knows."""
        cli("push", EXAMPLE, "--link-customers")
        only_db = {"BMS_XERO_DB": cli.env["BMS_XERO_DB"]}
        requests = len(cli.xero.requests)

        ran = cli("panel", "I-1002", "--json", env=only_db)

        doc = ran.json()
        assert (0, cli.xero.tenant_id, "pushed", requests) == (
            ran.status,
            doc["tenant_id"],
            doc["panel"]["state"],
            len(cli.xero.requests),
        )

    def test_panel_for_a_tenant_the_file_does_not_know(self, cli: Cli) -> None:
        """A --tenant-id the file has nothing for (while it has records for another) is an
        error naming both and the setting, not "not pushed yet"."""
        cli("push", EXAMPLE, "--link-customers")

        ran = cli("panel", "I-1002", "--tenant-id", "wrong-tenant")

        assert (2, "", True, True, True) == (
            ran.status,
            ran.stdout,
            "wrong-tenant" in ran.stderr,
            cli.xero.tenant_id in ran.stderr,
            "--tenant-id" in ran.stderr,
        )

    def test_panel_with_several_organisations_in_the_file(self, cli: Cli, tmp_path: Path) -> None:
        """Without a tenant id, a file holding two organisations asks to choose one; with
        it, each organisation's invoices are its own."""
        other = cli.xero.add_tenant(name="Second Ltd")
        cli("push", EXAMPLE, "--link-customers", "--tenant-id", cli.xero.tenant_id)
        cli("push", "-", "--link-customers", "--tenant-id", other, stdin=json.dumps([invoice(9)]))
        only_db = {"BMS_XERO_DB": cli.env["BMS_XERO_DB"]}

        unchosen = cli("panel", "I-1002", env=only_db)
        mine = cli("panel", "I-1002", "--tenant-id", cli.xero.tenant_id, "--json", env=only_db)
        theirs = cli("panel", "I-1002", "--tenant-id", other, "--json", env=only_db)

        assert (2, True, "pushed", None) == (
            unchosen.status,
            other in unchosen.stderr and cli.xero.tenant_id in unchosen.stderr,
            mine.json()["panel"]["state"],
            theirs.json()["panel"]["state"],
        )


class TestJobs:
    def test_background_push_runs_in_the_worker(self, cli: Cli) -> None:
        """push --background queues jobs that worker --once pushes from the saved invoices."""
        queued = cli("push", EXAMPLE, "--background", "--link-customers")
        before = numbers_in_xero(cli.xero)

        ran = cli("worker", "--once", "--json")

        assert (0, [], 0, ["INV-1001", "INV-1002", "INV-1003"], 3) == (
            queued.status,
            before,
            ran.status,
            numbers_in_xero(cli.xero),
            ran.json()["summary"]["done"],
        )

    def test_jobs_name_their_invoice(self, cli: Cli) -> None:
        """jobs lists each job with a description naming its invoice."""
        cli("push", EXAMPLE, "--background")

        ran = cli("jobs")

        described = sorted(line.split("  ")[-1] for line in ran.stdout.splitlines()[1:])
        assert [f"Push invoice INV-100{n} to Xero" for n in (1, 2, 3)] == described

    def test_failed_jobs_are_listed_and_retried(self, cli: Cli, tmp_path: Path) -> None:
        """A failed job is listed by jobs --failed with its error; retry runs it again."""
        unknown = invoice(2)
        unknown["lines"][0]["account_code"] = "999"
        path = write(tmp_path / "in.json", [invoice(1), unknown])
        cli("push", path, "--background", "--link-customers")
        worked = cli("worker", "--once")
        failed = cli("jobs", "--failed", "--json").json()["jobs"]
        cli.xero.add_account(code="999", name="Other Sales", type="REVENUE")  # the fix

        retried = cli("retry", "--all-failed")
        rerun = cli("worker", "--once")

        assert (1, ["INV-2"], True, 0, 0, ["INV-1", "INV-2"]) == (
            worked.status,
            [j["invoice_number"] for j in failed],
            "account code '999'" in failed[0]["last_error"],
            retried.status,
            rerun.status,
            numbers_in_xero(cli.xero),
        )

    def test_retry_one_job(self, cli: Cli, tmp_path: Path) -> None:
        """retry JOB_ID makes one failed job pending again."""
        path = write(tmp_path / "in.json", [invoice(2, customer={"id": "C-9", "name": "X"})])
        cli("push", path, "--background")
        cli("worker", "--once")
        [job] = cli("jobs", "--json").json()["jobs"]

        ran = cli("retry", job["id"], "--json")

        assert [("pending", 0)] == [(j["status"], j["attempts"]) for j in ran.json()["retried"]]

    def test_retry_of_an_unknown_job(self, cli: Cli) -> None:
        """retry of a job id that does not exist exits 2."""
        ran = cli("retry", "no-such-job")

        assert (2, True) == (ran.status, "there is no job no-such-job" in ran.stderr)

    def test_reading_and_queuing_need_no_credentials(self, cli: Cli) -> None:
        """With the tenant set, push --background, jobs, retry and config work without
        client id or secret, and nothing reaches Xero."""
        env = {
            "BMS_XERO_DB": cli.env["BMS_XERO_DB"],
            "BMS_XERO_TENANT_ID": cli.xero.tenant_id,
        }
        requests = len(cli.xero.requests)

        runs = [
            cli("push", EXAMPLE, "--background", env=env),
            cli("jobs", env=env),
            cli("retry", "--all-failed", env=env),
            cli("config", env=env),
        ]

        assert ([0, 0, 0, 0], requests) == ([r.status for r in runs], len(cli.xero.requests))

    def test_retry_needs_a_job_or_all_failed(self, cli: Cli) -> None:
        """retry without a job id or --all-failed is a usage error."""
        assert 2 == cli("retry").status

    def test_worker_with_nothing_to_do(self, cli: Cli) -> None:
        """worker --once with no due jobs says so and exits 0."""
        ran = cli("worker", "--once")

        assert (0, "No jobs due.\n") == (ran.status, ran.stdout)

    def test_worker_once_queues_a_due_pull(self, cli: Cli) -> None:
        """worker --once --pull-every queues the periodic pull when it is due, and runs it."""
        ran = cli("worker", "--once", "--pull-every", "30", "--json")

        assert ["Pull payments from Xero"] == [j["description"] for j in ran.json()["jobs"]]

    def test_worker_forever_stops_when_asked(self, cli: Cli) -> None:
        """worker (without --once) returns 0 once stopped."""
        stop = threading.Event()
        stop.set()
        out, err = io.StringIO(), io.StringIO()

        status = main(
            ["worker"],
            environ=cli.env,
            stdout=out,
            stderr=err,
            clock=cli.xero.clock,
            http_client=cli.http,
            stop=stop,
        )

        assert (0, "Worker stopped.\n") == (status, out.getvalue())


class TestConnections:
    def test_two_organisations_need_a_tenant_id(self, cli: Cli) -> None:
        """Credentials that reach two organisations must choose one; the error lists both."""
        other = cli.xero.add_tenant(name="Second Ltd")

        ran = cli("pull")

        assert (2, True, True) == (
            ran.status,
            other in ran.stderr,
            "BMS_XERO_TENANT_ID" in ran.stderr,
        )

    def test_the_tenant_flag_chooses(self, cli: Cli) -> None:
        """--tenant-id picks the organisation when there are several."""
        cli.xero.add_tenant(name="Second Ltd")

        assert 0 == cli("pull", "--tenant-id", cli.xero.tenant_id).status

    def test_a_refresh_token_connection(self, cli: Cli) -> None:
        """With BMS_XERO_CONNECTION_ID the tokens come from the database file."""
        with SQLiteTokenStore(cli.env["BMS_XERO_DB"]) as tokens:
            exchange_code(
                HttpxTransport(httpx.Client(transport=cli.xero.transport), owns_client=True),
                client_id=cli.xero.client_id,
                client_secret=cli.xero.client_secret,
                code=cli.xero.authorize(),
                redirect_uri="https://bms.example/xero/callback",
                clock=cli.xero.clock,
                store=tokens,
                connection_id="main",
            )

        ran = cli("pull", env={**cli.env, "BMS_XERO_CONNECTION_ID": "main"})

        assert (0, "") == (ran.status, ran.stderr)


class TestErrors:
    def test_a_wrong_secret_is_an_auth_error(self, cli: Cli) -> None:
        """A refused secret exits 3 with one line, and the secret appears nowhere."""
        canary = "wrong-CANARY-secret-9c2"

        ran = cli("pull", env={**cli.env, "BMS_XERO_CLIENT_SECRET": canary})

        assert (3, 1, False) == (
            ran.status,
            len(ran.stderr.splitlines()),
            canary in ran.stdout + ran.stderr,
        )

    def test_verbose_adds_details_but_no_secret(self, cli: Cli) -> None:
        """--verbose adds the error's fields and traceback, still without the secret."""
        canary = "wrong-CANARY-secret-9c2"

        ran = cli("pull", "-v", "--json", env={**cli.env, "BMS_XERO_CLIENT_SECRET": canary})

        error = ran.json()["error"]
        assert (3, True, True, False) == (
            ran.status,
            "status_code" in error["fields"],
            "Traceback" in error["traceback"],
            canary in ran.stdout + ran.stderr,
        )

    def test_an_unknown_option(self, cli: Cli) -> None:
        """An unknown option exits 2 with one line."""
        ran = cli("pull", "--bogus")

        assert (2, 1) == (ran.status, len(ran.stderr.splitlines()))

    def test_an_unknown_option_in_json_mode(self, cli: Cli) -> None:
        """With --json a usage error is a JSON document on stdout."""
        ran = cli("--json", "jobs", "--limit", "zero")

        assert (2, "UsageError") == (ran.status, ran.json()["error"]["type"])

    def test_json_goes_before_or_after_the_command(self, cli: Cli) -> None:
        """--json works before and after the subcommand's name."""
        before = cli("--json", "jobs").json()
        after = cli("jobs", "--json").json()

        assert before == after == {"command": "jobs", "jobs": []}

    def test_exit_codes_by_error_type(self) -> None:
        """Configuration errors exit 2, Xero/auth/network errors 3, invoice problems 1."""
        errors = [
            ConfigurationError("x"),
            AuthError("x"),
            TransportError("x"),
            XeroValidationError([]),
            InvoiceValidationError([]),
        ]

        assert [2, EXIT_REMOTE, EXIT_REMOTE, 1, 1] == [exit_code(e) for e in errors]


class TestLocalFiles:
    def test_a_file_that_is_not_a_database(self, cli: Cli, tmp_path: Path) -> None:
        """A --db that is not a SQLite database exits 2 with one line naming it."""
        bogus = tmp_path / "notes.txt"
        bogus.write_text("not a database\n" * 100)

        ran = cli("jobs", "--db", str(bogus))

        assert (2, 1, True) == (ran.status, len(ran.stderr.splitlines()), str(bogus) in ran.stderr)

    def test_a_secret_in_the_config_file_is_refused(self, cli: Cli, tmp_path: Path) -> None:
        """A config file holding client_secret stops every command, without echoing it."""
        config = tmp_path / "bms-xero.toml"
        config.write_text('client_secret = "CANARY-in-file-77"\n')

        ran = cli("jobs", "--config", str(config))

        assert (2, False) == (ran.status, "CANARY-in-file-77" in ran.stdout + ran.stderr)
