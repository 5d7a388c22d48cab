"""The ``BMS_XERO`` setting: checked once, every problem named by its key with its fix, and
never a secret in settings or in an error."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from bms_xero.contrib.django.conf import SettingsError, XeroSettings, get_settings, parse_settings
from bms_xero.errors import ConfigurationError
from bms_xero.xero import API_BASE, DEFAULT_SCOPES

MINIMAL = {"TENANT_ID": "tenant-1", "TAX_MAP": {"GST15": "OUTPUT2"}}


def problems(raw: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, **kwargs)
    return [(p.path, p.message) for p in caught.value.problems]


def test_minimal_settings_take_the_defaults() -> None:
    """A tenant and a tax map are enough: Xero's URLs, env var names, staff-only views."""
    s = parse_settings(MINIMAL, databases=["default"])
    assert (
        "tenant-1",
        {"GST15": "OUTPUT2"},
        "XERO_CLIENT_ID",
        "XERO_CLIENT_SECRET",
        API_BASE,
        DEFAULT_SCOPES,
        "default",
        "default",
        "staff",
        False,
    ) == (
        s.tenant_id,
        dict(s.tax_map),
        s.client_id_env,
        s.client_secret_env,
        s.api_url,
        s.scopes,
        s.database,
        s.queue,
        s.view_permission,
        s.app_connection,
    )


def test_every_key_sets_its_attribute() -> None:
    """Each documented key lands on the frozen value (lists become tuples)."""
    raw = {
        **MINIMAL,
        "CONNECTION_ID": "default",
        "SCOPES": ["openid", "accounting.invoices"],
        "API_URL": "http://127.0.0.1:8000/api.xro/2.0",
        "REDIRECT_URI": "https://bms.example.com/xero/callback/",
        "INVOICE_SOURCE": "billing.xero.Invoices",
        "QUEUE": "web",
        "SYNC_DEADLINE": 2,
        "VIEW_PERMISSION": "bms_xero.change_job",
        "MARK_SENT": True,
        "PULL_EVERY_MINUTES": None,
    }
    s = parse_settings(raw, databases=["default"])
    assert (
        "default",
        ("openid", "accounting.invoices"),
        "http://127.0.0.1:8000/api.xro/2.0",
        "https://bms.example.com/xero/callback/",
        "billing.xero.Invoices",
        "web",
        2,
        "bms_xero.change_job",
        True,
        None,
        True,
    ) == (
        s.connection_id,
        s.scopes,
        s.api_url,
        s.redirect_uri,
        s.invoice_source,
        s.queue,
        s.sync_deadline,
        s.view_permission,
        s.mark_sent,
        s.pull_every_minutes,
        s.app_connection,
    )


def test_every_problem_is_named_by_its_key_at_once() -> None:
    """Several mistakes give one error listing each, with the key and how to fix it."""
    found = problems(
        {
            "TENANT_ID": "t",
            "TAX_MAP": {"GST15": 3},
            "TENANT": "x",
            "API_URL": "ftp://user:pw@host/x",
            "DATABASE": "replica",
            "SYNC_DEADLINE": 0,
        },
        databases=["default"],
    )
    assert [
        ("BMS_XERO['TENANT']", "is not a known key (did you mean 'TENANT_ID'?)"),
        (
            "BMS_XERO['TAX_MAP']['GST15']",
            'must be a Xero TaxType string (e.g. "OUTPUT2"), not an integer',
        ),
        (
            "BMS_XERO['API_URL']",
            "must be an http(s) URL such as https://api.xero.com/api.xro/2.0, not ftp://host",
        ),
        (
            "BMS_XERO['DATABASE']",
            "names no database in DATABASES (it has: default); use one of those aliases",
        ),
        ("BMS_XERO['SYNC_DEADLINE']", "must be a number of seconds > 0, not 0"),
    ] == found


def test_the_error_says_where_to_fix_it() -> None:
    """The message names the key and ends by pointing at the settings module."""
    with pytest.raises(ConfigurationError) as caught:
        parse_settings({"TAX_MAP": {}})
    assert (
        "BMS_XERO['TENANT_ID']",
        True,
        True,
    ) == (
        caught.value.key,  # type: ignore[attr-defined]
        str(caught.value).startswith("BMS_XERO['TENANT_ID']: is required"),
        str(caught.value).endswith("(fix it in your Django settings module)"),
    )


