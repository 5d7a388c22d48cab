"""Settings for the ``bms-xero`` command: flags, then environment variables, then a TOML file.

Secrets (the client secret) come only from the environment or from a file named there or in
the TOML file; a secret written in the TOML file itself is refused, so config files can be
committed and shared. A :class:`Secret` never shows its value in a repr, a str or an error.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from bms_xero.errors import ConfigurationError, FieldProblem
from bms_xero.xero import API_BASE, AUTHORIZE_URL, CONNECTIONS_URL, REVOCATION_URL, TOKEN_URL

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "ENV",
    "MIN_SECRET_LENGTH",
    "Secret",
    "Settings",
    "SettingsError",
    "load_settings",
]

#: Where ``bms-xero connect`` listens for Xero's redirect, unless told otherwise: register it
#: on the app in the Xero developer portal.
DEFAULT_REDIRECT_URI: Final = "http://localhost:8765/callback"

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
    "authorize_url": "BMS_XERO_AUTHORIZE_URL",
    "revocation_url": "BMS_XERO_REVOCATION_URL",
    "redirect_uri": "BMS_XERO_REDIRECT_URI",
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
    "authorize_url",
    "revocation_url",
    "redirect_uri",
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
    "authorize_url": AUTHORIZE_URL,
    "revocation_url": REVOCATION_URL,
    "redirect_uri": DEFAULT_REDIRECT_URI,
}
_FLAGS: Final = {"db": "--db", "tenant_id": "--tenant-id", "config": "--config"}
#: Secrets shorter than this can't be blanked from the output without mangling ordinary text
#: (a one-letter secret would blank every such letter), so the settings refuse them; Xero's
#: client secrets are 48 characters long.
MIN_SECRET_LENGTH: Final = 16
#: A config file is a few lines; more than this is the wrong file (or /dev/zero).
_MAX_CONFIG_BYTES: Final = 1024 * 1024


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
        authorize_url: The consent step ``connect`` sends the person to.
        revocation_url: The endpoint ``disconnect`` revokes the refresh token at.
        redirect_uri: Where Xero sends the person back after consent (``connect``).
        connection_id: Set for an authorised app connection whose tokens are in ``db``
            (refresh-token mode; ``connect`` saves it in ``db``); unset for a custom
            connection (client credentials).
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
    authorize_url: str = AUTHORIZE_URL
    revocation_url: str = REVOCATION_URL
    redirect_uri: str = DEFAULT_REDIRECT_URI
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


class SettingsError(ConfigurationError):
    """The settings have problems; every one is listed at once, each with where it is.

    Attributes:
        problems: Each problem, the config file's first: ``path`` is the key in the file
            (``"tax_map.GST15"``; ``""`` for the file as a whole) or the environment variable
            (``"BMS_XERO_TAX_MAP"``), ``message`` what is wrong.
        config_file: The config file read, if any.
    """

    def __init__(
        self,
        *,
        in_file: Iterable[FieldProblem] = (),
        in_environment: Iterable[FieldProblem] = (),
        config_file: str | None = None,
    ) -> None:
        file_problems, env_problems = tuple(in_file), tuple(in_environment)
        self.problems: tuple[FieldProblem, ...] = file_problems + env_problems
        self.config_file = config_file
        parts = []
        if file_problems:
            listed = "; ".join(str(p) for p in file_problems)
            parts.append(f"config file {config_file}: {listed}")
        if env_problems:
            parts.append("; ".join(str(p) for p in env_problems))
        count = len(self.problems)
        head = "" if count == 1 else f"{count} problems in the settings: "
        super().__init__(head + "; ".join(parts))


def _toml_type(value: object) -> str:
    """The TOML name of a parsed value's type (never the value: it could be a secret)."""
    names: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        ((datetime, date, time), "a date or time"),
        (list, "an array"),
        (Mapping, "a table"),
    ]
    for kind, name in names:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _read_toml(path: Path, problems: list[FieldProblem]) -> Mapping[str, Any]:
    """The file's contents; a file that can't be read or parsed is one problem (path ``""``).

    At most :data:`_MAX_CONFIG_BYTES` are read, so ``--config /dev/zero`` fails at once.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        problems.append(FieldProblem("", f"does not exist; check --config or {ENV['config']}"))
        return {}
    except IsADirectoryError:
        problems.append(FieldProblem("", "is a directory, not a TOML file"))
        return {}
    except OSError as e:
        problems.append(FieldProblem("", f"can't be read: {e.strerror}"))
        return {}
    if len(raw) > _MAX_CONFIG_BYTES:
        problems.append(FieldProblem("", "is larger than 1 MiB: not a config file"))
        return {}
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        problems.append(FieldProblem("", "is not UTF-8 text (save it as UTF-8)"))
    except tomllib.TOMLDecodeError as e:
        problems.append(FieldProblem("", f"is not valid TOML: {e}"))
    return {}


def _is_secret_key(key: str) -> bool:
    return key in _SECRET_KEYS or ("secret" in key.lower() and key != "client_secret_file")


def _url_problem(name: str, value: str) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a bad port raises here, not later in the client
    except ValueError:
        parts = None
    if parts is not None and parts.scheme in ("http", "https") and parts.netloc:
        return None
    # Only the scheme and host are quoted: a URL may carry user:password@.
    shown = (
        "an unreadable URL" if parts is None else f"{parts.scheme or '?'}://{parts.hostname or '?'}"
    )
    return f"must be an http(s) URL such as {_DEFAULTS[name]}, not {shown}"


def _check_toml(
    path: Path, data: Mapping[str, Any], problems: list[FieldProblem]
) -> dict[str, Any]:
    """The file's usable settings; every problem is added to ``problems`` with its key."""
    found: dict[str, Any] = {}
    for key, value in data.items():
        if _is_secret_key(key):
            problems.append(
                FieldProblem(
                    key,
                    "is not allowed in the file: secrets are read only from the environment "
                    f"({ENV['client_secret']}) or from a file (client_secret_file, or "
                    f"{ENV['client_secret_file']}); remove it from {path}",
                )
            )
        elif key not in _TOML_KEYS:
            close = difflib.get_close_matches(key, sorted(_TOML_KEYS), n=1)
            known = (
                f"did you mean {close[0]!r}?"
                if close
                else f"known: {', '.join(sorted(_TOML_KEYS))}"
            )
            problems.append(FieldProblem(key, f"is not a known setting ({known})"))
        elif key == "tax_map":
            table = _tax_table(value, problems)
            if table is not None:
                found[key] = table
        elif not isinstance(value, str):
            problems.append(FieldProblem(key, f"must be a string, not {_toml_type(value)}"))
        elif not value.strip():
            problems.append(FieldProblem(key, "must not be empty"))
        elif key in _DEFAULTS and (problem := _url_problem(key, value)) is not None:
            problems.append(FieldProblem(key, problem))
        else:
            found[key] = str(path.parent / Path(value).expanduser()) if key in _PATHS else value
    return found


