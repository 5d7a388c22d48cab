"""Settings: flags over environment over TOML; secrets only from the environment or a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bms_xero.cli._config import Secret, SettingsError, load_settings
from bms_xero.errors import ConfigurationError
from tests.cli.conftest import Cli

CANARY = "s3cret-CANARY-4f1e"


def toml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bms-xero.toml"
    path.write_text(text)
    return str(path)


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    """A flag wins over the environment, which wins over the TOML file."""
    config = toml(tmp_path, 'db = "file.db"\ntenant_id = "from-file"\nclient_id = "file-id"\n')
    env = {"BMS_XERO_DB": "env.db", "BMS_XERO_TENANT_ID": "from-env"}

    s = load_settings(env, config=config, db="flag.db")

    assert ("flag.db", "from-env", "file-id") == (s.db, s.tenant_id, s.client_id)


def test_sources_are_recorded(tmp_path: Path) -> None:
    """Each setting remembers where it came from."""
    config = toml(tmp_path, 'client_id = "file-id"\n')

    s = load_settings({"BMS_XERO_DB": "env.db"}, config=config, tenant_id="t-1")

    expected = ("--tenant-id", "BMS_XERO_DB", f"config file {config}", "default")
    assert expected == tuple(s.sources[k] for k in ("tenant_id", "db", "client_id", "api_url"))


def test_a_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    """client_secret in the TOML file is refused, and the error does not repeat it."""
    config = toml(tmp_path, f'client_secret = "{CANARY}"\n')

    with pytest.raises(ConfigurationError) as caught:
        load_settings({}, config=config)

    message = str(caught.value)
    assert (True, False) == ("BMS_XERO_CLIENT_SECRET" in message, CANARY in message)


def test_the_secret_comes_from_a_file(tmp_path: Path) -> None:
    """client_secret_file (relative to the TOML file) is read and stripped."""
    (tmp_path / "secret.txt").write_text(CANARY + "\n")
    config = toml(tmp_path, 'client_secret_file = "secret.txt"\n')

    s = load_settings({}, config=config)

    assert s.client_secret is not None
    assert CANARY == s.client_secret.reveal()


def test_the_environment_secret_wins_over_the_file(tmp_path: Path) -> None:
    """BMS_XERO_CLIENT_SECRET is used even when the TOML file names a secret file."""
    config = toml(tmp_path, 'client_secret_file = "missing.txt"\n')

    s = load_settings({"BMS_XERO_CLIENT_SECRET": CANARY}, config=config)

    assert s.client_secret is not None
    assert CANARY == s.client_secret.reveal()


def test_a_missing_secret_file_is_named(tmp_path: Path) -> None:
    """A secret file that does not exist is reported with its path."""
    with pytest.raises(ConfigurationError, match=r"nope\.txt"):
        load_settings({"BMS_XERO_CLIENT_SECRET_FILE": str(tmp_path / "nope.txt")})


def test_both_secret_variables_are_refused() -> None:
    """Setting the secret and a secret file at once is refused."""
    env = {"BMS_XERO_CLIENT_SECRET": CANARY, "BMS_XERO_CLIENT_SECRET_FILE": "x"}

    with pytest.raises(ConfigurationError, match="keep one"):
        load_settings(env)


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    """A misspelt key in the TOML file is an error naming it."""
    with pytest.raises(ConfigurationError, match="tennant_id"):
        load_settings({}, config=toml(tmp_path, 'tennant_id = "x"\n'))


def test_relative_paths_follow_the_file(tmp_path: Path) -> None:
    """db in the TOML file is relative to the file, not to the working directory."""
    s = load_settings({}, config=toml(tmp_path, 'db = "sync.db"\n'))

    assert str(tmp_path / "sync.db") == s.db


def test_tax_map_from_a_table_or_the_environment(tmp_path: Path) -> None:
    """[tax_map] in the file and BMS_XERO_TAX_MAP both give the tax map; the variable wins."""
    config = toml(tmp_path, '[tax_map]\nGST15 = "OUTPUT2"\nEXPORT = "ZERORATEDOUTPUT"\n')

    from_file = load_settings({}, config=config).tax_map
    from_env = load_settings({"BMS_XERO_TAX_MAP": "GST15=OUTPUT3"}, config=config).tax_map

    assert (
        {"GST15": "OUTPUT2", "EXPORT": "ZERORATEDOUTPUT"},
        {"GST15": "OUTPUT3"},
    ) == (dict(from_file), dict(from_env))


def test_a_malformed_tax_map_variable_is_refused() -> None:
    """BMS_XERO_TAX_MAP entries must be CODE=TAXTYPE."""
    with pytest.raises(ConfigurationError, match="CODE=TAXTYPE"):
        load_settings({"BMS_XERO_TAX_MAP": "GST15"})


def test_bad_toml_is_one_clear_error(tmp_path: Path) -> None:
    """A file that is not TOML is a ConfigurationError naming the file."""
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings({}, config=toml(tmp_path, "db = \n"))


def test_a_secret_never_shows_itself() -> None:
    """A Secret's repr and str hide the value."""
    secret = Secret(CANARY)

    assert (False, False) == (CANARY in repr(secret), CANARY in str(secret))


