"""``connect``, ``connections`` and ``disconnect`` against FakeXero served on loopback.

The browser step is scripted: an HTTP client follows the authorise link, the fake's consent
step redirects it to the command's loopback listener (or, with ``--paste``, the test pastes
the address it was redirected to). Every request is real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import queue
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from bms_xero.cli import main
from bms_xero.cli._listener import CallbackListener, Verdict
from bms_xero.clock import SystemClock
from bms_xero.errors import AuthorizationFailed, ConfigurationError
from bms_xero.testing import FakeServer, FakeXero, serve
from tests.cli.conftest import EXAMPLES, seed


@attrs.frozen
class Ran:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(name="server")
def _server() -> Iterator[FakeServer]:
    xero = FakeXero(SystemClock(), seed=23)
    seed(xero)
    with serve(xero, "127.0.0.1", 0) as server:
        yield server


def _env(server: FakeServer, db: Path, *, secret: bool = True) -> dict[str, str]:
    xero = server.xero
    env = {
        "BMS_XERO_CLIENT_ID": xero.client_id if secret else xero.pkce_client_id,
        "BMS_XERO_DB": str(db),
        "BMS_XERO_API_URL": server.api_url,
        "BMS_XERO_TOKEN_URL": server.token_url,
        "BMS_XERO_CONNECTIONS_URL": server.connections_url,
        "BMS_XERO_AUTHORIZE_URL": server.authorize_url,
        "BMS_XERO_REVOCATION_URL": server.revocation_url,
        # Port 0: a free port; the fake accepts any redirect URI (Xero only the registered one).
        "BMS_XERO_REDIRECT_URI": "http://127.0.0.1:0/callback",
        "BMS_XERO_TAX_MAP": "GST15=OUTPUT2",
    }
    if secret:
        env["BMS_XERO_CLIENT_SECRET"] = xero.client_secret
    return env


@pytest.fixture(name="env")
def _env_fixture(server: FakeServer, tmp_path: Path) -> dict[str, str]:
    return _env(server, tmp_path / "sync.db")


@attrs.define
class Browser:
    """Follows the link it is given, in the background, as a person's browser would."""

    before: Callable[[str], None] | None = None
    pages: list[httpx.Response] = attrs.field(factory=list)
    threads: list[threading.Thread] = attrs.field(factory=list)

    def __call__(self, url: str) -> bool:
        def go() -> None:
            if self.before is not None:
                self.before(url)
            self.pages.append(httpx.get(url, follow_redirects=True, timeout=10))

        thread = threading.Thread(target=go, daemon=True)
        thread.start()
        self.threads.append(thread)
        return True

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)


def run(
    env: Mapping[str, str],
    *argv: str,
    browser: Callable[[str], object] | None = None,
    stdin: str = "",
) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    status = main(
        list(argv),
        environ=dict(env),
        stdin=io.StringIO(stdin),
        stdout=out,
        stderr=err,
        browser=browser,
    )
    return Ran(status, out.getvalue(), err.getvalue())


def _stored_tokens(db: str) -> int:
    if not Path(db).exists():
        return 0
    with closing(sqlite3.connect(db)) as conn:
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
        if "bms_xero_tokens" not in tables:
            return 0
        return int(conn.execute("SELECT COUNT(*) FROM bms_xero_tokens").fetchone()[0])


def _saved(db: str) -> dict[str, str]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT name, value FROM bms_xero_cli_settings").fetchall()
    return dict(rows)


def _identity_paths(xero: FakeXero[Any]) -> list[str]:
    return [r.path for r in xero.requests if r.api in ("identity", "connections")]