@pytest.mark.parametrize("key", ["CLIENT_SECRET", "client_secret", "ACCESS_TOKEN", "MY_SECRET"])
def test_a_secret_in_settings_is_refused_without_quoting_it(key: str) -> None:
    """A key that would hold a secret is refused, pointing at the environment variable, and
    the value never appears in the error."""
    secret = "s3cr3t-value-that-must-not-leak-1234567890"
    with pytest.raises(SettingsError) as caught:
        parse_settings({**MINIMAL, key: secret})
    [problem] = caught.value.problems
    assert (f"BMS_XERO[{key!r}]", True, False) == (
        problem.path,
        "environment variable named by CLIENT_SECRET_ENV (default XERO_CLIENT_SECRET)"
        in problem.message,
        secret in str(caught.value) or secret in repr(caught.value),
    )


def test_the_client_id_also_comes_from_the_environment() -> None:
    """``CLIENT_ID`` in settings points at ``CLIENT_ID_ENV``, so credentials live in one place."""
    [(path, message)] = problems({**MINIMAL, "CLIENT_ID": "abc"})
    assert ("BMS_XERO['CLIENT_ID']", True) == (
        path,
        "named by CLIENT_ID_ENV (default XERO_CLIENT_ID)" in message,
    )


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"CLIENT_SECRET_ENV": "my secret!"}, "CLIENT_SECRET_ENV", "environment variable's name"),
        ({"INVOICE_SOURCE": "not a path"}, "INVOICE_SOURCE", "dotted path"),
        ({"SCOPES": "openid"}, "SCOPES", "non-empty list"),
        ({"VIEW_PERMISSION": "everyone"}, "VIEW_PERMISSION", "'staff' (the default)"),
        ({"MARK_SENT": "yes"}, "MARK_SENT", "True or False, not a string"),
        ({"MAX_IN_FLIGHT": 9}, "MAX_IN_FLIGHT", "from 1 to 5"),
        ({"TAX_MAP": ["GST15"]}, "TAX_MAP", "must be a dict"),
        ({"PULL_EVERY_MINUTES": -5}, "PULL_EVERY_MINUTES", "minutes > 0"),
        ({"TENANT_ID": " t "}, "TENANT_ID", "without surrounding spaces"),
    ],
)
def test_a_malformed_value_names_its_key(changes: dict[str, Any], key: str, words: str) -> None:
    """Each kind of malformed value is refused with its key and what is expected."""
    [(path, message)] = problems({**MINIMAL, **changes})
    assert (f"BMS_XERO[{key!r}]", True) == (path, words in message)


def test_not_a_dict_is_refused() -> None:
    """The setting itself must be a dict."""
    assert [("BMS_XERO", "must be a dict of settings, not a list")] == problems([])


def test_the_frozen_value_checks_itself() -> None:
    """Built directly, XeroSettings refuses what parse_settings refuses."""
    with pytest.raises(SettingsError) as caught:
        XeroSettings(tenant_id="t", queue="")
    assert ["BMS_XERO['QUEUE']"] == [p.path for p in caught.value.problems]


def test_get_settings_reads_the_setting_again_when_it_changes() -> None:
    """get_settings caches the checked value, and override_settings (a setting_changed
    signal) makes it read the new one."""
    with override_settings(BMS_XERO={**MINIMAL, "TENANT_ID": "first"}):
        first = get_settings()
        assert first is get_settings()
        with override_settings(BMS_XERO={**MINIMAL, "TENANT_ID": "second"}):
            assert "second" == get_settings().tenant_id
        assert "first" == get_settings().tenant_id


def test_a_missing_setting_says_what_to_add() -> None:
    """Without BMS_XERO, get_settings says to add it."""
    with override_settings(BMS_XERO=None), pytest.raises(SettingsError) as caught:
        get_settings()
    assert str(caught.value).startswith("BMS_XERO: is not set: add BMS_XERO = {")


def test_manage_py_check_reports_each_problem() -> None:
    """The system check gives one bms_xero.W001 warning per problem, naming its key (a
    warning, so migrate still runs where the setting is incomplete)."""
    from bms_xero.contrib.django.conf import check_settings

    with override_settings(BMS_XERO={"TAX_MAP": {}, "QUEUE": ""}):
        found = [(e.id, e.msg.split(":")[0]) for e in check_settings()]
    assert [
        ("bms_xero.W001", "BMS_XERO['TENANT_ID']"),
        ("bms_xero.W001", "BMS_XERO['QUEUE']"),
    ] == found
