"""``bms-xero fake-server``: the loopback server as a command."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from bms_xero.cli import build_parser, main, run_fake_server
from tests.testing.helpers import check


class _Output(io.StringIO):
    """Captures what the command prints and says when a line has arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def write(self, text: str) -> int:
        count = super().write(text)
        self.written.set()
        return count


def _run_in_thread(argv: list[str]) -> tuple[threading.Event, _Output, Any]:
    args = build_parser().parse_args(argv)
    stop, out = threading.Event(), _Output()
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run_fake_server, args, stop=stop, out=out)
    pool.shutdown(wait=False)
    assert out.written.wait(timeout=10)
    return stop, out, future


def test_json_details_reach_a_working_server() -> None:
    """--json prints the URLs, tenant id and credentials, and they work."""
    stop, out, future = _run_in_thread(["fake-server", "--seed", "3", "--json"])
    try:
        details = json.loads(out.getvalue())
        with httpx.Client(timeout=10) as http:
            token = http.post(
                details["token_url"],
                data={"grant_type": "client_credentials"},
                auth=(details["client_id"], details["client_secret"]),
            ).json()["access_token"]
            response = http.get(
                f"{details['api_url']}/Organisation",
                headers={
                    "Authorization": f"Bearer {token}",
                    "xero-tenant-id": details["tenant_id"],
                },
            )
            check(response)
    finally:
        stop.set()
    assert (200, 0) == (response.status_code, future.result(timeout=10))


def test_sample_data_adds_a_contact() -> None:
    """--sample-data adds reference data and a contact, whose id is printed."""
    stop, out, future = _run_in_thread(["fake-server", "--sample-data", "--json"])
    stop.set()
    future.result(timeout=10)

    assert 36 == len(json.loads(out.getvalue())["contact_id"])


def test_text_output_names_everything() -> None:
    """Without --json the command prints the URL, tenant id and fake credentials."""
    stop, out, future = _run_in_thread(["fake-server", "--seed", "3"])
    stop.set()
    future.result(timeout=10)

    text = out.getvalue()
    labels = ["serving on http://127.0.0.1:", "tenant id:", "client id:", "client secret:"]
    assert [True] * 4 == [label in text for label in labels]


def test_same_seed_same_credentials() -> None:
    """--seed makes the printed tenant id and credentials reproducible."""
    runs = []
    for _ in range(2):
        stop, out, future = _run_in_thread(["fake-server", "--seed", "11", "--json"])
        stop.set()
        future.result(timeout=10)
        details = json.loads(out.getvalue())
        runs.append((details["tenant_id"], details["client_id"], details["client_secret"]))

    assert runs[0] == runs[1]


def test_non_loopback_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A non-loopback --host without --allow-remote exits with status 2 and says why."""
    status = main(["fake-server", "--host", "192.0.2.1"])

    assert (2, True) == (status, "loopback" in capsys.readouterr().err)


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a subcommand the command prints its help and exits with status 2."""
    status = main([])

    assert (2, True) == (status, "fake-server" in capsys.readouterr().err)


@pytest.fixture(name="process")
def _process() -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen(
        [sys.executable, "-m", "bms_xero", "fake-server", "--seed", "5", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def test_runs_in_its_own_process_until_sigterm(process: subprocess.Popen[str]) -> None:
    """python -m bms_xero fake-server serves from another process and stops cleanly on SIGTERM."""
    assert process.stdout is not None
    with ThreadPoolExecutor(max_workers=1) as pool:
        details = json.loads(pool.submit(process.stdout.readline).result(timeout=30))
    with httpx.Client(timeout=10) as http:
        status = http.post(
            details["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(details["client_id"], details["client_secret"]),
        ).status_code

    process.send_signal(signal.SIGTERM)

    assert (200, 0) == (status, process.wait(timeout=10))
