#!/usr/bin/env python3
"""Speed benchmark: weighbridge-core against a Python reference, same inputs, same run.

    python3 bench/speed.py [--rows-auc 10000000] [--rows-bootstrap 1000000] [--repeat 2]

Generates the data (seeded), writes it as raw f64 files, runs the Rust side
(`crates/core/examples/speed.rs`, release build) and the reference, and prints a table
of seconds and ratios with PASS/FAIL against the targets:
  - AUC + DeLong, two variants, 10M rows: ≥ 20× faster than scikit-learn roc_auc_score
    (both variants) + a numpy/scipy fast DeLong, and ≤ 2× the floor (sorting each
    variant's scores once, std unstable sort, one thread);
  - paired bootstrap CI of ΔRMSE, n = 1M, B = 1000: ≥ 20× faster than a numpy
    multinomial paired bootstrap, peak heap ≤ 2× the input (labels + both predictions).
Each side is timed best-of-REPEAT. Needs scripts/requirements-reference.txt installed.
"""
import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

ROOT = pathlib.Path(__file__).resolve().parent.parent


def best_of(repeat, f):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def reference_auc_delong(y, a, b):
    """scikit-learn AUC for each variant, then DeLong with scipy midranks (Sun & Xu)."""
    aucs = [roc_auc_score(y, s) for s in (a, b)]
    pos, neg = y == 1, y == 0
    m, n = pos.sum(), neg.sum()
    v10, v01 = [], []
    for s in (a, b):
        tz = stats.rankdata(s)
        tx = stats.rankdata(s[pos])
        ty = stats.rankdata(s[neg])
        v10.append((tz[pos] - tx) / n)
        v01.append(1 - (tz[neg] - ty) / m)
    s10, s01 = np.cov(np.vstack(v10)), np.cov(np.vstack(v01))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    return aucs, float(np.sqrt(var))


def reference_bootstrap(y, a, b, reps=1000, seed=42):
    rng = np.random.default_rng(seed)
    la, lb = (a - y) ** 2, (b - y) ** 2
    d = np.empty(reps)
    for r in range(reps):
        idx = rng.integers(0, len(y), len(y))
        d[r] = np.sqrt(lb[idx].mean()) - np.sqrt(la[idx].mean())
    return np.percentile(d, [2.5, 97.5])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows-auc", type=int, default=10_000_000)
    ap.add_argument("--rows-bootstrap", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    rng = np.random.default_rng(2026)
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        n = args.rows_auc
        y = (rng.random(n) < 0.3).astype(np.float64)
        u = rng.normal(size=n)
        a = 1.2 * y + np.sqrt(0.8) * u + np.sqrt(0.2) * rng.normal(size=n)
        b = 1.3 * y + np.sqrt(0.8) * u + np.sqrt(0.2) * rng.normal(size=n)
        for name, arr in (("cls_labels", y), ("cls_a", a), ("cls_b", b)):
            arr.tofile(d / name)
        k = args.rows_bootstrap
        x = rng.normal(size=k)
        ry = x + rng.normal(size=k)
        ra = x + 0.5 * rng.normal(size=k)
        rb = x + 0.4 * rng.normal(size=k)
        for name, arr in (("reg_labels", ry), ("reg_a", ra), ("reg_b", rb)):
            arr.tofile(d / name)

        subprocess.run(["cargo", "build", "--release", "-q", "-p", "weighbridge-core", "--example", "speed"],
                       cwd=ROOT, check=True)
        target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        exe = target / "release/examples/speed"
        rust = json.loads(subprocess.run([str(exe), str(d), str(max(args.repeat, 3))], check=True,
                                         capture_output=True, text=True).stdout)

    ref_auc_s, (aucs, se) = best_of(args.repeat, lambda: reference_auc_delong(y, a, b))
    ref_boot_s, ci = best_of(args.repeat, lambda: reference_bootstrap(ry, ra, rb))
    py_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Same answers first: a fast wrong answer is not a result.
    assert abs(rust["auc_a"] - aucs[0]) < 1e-9 and abs(rust["auc_b"] - aucs[1]) < 1e-9, (rust, aucs)
    assert abs(rust["delong_se"] / se - 1) < 1e-6, (rust["delong_se"], se)
    assert rust["bootstrap_ci"][0] <= np.sqrt(((rb - ry) ** 2).mean()) - np.sqrt(((ra - ry) ** 2).mean()) <= rust["bootstrap_ci"][1]

    speedup_auc = ref_auc_s / rust["delong_seconds"]
    vs_floor = rust["delong_seconds"] / rust["floor_seconds"]
    speedup_boot = ref_boot_s / rust["bootstrap_seconds"]
    mem_ratio = rust["bootstrap_peak_heap_bytes"] / rust["bootstrap_input_bytes"]
    rows = [
        ("AUC+DeLong, 2 variants", f"{n:,}", rust["delong_seconds"], ref_auc_s,
         f"{speedup_auc:.1f}x faster", speedup_auc >= 20),
        ("  vs floor (sort each variant once)", f"{n:,}", rust["delong_seconds"], rust["floor_seconds"],
         f"{vs_floor:.2f}x the floor", vs_floor <= 2),
        ("Paired bootstrap dRMSE, B=1000", f"{k:,}", rust["bootstrap_seconds"], ref_boot_s,
         f"{speedup_boot:.1f}x faster", speedup_boot >= 20),
        ("  peak heap / input", f"{k:,}", rust["bootstrap_peak_heap_bytes"] / 2**20, rust["bootstrap_input_bytes"] / 2**20,
         f"{mem_ratio:.2f}x the input (MiB)", mem_ratio <= 2),
    ]
    print(f"weighbridge-core speed benchmark ({rust['threads']} threads for Rust; reference: scikit-learn "
          f"roc_auc_score + scipy-rankdata DeLong, numpy multinomial bootstrap; best of {args.repeat} "
          f"(Rust best of {max(args.repeat, 3)}); python peak RSS {py_rss_mb:.0f} MiB)")
    print(f"{'task':38} {'rows':>12} {'rust':>10} {'reference':>10}  ratio")
    ok = True
    for task, r, ours, ref, ratio, passed in rows:
        ok &= passed
        print(f"{task:38} {r:>12} {ours:>10.3f} {ref:>10.3f}  {ratio}  {'PASS' if passed else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
