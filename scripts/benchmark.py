"""Time the offline gate: `check` for each stack cold (a new process, as CI and `make check` run it) and warm (repeated
in one process with the policy pack kept running), where a cold run spends its time, a Checkov scan of the same
resources (the stack's plan as an ARM template, offline/arm_template.py) as a ratio that holds on any machine, and the
whole test suite.

    python scripts/benchmark.py [--repeat N] [--skip-suite] [--checkov PATH]

`make benchmark` installs Checkov into its own virtualenv (build/checkov-venv, requirements-benchmark.txt) and passes
it here; without --checkov the Checkov rows are left out and say why.
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
# The azure-native modules load on first use (pulumi_azure_native's lazy modules): in `check` that is inside the
# program run; here they are loaded first, network on its own, to say what they cost.
PHASES = """
import importlib, json, sys, time
t0 = time.perf_counter()
from offline.analyzer_host import HostPool, StackContext
from offline.engine import PROJECT_DIR, run_program, stack_config
from offline.gate import default_policy_config, run_check, stack_context
t1 = time.perf_counter()
importlib.import_module("pulumi_azure_native.network").PrivateEndpoint
t2 = time.perf_counter()
for module in ("authorization", "cognitiveservices", "eventgrid", "keyvault", "managedidentity", "monitor",
               "operationalinsights", "privatedns", "resources", "security"):
    getattr(importlib.import_module("pulumi_azure_native." + module), "__all__", None)  # an attribute loads it
t3 = time.perf_counter()
stack = sys.argv[1]
project, config = stack_config(stack)
pool = HostPool()
host = pool.get(PROJECT_DIR / "policies", StackContext(project, stack, config)).connect()
t4 = time.perf_counter()
graph = run_program(stack)
t5 = time.perf_counter()
run_check(host, graph, default_policy_config(PROJECT_DIR / "policies", stack), stack_context(graph, config))
t6 = time.perf_counter()
pool.close()
t7 = time.perf_counter()
print(json.dumps({"offline imports": t1 - t0, "azure-native network": t2 - t1, "other azure-native": t3 - t2,
                  "pack start (overlaps the program in check)": t4 - t3, "program": t5 - t4,
                  "analysis": t6 - t5, "stop": t7 - t6}))
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


def checkov(executable: Path, stack: str, repeat: int) -> tuple[float, dict[str, object]]:
    """Checkov over the stack's plan as an ARM template, in a new process each time (as CI runs it), offline
    (--skip-download: no Prisma Cloud guidelines), after one untimed run (a first start reads several hundred
    modules from disk). The median time, and Checkov's own summary."""
    sys.path.insert(0, str(ROOT))
    from offline.arm_template import arm_template
    from offline.engine import run_program

    out = ROOT / "build" / "benchmark"
    out.mkdir(parents=True, exist_ok=True)
    template = out / f"{stack}.arm.json"
    template.write_text(json.dumps(arm_template(run_program(stack)), indent=1))
    command = [str(executable), "--file", str(template), "--framework", "arm", "--quiet", "--compact",
               "--skip-download", "--output", "json"]
    subprocess.run(command, cwd=ROOT, env=env(), capture_output=True, check=False)  # untimed: warms the disk cache
    times, summary = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env(), capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        summary = json.loads(done.stdout)["summary"]
    return statistics.median(times), summary


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
    parser.add_argument("--checkov", type=Path, help="a checkov executable (make benchmark installs one)")
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    cold_medians = {}
    for stack in STACKS:
        runs = [cold(stack) for _ in range(args.repeat)]
        cold_medians[stack] = statistics.median(t for t, _ in runs)
        rows.append((f"check {stack}, cold (new process)", f"{cold_medians[stack]:.2f} s",
                     f"exit {max(code for _, code in runs)}, min {min(t for t, _ in runs):.2f} s"))
    for stack in STACKS:
        if args.checkov is None or not args.checkov.exists():
            rows.append((f"checkov {stack}, same resources", "-", "no --checkov given (make benchmark installs it)"))
            continue
        scanned, found = checkov(args.checkov, stack, args.repeat)
        rows.append((f"checkov {stack}, same resources (ARM)", f"{scanned:.2f} s",
                     f"check/checkov {cold_medians[stack] / scanned:.2f}; checkov {found.get('checkov_version')}: "
                     f"{found.get('resource_count')} resources, {found.get('passed')} passed, "
                     f"{found.get('failed')} failed"))
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
