"""What the ``bms-xero`` command prints: aligned text for people, one JSON document for scripts.

Errors are one line (``bms-xero push: <what is wrong>; <what to do>``); ``--verbose`` adds the
error's structured fields and the traceback. In ``--json`` mode everything a script needs is
on stdout, errors included (``{"error": {"type": ..., "message": ...}}``).

Every write passes through a redactor that blanks the configured secrets, as a last line of
defence: in text, each whole occurrence of a secret; in a JSON document, each string *value*
equal to or containing a secret, before it is encoded (so an escaped secret is caught too,
and keys and numbers are never touched). A secret shorter than :data:`MIN_SECRET_LENGTH` is
never used for redaction (it would blank ordinary text); the settings refuse one.
"""

from __future__ import annotations

import enum
import json
import logging
import traceback
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, TextIO

import attrs

from bms_xero.cli._config import MIN_SECRET_LENGTH, SettingsError
from bms_xero.errors import (
    AuthError,
    AuthorizationFailed,
    BmsXeroError,
    ConfigurationError,
    FieldProblem,
    InsufficientScope,
    InvoiceFileError,
    InvoiceValidationError,
    MissingContactId,
    ReauthorizationRequired,
    RemoteError,
    StorageError,
    StorageValueError,
    TaxCodeError,
    TransportError,
    XeroValidationError,
)
from bms_xero.mapping._reference import PreflightFailed

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REMOTE",
    "EXIT_USAGE",
    "MIN_SECRET_LENGTH",
    "Output",
    "Progress",
    "UsageError",
    "exit_code",
    "hint",
    "jsonable",
]

EXIT_OK: Final = 0
#: Some invoices or jobs failed (each says why).
EXIT_FAILED: Final = 1
#: Bad arguments, settings, input files or database.
EXIT_USAGE: Final = 2
#: Xero could not be reached, refused the credentials or is unavailable.
EXIT_REMOTE: Final = 3
#: Ctrl+C (128 + SIGINT), outside the worker, which stops cleanly with 0.
EXIT_INTERRUPTED: Final = 130
#: The output's reader went away (128 + SIGPIPE, as the shell reports a command that
#: SIGPIPE ended): ``bms-xero jobs | head -1``. The command stops at its next write, quietly.
EXIT_BROKEN_PIPE: Final = 141

REDACTED: Final = "<redacted>"


class UsageError(Exception):
    """The command line or a file named on it is wrong (exit status 2)."""


def exit_code(error: BaseException) -> int:
    """The exit status for an error that stopped a command (or an invoice)."""
    if isinstance(error, UsageError | ConfigurationError | InvoiceFileError | StorageError):
        return EXIT_USAGE
    if isinstance(error, RemoteError) and not isinstance(error, XeroValidationError):
        return EXIT_REMOTE
    return EXIT_FAILED


def _preflight_parts(error: BaseException) -> Sequence[BaseException]:
    return error.errors if isinstance(error, PreflightFailed) else (error,)


