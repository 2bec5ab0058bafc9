#!/usr/bin/env python3
"""Benchmark: `weighbridge demo` wall time against its 10-second budget on this machine.

    python3 bench/demo.py            # builds the release CLI, runs the demo 5 times

Prints each run, the median and the worst, and their ratio to the budget (a ratio
below 1 is inside it). A benchmark, not a test: machines differ; CI does not run it.
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 10.0
RUNS = 5
ROOT = Path(__file__).resolve().parent.parent


def main():
    subprocess.run(["cargo", "build", "--release", "-p", "weighbridge"], cwd=ROOT, check=True)
    target = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    import json

    binary = Path(json.loads(target.stdout)["target_directory"]) / "release" / "weighbridge"
    walls = []
    with tempfile.TemporaryDirectory() as state:
        for i in range(RUNS):
            start = time.perf_counter()
            out = subprocess.run([str(binary), "demo", "--state-dir", state], capture_output=True, text=True)
            wall = time.perf_counter() - start
            if out.returncode != 0 or "promote" not in out.stdout or "rollback" not in out.stdout:
                sys.exit(f"run {i + 1} did not promote and roll back:\n{out.stdout}\n{out.stderr}")
            walls.append(wall)
            print(f"run {i + 1}: {wall:.3f} s")
    median, worst = statistics.median(walls), max(walls)
    print("| measure | wall | budget | wall / budget |")
    print("|---|---:|---:|---:|")
    print(f"| median of {RUNS} | {median:.3f} s | {BUDGET_SECONDS:.0f} s | {median / BUDGET_SECONDS:.4f} |")
    print(f"| worst of {RUNS} | {worst:.3f} s | {BUDGET_SECONDS:.0f} s | {worst / BUDGET_SECONDS:.4f} |")


if __name__ == "__main__":
    main()
