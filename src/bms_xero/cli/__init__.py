"""The ``bms-xero`` command (also ``python -m bms_xero``); ``docs/cli.md`` is its manual.

Each subcommand is a pair of functions: ``_add_<name>(subparsers)`` declares its arguments and
points ``handler`` (``run_<name>(args) -> int``, for ``demo`` and ``fake-server``) or ``run``
(``run_<name>(args, ctx) -> int``, for the operator's commands, which get settings, a
runtime and an output through ``ctx``) at the function that does the work.

Layout: :mod:`._config` (settings: flags, environment, TOML), :mod:`._runtime` (client,
engine and stores from the settings), :mod:`._output` (text, JSON, errors, exit codes,
progress), :mod:`._snapshots` (invoices queued for the worker), :mod:`._operator` and
:mod:`._fake` (the subcommands).

Exit statuses: 0 ok; 1 some invoices or jobs failed; 2 a usage, configuration, input-file or
database error; 3 Xero could not be reached, refused the credentials or is unavailable; 130
interrupted; 141 the output's reader went away (``bms-xero jobs | head -1``), quietly.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import httpx

from bms_xero.cli._config import ENV, load_settings
from bms_xero.cli._connect import CONNECT_COMMANDS, run_connect, run_connections, run_disconnect
from bms_xero.cli._fake import FAKE_COMMANDS, run_demo, run_fake_server
from bms_xero.cli._operator import (
    OPERATOR_COMMANDS,
    Context,
    run_config,
    run_jobs,
    run_panel,
    run_pull,
    run_push,
    run_retry,
    run_worker,
)
from bms_xero.cli._output import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    LogToOutput,
    Output,
    UsageError,
)
from bms_xero.cli._runtime import Runtime
from bms_xero.cli._saved import with_saved
from bms_xero.clock import Clock

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = [
    "build_parser",
    "main",
    "run_config",
    "run_connect",
    "run_connections",
    "run_demo",
    "run_disconnect",
    "run_fake_server",
    "run_jobs",
    "run_panel",
    "run_pull",
    "run_push",
    "run_retry",
    "run_worker",
]

PROG = "bms-xero"


class _Parser(argparse.ArgumentParser):
    """Raises :class:`UsageError` instead of exiting, so ``--json`` can report it too."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        # argparse ignores a failed write; a closed stdout must end like every command's.
        (file or sys.stdout).write(self.format_help())