class TestConnect:
    def test_connect_end_to_end(self, server: FakeServer, env: dict[str, str]) -> None:
        """The link, the consent redirect to the listener, the code exchange with PKCE, the
        organisations listed with this authorisation's marked new, and the connection and
        organisation saved: later commands use them without more settings."""
        xero = server.xero
        browser = Browser()

        ran = run(env, "--json", "connect", browser=browser)
        browser.join()

        doc = ran.json()
        assert (0, "default", xero.tenant_id) == (
            ran.status,
            doc["connection_id"],
            doc["tenant_id"],
        )
        assert [(xero.tenant_id, True, True)] == [
            (c["tenant_id"], c["new"], c["selected"]) for c in doc["connections"]
        ]
        assert "offline_access" in doc["scopes"] and doc["auth_event_id"]
        assert [200] == [p.status_code for p in browser.pages]
        assert "bms-xero has the authorisation" in browser.pages[0].text
        assert {
            "client_id": xero.client_id,
            "connection_id": "default",
            "tenant_id": xero.tenant_id,
        } == _saved(env["BMS_XERO_DB"])
        assert ["/identity/connect/authorize", "/connect/token", "/connections"] == (
            _identity_paths(xero)
        )
        token = next(r for r in xero.requests if r.path == "/connect/token")
        assert "authorization" in token.headers  # a web app authenticates with its secret

        listed = run(env, "--json", "connections").json()
        shown = run(env, "config", "--json").json()
        assert [xero.tenant_id] == [c["tenant_id"] for c in listed["connections"] if c["selected"]]
        assert "default" == shown["settings"]["connection_id"]
        assert shown["sources"]["connection_id"].startswith("saved by bms-xero connect")

    def test_only_the_newly_authorised_organisation_is_chosen(
        self, server: FakeServer, env: dict[str, str]
    ) -> None:
        """Connecting a second organisation later marks only it new, and uses it."""
        xero = server.xero
        second = xero.add_tenant("Second Ltd", connect=False)
        xero.set_consent([xero.tenant_id])
        assert 0 == run(env, "connect", browser=Browser()).status
        xero.set_consent([second])

        ran = run(env, "--json", "connect", browser=Browser())

        doc = ran.json()
        assert (0, second) == (ran.status, doc["tenant_id"])
        assert {xero.tenant_id: False, second: True} == {
            c["tenant_id"]: c["new"] for c in doc["connections"]
        }

    def test_several_new_organisations_wait_for_a_choice(
        self, server: FakeServer, env: dict[str, str]
    ) -> None:
        """Two organisations authorised at once, no terminal to ask: none is chosen until
        `connections --use` picks one, which later commands then use."""
        xero = server.xero
        second = xero.add_tenant("Second Ltd", connect=False)

        ran = run(env, "connect", browser=Browser())
        before = _saved(env["BMS_XERO_DB"])
        used = run(env, "connections", "--use", second)
        listed = run(env, "--json", "connections").json()

        assert (0, True, False) == (
            ran.status,
            "connections --use" in ran.stdout,
            "tenant_id" in before,
        )
        assert (0, second) == (used.status, listed["tenant_id"])

    def test_a_named_organisation_must_be_connected(
        self, server: FakeServer, env: dict[str, str]
    ) -> None:
        """--tenant-id names the organisation to use; one the authorisation does not reach
        is a configuration error that lists those it does."""
        xero = server.xero

        ran = run(
            env, "connect", "--tenant-id", "00000000-0000-0000-0000-000000000000", browser=Browser()
        )

        assert (2, xero.tenant_id in ran.stderr) == (ran.status, True)

    def test_a_pkce_app_connects_and_refreshes_without_a_secret(self, tmp_path: Path) -> None:
        """With the PKCE app's client id and no secret: connect, then push and pull, each
        refreshing its 1-second tokens at the token endpoint without a secret."""
        xero = FakeXero(SystemClock(), seed=24, token_lifetime=1)
        seed(xero)
        with serve(xero, "127.0.0.1", 0) as server:
            env = _env(server, tmp_path / "sync.db", secret=False)

            connected = run(env, "connect", browser=Browser())
            pushed = run(env, "push", str(EXAMPLES / "invoices.json"), "--link-customers")
            pulled = run(env, "pull")

        tokens = [r for r in xero.requests if r.path == "/connect/token"]
        assert (0, 0, 0) == (connected.status, pushed.status, pulled.status), pushed.stderr
        assert 3 <= len(tokens)
        assert all("authorization" not in r.headers for r in tokens)
        assert all(r.status == 200 for r in tokens)

    def test_a_declined_consent_saves_nothing(
        self, server: FakeServer, env: dict[str, str]
    ) -> None:
        """The person cancels: exit 3, AuthorizationFailed (denied), the browser told, no
        token request, nothing stored."""
        server.xero.set_consent(approve=False)
        browser = Browser()

        ran = run(env, "--json", "connect", browser=browser)
        browser.join()

        error = ran.json()["error"]
        assert (3, "AuthorizationFailed", "run `bms-xero connect` again") == (
            ran.status,
            error["type"],
            error["hint"],
        )
        assert "declined" in error["message"]
        assert "Not connected" in browser.pages[0].text
        assert "/connect/token" not in _identity_paths(server.xero)
        assert 0 == _stored_tokens(env["BMS_XERO_DB"])

    def test_the_listener_gives_up(self, server: FakeServer, env: dict[str, str]) -> None:
        """Nobody comes back: after --timeout the command stops with a timeout, exit 3."""
        started = time.monotonic()

        ran = run(env, "connect", "--timeout", "0.3", browser=lambda url: None)

        assert (3, True) == (ran.status, "in time" in ran.stderr)
        assert time.monotonic() - started < 10

    def test_a_stale_redirect_does_not_end_the_wait(
        self, server: FakeServer, env: dict[str, str]
    ) -> None:
        """A redirect with another state (an old tab) is answered 400 and ignored; the real
        one still completes the connection."""
        stale: list[int] = []

        def old_tab(url: str) -> None:
            query = dict(httpx.URL(url).params)
            callback = httpx.URL(query["redirect_uri"]).copy_merge_params(
                {"code": "OLD", "state": "old-state"}
            )
            stale.append(httpx.get(str(callback), timeout=5).status_code)

        ran = run(env, "connect", browser=Browser(before=old_tab))

        assert ([400], 0) == (stale, ran.status)

    @pytest.mark.parametrize(
        ("change", "argv", "says"),
        [
            ({"BMS_XERO_CLIENT_ID": None}, [], "client_id"),
            ({"BMS_XERO_DB": None}, [], "db"),
            ({}, ["--redirect-uri", "https://bms.example/xero/callback"], "--paste"),
            ({}, ["--scopes", 'openid "quoted"'], "--scopes"),
            ({}, ["--timeout", "0"], "--timeout"),
            ({"BMS_XERO_AUTHORIZE_URL": "login.xero.com"}, [], "BMS_XERO_AUTHORIZE_URL"),
        ],
    )
    def test_bad_input_fails_before_any_request(
        self,
        server: FakeServer,
        env: dict[str, str],
        change: dict[str, str | None],
        argv: list[str],
        says: str,
    ) -> None:
        """Missing settings and bad options are exit 2, naming the problem, and nothing is
        sent to Xero (nor is a browser opened)."""
        opened: list[str] = []
        for name, value in change.items():
            if value is None:
                env.pop(name)
            else:
                env[name] = value

        timeout = [] if "--timeout" in argv else ["--timeout", "5"]  # a regression can't hang

        ran = run(env, "connect", *timeout, *argv, browser=opened.append)

        assert (2, True, [], []) == (ran.status, says in ran.stderr, opened, server.xero.requests)


