#!/usr/bin/env python3
"""Golden models and predictions for weighbridge-xgboost, made by a pinned xgboost.

    python3 scripts/xgboost_golden.py           # writes the files
    python3 scripts/xgboost_golden.py --check   # regenerates in memory, compares (CI)

Needs scripts/requirements-xgboost.txt (xgboost 1.7.6: the last line that writes every
form the SageMaker containers left behind — JSON, UBJSON and the legacy binary).

For each objective, a small model is trained on seeded data with missing values (so
splits learn both default directions), saved as JSON (`.json`), UBJSON (`.ubj`) and
legacy binary (`.bin`, `binf` header), and xgboost's own margins and predictions on test
rows are recorded: rows with missing values, and rows that sit exactly on split
thresholds (float32 comparisons). Everything goes to crates/xgboost/tests/golden/.
"""
import json
import pathlib
import sys
import tempfile

import numpy as np
import xgboost as xgb

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "crates/xgboost/tests/golden"
FEATURES = 4

OBJECTIVES = [
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "reg:logistic",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "reg:gamma",
    "reg:tweedie",
]


def with_missing(rng, x, share):
    x = x.copy()
    x[rng.random(x.shape) < share] = np.nan
    return x


def labels(objective, rng, x):
    filled = np.nan_to_num(x, nan=0.5)
    signal = 2.0 * filled[:, 0] - filled[:, 1] + 0.5 * filled[:, 2] * filled[:, 3]
    if objective in ("reg:logistic",):
        return 1.0 / (1.0 + np.exp(-signal))
    if objective.startswith("binary:"):
        return (signal + rng.normal(0, 0.3, len(signal)) > 0.4).astype(float)
    if objective in ("count:poisson",):
        return rng.poisson(np.exp(0.5 * signal)).astype(float)
    if objective in ("reg:gamma", "reg:tweedie"):
        return np.exp(0.3 * signal) + 0.1
    if objective == "reg:squaredlogerror":
        return np.abs(signal) + rng.random(len(signal))
    return 10.0 * signal + rng.normal(0, 0.5, len(signal))


def thresholds(booster):
    """(feature, threshold) of every split, from the JSON dump."""
    out = []
    for tree in booster.get_dump(dump_format="json"):
        stack = [json.loads(tree)]
        while stack:
            node = stack.pop()
            if "split" in node:
                out.append((int(node["split"][1:]), float(node["split_condition"])))
                stack.extend(node["children"])
    return out


def build(objective, index):
    rng = np.random.default_rng(1000 + index)
    x = with_missing(rng, rng.random((400, FEATURES)), 0.15)
    y = labels(objective, rng, x)
    params = {"objective": objective, "max_depth": 3, "eta": 0.3, "seed": 7, "nthread": 1}
    if objective == "reg:tweedie":
        params["tweedie_variance_power"] = 1.4
    booster = xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=6)
    test = with_missing(rng, rng.random((40, FEATURES)), 0.2)
    # Rows exactly on thresholds: float32 comparisons decide them.
    on_split = np.full((min(20, len(thresholds(booster))), FEATURES), 0.5)
    for row, (feature, threshold) in zip(on_split, thresholds(booster)):
        row[feature] = threshold
    test = np.vstack([test, on_split]).astype(np.float32)
    matrix = xgb.DMatrix(test, missing=np.nan)
    forms = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ext in ("json", "ubj", "bin"):
            path = pathlib.Path(tmp) / f"model.{ext}"
            booster.save_model(str(path))
            forms[ext] = path.read_bytes()
    case = {
        "objective": objective,
        "rows": [[None if np.isnan(v) else float(v) for v in row] for row in test],
        "margin": [float(v) for v in booster.predict(matrix, output_margin=True)],
        "prediction": [float(v) for v in booster.predict(matrix)],
    }
    return forms, case


def generate():
    files = {}
    cases = []
    for index, objective in enumerate(OBJECTIVES):
        forms, case = build(objective, index)
        stem = objective.replace(":", "-")
        for ext, data in forms.items():
            files[f"{stem}.{ext}"] = data
        case["stem"] = stem
        cases.append(case)
    files["predictions.json"] = (
        json.dumps({"xgboost": xgb.__version__, "cases": cases}, indent=1) + "\n"
    ).encode()
    return files


def main():
    files = generate()
    if "--check" in sys.argv:
        stale = [n for n, d in files.items() if not (GOLDEN / n).exists() or (GOLDEN / n).read_bytes() != d]
        if stale:
            print("xgboost golden files differ from a fresh run:", ", ".join(stale))
            sys.exit(1)
        print(f"xgboost golden files match xgboost {xgb.__version__} ({len(files)} files)")
        return
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (GOLDEN / name).write_bytes(data)
    print(f"wrote {len(files)} files to {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
