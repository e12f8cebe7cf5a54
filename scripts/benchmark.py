"""Time the offline gate: `check` for each stack cold (a new process, as CI and `make check` run it) and warm (repeated
in one process with the policy pack kept running), where a cold run spends its time, and the whole test suite.

    python scripts/benchmark.py [--repeat N] [--skip-suite]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "prod")

# Run in a fresh interpreter: the phases of one cold `check`, each timed on its own.
PHASES = """
import json, sys, time
t0 = time.perf_counter()
from offline.analyzer_host import HostPool, StackContext
from offline.engine import PROJECT_DIR, run_program, stack_config
from offline.gate import default_policy_config, run_check, stack_context
t1 = time.perf_counter()
stack = sys.argv[1]
project, config = stack_config(stack)
pool = HostPool()
host = pool.get(PROJECT_DIR / "policies", StackContext(project, stack, config)).connect()
t2 = time.perf_counter()
graph = run_program(stack)
t3 = time.perf_counter()
run_check(host, graph, default_policy_config(PROJECT_DIR / "policies", stack), stack_context(graph, config))
t4 = time.perf_counter()
pool.close()
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "pack start": t2 - t1, "program": t3 - t2, "analysis": t4 - t3,
                  "stop": t5 - t4}))
"""


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def env() -> dict[str, str]:
    """This environment without PULUMI_* variables, which would change what the program and the pack see."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}


def cold(stack: str) -> tuple[float, int]:
    """One `python -m offline check` in a new process: interpreter, imports, program, pack, analysis."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "offline", "check", "--stack", stack], cwd=ROOT, env=env(),
                          capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done.returncode


def warm(stack: str, repeat: int) -> tuple[list[float], int]:
    """`check` repeated in this process, the policy pack kept running between runs (what tests and tools do)."""
    sys.path.insert(0, str(ROOT))
    from offline.analyzer_host import HostPool
    from offline.cli import main

    pool = HostPool()
    codes = []
    times = []
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            codes.append(main(["check", "--stack", stack], pool=pool))  # first run: imports and pack start
            for _ in range(repeat):
                times.append(timed(lambda: codes.append(main(["check", "--stack", stack], pool=pool))))
    finally:
        pool.close()
    return times, max(codes)


def phases(stack: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", PHASES, stack], cwd=ROOT, env=env(), capture_output=True,
                          text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def suite() -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT, env=env(),
                          capture_output=True, text=True, check=False)
    summary = next((line for line in reversed(done.stdout.splitlines()) if " in " in line), "")
    return time.perf_counter() - start, done.returncode, summary.strip("= ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--skip-suite", action="store_true", help="do not time the test suite")
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    for stack in STACKS:
        runs = [cold(stack) for _ in range(args.repeat)]
        rows.append((f"check {stack}, cold (new process)", f"{statistics.median(t for t, _ in runs):.2f} s",
                     f"exit {max(code for _, code in runs)}, min {min(t for t, _ in runs):.2f} s"))
    for stack in STACKS:
        times, code = warm(stack, args.repeat)
        rows.append((f"check {stack}, warm (same process)", f"{statistics.median(times):.2f} s",
                     f"exit {code}, min {min(times):.2f} s"))
    for stack in STACKS:
        split = phases(stack)
        rows.append((f"  cold {stack}: where the time goes", f"{sum(split.values()):.2f} s",
                     ", ".join(f"{name} {seconds:.2f}" for name, seconds in split.items())))
    if not args.skip_suite:
        seconds, code, summary = suite()
        rows.append(("python -m pytest -q (whole suite)", f"{seconds:.1f} s", f"exit {code}, {summary}"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'time':>8}  notes")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 40}")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>8}  {note}")
    print(f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, median of {args.repeat} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
