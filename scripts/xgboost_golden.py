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

Container requests: CSV and LIBSVM bodies as the XGBoost container parses them and the
bodies it answers with, per generation (crates/local/tests/golden/container-requests.json).

Pickles: `<objective>.pkl` is xgboost 1.7.6's own `pickle.dumps(booster)` (the handle a
UBJSON memory snapshot). The older containers' pickles cannot be made by an old xgboost
here (no wheels for this Python), so two are built to their documented shape with
Booster.__getstate__ patched, as those versions' python-package/xgboost/core.py wrote it
(a dict whose `handle` is the model's bytes): `*.pkl-0.90` (protocol 3; the handle the
0.90 binary model — no `binf` header, version 0, base_score in margin space — and
best_ntree_limit 4, which the 0.90 container predicts with) and `*.pkl-1.2` (protocol 4;
the handle `CONFIG-offset:` + i64 length + the binary model + JSON config, as 1.0-1.2's
XGBoosterSerializeToBuffer).
"""
import gzip
import io
import json
import pathlib
import pickle
import tarfile
import struct
import sys
import tempfile

import numpy as np
import xgboost as xgb

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "crates/xgboost/tests/golden"
REPLAY = ROOT / "examples/replay"
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


def binary_090(binary, objective):
    """The 1.x legacy binary as 0.90 wrote it: version 0 and base_score as a margin."""
    body = bytearray(binary)
    (base_score,) = struct.unpack("<f", body[0:4])
    base = np.float32(base_score)
    if objective == "binary:logistic":
        base = -np.log(np.float32(1.0) / base - np.float32(1.0))
    body[0:4] = struct.pack("<f", float(np.float32(base)))
    body[20:36] = bytes(16)  # major, minor version; num_target, boost_from_average (reserved in 0.90)
    return bytes(body)


def old_pickle(booster, handle, protocol, extra):
    """pickle.dumps(booster) as an older python package's __getstate__ shaped it."""
    state = {"handle": bytearray(handle), "feature_names": None, "feature_types": None, **extra}
    original = xgb.core.Booster.__getstate__
    xgb.core.Booster.__getstate__ = lambda self: state
    try:
        return pickle.dumps(booster, protocol=protocol)
    finally:
        xgb.core.Booster.__getstate__ = original


def trained(objective, seed):
    """A small model of `objective` on seeded data with missing values, and its test rows:
    rows with missing values and rows exactly on split thresholds (float32 comparisons
    decide those). Shared with scripts/xgboost3_golden.py."""
    rng = np.random.default_rng(seed)
    x = with_missing(rng, rng.random((400, FEATURES)), 0.15)
    y = labels(objective, rng, x)
    params = {"objective": objective, "max_depth": 3, "eta": 0.3, "seed": 7, "nthread": 1}
    if objective == "reg:tweedie":
        params["tweedie_variance_power"] = 1.4
    booster = xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=6)
    test = with_missing(rng, rng.random((40, FEATURES)), 0.2)
    on_split = np.full((min(20, len(thresholds(booster))), FEATURES), 0.5)
    for row, (feature, threshold) in zip(on_split, thresholds(booster)):
        row[feature] = threshold
    test = np.vstack([test, on_split]).astype(np.float32)
    return booster, test, xgb.DMatrix(test, missing=np.nan)


def build(objective, index):
    booster, test, matrix = trained(objective, 1000 + index)
    forms = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ext in ("json", "ubj", "bin"):
            path = pathlib.Path(tmp) / f"model.{ext}"
            booster.save_model(str(path))
            forms[ext] = path.read_bytes()
    forms["pkl"] = pickle.dumps(booster, protocol=4)
    pickles = []
    if objective in ("reg:squarederror", "binary:logistic"):
        binary = forms["bin"][4:] if forms["bin"][:4] == b"binf" else forms["bin"]
        forms["pkl-0.90"] = old_pickle(booster, binary_090(binary, objective), 3, {"best_ntree_limit": 4})
        limited = (0, 4)
        pickles.append({
            "file": "pkl-0.90",
            "margin": [float(v) for v in booster.predict(matrix, output_margin=True, iteration_range=limited)],
            "prediction": [float(v) for v in booster.predict(matrix, iteration_range=limited)],
        })
        config = b'{"learner": {"generic_param": {}}}'
        handle = b"CONFIG-offset:" + struct.pack("<q", len(binary)) + binary + config
        forms["pkl-1.2"] = old_pickle(booster, handle, 4, {})
    case = {
        "objective": objective,
        "pickles": pickles,
        "rows": [[None if np.isnan(v) else float(v) for v in row] for row in test],
        "margin": [float(v) for v in booster.predict(matrix, output_margin=True)],
        "prediction": [float(v) for v in booster.predict(matrix)],
    }
    return forms, case


