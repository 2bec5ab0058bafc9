//! Exact values against scikit-learn / scipy / numpy, from `scripts/golden.py`.
//! Agreement is 1e-9 relative (with a 1e-12 absolute floor for values that are
//! analytically zero); bootstrap intervals must contain the reference estimate.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::path::PathBuf;

use serde_json::Value;
use weighbridge_core::compare::{
    auc_estimate, delong, loss_metric, paired_bootstrap, paired_mean_difference, unpaired_auc_difference,
    welch_difference, BootstrapConfig, LossMoments, LossStatistic,
};
use weighbridge_core::metrics::{ClassificationMetrics, RegressionMetrics};
use weighbridge_core::srm::window_log_e;
use weighbridge_core::CoreError;

fn cases() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "expected the golden cases of scripts/golden.py"
    );
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

fn column(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(case: &str, what: &str, got: f64, want: &Value) {
    let want = want
        .as_f64()
        .or_else(|| want.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{case} {what}: expected a number, got {want}"));
    if want.is_infinite() || got.is_infinite() {
        assert_eq!(got, want, "{case} {what}");
        return;
    }
    let tol = 1e-9 * want.abs().max(got.abs()) + 1e-12;
    assert!(
        (got - want).abs() <= tol,
        "{case} {what}: rust {got:e} vs reference {want:e}"
    );
}

fn close_opt(case: &str, what: &str, got: Option<f64>, want: &Value) {
    match (got, want.is_null()) {
        (None, true) => {}
        (Some(g), false) => close(case, what, g, want),
        _ => panic!("{case} {what}: rust {got:?} vs reference {want}"),
    }
}

#[test]
fn regression_metrics_match_scikit_learn() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["task"] == "regression") {
        let name = case["name"].as_str().unwrap();
        let y = column(&case["labels"]);
        for variant in ["a", "b"] {
            let m = RegressionMetrics::compute(&column(&case[variant]), &y).unwrap();
            let want = &case["expected"][variant];
            close(name, "mse", m.mse, &want["mse"]);
            close(name, "rmse", m.rmse, &want["rmse"]);
            close(name, "mae", m.mae, &want["mae"]);
            close(name, "r2", m.r2, &want["r2"]);
            close_opt(name, "mape", m.mape, &want["mape"]);
            assert_eq!(
                m.mape_skipped_zero_labels,
                want["mape_skipped_zero_labels"].as_u64().unwrap()
            );
            assert_eq!(m.rows, want["rows"].as_u64().unwrap());
            checked += 1;
        }
    }
    assert!(checked >= 8);
}

#[test]
fn classification_metrics_match_scikit_learn() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["task"] == "binary_classification") {
        let name = case["name"].as_str().unwrap();
        let y = column(&case["labels"]);
        for variant in ["a", "b"] {
            let m = ClassificationMetrics::compute(&column(&case[variant]), &y, 0.5).unwrap();
            let want = &case["expected"][variant];
            close_opt(name, "auc", m.auc, &want["auc"]);
            close(name, "log_loss", m.log_loss, &want["log_loss"]);
            close(name, "accuracy", m.accuracy, &want["accuracy"]);
            close(name, "precision", m.precision, &want["precision"]);
            close(name, "recall", m.recall, &want["recall"]);
            close(name, "f1", m.f1, &want["f1"]);
            assert_eq!(m.positives, want["positives"].as_u64().unwrap());
            checked += 1;
        }
    }
    assert!(checked >= 12);
}

#[test]
fn delong_matches_the_reference() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["task"] == "binary_classification") {
        let name = case["name"].as_str().unwrap();
        let y = column(&case["labels"]);
        let got = delong(&column(&case["a"]), &column(&case["b"]), &y, 0.05);
        let want = &case["expected"]["delong"];
        if want.is_null() {
            assert!(
                matches!(got, Err(CoreError::InsufficientData(_))),
                "{name}: expected InsufficientData, got {got:?}"
            );
            continue;
        }
        let d = got.unwrap();
        for (field, value) in [
            ("auc_a", d.auc_a),
            ("auc_b", d.auc_b),
            ("difference", d.difference),
            ("se", d.se),
            ("se_a", d.se_a),
            ("se_b", d.se_b),
            ("z", d.z),
            ("p_value", d.p_value),
            ("ci_low", d.ci_low),
            ("ci_high", d.ci_high),
        ] {
            close(name, field, value, &want[field]);
        }
        checked += 1;
    }
    assert!(checked >= 5, "DeLong checked on {checked} cases");
}

