"""What every benchmark prints with its figures: the commit, the CPU count and the load.

A figure means little without the machine it came from: the last JSON line of each bench
carries `commit` (git rev-parse --short HEAD, "+dirty" when the tree has changes),
`cpus` and `load_avg` (1, 5 and 15 minutes, at the end of the run).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def commit() -> str:
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict[str, Any]:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {"commit": commit(), "cpus": os.cpu_count() or 0, "load_avg": load}


def emit(result: dict[str, Any]) -> None:
    """The bench's last line: its figures and the machine."""
    print(json.dumps({**result, **machine()}, ensure_ascii=False, default=str))
