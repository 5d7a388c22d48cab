"""Settings for the ``bms-xero`` command: flags, then environment variables, then a TOML file.

Secrets (the client secret) come only from the environment or from a file named there or in
the TOML file; a secret written in the TOML file itself is refused, so config files can be
committed and shared. A :class:`Secret` never shows its value in a repr, a str or an error.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from bms_xero.errors import ConfigurationError
from bms_xero.xero import API_BASE, TOKEN_URL
from bms_xero.xero._calls import CONNECTIONS_URL

__all__ = ["ENV", "Secret", "Settings", "load_settings"]

#: Each setting's environment variable.
ENV: Final = {
    "config": "BMS_XERO_CONFIG",
    "client_id": "BMS_XERO_CLIENT_ID",
    "client_secret": "BMS_XERO_CLIENT_SECRET",
    "client_secret_file": "BMS_XERO_CLIENT_SECRET_FILE",
    "tenant_id": "BMS_XERO_TENANT_ID",
    "db": "BMS_XERO_DB",
    "api_url": "BMS_XERO_API_URL",
    "token_url": "BMS_XERO_TOKEN_URL",
    "connections_url": "BMS_XERO_CONNECTIONS_URL",
    "connection_id": "BMS_XERO_CONNECTION_ID",
    "tax_map": "BMS_XERO_TAX_MAP",
}
#: Settings given as plain strings, in the TOML file and the environment.
_PLAIN: Final = (
    "client_id",
    "tenant_id",
    "db",
    "api_url",
    "token_url",
    "connections_url",
    "connection_id",
)
_TOML_KEYS: Final = frozenset({*_PLAIN, "client_secret_file", "tax_map"})
#: Keys that would put a secret in the file.
_SECRET_KEYS: Final = frozenset(
    {"client_secret", "secret", "access_token", "refresh_token", "webhook_key"}
)
#: Settings whose relative paths in the TOML file are relative to the file.
_PATHS: Final = frozenset({"db", "client_secret_file"})
_DEFAULTS: Final = {
    "api_url": API_BASE,
    "token_url": TOKEN_URL,
    "connections_url": CONNECTIONS_URL,
}
_FLAGS: Final = {"db": "--db", "tenant_id": "--tenant-id", "config": "--config"}


@attrs.frozen
class Secret:
    """A secret value that never shows itself; ask :meth:`reveal` where it is needed."""

    _value: str = attrs.field(repr=False)

    def reveal(self) -> str:
        """The secret itself (pass it straight to the code that needs it; never print it)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    def __str__(self) -> str:
        return "<redacted>"


@attrs.frozen(kw_only=True)
class Settings:
    """The command's effective settings.

    Attributes:
        client_id: The Xero app's (or custom connection's) client id.
        client_secret: Its secret.
        tenant_id: The organisation; found through ``/connections`` when not set and the
            credentials reach exactly one.
        db: The SQLite file for sync state, background jobs, invoice snapshots and tokens.
        api_url: The accounting API's base URL.
        token_url: The OAuth token endpoint.
        connections_url: The ``/connections`` endpoint.
        connection_id: Set for an authorised app connection whose tokens are in ``db``
            (refresh-token mode); unset for a custom connection (client credentials).
        tax_map: BMS tax code → Xero TaxType.
        sources: Where each setting that is set came from (``"BMS_XERO_DB"``, ``"--db"``,
            ``"config file bms-xero.toml"``, ``"default"``).
    """

    client_id: str | None = None
    client_secret: Secret | None = None
    tenant_id: str | None = None
    db: str | None = None
    api_url: str = API_BASE
    token_url: str = TOKEN_URL
    connections_url: str = CONNECTIONS_URL
    connection_id: str | None = None
    tax_map: Mapping[str, str] = attrs.field(factory=dict)
    sources: Mapping[str, str] = attrs.field(factory=dict)

    def require(self, name: str) -> Any:
        """The setting's value, or a :class:`ConfigurationError` saying where to set it."""
        value = getattr(self, name)
        if value is None:
            raise ConfigurationError(f"missing setting {name}: {where_to_set(name)}")
        return value