fn check_bootstrap(name: &str, la: &[f64], lb: &[f64], stat: LossStatistic, want: &Value) {
    let config = BootstrapConfig {
        replicates: 2000,
        seed: 7,
        alpha: 0.05,
        threads: 2,
    };
    let r = paired_bootstrap(la, lb, stat, &config).unwrap();
    close(name, "bootstrap estimate", r.estimate, &want["estimate"]);
    let reference = want["estimate"].as_f64().unwrap();
    assert!(
        r.ci_low <= reference && reference <= r.ci_high,
        "{name}: CI [{}, {}] must contain the reference estimate {reference}",
        r.ci_low,
        r.ci_high
    );
    // The Poisson and multinomial bootstraps estimate the same sampling spread.
    let ref_se = want["se"].as_f64().unwrap();
    if la.len() >= 200 && ref_se > 0.0 {
        assert!(
            (r.se / ref_se - 1.0).abs() < 0.15,
            "{name}: se {} vs numpy {}",
            r.se,
            ref_se
        );
    }
    // The analytic paired difference the evaluator accumulates agrees with the bootstrap.
    if la.len() >= 200 && ref_se > 0.0 {
        let z = paired_mean_difference(la, lb, stat).unwrap();
        close(name, "paired moments estimate", z.estimate, &want["estimate"]);
        assert!(
            (z.se / ref_se - 1.0).abs() < 0.15,
            "{name}: delta-method se {} vs numpy bootstrap {}",
            z.se,
            ref_se
        );
    }
    // Seeded runs reproduce, whatever the thread count.
    let again = paired_bootstrap(la, lb, stat, &BootstrapConfig { threads: 1, ..config }).unwrap();
    assert_eq!(r, again, "{name}: same seed must give the same result");
}

#[test]
fn bootstrap_contains_the_reference_and_reproduces() {
    let mut checked = 0;
    let paired = |c: &Value| c["task"] == "regression" || c["task"] == "binary_classification";
    for case in cases().into_iter().filter(paired) {
        let name = case["name"].as_str().unwrap();
        let y = column(&case["labels"]);
        let (a, b) = (column(&case["a"]), column(&case["b"]));
        let losses = |p: &[f64], f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
            p.iter().zip(&y).map(|(&p, &y)| f(p, y)).collect()
        };
        let e = &case["expected"];
        if !e["bootstrap_rmse"].is_null() {
            let sq = |p: f64, y: f64| (p - y) * (p - y);
            check_bootstrap(
                name,
                &losses(&a, &sq),
                &losses(&b, &sq),
                LossStatistic::RootMean,
                &e["bootstrap_rmse"],
            );
            let abs = |p: f64, y: f64| (p - y).abs();
            check_bootstrap(
                name,
                &losses(&a, &abs),
                &losses(&b, &abs),
                LossStatistic::Mean,
                &e["bootstrap_mae"],
            );
            checked += 2;
        }
        if !e["bootstrap_log_loss"].is_null() {
            let eps = f64::EPSILON;
            let ll = |p: f64, y: f64| {
                let p = p.clamp(eps, 1.0 - eps);
                if y == 1.0 {
                    -p.ln()
                } else {
                    -(1.0 - p).ln()
                }
            };
            check_bootstrap(
                name,
                &losses(&a, &ll),
                &losses(&b, &ll),
                LossStatistic::Mean,
                &e["bootstrap_log_loss"],
            );
            checked += 1;
        }
    }
    assert!(checked >= 8);
}

fn moments_of(losses: impl Iterator<Item = f64>) -> LossMoments {
    let mut m = LossMoments::default();
    losses.for_each(|l| m.push(l));
    m
}

#[test]
fn two_sample_differences_match_scipy_and_the_structural_delong() {
    let cases: Vec<Value> = cases()
        .into_iter()
        .filter(|c| c["task"] == "two_sample")
        .collect();
    assert_eq!(cases.len(), 2, "the two-sample cases of scripts/golden.py");
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let (ya, pa) = (column(&case["labels_a"]), column(&case["a"]));
        let (yb, pb) = (column(&case["labels_b"]), column(&case["b"]));
        for metric in ["rmse", "mae", "log_loss"] {
            let (loss, stat) = loss_metric(metric).unwrap();
            let a = moments_of(pa.iter().zip(&ya).map(|(&p, &y)| loss(p, y)));
            let b = moments_of(pb.iter().zip(&yb).map(|(&p, &y)| loss(p, y)));
            let d = welch_difference(&a, &b, stat).unwrap();
            let want = &case["expected"][metric];
            close(name, &format!("{metric} estimate"), d.estimate, &want["estimate"]);
            close(name, &format!("{metric} se"), d.se, &want["se"]);
            close(name, &format!("{metric} z"), d.z, &want["z"]);
            close(name, &format!("{metric} df"), d.df, &want["df"]);
            assert_eq!((d.rows_a, d.rows_b), (ya.len() as u64, yb.len() as u64));
        }
        let a = auc_estimate(&pa, &ya).unwrap();
        let b = auc_estimate(&pb, &yb).unwrap();
        let want = &case["expected"]["auc"];
        close(name, "auc_a", a.auc, &want["auc_a"]);
        close(name, "se_a", a.se, &want["se_a"]);
        close(name, "auc_b", b.auc, &want["auc_b"]);
        close(name, "se_b", b.se, &want["se_b"]);
        let d = unpaired_auc_difference(&a, &b);
        close(name, "auc difference", d.estimate, &want["difference"]);
        close(name, "auc difference se", d.se, &want["se"]);
    }
}

#[test]
fn srm_e_values_match_scipys_dirichlet_multinomial() {
    let cases: Vec<Value> = cases().into_iter().filter(|c| c["task"] == "srm").collect();
    assert_eq!(cases.len(), 3, "the SRM cases of scripts/golden.py");
    for case in &cases {
        let counts: Vec<u64> = case["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let log_e = window_log_e(
            &counts,
            &column(&case["weights"]),
            case["concentration"].as_f64().unwrap(),
        )
        .unwrap();
        close(
            case["name"].as_str().unwrap(),
            "log e",
            log_e,
            &case["expected"]["log_e"],
        );
    }
}