def _tax_table(value: object, problems: list[FieldProblem]) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        problems.append(
            FieldProblem(
                "tax_map",
                'must be a table ([tax_map] with lines such as GST15 = "OUTPUT2"), not '
                f"{_toml_type(value)}",
            )
        )
        return None
    table: dict[str, str] = {}
    for code, tax_type in value.items():
        if isinstance(tax_type, str) and tax_type.strip():
            table[code] = tax_type
        else:
            shown = "an empty string" if isinstance(tax_type, str) else _toml_type(tax_type)
            problems.append(
                FieldProblem(
                    f"tax_map.{code}",
                    f'must be a Xero TaxType string (e.g. "OUTPUT2"), not {shown}',
                )
            )
    return table


def _tax_env(text: str, problems: list[FieldProblem]) -> dict[str, str]:
    """``"GST15=OUTPUT2,EXPORT=ZERORATEDOUTPUT"`` as a mapping; each bad entry a problem."""
    found: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        code, sep, tax_type = part.partition("=")
        if not sep or not code.strip() or not tax_type.strip():
            problems.append(
                FieldProblem(
                    ENV["tax_map"],
                    f"{part.strip()!r} is not CODE=TAXTYPE (the variable looks like "
                    "GST15=OUTPUT2,EXPORT=ZERORATEDOUTPUT)",
                )
            )
            continue
        found[code.strip()] = tax_type.strip()
    return found