def where_to_set(name: str) -> str:
    """How to set a setting, in words."""
    if name == "client_secret":
        return (
            f"set {ENV['client_secret']} or {ENV['client_secret_file']} (a file holding it), or "
            "client_secret_file in the config file; never the secret itself in the file"
        )
    flag = f"pass {_FLAGS[name]}, " if name in _FLAGS else ""
    return f"{flag}set {ENV[name]}, or {name} in the config file (--config PATH)"


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(ENV[name])
    return value if value else None  # an empty variable counts as unset


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigurationError(
            f"config file {path} does not exist; check --config or {ENV['config']}"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigurationError(f"config file {path} is not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigurationError(f"config file {path} can't be read: {e.strerror}") from None


def _check_toml(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """The file's settings, with every problem named (a secret in the file first)."""
    for key in data:
        if key in _SECRET_KEYS or ("secret" in key.lower() and key != "client_secret_file"):
            raise ConfigurationError(
                f"config file {path}: {key} is not allowed in the file: secrets are read only "
                f"from the environment ({ENV['client_secret']}) or from a file "
                f"(client_secret_file, or {ENV['client_secret_file']}); remove it from {path}"
            )
    unknown = sorted(k for k in data if k not in _TOML_KEYS)
    if unknown:
        raise ConfigurationError(
            f"config file {path}: unknown setting{'s' * (len(unknown) > 1)} "
            f"{', '.join(unknown)}; known: {', '.join(sorted(_TOML_KEYS))}"
        )
    found: dict[str, Any] = {}
    for key, value in data.items():
        if key == "tax_map":
            found[key] = _tax_table(path, value)
            continue
        if not isinstance(value, str) or not value:
            raise ConfigurationError(
                f"config file {path}: {key} must be a non-empty string, not {value!r}"
            )
        if key in _PATHS:
            value = str(path.parent / Path(value).expanduser())
        found[key] = value
    return found


def _tax_table(path: Path, value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"config file {path}: tax_map must be a table ([tax_map] with lines such as "
            'GST15 = "OUTPUT2"), not a single value'
        )
    bad = [k for k, v in value.items() if not isinstance(v, str) or not v]
    if bad:
        raise ConfigurationError(
            f"config file {path}: [tax_map] entries must be Xero TaxType strings "
            f'(e.g. GST15 = "OUTPUT2"); fix: {", ".join(bad)}'
        )
    return dict(value)


def _tax_env(text: str) -> dict[str, str]:
    """``"GST15=OUTPUT2,EXPORT=ZERORATEDOUTPUT"`` as a mapping."""
    found: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        code, sep, tax_type = part.partition("=")
        if not sep or not code.strip() or not tax_type.strip():
            raise ConfigurationError(
                f"{ENV['tax_map']} must look like GST15=OUTPUT2,EXPORT=ZERORATEDOUTPUT; "
                f"{part.strip()!r} is not CODE=TAXTYPE"
            )
        found[code.strip()] = tax_type.strip()
    return found


def _read_secret(path: str, origin: str) -> Secret:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"the client secret file {path} (from {origin}) does not exist"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "it is not UTF-8 text"
        raise ConfigurationError(
            f"the client secret file {path} (from {origin}) can't be read: {reason}"
        ) from None
    secret = text.strip()
    if not secret:
        raise ConfigurationError(f"the client secret file {path} (from {origin}) is empty")
    return Secret(secret)


def load_settings(
    environ: Mapping[str, str],
    *,
    config: str | None = None,
    db: str | None = None,
    tenant_id: str | None = None,
) -> Settings:
    """The effective settings: flags over environment variables over the TOML file.

    Args:
        environ: The environment (``os.environ``).
        config: ``--config``: the TOML file (else ``BMS_XERO_CONFIG``; none when unset).
        db: ``--db``.
        tenant_id: ``--tenant-id``.

    Raises:
        ConfigurationError: A file can't be read, holds a secret or an unknown key, or a
            value is malformed. Missing settings are reported when a command needs them
            (:meth:`Settings.require`).
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    config_path = config or _env(environ, "config")
    if config_path is not None:
        path = Path(config_path).expanduser()
        origin = f"config file {path}"
        for key, value in _check_toml(path, _read_toml(path)).items():
            values[key] = value
            sources[key] = origin

    for name in (*_PLAIN, "client_secret_file"):
        value = _env(environ, name)
        if value is not None:
            values[name] = value
            sources[name] = ENV[name]
    tax_text = _env(environ, "tax_map")
    if tax_text is not None:
        values["tax_map"] = _tax_env(tax_text)
        sources["tax_map"] = ENV["tax_map"]

    for name, value in (("db", db), ("tenant_id", tenant_id)):
        if value:
            values[name] = value
            sources[name] = _FLAGS[name]

    # The secret: from the environment first, else the file the settings name.
    env_secret = _env(environ, "client_secret")
    if env_secret is not None and _env(environ, "client_secret_file") is not None:
        raise ConfigurationError(
            f"both {ENV['client_secret']} and {ENV['client_secret_file']} are set; keep one"
        )
    secret: Secret | None = None
    secret_file = values.pop("client_secret_file", None)
    secret_origin = sources.pop("client_secret_file", "")
    if env_secret is not None:
        secret = Secret(env_secret.strip())
        sources["client_secret"] = ENV["client_secret"]
    elif secret_file is not None:
        secret = _read_secret(secret_file, secret_origin)
        sources["client_secret"] = f"{secret_origin} (file {secret_file})"

    for name, default in _DEFAULTS.items():
        if name not in values:
            values[name] = default
            sources[name] = "default"
    return Settings(client_secret=secret, sources=sources, **values)