class TestPaste:
    def test_paste_the_redirect_in_process(self, server: FakeServer, env: dict[str, str]) -> None:
        """--paste reads the address the browser ended on from stdin (here: the fake's
        redirect, which nothing listens for)."""
        pasted: queue.Queue[str] = queue.Queue()

        class Stdin(io.StringIO):
            def readline(self, size: int | None = -1) -> str:
                return pasted.get(timeout=10) + "\n"

        def browser(url: str) -> None:
            pasted.put(httpx.get(url, timeout=10).headers["location"])

        out, err = io.StringIO(), io.StringIO()
        status = main(
            ["connect", "--paste", "--redirect-uri", "https://bms.example/xero/callback"],
            environ=env,
            stdin=Stdin(),
            stdout=out,
            stderr=err,
            browser=browser,
        )

        assert (0, True) == (status, "Connected to Xero" in out.getvalue())

    def test_a_stale_paste_is_refused_before_sending(
        self, server: FakeServer, env: dict[str, str]
    ) -> None:
        """A pasted address with another state is refused (exit 3) with no token request."""
        ran = run(
            env,
            "connect",
            "--paste",
            "--no-browser",
            stdin="https://bms.example/xero/callback?code=abc&state=forged\n",
        )

        assert (3, True) == (ran.status, "does not belong to this authorisation" in ran.stderr)
        assert "/connect/token" not in _identity_paths(server.xero)

    def test_nothing_pasted(self, server: FakeServer, env: dict[str, str]) -> None:
        """An empty stdin is a usage error, not a wait."""
        ran = run(env, "connect", "--paste", "--no-browser", stdin="")

        assert (2, True) == (ran.status, "nothing was pasted" in ran.stderr)


