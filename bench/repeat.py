"""The README's figures: a bench run several times, its median and range per figure.

    .venv/bin/python -m bench.repeat updates --runs 3 [-- --quick]

Runs `python -m bench.NAME ARGS` `--runs` times one after another (never side by side:
they would share the cores), reads the last line of each (one JSON object), and prints, per
numeric figure, the median and the range, with each run's load average; the last line is
one JSON object: `{"bench", "runs", "median": {...}, "min": {...}, "max": {...},
"load_avg": [[...], ...], "commit"}`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

from bench.machine import ROOT, commit


def last_json(output: str) -> dict[str, Any]:
    for line in reversed(output.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    raise ValueError("the bench printed no JSON line")


def numeric(run: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in run.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "cpus"}


def summarize(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in numeric(runs[0]) if all(k in numeric(r) for r in runs)]
    values = {k: [numeric(r)[k] for r in runs] for k in keys}
    return {
        "bench": name, "runs": len(runs),
        "median": {k: round(statistics.median(v), 3) for k, v in values.items()},
        "min": {k: round(min(v), 3) for k, v in values.items()},
        "max": {k: round(max(v), 3) for k, v in values.items()},
        "load_avg": [r.get("load_avg") for r in runs],
        "commits": sorted({str(r.get("commit", "")) for r in runs}),
        "commit": commit(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.repeat")
    p.add_argument("name", help="a module of bench/, e.g. updates")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("args", nargs=argparse.REMAINDER, help="after --: the bench's arguments")
    a = p.parse_args(argv)
    args = [x for x in a.args if x != "--"]
    runs: list[dict[str, Any]] = []
    for i in range(a.runs):
        done = subprocess.run([sys.executable, "-m", f"bench.{a.name}", *args], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
            print(f"run {i + 1} of bench.{a.name} failed (exit {done.returncode})",
                  file=sys.stderr)
            return 1
        run = last_json(done.stdout)
        runs.append(run)
        print(f"run {i + 1}: " + json.dumps(run, ensure_ascii=False), flush=True)
    out = summarize(a.name, runs)
    for k, med in out["median"].items():
        print(f"{k:>28}  {med:>12g}  ({out['min'][k]:g} – {out['max'][k]:g})")
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