def _options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every operator command takes, before or after its name.

    On the subcommands they default to SUPPRESS, so an option given before the subcommand
    is not reset by the subcommand's own default.
    """

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print one JSON document on stdout (errors too) instead of text",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help="add details to errors (fields, traceback) and log what happens to stderr",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default(None),
        help=f"TOML settings file (default: ${ENV['config']}, else none)",
    )
    parser.add_argument(
        "--db", metavar="PATH", default=default(None), help=f"SQLite file (${ENV['db']})"
    )
    parser.add_argument(
        "--tenant-id",
        metavar="ID",
        default=default(None),
        help=f"Xero organisation (${ENV['tenant_id']})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog=PROG,
        description="bms_xero: keep a business management system and Xero aligned on invoices.",
        epilog="Settings come from flags, BMS_XERO_* environment variables and --config; "
        "see docs/cli.md. Exit status: 0 ok, 1 some invoices/jobs failed, 2 usage or "
        "configuration error, 3 Xero/auth/network error, 130 interrupted, 141 the output "
        "was closed (e.g. | head).",
    )
    _options(parser, top=True)
    common = _Parser(add_help=False)
    _options(common, top=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in FAKE_COMMANDS:
        add(subparsers)
    for add_operator in (*OPERATOR_COMMANDS, *CONNECT_COMMANDS):
        add_operator(subparsers, common)
    return parser


def _wants_json(argv: Sequence[str]) -> bool:
    return "--json" in argv


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    clock: Clock | None = None,
    http_client: httpx.Client | None = None,
    stop: threading.Event | None = None,
    browser: Callable[[str], object] | None = None,
) -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        environ: The environment to read ``BMS_XERO_*`` settings from (default: ``os.environ``).
        stdin: Where ``push -`` reads from.
        stdout: Results (default: ``sys.stdout``).
        stderr: Errors in text mode, progress and log lines (default: ``sys.stderr``).
        clock: The time for the engine and jobs (default: the system clock).
        http_client: The httpx client to reach Xero with (default: a new one per run).
        stop: Set it to stop ``worker`` from another thread.
        browser: Opens ``connect``'s link (default: the desktop's browser when there is a
            display; tests pass a function that follows the link with an HTTP client).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    out_stream = stdout or sys.stdout
    err_stream = stderr or sys.stderr
    env = os.environ if environ is None else environ
    try:
        status = _main(
            args_list, env, stdin, out_stream, err_stream, clock, http_client, stop, browser
        )
        for stream in (out_stream, err_stream, sys.stdout):
            stream.flush()  # what argparse's --help left in the buffer, for one
    except BrokenPipeError:
        # The reader went away (`bms-xero jobs | head -1`): end quietly, as a command killed
        # by SIGPIPE would, without a traceback or an "unexpected error".
        _discard_closed(out_stream, err_stream)
        return EXIT_BROKEN_PIPE
    return status


def _discard_closed(*streams: TextIO) -> None:
    """Point the process's closed standard streams at /dev/null, so what is still buffered
    in them can't fail again when the interpreter flushes them at exit (which would print
    "Exception ignored ... BrokenPipeError" and exit 120)."""
    for stream in {*streams, sys.stdout, sys.stderr}:
        try:
            stream.flush()
            continue
        except (BrokenPipeError, ValueError):
            pass
        if stream is not sys.stdout and stream is not sys.stderr:
            continue
        try:
            fd = stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
        except (AttributeError, OSError, ValueError):
            continue
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


def _main(
    args_list: list[str],
    env: Mapping[str, str],
    stdin: TextIO | None,
    out_stream: TextIO,
    err_stream: TextIO,
    clock: Clock | None,
    http_client: httpx.Client | None,
    stop: threading.Event | None,
    browser: Callable[[str], object] | None = None,
) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except UsageError as e:
        out = Output(
            json_mode=_wants_json(args_list), verbose=False, stdout=out_stream, stderr=err_stream
        )
        return out.error(PROG, e)
    except SystemExit as e:  # --help and --version print and exit
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    run = getattr(args, "run", None)
    if run is None:
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(err_stream)
            return EXIT_USAGE
        status: int = handler(args)
        return status
    out = Output(
        json_mode=args.json,
        verbose=args.verbose,
        stdout=out_stream,
        stderr=err_stream,
        secrets=[env.get(ENV["client_secret"], "").strip()],
    )
    with _logging(out, _log_level(args)):
        return _run(args, run, out, env, stdin, clock, http_client, stop, browser)


def _log_level(args: argparse.Namespace) -> int:
    """INFO with --verbose and for a long-running worker (its log is its output); otherwise
    warnings only, and for ``worker --once`` none, since its table reports every job."""
    if args.verbose or (args.command == "worker" and not args.once):
        return logging.INFO
    if args.command == "worker":
        return logging.CRITICAL
    return logging.WARNING


def _run(
    args: argparse.Namespace,
    run: Any,
    out: Output,
    env: Mapping[str, str],
    stdin: TextIO | None,
    clock: Clock | None,
    http_client: httpx.Client | None,
    stop: threading.Event | None,
    browser: Callable[[str], object] | None = None,
) -> int:
    name = f"{PROG} {args.command}"
    try:
        settings = load_settings(env, config=args.config, db=args.db, tenant_id=args.tenant_id)
        settings = with_saved(settings)
        if settings.client_secret is not None:
            out.add_secret(settings.client_secret.reveal())
        runtime = Runtime(settings, clock=clock, http_client=http_client)
        try:
            context = Context(out, runtime, stdin=stdin, stop=stop, browser=browser)
            status: int = run(args, context)
            return status
        finally:
            runtime.close()
    except KeyboardInterrupt:
        out.note(f"{name}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise  # the output is gone: main ends quietly
    except Exception as e:
        return out.error(name, e)


@contextmanager
def _logging(out: Output, level: int) -> Iterator[None]:
    """Send bms_xero's log lines to the command's stderr while it runs, then undo it."""
    handler = LogToOutput(out, level)
    logger = logging.getLogger("bms_xero")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