def test_a_missing_setting_is_one_line_naming_where_to_set_it(cli: Cli) -> None:
    """Without a client id, pull exits 2 with one line that names the variable and the key."""
    env = {k: v for k, v in cli.env.items() if k != "BMS_XERO_CLIENT_ID"}

    ran = cli("pull", env=env)

    expected = (
        2,
        "bms-xero pull: missing setting client_id: set BMS_XERO_CLIENT_ID, or client_id in the "
        "config file (--config PATH)\n",
    )
    assert expected == (ran.status, ran.stderr)


def test_a_configuration_error_in_json_mode(cli: Cli) -> None:
    """With --json a configuration error is a JSON document on stdout, exit status 2."""
    ran = cli("pull", "--json", env={})

    error = ran.json()["error"]
    assert (2, "ConfigurationError", 2) == (ran.status, error["type"], error["exit_code"])


def test_config_shows_settings_but_not_the_secret(cli: Cli) -> None:
    """`config` shows every setting and its source, and the secret only as <set>."""
    ran = cli("config", "--json", env={**cli.env, "BMS_XERO_CLIENT_SECRET": CANARY})

    settings = ran.json()["settings"]
    assert ("<set>", False) == (settings["client_secret"], CANARY in ran.stdout + ran.stderr)


class TestEveryProblemAtOnce:
    def test_a_bad_file_reports_every_problem_with_its_key(self, tmp_path: Path) -> None:
        """Unknown keys, wrong types and bad values are all reported together, each with its
        key path, the file's problems first, then the environment's."""
        config = toml(
            tmp_path,
            'tennant_id = "x"\ndb = 5\napi_url = "api.xero.com"\n'
            '[tax_map]\nGST15 = 15\nEXPORT = "ZERORATEDOUTPUT"\n[extra]\nx = 1\n',
        )
        env = {"BMS_XERO_TAX_MAP": "GST15,EXEMPT=NONE", "BMS_XERO_TOKEN_URL": "nope"}

        with pytest.raises(SettingsError) as caught:
            load_settings(env, config=config)

        assert [
            "tennant_id",
            "db",
            "api_url",
            "tax_map.GST15",
            "extra",
            "BMS_XERO_TOKEN_URL",
            "BMS_XERO_TAX_MAP",
        ] == [p.path for p in caught.value.problems]
        assert "did you mean 'tenant_id'?" in caught.value.problems[0].message

    def test_the_command_lists_them_in_json_and_exits_2(self, cli: Cli, tmp_path: Path) -> None:
        """--json gives the problems as a list of {path, message}; the status is 2."""
        config = toml(tmp_path, 'tennant_id = "x"\ndb = ["a"]\n')

        ran = cli("jobs", "--json", "--config", config)

        error = ran.json()["error"]
        assert (2, "SettingsError", ["tennant_id", "db"]) == (
            ran.status,
            error["type"],
            [p["path"] for p in error["problems"]],
        )

    def test_in_text_they_are_one_line(self, cli: Cli, tmp_path: Path) -> None:
        """In text the problems are one line on stderr, each with its key."""
        config = toml(tmp_path, 'tennant_id = "x"\n[tax_map]\nGST15 = true\n')

        ran = cli("jobs", "--config", config)

        assert (2, 1, True, True) == (
            ran.status,
            len(ran.stderr.splitlines()),
            "tennant_id: is not a known setting" in ran.stderr,
            "tax_map.GST15: must be a Xero TaxType string" in ran.stderr,
        )

    def test_a_value_is_never_echoed_from_a_wrong_type(self, tmp_path: Path) -> None:
        """A table where a string belongs is described by its type, so a secret inside it is
        not repeated."""
        config = toml(tmp_path, f'[client_id]\nvalue = "{CANARY}"\n')

        with pytest.raises(SettingsError) as caught:
            load_settings({}, config=config)

        assert ("client_id: must be a string, not a table", False) == (
            str(caught.value.problems[0]),
            CANARY in str(caught.value),
        )

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            (b"\xff\xfe not text", "is not UTF-8 text"),
            (b"db = \n", "is not valid TOML"),
            (b"# " + b"x" * (1024 * 1024 + 10), "larger than 1 MiB"),
        ],
    )
    def test_an_unusable_file_is_one_problem(
        self, tmp_path: Path, content: bytes, expected: str
    ) -> None:
        """A file that is not UTF-8, not TOML, or far too large is one clear problem."""
        path = tmp_path / "bms-xero.toml"
        path.write_bytes(content)

        with pytest.raises(SettingsError, match=expected):
            load_settings({}, config=str(path))