def model_tar_gz(model_bytes):
    """model.tar.gz as the container writes it (xgboost-model inside), byte-stable."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size, info.mtime, info.mode = len(model_bytes), 0, 0o644
        tar.addfile(info, io.BytesIO(model_bytes))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return out.getvalue()


def replay_example():
    """examples/replay: a champion trained on a badly measured feature, a challenger on a
    well measured one (both xgboost 1.7.6, binary legacy format as the 1.7-1 container
    saves it), and 1,500 labelled rows (label first) to replay them on."""
    rng = np.random.default_rng(77)

    def rows(n, noise):
        x = rng.random((n, 3))
        y = 100 * x[:, 0] + 40 * x[:, 1] * x[:, 2] + rng.normal(0, 2, n)
        seen = x.copy()
        seen[:, 0] += rng.normal(0, noise, n)
        return seen, y

    files = {}
    for name, noise in (("champion", 0.3), ("challenger", 0.0)):
        x, y = rows(2000, noise)
        params = {"objective": "reg:squarederror", "max_depth": 4, "eta": 0.3, "seed": 3, "nthread": 1}
        booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=30)
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "xgboost-model"
            booster.save_model(str(path))
            files[f"{name}.tar.gz"] = model_tar_gz(path.read_bytes())
    x, y = rows(1500, 0.0)
    files["test.csv"] = "".join(
        f"{label:.4f},{a:.5f},{b:.5f},{c:.5f}\n" for label, (a, b, c) in zip(y, x)
    ).encode()
    return files


# Requests to the XGBoost container, and what the container makes of them (its own
# parsing lines from aws/sagemaker-xgboost-container 1.7-1: encoder.csv_to_dmatrix and
# serve_utils._get_sparse_matrix_from_libsvm; its encodings: serve.py's comma join
# (0.90-1 to 1.2-1), sagemaker_containers' array_to_csv and encode_predictions_as_json
# (1.2-2 and later), and the batch join).
CONTAINER_REQUESTS = [
    ("text/csv", "0.5,0.2,0.9"),
    ("text/csv", "0.5,,0.9\n0.1,0.2,0.3"),
    ("text/csv", "0.5,0.2"),
    ("text/csv", "0.5,0.2,0.9,0.1"),
    ("text/csv", "a,b,c"),
    ("text/csv", "0.5,0.2,0.9\n0.1"),
    ("text/csv", "0.5\t0.2\t0.9"),
    ("text/csv", "0.5;0.2;0.9"),
    ("text/csv", " 0.5 , 0.2 , 0.9 \r\n0.1,0.2,0.3\r\n"),
    ("text/csv", "nan,inf,-inf"),
    ("text/csv", "1_0,2,3"),
    ("text/csv", "1e39,1,2"),
    ("text/csv", "3.4e38,1,2"),
    ("text/libsvm", "0 0:inf"),
    ("text/csv", "\n\n0.5,0.2,0.9\n\n"),
    ("text/csv", "0.5,0.2,0.9\n\n0.1,0.2,0.3"),
    ("text/csv", "0.5"),
    ("text/csv", "0.25\n0.5\n0.75"),
    ("text/csv", "1e-3,2E2,.5"),
    ("text/csv", "0x10,1,2"),
    ("text/csv", "0.5,0.2,0.9,"),
    ("text/csv; charset=utf-8", "0.9,0.9,0.9"),
    ("text/libsvm", "0 0:0.5 1:0.2 2:0.9"),
    ("text/libsvm", "1 0:0.5 2:0.9\n0 1:0.3"),
    ("text/x-libsvm", "1 0:0.5\n0"),
    ("text/libsvm", "1 1:0.5 1:0.25"),
    ("text/libsvm", "0 5:1"),
    ("text/libsvm", "0 a:1"),
    ("text/libsvm", "1 2"),
    ("text/libsvm", "0 0:0.5:7 1:0.2"),
    # binary:hinge answers 0.0 and 1.0: Python writes the ".0".
    ("text/csv", "0.1,0.2,0.3,0.4\n0.9,0.8,0.7,0.6\n,,,\n-3,5,-3,5", "binary-hinge"),
    ("text/libsvm", "1 0:0.9 3:0.1\n0 1:-2", "binary-hinge"),
    # Two model files in one archive: the 1.2-2 and later containers average them.
    ("text/csv", "0.5,0.2,0.9\n0.1,,0.3\n0.9,0.9,0.9", "ensemble"),
]


def container_parse(content_type, body):
    """The container's matrix for a request, or the HTTP status it answers."""
    import csv as csvlib
    from scipy.sparse import csr_matrix

    text = body.encode().strip().decode("utf-8")
    try:
        if content_type.startswith("text/csv"):
            sniffed = csvlib.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
            delimiter = "," if sniffed.isalnum() else sniffed
            clean = lambda line: ["nan" if x == "" else x for x in line.split(delimiter)]
            return xgb.DMatrix(np.array(list(map(clean, text.split("\n")))).astype(float)), None
        row, col, data = [], [], []
        for row_idx, line in enumerate(text.split("\n")):
            for item in line.split(" "):
                if ":" in item:
                    row.append(row_idx)
                    col.append(item.split(":")[0])
                    data.append(item.split(":")[1])
        matrix = csr_matrix((np.array(data).astype(float), (np.array(row), np.array(col).astype(int))))
        return xgb.DMatrix(matrix), None
    except Exception:  # the container answers 415
        return None, 415


