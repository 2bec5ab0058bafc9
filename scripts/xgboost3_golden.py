#!/usr/bin/env python3
"""Golden models of the 3.0-5 container's generation, made by a pinned xgboost 3.0.5.

    python3 scripts/xgboost3_golden.py           # writes crates/xgboost/tests/golden/v3/
    python3 scripts/xgboost3_golden.py --check   # regenerates in memory, compares (CI)

Needs scripts/requirements-xgboost3.txt (xgboost-cpu 3.0.5 — the 3.0-5 container's
xgboost — in its own venv beside 1.7.6's). The 3.0-5 container saves `xgboost-model`
with `Booster.save_model` and no extension, which xgboost 3 writes as UBJSON; users also
save JSON, and pickle the Booster (its handle a UBJSON snapshot). Same objectives, data,
rows with missing values and rows exactly on split thresholds as scripts/xgboost_golden.py
(whose helpers this imports), so the two generations are checked alike.
"""
import json
import pathlib
import pickle
import sys
import tempfile

import numpy as np
import xgboost as xgb

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from xgboost_golden import OBJECTIVES, ROOT, trained  # noqa: E402

GOLDEN = ROOT / "crates/xgboost/tests/golden/v3"


def build(objective, index):
    booster, test, matrix = trained(objective, 3000 + index)
    forms = {}
    with tempfile.TemporaryDirectory() as tmp:
        # As the 3.0-5 container saves it: no extension, UBJSON.
        path = pathlib.Path(tmp) / "xgboost-model"
        booster.save_model(str(path))
        forms["xgboost-model"] = path.read_bytes()
        path = pathlib.Path(tmp) / "model.json"
        booster.save_model(str(path))
        forms["json"] = path.read_bytes()
    forms["pkl"] = pickle.dumps(booster, protocol=5)
    case = {
        "objective": objective,
        "rows": [[None if np.isnan(v) else float(v) for v in row] for row in test],
        "margin": [float(v) for v in booster.predict(matrix, output_margin=True)],
        "prediction": [float(v) for v in booster.predict(matrix)],
    }
    return forms, case


def generate():
    files, cases = {}, []
    for index, objective in enumerate(OBJECTIVES):
        forms, case = build(objective, index)
        stem = objective.replace(":", "-")
        for ext, data in forms.items():
            files[f"{stem}.{ext}"] = data
        case["stem"] = stem
        cases.append(case)
    files["predictions.json"] = (json.dumps({"xgboost": xgb.__version__, "cases": cases}, indent=1) + "\n").encode()
    return {GOLDEN / n: d for n, d in files.items()}


def main():
    import warnings

    warnings.filterwarnings("ignore", message=".*UBJSON format as default.*")
    files = generate()
    if "--check" in sys.argv:
        stale = [str(n.relative_to(ROOT)) for n, d in files.items() if not n.exists() or n.read_bytes() != d]
        if stale:
            print("xgboost 3 golden files differ from a fresh run:", ", ".join(stale))
            sys.exit(1)
        print(f"xgboost 3 golden files match xgboost {xgb.__version__} ({len(files)} files)")
        return
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        path.write_bytes(data)
    print(f"wrote {len(files)} files to {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
