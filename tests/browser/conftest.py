"""Fixtures of the browser test: FakeXero and the example BMS as real servers, and Chromium.

Everything runs on loopback in processes this suite starts and always stops: ``bms-xero
fake-server`` (Xero), the example BMS's Django server (``examples/django_bms``, SQLite in the
test's tmp dir), and headless Chromium driven by Playwright. The worker and the pull are the
app's management commands, run as a person (or cron) would run them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services import require_chromium, require_django

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "django_bms"
ADMIN = ("admin", "a-long-test-password-1")
#: Reference data (account 200, bank 090, tax OUTPUT2, contact Acme Ltd C-1), fixed ids.
FAKE_SERVER_FLAGS = ("--sample-data", "--seed", "13", "--json")
#: Where screenshots go when BMS_XERO_SCREENSHOTS=1 (the README shows them).
DOCS_IMAGES = ROOT / "docs" / "images"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[Any]) -> None:
    """Stop a process this suite started (and its group): SIGTERM, then SIGKILL; close its
    pipes."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class FakeXeroProcess:
    """``bms-xero fake-server --sample-data`` in a child process: what it printed."""

    def __init__(self, details: dict[str, str]) -> None:
        self.details = details
        self.url = details["url"]


class Site:
    """The example BMS served by ``manage.py runserver``, plus ``manage.py`` for commands."""

    def __init__(self, url: str, env: dict[str, str], logs: Path) -> None:
        self.url = url
        self.env = env
        self.logs = logs

    def manage(self, *args: str, timeout: float = 60) -> str:
        """Run a management command of the example; fail the test with its output if it fails."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"manage.py {' '.join(args)} exited with {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}",
                pytrace=False,
            )
        return done.stdout

    def server_log(self) -> str:
        return _tail(self.logs / "runserver.log")


@pytest.fixture(name="chromium_path")
def _chromium_path() -> str:
    """Chromium (and Django, which the example BMS runs on): checked before any server starts."""
    require_django()
    return require_chromium()


@pytest.fixture(name="fake_xero_process")
def _fake_xero_process(tmp_path: Path) -> Iterator[FakeXeroProcess]:
    log = (tmp_path / "fake-server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bms_xero", "fake-server", *FAKE_SERVER_FLAGS],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        with ThreadPoolExecutor(max_workers=1) as pool:
            line = pool.submit(process.stdout.readline)
            try:
                first = line.result(timeout=30)
            except FutureTimeout:
                os.killpg(process.pid, signal.SIGKILL)  # so the read ends, and the pool with it
                first = ""
        try:
            details = json.loads(first)
        except json.JSONDecodeError:
            details = None
        if not isinstance(details, dict) or "url" not in details:  # {"error": ...} with --json
            log.flush()
            pytest.fail(
                f"bms-xero fake-server did not start: {first.strip()}\n"
                f"{_tail(tmp_path / 'fake-server.log')}",
                pytrace=False,
            )
        yield FakeXeroProcess(details)
    finally:
        _stop(process)
        log.close()


@pytest.fixture(name="site")
def _site(tmp_path: Path, fake_xero_process: FakeXeroProcess) -> Iterator[Site]:
    details = fake_xero_process.details
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bms_site.settings",
        "BMS_DB": str(tmp_path / "bms.sqlite3"),
        "BMS_FAKE_XERO_URL": fake_xero_process.url,
        "XERO_TENANT_ID": details["tenant_id"],
        "XERO_CLIENT_ID": details["client_id"],
        "XERO_CLIENT_SECRET": details["client_secret"],
        "DJANGO_SUPERUSER_PASSWORD": ADMIN[1],
        "PYTHONUNBUFFERED": "1",
    }
    site = Site(f"http://127.0.0.1:{_free_port()}", env, tmp_path)
    # migrate, seed_bms and createsuperuser (README.md), in one process to start Django once.
    site.manage(
        "shell",
        "-c",
        "from django.core.management import call_command as run; "
        "run('migrate', interactive=False, verbosity=0); run('seed_bms'); "
        f"run('createsuperuser', interactive=False, username={ADMIN[0]!r}, "
        "email='admin@bms.example')",
    )
    log = (tmp_path / "runserver.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", site.url.removeprefix("http://"), "--noreload"],
        cwd=EXAMPLE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_until_serving(site, process)
        yield site
    finally:
        _stop(process)
        log.close()


def _wait_until_serving(site: Site, process: subprocess.Popen[Any], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the example BMS's server exited:\n{site.server_log()}", pytrace=False)
        try:
            if httpx.get(f"{site.url}/admin/login/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the example BMS did not answer in {timeout} s:\n{site.server_log()}")


@pytest.fixture(name="page")
def _page(chromium_path: str, site: Site, tmp_path: Path) -> Iterator[Any]:
    """A Chromium tab, logged in to the example BMS as a staff superuser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        try:
            context = browser.new_context(
                base_url=site.url, viewport={"width": 1280, "height": 860}
            )
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto("/admin/login/?next=/")
            page.fill("#id_username", ADMIN[0])
            page.fill("#id_password", ADMIN[1])
            page.click("input[type=submit]")
            page.wait_for_url(f"{site.url}/")
            yield page
        finally:
            browser.close()


@pytest.fixture(name="screenshot")
def _screenshot(tmp_path: Path) -> Any:
    """Save a screenshot into the test's tmp dir, and into docs/images when
    ``BMS_XERO_SCREENSHOTS=1`` (how the README's pictures are made)."""

    def save(target: Any, name: str, **options: Any) -> Path:
        path = tmp_path / name
        target.screenshot(path=str(path), **options)
        if os.environ.get("BMS_XERO_SCREENSHOTS") == "1":
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            (DOCS_IMAGES / name).write_bytes(path.read_bytes())
        return path

    return save
