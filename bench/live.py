#!/usr/bin/env python3
"""Live-source benchmark: one look over N requests' Data Capture and ground truth.

    python3 -m pip install -r bench/requirements-live.txt
    python3 bench/live.py                 # --requests 10000000 --dir /tmp/weighbridge-bench-live

Generates the files once (`live_evaluator generate`: SageMaker's capture layout, 90 %
champion, 10 % challenger, labels for 90 % a day later), runs the Rust look
(`live_evaluator evaluate`: the evaluate-variants task, source capture, S3 as a
directory) in its own process, then the reference a data scientist would write on the
same files — pandas `read_json(lines=True)` per object, `json_normalize` keeping the
join's columns, one merge on `inferenceId`, scikit-learn's RMSE per variant — and prints
the table with ratios. Both must agree on each variant's labelled rows and RMSE. A
second line runs a test-set look over as many labelled rows (`generate-test-set`,
`evaluate-test-set`), which streams its rows in blocks.
"""
import argparse
import glob
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def cargo_example():
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "weighbridge-local", "--example", "live_evaluator"],
                   check=True, cwd=ROOT)
    return str(pathlib.Path(target) / "release/examples/live_evaluator")


def reference(directory):
    """What a data scientist writes: read every JSON Lines object, flatten, merge, score."""
    import pandas as pd
    from sklearn.metrics import root_mean_squared_error

    started = time.perf_counter()

    def captured(path, variant):
        raw = pd.read_json(path, lines=True, dtype=False)
        return pd.DataFrame({"inferenceId": pd.json_normalize(raw["eventMetadata"].tolist())["inferenceId"],
                             "prediction": pd.json_normalize(raw["captureData"].tolist())["endpointOutput.data"].astype(float),
                             "variant": variant})

    def labelled(path):
        raw = pd.read_json(path, lines=True, dtype=False)
        return pd.DataFrame({"inferenceId": pd.json_normalize(raw["eventMetadata"].tolist())["eventId"],
                             "label": pd.json_normalize(raw["groundTruthData"].tolist())["data"].astype(float)})

    # One object at a time, keeping only the columns the join needs: reading every
    # object into one frame first needs about 3 GB per million requests.
    captures = pd.concat([captured(f, v) for v in ("champion", "challenger")
                          for f in sorted(glob.glob(f"{directory}/capture/bench/{v}/**/*.jsonl", recursive=True))],
                         ignore_index=True)
    truth = pd.concat([labelled(f) for f in sorted(glob.glob(f"{directory}/ground-truth/**/*.jsonl", recursive=True))],
                      ignore_index=True)
    joined = captures.merge(truth, on="inferenceId", how="inner")
    result = {v: {"rows": int(len(g)), "rmse": float(root_mean_squared_error(g["label"], g["prediction"]))}
              for v, g in joined.groupby("variant")}
    wall = time.perf_counter() - started
    return wall, result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=10_000_000)
    p.add_argument("--dir", default="/tmp/weighbridge-bench-live")
    a = p.parse_args()
    exe = cargo_example()
    marker = pathlib.Path(a.dir) / f".generated-{a.requests}"
    if not marker.exists():
        subprocess.run(["rm", "-rf", a.dir], check=True)
        subprocess.run([exe, "generate", a.dir, str(a.requests)], check=True)
        marker.touch()
    size = sum(f.stat().st_size for f in pathlib.Path(a.dir).rglob("*.jsonl"))
    rust = json.loads(subprocess.run([exe, "evaluate", a.dir], check=True, capture_output=True, text=True).stdout)
    ref_wall, ref, ref_rss = reference(a.dir)
    for v, r in ref.items():
        ours = rust["variants"][v]
        assert ours["rows"] == r["rows"], (v, ours, r)
        assert abs(ours["rmse"] - r["rmse"]) <= 1e-9 * r["rmse"], (v, ours, r)
    test_dir = f"{a.dir}-test-set"
    marker = pathlib.Path(test_dir) / f".generated-{a.requests}"
    if not marker.exists():
        subprocess.run(["rm", "-rf", test_dir], check=True)
        subprocess.run([exe, "generate-test-set", test_dir, str(a.requests)], check=True)
        marker.touch()
    test_set = json.loads(subprocess.run([exe, "evaluate-test-set", test_dir], check=True,
                                         capture_output=True, text=True).stdout)
    assert test_set["rows"] == a.requests, test_set
    ratio = ref_wall / rust["wall_s"]
    print(f"live look over {a.requests:,} requests ({rust['captured']:,} captured, {rust['labelled']:,} labelled; "
          f"{size / 2**30:.2f} GiB of JSON Lines); both agree on every variant's rows and RMSE")
    print(f"{'':34}{'rust':>12}{'reference':>14}  ratio")
    print(f"{'wall (s)':34}{rust['wall_s']:12.2f}{ref_wall:14.2f}  {ratio:.1f}x faster  {'PASS' if ratio >= 20 else 'FAIL'} (target >= 20x)")
    print(f"{'records per second':34}{rust['records_per_s']:12,.0f}{rust['records'] / ref_wall:14,.0f}")
    print(f"{'peak RSS (MiB)':34}{rust['peak_rss_mib']:12.1f}{ref_rss:14.1f}  {'PASS' if rust['peak_rss_mib'] <= 256 else 'FAIL'} (target <= 256 MiB)")
    print(f"test-set look over {test_set['rows']:,} labelled rows (two variants scored through the embedded runtime, "
          f"blocks of 50,000 rows): {test_set['wall_s']:.2f} s, {test_set['rows_per_s']:,.0f} rows/s, "
          f"peak RSS {test_set['peak_rss_mib']:.1f} MiB  {'PASS' if test_set['peak_rss_mib'] <= 256 else 'FAIL'} (target <= 256 MiB)")
    ok = ratio >= 20 and rust["peak_rss_mib"] <= 256 and test_set["peak_rss_mib"] <= 256
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