class TestDisconnect:
    def test_one_of_two_then_all(self, server: FakeServer, env: dict[str, str]) -> None:
        """disconnect removes the organisation in use and keeps the tokens while another is
        connected; --all removes the rest, revokes the refresh token, deletes the tokens and
        the saved settings."""
        xero = server.xero
        second = xero.add_tenant("Second Ltd", connect=False)
        run(env, "connect", "--tenant-id", second, browser=Browser())

        one = run(env, "--json", "disconnect").json()
        kept = (_stored_tokens(env["BMS_XERO_DB"]), list(xero.connected_tenant_ids))
        rest = run(env, "--json", "disconnect", "--all").json()

        assert ([second], [xero.tenant_id], False) == (
            [c["tenant_id"] for c in one["disconnected"]],
            [c["tenant_id"] for c in one["remaining"]],
            one["revoked"],
        )
        assert (1, [xero.tenant_id]) == kept
        assert (True, True, [xero.tenant_id]) == (
            rest["revoked"],
            rest["tokens_deleted"],
            [c["tenant_id"] for c in rest["disconnected"]],
        )
        assert (0, {}, []) == (
            _stored_tokens(env["BMS_XERO_DB"]),
            _saved(env["BMS_XERO_DB"]),
            xero.connected_tenant_ids,
        )
        assert "/connect/revocation" in _identity_paths(xero)

    def test_disconnect_again_is_harmless(self, server: FakeServer, env: dict[str, str]) -> None:
        """After the last disconnect there is nothing left: a custom connection's disconnect
        is refused (exit 2), naming where it is removed."""
        run(env, "connect", browser=Browser())
        assert 0 == run(env, "disconnect").status

        again = run(env, "disconnect")

        assert (2, True) == (again.status, "developer portal" in again.stderr)

    def test_revoked_outside_deletes_the_local_tokens(
        self, server: FakeServer, env: dict[str, str]
    ) -> None:
        """Tokens Xero no longer accepts are deleted locally, exit 3, saying where to look."""
        run(env, "connect", browser=Browser())
        stored = sqlite3.connect(env["BMS_XERO_DB"])
        with closing(stored):
            refresh = stored.execute("SELECT refresh_token FROM bms_xero_tokens").fetchone()[0]
            stored.execute("UPDATE bms_xero_tokens SET expires_at = '2000-01-01T00:00:00+00:00'")
            stored.commit()
        httpx.post(
            server.revocation_url,
            data={"token": refresh},
            auth=(server.xero.client_id, server.xero.client_secret),
        )

        ran = run(env, "disconnect")

        assert (3, 0) == (ran.status, _stored_tokens(env["BMS_XERO_DB"]))
        assert "Connected apps" in ran.stdout


def test_a_missing_scope_is_named(server: FakeServer, env: dict[str, str]) -> None:
    """Connected without accounting.payments.read, `pull` stops with InsufficientScope naming
    it, exit 3, and the hint says to connect again."""
    scopes = (
        "openid offline_access accounting.invoices accounting.contacts accounting.settings.read"
    )
    assert 0 == run(env, "connect", "--scopes", scopes, browser=Browser()).status

    ran = run(env, "--json", "pull")

    error = ran.json()["error"]
    assert (3, "InsufficientScope") == (ran.status, error["type"])
    assert "accounting.payments.read" in error["message"]
    assert "bms-xero connect" in error["hint"]


# --- in separate processes, as an operator runs it --------------------------------------------


def _subprocess_env(env: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("BMS_XERO_")}
    return {**keep, **env, "PYTHONUNBUFFERED": "1"}


def _lines(stream: Any) -> queue.Queue[str]:
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in iter(stream.readline, ""):
            found.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return found


