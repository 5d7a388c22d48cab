"""The benchmark scripts still run: each in its quick mode, as a subprocess, printing its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
#: Each script with the arguments of its quick mode (client_overhead.py predates --quick).
QUICK = {
    "api_calls.py": ["--quick"],
    "cost_targets.py": ["--quick"],
    "cpu.py": ["--quick"],
    "memory.py": ["--quick"],
    "client_overhead.py": ["--calls", "20"],
}


def test_every_benchmark_runs_quick() -> None:
    """Every script in benchmarks/ exits 0 in its quick mode and prints a Markdown table."""
    scripts = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))
    running = {
        name: subprocess.Popen(
            [sys.executable, str(BENCHMARKS / name), *QUICK.get(name, ["--quick"])],
            cwd=BENCHMARKS.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in scripts
    }
    finished = {}
    for name, process in running.items():
        try:
            out, err = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        finished[name] = (process.returncode, "---|" in out or " µs " in out, err)

    assert {name: (0, True) for name in scripts} == {
        name: (code, table) for name, (code, table, _) in finished.items()
    }, {name: err[-2000:] for name, (code, _, err) in finished.items() if code}
