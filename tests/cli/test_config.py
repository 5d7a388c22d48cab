"""Settings: flags over environment over TOML; secrets only from the environment or a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bms_xero.cli._config import Secret, load_settings
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
