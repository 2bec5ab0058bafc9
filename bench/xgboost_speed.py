#!/usr/bin/env python3
"""Serving speed: weighbridge-xgboost against xgboost's own predict, same model, same rows,
same run.

    ~/.cache/weighbridge/venv-xgboost/bin/python bench/xgboost_speed.py [--rows 200000] [--repeat 3]

Needs scripts/requirements-xgboost.txt (its own venv). Trains a 500-tree, depth-6
binary:logistic model on seeded data with missing values, saves it as JSON, and predicts
the same float32 rows with (a) `crates/xgboost/examples/xgboost_speed.rs` (release build, one
thread), (b) xgboost `Booster.predict` on one thread and (c) on every core. Checks that
the predictions agree to 1e-6 and prints rows per second and the ratios.
"""
import argparse
import json
import os
import pathlib
import subprocess
import tempfile
import time

import numpy as np
import xgboost as xgb

ROOT = pathlib.Path(__file__).resolve().parent.parent
FEATURES = 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(3)
    x = rng.random((50_000, FEATURES), dtype=np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    signal = np.nan_to_num(x, nan=0.5) @ rng.normal(size=FEATURES)
    y = (signal + rng.normal(0, 0.5, len(signal)) > np.median(signal)).astype(float)
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.05, "seed": 1, "nthread": os.cpu_count()}
    booster = xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=500)
    rows = rng.random((args.rows, FEATURES), dtype=np.float32)
    rows[rng.random(rows.shape) < 0.05] = np.nan
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "weighbridge-xgboost", "--example", "xgboost_speed"],
                   cwd=ROOT, check=True)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        booster.save_model(str(tmp / "model.json"))
        rows.tofile(tmp / "rows.f32")
        out = subprocess.run([str(target / "release/examples/xgboost_speed"), str(tmp / "model.json"), str(tmp / "rows.f32"),
                              str(FEATURES), str(tmp / "out.f32"), str(args.repeat)],
                             check=True, capture_output=True, text=True).stdout
        rust = json.loads(out)
        ours = np.fromfile(tmp / "out.f32", dtype=np.float32)
    timings = {}
    for threads in (1, os.cpu_count()):
        booster.set_param({"nthread": threads})
        best = float("inf")
        for _ in range(args.repeat):
            # A fresh DMatrix each time: predict caches its answers per DMatrix, and a
            # container builds one per request too.
            t = time.perf_counter()
            theirs = booster.predict(xgb.DMatrix(rows, missing=np.nan, nthread=threads))
            best = min(best, time.perf_counter() - t)
        timings[threads] = best
    worst = float(np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0)))
    n = args.rows
    print(f"weighbridge-xgboost serving speed: 500 trees, depth 6, {FEATURES} features, {n:,} rows "
          f"(5% missing); best of {args.repeat}; xgboost {xgb.__version__}; max relative difference {worst:.2e}")
    print(f"{'predictor':44} {'seconds':>8} {'rows/s':>12} {'ratio':>22}")
    print(f"{'weighbridge-xgboost, 1 thread':44} {rust['predict']:8.3f} {n / rust['predict']:12,.0f} {'':>22}")
    for threads, s in timings.items():
        ratio = s / rust["predict"]
        print(f"{f'xgboost Booster.predict, {threads} thread(s)':44} {s:8.3f} {n / s:12,.0f} "
              f"{f'ours {ratio:.2f}x its speed':>22}")
    print(f"model load (JSON, {booster.num_boosted_rounds()} trees): {rust['load']:.3f} s")
    if worst > 1e-6:
        raise SystemExit("FAIL: predictions differ from xgboost's")


if __name__ == "__main__":
    main()