def hint(error: BaseException) -> str | None:
    """What the operator of this command can do about ``error``, when the CLI knows better
    than the library's generic advice."""
    parts = _preflight_parts(error)
    hints: list[str] = []
    if any(isinstance(e, MissingContactId) for e in parts):
        hints.append("run push with --link-customers to find or create the Xero contacts first")
    if any(isinstance(e, TaxCodeError) and e.reason == "not_mapped" for e in parts):
        hints.append("map the code under [tax_map] in the config file or in BMS_XERO_TAX_MAP")
    if isinstance(error, InsufficientScope):
        hints.append(
            "run `bms-xero connect` again (it asks for every scope bms_xero needs; --scopes "
            "narrows it), or add the scope to the custom connection"
        )
    elif isinstance(error, AuthorizationFailed | ReauthorizationRequired):
        hints.append("run `bms-xero connect` again")
    elif isinstance(error, AuthError):
        hints.append(
            "the settings are BMS_XERO_CLIENT_ID, BMS_XERO_CLIENT_SECRET (or _FILE) and "
            "BMS_XERO_TENANT_ID"
        )
    if isinstance(error, TransportError):
        hints.append("check the network and BMS_XERO_API_URL / BMS_XERO_TOKEN_URL")
    return "; ".join(hints) or None


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: Decimals as strings, datetimes and dates as ISO-8601."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value
    if isinstance(value, BaseException):
        return error_document(value)
    if attrs.has(type(value)):
        return {f.name: jsonable(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [jsonable(v) for v in value]
    return str(value)


def error_fields(error: BaseException) -> dict[str, Any]:
    """An error's structured fields (never its secrets: the error tree carries none)."""
    skip = {"message", "args", "problems"}
    return {
        k: jsonable(v)
        for k, v in vars(error).items()
        if k not in skip and not k.startswith("_") and v is not None
    }


def _problems(error: BaseException) -> Sequence[FieldProblem] | None:
    """The error's per-field problems, for the errors that list them."""
    if isinstance(error, InvoiceValidationError | StorageValueError | SettingsError):
        return error.problems
    return None


def error_document(error: BaseException, *, verbose: bool = False) -> dict[str, Any]:
    """``{"type": ..., "message": ...}`` plus what a script can act on."""
    doc: dict[str, Any] = {"type": type(error).__name__, "message": one_line(error)}
    problems = _problems(error)
    if problems is not None:
        doc["problems"] = [{"path": p.path, "message": p.message} for p in problems]
    if isinstance(error, BmsXeroError):
        doc["retryable"] = error.retryable
    advice = hint(error)
    if advice:
        doc["hint"] = advice
    if verbose:
        doc["fields"] = error_fields(error)
    return doc


def one_line(error: BaseException) -> str:
    """The error's message on one line."""
    text = str(error) if isinstance(error, BmsXeroError | UsageError) else None
    if text is None:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return " ".join(text.split())


class Output:
    """Where a command's results go, in human or JSON form.

    Args:
        json_mode: Print one JSON document on stdout instead of text.
        verbose: Add error details (fields, traceback) to error output.
        stdout: Results.
        stderr: Errors (in text mode), progress and log lines.
        secrets: Values that must never be printed; blanked wherever they would appear
            (those shorter than :data:`MIN_SECRET_LENGTH` are ignored).
    """

    def __init__(
        self,
        *,
        json_mode: bool,
        verbose: bool,
        stdout: TextIO,
        stderr: TextIO,
        secrets: Iterable[str] = (),
    ) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        self.stdout = stdout
        self.stderr = stderr
        self._secrets: list[str] = []
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str) -> None:
        """Blank ``secret`` from everything printed from now on (unless it is too short to
        blank safely: the settings refuse such a secret)."""
        if len(secret) >= MIN_SECRET_LENGTH and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every whole occurrence of a known secret blanked."""
        for secret in self._secrets:
            while secret in text:  # again: a blank next to the text could spell it anew
                text = text.replace(secret, REDACTED)  # (ends: a secret is longer than it)
        return text

    def redact_values(self, value: Any) -> Any:
        """A JSON-able ``value`` with its string values redacted; keys are left alone."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {k: self.redact_values(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_values(v) for v in value]
        return value

    def _json(self, doc: Any) -> str:
        return json.dumps(self.redact_values(jsonable(doc)))

    def line(self, text: str = "") -> None:
        """A line of text output (text mode only)."""
        if not self.json_mode:
            self.stdout.write(self.redact(text) + "\n")
            self.stdout.flush()

    def note(self, text: str) -> None:
        """A line on stderr: progress, log lines, warnings."""
        self.stderr.write(self.redact(text) + "\n")
        self.stderr.flush()

    def document(self, doc: Mapping[str, Any]) -> None:
        """The command's JSON document (JSON mode only)."""
        if self.json_mode:
            self.stdout.write(self._json(doc) + "\n")
            self.stdout.flush()

    def table(self, rows: Sequence[Sequence[str]], *, header: Sequence[str] | None = None) -> None:
        """Rows as aligned columns (the last column is not padded)."""
        every = [list(header)] if header else []
        every += [list(r) for r in rows]
        if not every:
            return
        widths = [max(len(r[i]) for r in every if i < len(r)) for i in range(len(every[0]))]
        for row in every:
            cells = [c.ljust(widths[i]) for i, c in enumerate(row[:-1])] + [row[-1]]
            self.line("  ".join(cells).rstrip())

    def error(self, command: str, error: BaseException) -> int:
        """Report the error that stopped ``command``; returns the exit status."""
        status = exit_code(error)
        if self.json_mode:
            doc = error_document(error, verbose=self.verbose)
            doc["exit_code"] = status
            if self.verbose:
                doc["traceback"] = "".join(traceback.format_exception(error))
            self.stdout.write(self._json({"error": doc}) + "\n")
            self.stdout.flush()
            return status
        advice = hint(error)
        if not self.verbose and not isinstance(error, BmsXeroError | UsageError):
            advice = "an unexpected error; run with --verbose for the traceback"
        self.note(f"{command}: {one_line(error)}" + (f"; {advice}" if advice else ""))
        if self.verbose:
            self.note(f"  type: {type(error).__name__}")
            for key, value in error_fields(error).items():
                self.note(f"  {key}: {json.dumps(self.redact_values(value))}")
            self.note("".join(traceback.format_exception(error)).rstrip())
        return status


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per step elsewhere.

    Args:
        total: How many items.
        out: Where to draw (stderr).
        enabled: Draw at all.
        tty: Whether ``out`` is a terminal.
        label: What the items are, e.g. ``"invoices pushed"``.
    """

    WIDTH: Final = 30

    def __init__(self, total: int, out: Output, *, enabled: bool, tty: bool, label: str) -> None:
        self.total = total
        self._out = out
        self._enabled = enabled and total > 0
        self._tty = tty
        self._label = label
        self._drawn = False

    def update(self, done: int) -> None:
        """Show that ``done`` of ``total`` are finished."""
        if not self._enabled:
            return
        if self._tty:
            filled = self.WIDTH * done // self.total
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._out.stderr.write(f"\r[{bar}] {done}/{self.total} {self._label}")
            self._out.stderr.flush()
            self._drawn = True
        else:
            self._out.note(f"{done}/{self.total} {self._label}")

    def finish(self) -> None:
        """End the bar's line (on a terminal)."""
        if self._drawn:
            self._out.stderr.write("\n")
            self._out.stderr.flush()
            self._drawn = False


class LogToOutput(logging.Handler):
    """Sends bms_xero's log lines to the command's stderr, redacted."""

    def __init__(self, out: Output, level: int) -> None:
        super().__init__(level)
        self._out = out
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._out.note(self.format(record))
        except Exception:  # a log line must never stop the worker
            self.handleError(record)