def _link_from(lines: queue.Queue[str], seen: list[str]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = lines.get(timeout=30)
        seen.append(line)
        if line.strip().startswith("http") and "/identity/connect/authorize" in line:
            return line.strip()
    raise AssertionError(f"no link in {seen}")


def bms_xero(env: dict[str, str], *args: str) -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "bms_xero", *args],
        env=_subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def test_the_operators_connect_story(server: FakeServer, env: dict[str, str]) -> None:
    """In separate processes: connect (the link from stderr, followed by an HTTP client),
    push and pull with the saved connection, connections, then disconnect."""
    xero = server.xero
    with subprocess.Popen(
        [sys.executable, "-m", "bms_xero", "connect", "--no-browser"],
        env=_subprocess_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            link = _link_from(_lines(process.stderr), [])
            page = httpx.get(link, follow_redirects=True, timeout=10)
            process.wait(timeout=30)
            assert process.stdout is not None
            out = process.stdout.read()
        finally:
            process.kill()

    assert (0, 200, True) == (process.returncode, page.status_code, "Connected to Xero" in out)
    pushed = bms_xero(env, "push", str(EXAMPLES / "invoices.json"), "--link-customers", "--json")
    assert (0, 3) == (pushed.status, pushed.json()["summary"]["created"]), pushed.stderr
    assert 0 == bms_xero(env, "pull").status
    listed = bms_xero(env, "connections", "--json").json()
    assert [xero.tenant_id] == [c["tenant_id"] for c in listed["connections"]]

    gone = bms_xero(env, "disconnect", "--json").json()

    assert (True, True, []) == (gone["revoked"], gone["tokens_deleted"], xero.connected_tenant_ids)


def test_paste_on_a_remote_machine(server: FakeServer, env: dict[str, str]) -> None:
    """`connect --paste` in its own process: the redirect address is pasted on stdin."""
    argv = ["connect", "--paste", "--no-browser", "--redirect-uri", "https://bms.example/cb"]
    with subprocess.Popen(
        [sys.executable, "-m", "bms_xero", *argv],
        env=_subprocess_env(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            link = _link_from(_lines(process.stderr), [])
            location = httpx.get(link, timeout=10).headers["location"]
            assert process.stdin is not None
            process.stdin.write(location + "\n")
            process.stdin.close()
            process.wait(timeout=30)
            assert process.stdout is not None
            out = process.stdout.read()
        finally:
            process.kill()

    assert (0, True) == (process.returncode, "Connected to Xero" in out)


class TestListener:
    def _judge(self, query: str) -> Verdict:
        return Verdict("code=" in query, 200, "ok")

    def test_a_fixed_port_keeps_the_registered_uri(self) -> None:
        """With a port given the redirect URI is used exactly as registered."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        uri = f"http://localhost:{port}/xero/callback"

        with CallbackListener(uri, self._judge) as listener:
            assert uri == listener.redirect_uri

    def test_other_paths_do_not_end_the_wait(self) -> None:
        """Only the redirect path is served: another path is 404 and the wait goes on; the
        redirect's query ends it."""
        with CallbackListener("http://127.0.0.1:0/cb", self._judge) as listener:
            base = listener.redirect_uri.removesuffix("/cb")
            other = httpx.get(f"{base}/favicon.ico?code=x", timeout=5)
            done = httpx.get(f"{listener.redirect_uri}?code=abc&state=s", timeout=5)
            query = listener.wait(1)

        assert (404, 200, "code=abc&state=s") == (other.status_code, done.status_code, query)

    def test_nothing_comes(self) -> None:
        """wait() gives up after its timeout with AuthorizationFailed(timeout)."""
        with (
            CallbackListener("http://127.0.0.1:0/cb", self._judge) as listener,
            pytest.raises(AuthorizationFailed) as refused,
        ):
            listener.wait(0.05)

        assert "timeout" == refused.value.reason

    @pytest.mark.parametrize("uri", ["https://localhost/cb", "http://example.com:8765/cb"])
    def test_only_plain_http_on_loopback(self, uri: str) -> None:
        """A redirect URI that is not http:// on loopback can't be listened on."""
        with pytest.raises(ConfigurationError, match="--paste"):
            CallbackListener(uri, self._judge)