def container_requests(models):
    """crates/local/tests/golden/container-requests.json: each request's outcome on its
    model (the replay champion — xgboost 1.7.6 legacy binary, 3 features — unless it
    names a golden model) and the answer bodies."""
    boosters = {}
    for name, model_bytes in models.items():
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "xgboost-model"
            path.write_bytes(model_bytes)
            boosters[name] = xgb.Booster(model_file=str(path))
    ensemble = [boosters["champion"], boosters["challenger"]]
    cases = []
    for content_type, body, *model in CONTAINER_REQUESTS:
        model = model[0] if model else "champion"
        case = {"contentType": content_type, "body": body, "model": model}
        matrix, status = container_parse(content_type, body)
        if matrix is not None:
            try:
                if model == "ensemble":  # serve_utils.predict: np.mean(ensemble, axis=0)
                    preds = np.mean([b.predict(matrix, validate_features=False) for b in ensemble], axis=0).tolist()
                else:
                    preds = boosters[model].predict(matrix, validate_features=False).tolist()
            except xgb.core.XGBoostError:
                status = 400
        if status is not None:
            case["status"] = status
        else:
            stream = io.StringIO()
            import csv as csvlib
            csvlib.writer(stream, lineterminator="\n").writerows(np.reshape(np.array(preds), (len(preds), 1)))
            case["answers"] = {
                # The comma-joining containers (0.90-1 to 1.2-1) load one file, never an ensemble.
                **({} if model == "ensemble" else {"commaJoined": ",".join(map(str, preds))}),
                "csv": stream.getvalue(),
                "json": json.dumps({"predictions": [{"score": p} for p in preds]}),
                "batch": "\n".join(map(str, preds)) + "\n",
            }
        cases.append(case)
    return (json.dumps({"xgboost": xgb.__version__, "cases": cases}, indent=1) + "\n").encode()


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


def check_trained():
    """The local trainer's model (crates/local/tests/golden, kept current by the Rust test
    `a_model_trained_here_is_xgboost_json_that_xgboost_predicts_the_same`) loads in
    xgboost and predicts what weighbridge serves from it, to 1e-6."""
    golden = ROOT / "crates/local/tests/golden"
    booster = xgb.Booster(model_file=str(golden / "trained-xgboost.json"))
    expected = json.loads((golden / "trained-predictions.json").read_text())
    rows = np.array([[np.nan if v is None else v for v in r] for r in expected["rows"]], dtype=np.float32)
    theirs = booster.predict(xgb.DMatrix(rows, missing=np.nan))
    ours = np.array(expected["prediction"], dtype=np.float64)
    worst = float(np.max(np.abs(theirs - ours) / np.maximum(np.abs(theirs), 1.0)))
    if worst > 1e-6:
        print(f"the locally trained model predicts differently in xgboost: max relative difference {worst:.2e}")
        sys.exit(1)
    print(f"the locally trained model loads in xgboost {xgb.__version__}: {len(ours)} rows agree (max relative difference {worst:.1e})")


def main():
    check_trained()
    files = {GOLDEN / n: d for n, d in generate().items()}
    replay = replay_example()
    files.update({REPLAY / n: d for n, d in replay.items()})
    champion = tarfile.open(fileobj=io.BytesIO(replay["champion.tar.gz"])).extractfile("xgboost-model").read()
    challenger = tarfile.open(fileobj=io.BytesIO(replay["challenger.tar.gz"])).extractfile("xgboost-model").read()
    models = {"champion": champion, "challenger": challenger, "binary-hinge": files[GOLDEN / "binary-hinge.bin"]}
    files[ROOT / "crates/local/tests/golden/container-requests.json"] = container_requests(models)
    if "--check" in sys.argv:
        stale = [str(n.relative_to(ROOT)) for n, d in files.items() if not n.exists() or n.read_bytes() != d]
        if stale:
            print("xgboost golden files differ from a fresh run:", ", ".join(stale))
            sys.exit(1)
        print(f"xgboost golden files match xgboost {xgb.__version__} ({len(files)} files)")
        return
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(files)} files to {GOLDEN.relative_to(ROOT)} and {REPLAY.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
