"""One entry point for a fresh machine: `python3 dev.py demo` or `python3 dev.py test`.

Each command creates (or reuses) the virtual environment `.venv` beside this file, installs
bms_xero into it with what that command needs, and runs the command. Only Python 3.11+ is
required; nothing is installed outside `.venv`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"bms_xero needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    # Reinstall only when pyproject.toml changed since the last install for these extras.
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    print(f"installing bms_xero{f'[{extras}]' if extras else ''} into {VENV}", flush=True)
    subprocess.run(
        [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target],
        check=True,
    )
    stamp.write_text(digest)


def _run(*cmd: object) -> int:
    print("$", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT).returncode


def demo(args: list[str]) -> int:
    _ensure_venv("")
    return _run(PY, "-m", "bms_xero", "demo", *args)


def test(args: list[str]) -> int:
    _ensure_venv("test")
    code = _run(PY, "-m", "pytest", *args)
    if code == 5:  # pytest's "no tests collected" must never pass
        print("pytest collected no tests: failing", file=sys.stderr)
        return 1
    if code:
        return code
    code = _run(PY, "-m", "ruff", "check", "src", "tests", "examples", "benchmarks", "dev.py")
    if code:
        return code
    return _run(PY, "-m", "mypy", "--strict", "src")


def main() -> int:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(f"usage: python3 dev.py {{{'|'.join(commands)}}} [args...]", file=sys.stderr)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