class TestSecretsThatCantBeRedacted:
    @pytest.mark.parametrize("secret", ["o", "short-secret", "has a space inside it!"])
    def test_such_a_secret_is_refused(self, secret: str) -> None:
        """A client secret too short to blank from the output safely, or with spaces inside
        it, is refused at configuration time, without quoting it."""
        with pytest.raises(SettingsError) as caught:
            load_settings({"BMS_XERO_CLIENT_SECRET": secret})

        assert (["BMS_XERO_CLIENT_SECRET"], False) == (
            [p.path for p in caught.value.problems],
            secret in str(caught.value) and len(secret) > 1,
        )

    def test_a_short_secret_in_a_file_is_refused(self, tmp_path: Path) -> None:
        """The same rule holds for the secret read from client_secret_file."""
        (tmp_path / "secret.txt").write_text("abc\n")

        with pytest.raises(SettingsError, match="too short"):
            load_settings({}, config=toml(tmp_path, 'client_secret_file = "secret.txt"\n'))

    def test_a_one_letter_secret_never_mangles_the_json(self, cli: Cli) -> None:
        """With the secret "o", `jobs --json` is a well-formed error document whose keys are
        intact, not {"c<redacted>mmand": ...}."""
        ran = cli("jobs", "--json", env={**cli.env, "BMS_XERO_CLIENT_SECRET": "o"})

        error = ran.json()["error"]
        assert (2, "SettingsError", "<redacted>" in ran.stdout) == (
            ran.status,
            error["type"],
            False,
        )


def test_an_unreadable_url_is_a_settings_problem(cli: Cli) -> None:
    """A URL urlsplit can't read (http://[::1) is reported like any other bad setting, and
    only its scheme and host are ever quoted (a URL may hold a password)."""
    for url in ("http://[::1", "https://user:pa55word@example.com:99999/x"):
        ran = cli("jobs", env={**cli.env, "BMS_XERO_API_URL": url})
        assert (2, False) == (ran.status, "pa55word" in ran.stdout + ran.stderr)
