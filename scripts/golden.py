#!/usr/bin/env python3
"""Golden values for weighbridge-core, computed with scikit-learn, scipy and numpy.

    python3 scripts/golden.py           # writes the files
    python3 scripts/golden.py --check   # regenerates in memory, compares (CI does this)

Writes crates/core/tests/golden/*.json (inputs and expected outputs) and the shipped
example in examples/compare/. Deterministic: fixed seeds, pinned packages
(scripts/requirements-reference.txt).

DeLong's reference is a direct numpy transcription of the structural-component
definition (DeLong, DeLong & Clarke-Pearson 1988), O(m·n), checked here against the
midrank formulation (Sun & Xu 2014) built on scipy.stats.rankdata, so the Rust fast
algorithm is compared with two independent computations.
"""
import json
import pathlib
import sys

import numpy as np
from scipy import stats
from sklearn import metrics as skm

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "crates/core/tests/golden"
EXAMPLE = ROOT / "examples/compare"
ALPHA = 0.05


def regression_metrics(pred, y):
    nz = y != 0
    return {
        "rows": int(len(y)),
        "mse": float(skm.mean_squared_error(y, pred)),
        "rmse": float(skm.root_mean_squared_error(y, pred)),
        "mae": float(skm.mean_absolute_error(y, pred)),
        "r2": float(skm.r2_score(y, pred)),
        "mape": float(skm.mean_absolute_percentage_error(y[nz], pred[nz])) if nz.any() else None,
        "mape_skipped_zero_labels": int((~nz).sum()),
    }


def classification_metrics(score, y, threshold=0.5):
    pred = (score >= threshold).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "auc": float(skm.roc_auc_score(y, score)) if both else None,
        "log_loss": float(skm.log_loss(y, score, labels=[0, 1])),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        "f1": float(skm.f1_score(y, pred, zero_division=0)),
        "threshold": threshold,
    }


def delong_structural(a, b, y):
    """O(m·n) DeLong from its definition: psi(x, y) = 1 if x > y, 1/2 if equal."""
    pos, neg = y == 1, y == 0
    out = []
    for s in (a, b):
        x, z = s[pos][:, None], s[neg][None, :]
        psi = (x > z) + 0.5 * (x == z)
        out.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    return out


def delong_midrank(a, b, y):
    """The Sun & Xu midrank formulation on scipy's rankdata."""
    pos, neg = y == 1, y == 0
    m, n = pos.sum(), neg.sum()
    res = []
    for s in (a, b):
        tz = stats.rankdata(s)
        tx = stats.rankdata(s[pos])
        ty = stats.rankdata(s[neg])
        auc = (tz[pos].sum() - m * (m + 1) / 2) / (m * n)
        v10 = (tz[pos] - tx) / n
        v01 = 1 - (tz[neg] - ty) / m
        res.append((auc, v10, v01))
    return res


