"""Running test workers in child processes: start them, collect one report each, always reap."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any


def run_processes(
    method: str,
    target: Callable[..., None],
    arguments: Sequence[tuple[Any, ...]],
    *,
    barrier: bool = True,
    timeout: float = 60,
) -> tuple[list[Any], list[int | None]]:
    """Run ``target`` in one process per argument tuple; return their reports and exit codes.

    Each process gets its arguments, then (with ``barrier``) a Barrier so they start together,
    then the Queue it puts exactly one report on. Processes still alive afterwards are killed.
    """
    context = multiprocessing.get_context(method)
    results = context.Queue()
    extra: tuple[Any, ...] = (context.Barrier(len(arguments)),) if barrier else ()
    workers = [
        context.Process(target=target, args=(*args, *extra, results), daemon=True)
        for args in arguments
    ]
    for worker in workers:
        worker.start()
    try:
        reports = [results.get(timeout=timeout) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
                worker.join()
        results.close()
        results.join_thread()
    return reports, [w.exitcode for w in workers]
