"""A closed stdout (``bms-xero jobs | head -1``) ends every command quietly with status 141."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bms_xero.clock import SystemClock
from bms_xero.jobs import SQLiteJobStore
from bms_xero.testing import FakeServer, FakeXero, serve
from tests.cli.conftest import EXAMPLES, seed

BROKEN_PIPE = 141  # 128 + SIGPIPE


@pytest.fixture(name="server")
def _server() -> Iterator[FakeServer]:
    xero = FakeXero(SystemClock(), seed=12)
    seed(xero)
    with serve(xero, "127.0.0.1", 0) as server:
        yield server


@pytest.fixture(name="env")
def _env(server: FakeServer, tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("BMS_XERO_")}
    return {
        **keep,
        "BMS_XERO_DB": str(tmp_path / "sync.db"),
        "BMS_XERO_CLIENT_ID": server.xero.client_id,
        "BMS_XERO_CLIENT_SECRET": server.xero.client_secret,
        "BMS_XERO_TENANT_ID": server.xero.tenant_id,
        "BMS_XERO_API_URL": server.api_url,
        "BMS_XERO_TOKEN_URL": server.token_url,
        "BMS_XERO_CONNECTIONS_URL": server.connections_url,
        "BMS_XERO_TAX_MAP": "GST15=OUTPUT2",
    }


def into_closed_pipe(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run the command with stdout a pipe whose reader has gone; its status and stderr."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bms_xero", *args],
            env=env,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)
    return done.returncode, done.stderr


COMMANDS = [
    ["jobs"],
    ["jobs", "--json"],
    ["config"],
    ["panel", "I-1001"],
    ["retry", "--all-failed"],
    ["push", str(EXAMPLES / "invoices.json"), "--link-customers"],
    ["push", str(EXAMPLES / "invoices.json"), "--background", "--json"],
    ["pull"],
    ["worker", "--once"],
    ["--help"],
    ["push", "--help"],
    ["demo"],
    ["fake-server"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(Path(w).name for w in a))
def test_every_command_ends_quietly_when_stdout_is_closed(
    env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    """Writing to a stdout nobody reads ends the command with 141 and nothing on stderr (no
    traceback, no "unexpected error")."""
    if args == ["demo"]:
        args = ["demo", "--db", str(tmp_path / "demo.db")]

    assert (BROKEN_PIPE, "") == into_closed_pipe(env, *args)


def test_a_usage_error_still_goes_to_stderr(env: dict[str, str]) -> None:
    """A command that writes only its error (to stderr) keeps its own status."""
    status, stderr = into_closed_pipe(env, "jobs", "--limit", "zero")

    assert (2, True) == (status, "--limit" in stderr)


def test_jobs_into_head(env: dict[str, str]) -> None:
    """`bms-xero jobs | head -1`: the reader takes a line and leaves; the command ends 141
    and says nothing."""
    now = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    with SQLiteJobStore(env["BMS_XERO_DB"], synchronous="NORMAL") as jobs:
        for n in range(1000):  # some 100 kB of table: more than a pipe's buffer holds
            jobs.enqueue_push(env["BMS_XERO_TENANT_ID"], f"I-{n}", now=now)
    with subprocess.Popen(
        [sys.executable, "-m", "bms_xero", "jobs", "--limit", "1000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        try:
            first = process.stdout.readline()
            process.stdout.close()
            status = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        stderr = process.stderr.read()

    assert (True, BROKEN_PIPE, "") == (first.startswith("JOB "), status, stderr)