def delong(a, b, y):
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    if m < 2 or n < 2:
        return None
    fast = delong_midrank(a, b, y)
    slow = delong_structural(a, b, y)
    for (fa, f10, f01), (sa, s10, s01) in zip(fast, slow):
        assert abs(fa - sa) < 1e-12 and np.allclose(f10, s10) and np.allclose(f01, s01)
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = fast
    s10 = np.cov(np.vstack([v10a, v10b]))
    s01 = np.cov(np.vstack([v01a, v01b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    se = float(np.sqrt(max(var, 0.0)))
    diff = float(auc_b - auc_a)
    z = diff / se if se > 0 else (0.0 if diff == 0 else float(np.sign(diff) * np.inf))
    half = stats.norm.ppf(1 - ALPHA / 2) * se
    return {
        "auc_a": float(auc_a),
        "auc_b": float(auc_b),
        "difference": diff,
        "se": se,
        "se_a": float(np.sqrt(max(s10[0, 0] / m + s01[0, 0] / n, 0.0))),
        "se_b": float(np.sqrt(max(s10[1, 1] / m + s01[1, 1] / n, 0.0))),
        # JSON has no infinity: a difference with zero variance is written as a string.
        "z": z if np.isfinite(z) else str(z),
        "p_value": float(min(1.0, 2 * stats.norm.sf(abs(z)))),
        "ci_low": diff - half,
        "ci_high": diff + half,
        "positives": m,
        "negatives": n,
    }


def bootstrap_reference(la, lb, root, rng, reps=2000):
    """Multinomial paired bootstrap in numpy: the full-sample estimate and percentile CI."""
    f = np.sqrt if root else (lambda v: v)
    est = float(f(lb.mean()) - f(la.mean()))
    d = np.empty(reps)
    for r in range(reps):
        idx = rng.integers(0, len(la), len(la))
        d[r] = f(lb[idx].mean()) - f(la[idx].mean())
    lo, hi = np.percentile(d, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return {"estimate": est, "ci_low": float(lo), "ci_high": float(hi), "se": float(d.std(ddof=1))}


def case_classification(name, y, a, b, rng):
    la = -(y * np.log(np.clip(a, np.finfo(float).eps, 1 - np.finfo(float).eps))
           + (1 - y) * np.log(np.clip(1 - a, np.finfo(float).eps, 1 - np.finfo(float).eps)))
    lb = -(y * np.log(np.clip(b, np.finfo(float).eps, 1 - np.finfo(float).eps))
           + (1 - y) * np.log(np.clip(1 - b, np.finfo(float).eps, 1 - np.finfo(float).eps)))
    return {
        "name": name,
        "task": "binary_classification",
        "labels": y.tolist(),
        "a": a.tolist(),
        "b": b.tolist(),
        "expected": {
            "a": classification_metrics(a, y),
            "b": classification_metrics(b, y),
            "delong": delong(a, b, y) if len(np.unique(y)) == 2 else None,
            "bootstrap_log_loss": bootstrap_reference(la, lb, False, rng) if len(y) > 2 else None,
        },
    }


def case_regression(name, y, a, b, rng):
    return {
        "name": name,
        "task": "regression",
        "labels": y.tolist(),
        "a": a.tolist(),
        "b": b.tolist(),
        "expected": {
            "a": regression_metrics(a, y),
            "b": regression_metrics(b, y),
            "bootstrap_rmse": bootstrap_reference((a - y) ** 2, (b - y) ** 2, True, rng) if len(y) > 2 else None,
            "bootstrap_mae": bootstrap_reference(np.abs(a - y), np.abs(b - y), False, rng) if len(y) > 2 else None,
        },
    }


def single_auc(s, y):
    """One variant's AUC and DeLong standard error from the structural components,
    checked against the midrank formulation (two independent computations)."""
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    x, z = s[pos][:, None], s[neg][None, :]
    psi = (x > z) + 0.5 * (x == z)
    auc, v10, v01 = psi.mean(), psi.mean(axis=1), psi.mean(axis=0)
    fast_auc, f10, f01 = delong_midrank(s, s, y)[0]
    assert abs(fast_auc - auc) < 1e-12 and np.allclose(f10, v10) and np.allclose(f01, v01)
    return float(auc), float(np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n))


def welch(la, lb, root):
    """Welch's two-sample difference of mean losses (scipy's ttest_ind, unequal
    variances) or, for a root mean, the delta method written out in numpy."""
    if not root:
        t = stats.ttest_ind(lb, la, equal_var=False)
        est = float(lb.mean() - la.mean())
        return {"estimate": est, "se": est / float(t.statistic), "z": float(t.statistic), "df": float(t.df)}
    va = (la.var(ddof=1) / len(la)) / (4 * la.mean())
    vb = (lb.var(ddof=1) / len(lb)) / (4 * lb.mean())
    est = float(np.sqrt(lb.mean()) - np.sqrt(la.mean()))
    se = float(np.sqrt(va + vb))
    return {"estimate": est, "se": se, "z": est / se,
            "df": float((va + vb) ** 2 / (va ** 2 / (len(la) - 1) + vb ** 2 / (len(lb) - 1)))}


def case_two_sample(name, rng, n_a, n_b, shift):
    """Live A/B rows: each request reached one variant, so the samples are independent."""
    ya, yb = (rng.random(n_a) < 0.35).astype(float), (rng.random(n_b) < 0.35).astype(float)
    pa = sigmoid(1.4 * (ya - 0.5) + rng.normal(size=n_a))
    pb = sigmoid((1.4 + shift) * (yb - 0.5) + rng.normal(size=n_b))
    sq_a, sq_b = (pa - ya) ** 2, (pb - yb) ** 2
    eps = np.finfo(float).eps
    ll = lambda p, y: -(y * np.log(np.clip(p, eps, 1 - eps)) + (1 - y) * np.log(np.clip(1 - p, eps, 1 - eps)))
    auc_a, se_a = single_auc(pa, ya)
    auc_b, se_b = single_auc(pb, yb)
    return {
        "name": name,
        "task": "two_sample",
        "labels_a": ya.tolist(), "a": pa.tolist(),
        "labels_b": yb.tolist(), "b": pb.tolist(),
        "expected": {
            "rmse": welch(sq_a, sq_b, True),
            "mae": welch(np.abs(pa - ya), np.abs(pb - yb), False),
            "log_loss": welch(ll(pa, ya), ll(pb, yb), False),
            "auc": {"auc_a": auc_a, "se_a": se_a, "auc_b": auc_b, "se_b": se_b,
                    "difference": auc_b - auc_a, "se": float(np.hypot(se_a, se_b))},
        },
    }


def case_srm(name, counts, weights, concentration):
    """The Dirichlet-multinomial e-value: scipy's Dirichlet-multinomial pmf over its
    multinomial pmf, both from scipy.stats (not from the closed form the Rust uses)."""
    p = np.asarray(weights, float) / np.sum(weights)
    x = np.asarray(counts)
    dm = stats.dirichlet_multinomial.logpmf(x, concentration * p, int(x.sum()))
    mult = stats.multinomial.logpmf(x, int(x.sum()), p)
    return {"name": name, "task": "srm", "counts": counts, "weights": weights,
            "concentration": concentration, "expected": {"log_e": float(dm - mult)}}


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def correlated_scores(rng, y, sep_a, sep_b, shared=0.7):
    """Two variants' scores: a shared noise term (same rows, similar models) plus their own."""
    u = rng.normal(size=len(y))
    a = sigmoid(sep_a * (y - 0.5) + np.sqrt(shared) * u + np.sqrt(1 - shared) * rng.normal(size=len(y)))
    b = sigmoid(sep_b * (y - 0.5) + np.sqrt(shared) * u + np.sqrt(1 - shared) * rng.normal(size=len(y)))
    return a, b


def main():
    rng = np.random.default_rng(20261124)
    cases = []

    y = (rng.random(300) < 0.4).astype(float)
    a, b = correlated_scores(rng, y, 1.2, 1.6)
    cases.append(case_classification("classification_ties", y, np.round(a, 1), np.round(b, 1), rng))

    y = (rng.random(400) < 0.5).astype(float)
    a, b = correlated_scores(rng, y, 1.0, 1.3)
    cases.append(case_classification("classification_smooth", y, a, b, rng))

    y = (rng.random(20000) < 0.02).astype(float)
    a, b = correlated_scores(rng, y, 2.0, 2.2)
    cases.append(case_classification("classification_large_imbalanced", y, a, b, rng))

    y = (rng.random(60) < 0.5).astype(float)
    _, b = correlated_scores(rng, y, 1.0, 1.5)
    cases.append(case_classification("classification_constant_predictions", y, np.full(60, 0.5), b, rng))

    y = np.array([0.0, 1.0])
    cases.append(case_classification("classification_tiny", y, np.array([0.3, 0.8]), np.array([0.9, 0.1]), rng))

    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    cases.append(case_classification("classification_perfect_and_inverted", y,
                                     np.array([0.1, 0.9, 0.8, 0.2, 0.7]), np.array([0.9, 0.1, 0.2, 0.8, 0.3]), rng))

    x = rng.normal(size=5000)
    y = 3 * x + rng.normal(size=5000)
    y[rng.random(5000) < 0.01] = 0.0
    a = 3 * x + 0.5 * rng.normal(size=5000)
    b = 2.9 * x + 0.4 * rng.normal(size=5000)
    cases.append(case_regression("regression_large_with_zero_labels", y, a, b, rng))

    y = np.round(rng.normal(50, 10, size=200))
    cases.append(case_regression("regression_ties_and_constant", y, np.full(200, 50.0), np.round(y + rng.normal(size=200)), rng))

    y = np.full(30, 7.0)
    cases.append(case_regression("regression_constant_labels", y, np.full(30, 7.0), 7.0 + rng.normal(size=30), rng))

    y = np.array([1.0, 2.0])
    cases.append(case_regression("regression_tiny", y, np.array([1.5, 1.5]), np.array([0.0, 2.5]), rng))

    # Live-traffic cases with their own generator, so the cases above stay as committed.
    live = np.random.default_rng(20261202)
    cases.append(case_two_sample("two_sample_unequal_sizes", live, 1800, 200, 0.4))
    cases.append(case_two_sample("two_sample_balanced", live, 700, 650, 0.0))
    cases.append(case_srm("srm_at_the_weights", [9000, 1000], [0.9, 0.1], 1000.0))
    cases.append(case_srm("srm_mismatch", [18400, 1600], [90, 10], 1000.0))
    cases.append(case_srm("srm_three_variants", [500, 260, 240], [0.5, 0.25, 0.25], 50.0))

    if "--check" in sys.argv:
        return check(cases)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for c in cases:
        (GOLDEN / f"{c['name']}.json").write_text(json.dumps(c, separators=(",", ":"), allow_nan=False) + "\n")

    # The shipped example for `weighbridge compare`: a champion and a better challenger.
    EXAMPLE.mkdir(parents=True, exist_ok=True)
    y = (rng.random(2000) < 0.3).astype(float)
    a, b = correlated_scores(rng, y, 1.6, 2.0)
    (EXAMPLE / "labels.csv").write_text("".join(f"{int(v)}\n" for v in y))
    (EXAMPLE / "champion.csv").write_text("".join(f"{v:.6f}\n" for v in a))
    (EXAMPLE / "challenger.jsonl").write_text("".join(json.dumps({"score": round(float(v), 6)}) + "\n" for v in b))
    print(f"wrote {len(cases)} golden cases to {GOLDEN.relative_to(ROOT)} and the example to {EXAMPLE.relative_to(ROOT)}")


def same(a, b, path):
    """Inputs must match exactly; computed numbers to 1e-12 relative (BLAS and SIMD
    summation order may differ in the last bits between machines)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} vs {sorted(b)}"]
        return [e for k in a for e in same(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} vs {len(b)}"]
        return [e for i, (x, y) in enumerate(zip(a, b)) for e in same(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if abs(a - b) <= 1e-12 * max(abs(a), abs(b)) + 1e-15:
            return []
    if a == b:
        return []
    return [f"{path}: regenerated {a!r} vs committed {b!r}"]


def check(cases):
    """--check: regenerate in memory and compare with the committed golden files."""
    committed = {p.stem for p in GOLDEN.glob("*.json")}
    errors = [f"{name}: committed but not generated" for name in committed - {c["name"] for c in cases}]
    for c in cases:
        path = GOLDEN / f"{c['name']}.json"
        if not path.exists():
            errors.append(f"{c['name']}: generated but not committed")
            continue
        errors += same(json.loads(json.dumps(c, allow_nan=False)), json.loads(path.read_text()), c["name"])
    for e in errors[:20]:
        print("golden mismatch:", e)
    print(f"golden check: {len(cases)} cases, {len(errors)} mismatches")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