def _secret_problem(secret: str) -> str | None:
    """Why ``secret`` can't be the client secret (never quoting it), or ``None``."""
    if any(c.isspace() for c in secret):
        return "has spaces or line breaks inside it; a Xero client secret has none"
    if len(secret) < MIN_SECRET_LENGTH:
        return (
            f"is {len(secret)} characters long, too short to be a Xero client secret (Xero's "
            f"have 48) or to keep out of the output safely (at least {MIN_SECRET_LENGTH})"
        )
    return None


def _read_secret(path: str, origin: str, where: str, problems: list[FieldProblem]) -> Secret | None:
    """The secret in the file ``path`` (named by ``where``, from ``origin``)."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(
            FieldProblem(where, f"the client secret file {path} (from {origin}) does not exist")
        )
        return None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "it is not UTF-8 text"
        problems.append(
            FieldProblem(
                where, f"the client secret file {path} (from {origin}) can't be read: {reason}"
            )
        )
        return None
    secret = text.strip()
    problem = "is empty" if not secret else _secret_problem(secret)
    if problem is not None:
        problems.append(
            FieldProblem(where, f"the client secret in {path} (from {origin}) {problem}")
        )
        return None
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
        SettingsError: A file can't be read, holds a secret or an unknown key, a value has
            the wrong type or is malformed (a URL, the tax map, a secret too short to keep
            out of the output): every problem at once, each with its key or variable.
            Missing settings are reported when a command needs them
            (:meth:`Settings.require`).
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[FieldProblem] = []  # in the environment
    file_problems: list[FieldProblem] = []

    config_path = config or _env(environ, "config")
    path: Path | None = None
    if config_path is not None:
        path = Path(config_path).expanduser()
        origin = f"config file {path}"
        data = _read_toml(path, file_problems)
        for key, value in _check_toml(path, data, file_problems).items():
            values[key] = value
            sources[key] = origin

    for name in (*_PLAIN, "client_secret_file"):
        value = _env(environ, name)
        if value is None:
            continue
        problem = _url_problem(name, value) if name in _DEFAULTS else None
        if problem is not None:
            problems.append(FieldProblem(ENV[name], problem))
            continue
        values[name] = value
        sources[name] = ENV[name]
    tax_text = _env(environ, "tax_map")
    if tax_text is not None:
        values["tax_map"] = _tax_env(tax_text, problems)
        sources["tax_map"] = ENV["tax_map"]

    for name, value in (("db", db), ("tenant_id", tenant_id)):
        if value:
            values[name] = value
            sources[name] = _FLAGS[name]

    # The secret: from the environment first, else the file the settings name.
    env_secret = _env(environ, "client_secret")
    secret: Secret | None = None
    secret_file = values.pop("client_secret_file", None)
    secret_origin = sources.pop("client_secret_file", "")
    if env_secret is not None and _env(environ, "client_secret_file") is not None:
        problems.append(
            FieldProblem(
                ENV["client_secret"], f"and {ENV['client_secret_file']} are both set; keep one"
            )
        )
    elif env_secret is not None:
        problem = _secret_problem(env_secret.strip())
        if problem is not None:
            problems.append(FieldProblem(ENV["client_secret"], problem))
        else:
            secret = Secret(env_secret.strip())
            sources["client_secret"] = ENV["client_secret"]
    elif secret_file is not None:
        from_env = secret_origin == ENV["client_secret_file"]
        secret = _read_secret(
            secret_file,
            secret_origin,
            ENV["client_secret_file"] if from_env else "client_secret_file",
            problems if from_env else file_problems,
        )
        if secret is not None:
            sources["client_secret"] = f"{secret_origin} (file {secret_file})"

    if problems or file_problems:
        raise SettingsError(
            in_file=file_problems,
            in_environment=problems,
            config_file=None if path is None else str(path),
        )
    for name, default in _DEFAULTS.items():
        if name not in values:
            values[name] = default
            sources[name] = "default"
    return Settings(client_secret=secret, sources=sources, **values)
