//! `weighbridge compare` from the outside: the shipped example, JSON output, and every
//! kind of bad input ending in a clear message and a non-zero exit, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

mod support;
use support::{repo, scratch};

use std::path::Path;
use std::process::{Command, Output};

fn weighbridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weighbridge"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the binary runs")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and expects a failure whose message contains `expected`.
fn fails_with(args: &[&str], expected: &str) {
    let out = weighbridge(args);
    let err = stderr(&out);
    assert!(!out.status.success(), "expected failure for {args:?}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(expected),
        "stderr {err:?} should contain {expected:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn the_shipped_example_prints_metrics_and_paired_tests() {
    let out = weighbridge(&[
        "compare",
        "--labels",
        "examples/compare/labels.csv",
        "examples/compare/champion.csv",
        "examples/compare/challenger.jsonl",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("2000 rows, binary classification, baseline champion"),
        "{text}"
    );
    assert!(
        text.contains("challenger − champion ┆ auc      ┆ delong"),
        "{text}"
    );
    assert!(text.contains("log_loss ┆ paired_bootstrap"), "{text}");
}

#[test]
fn json_output_matches_the_core_and_is_reproducible() {
    let args = [
        "compare",
        "--json",
        "--labels",
        "examples/compare/labels.csv",
        "examples/compare/champion.csv",
        "examples/compare/challenger.jsonl",
        "--name",
        "A",
        "--name",
        "B",
    ];
    let first = weighbridge(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["rows"], 2000);
    assert_eq!(report["variants"][1]["name"], "B");
    let auc = &report["comparisons"][0];
    assert_eq!(auc["metric"], "auc");
    let d = auc["difference"].as_f64().unwrap();
    let (a, b) = (
        auc["baseline_value"].as_f64().unwrap(),
        auc["challenger_value"].as_f64().unwrap(),
    );
    assert!(
        (d - (b - a)).abs() < 1e-12 && d > 0.0,
        "the example's challenger is better"
    );
    assert!(auc["ci_low"].as_f64().unwrap() > 0.0);
    let second = weighbridge(&args);
    assert_eq!(first.stdout, second.stdout, "same seed, same output");
}

#[test]
fn regression_files_compare_with_bootstrap() {
    let dir = scratch("regression");
    let labels = write(&dir, "y.csv", "1\n2\n3\n4\n5\n6\n0\n");
    let a = write(&dir, "a.csv", "1.1\n2.2\n2.7\n4.4\n5.1\n5.5\n0.2\n");
    let b = write(&dir, "b.json", r#"{"predictions":[1,2,3,4,5,6,0.1]}"#);
    let out = weighbridge(&["compare", "--labels", &labels, &a, &b]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("regression"), "{text}");
    assert!(text.contains("rmse") && text.contains("mae"), "{text}");
    assert!(text.contains("MAPE skipped"), "{text}");
}

#[test]
fn length_mismatch_is_a_clear_error() {
    let dir = scratch("mismatch");
    let labels = write(&dir, "y.csv", "1\n0\n1\n");
    let a = write(&dir, "a.csv", "0.9\n0.1\n");
    fails_with(
        &["compare", "--labels", &labels, &a],
        "2 predictions but 3 labels",
    );
}

#[test]
fn nan_is_a_clear_error() {
    let dir = scratch("nan");
    let labels = write(&dir, "y.csv", "1\n0\n1\n");
    let a = write(&dir, "a.csv", "0.9\nNaN\n0.4\n");
    fails_with(
        &["compare", "--labels", &labels, &a],
        "line 2: NaN is not a finite number",
    );
}

#[test]
fn non_binary_labels_for_auc_are_a_clear_error() {
    let dir = scratch("nonbinary");
    let labels = write(&dir, "y.csv", "1\n0\n2\n");
    let a = write(&dir, "a.csv", "0.9\n0.1\n0.4\n");
    fails_with(
        &["compare", "--task", "classification", "--labels", &labels, &a],
        "binary classification needs labels 0 or 1",
    );
}

#[test]
fn an_empty_file_is_a_clear_error() {
    let dir = scratch("empty");
    let labels = write(&dir, "y.csv", "1\n0\n");
    let a = write(&dir, "a.csv", "\n");
    fails_with(&["compare", "--labels", &labels, &a], "is empty");
}

#[test]
fn a_single_class_is_a_clear_error() {
    let dir = scratch("single");
    let labels = write(&dir, "y.csv", "1\n1\n1\n");
    let a = write(&dir, "a.csv", "0.9\n0.1\n0.4\n");
    fails_with(&["compare", "--labels", &labels, &a], "need both classes");
}

#[test]
fn a_missing_file_and_bad_names_are_clear_errors() {
    let out = weighbridge(&["compare", "--labels", "no/such/labels.csv", "x.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read no/such/labels.csv"),
        "{}",
        stderr(&out)
    );
    fails_with(
        &[
            "compare",
            "--labels",
            "examples/compare/labels.csv",
            "examples/compare/champion.csv",
            "--name",
            "a",
            "--name",
            "b",
        ],
        "2 --name values for 1 prediction files",
    );
}

#[test]
fn plot_draws_roc_curves_or_predicted_against_actual() {
    let dir = scratch("plot");
    let roc = dir.join("roc.svg");
    let out = weighbridge(&[
        "compare",
        "--labels",
        "examples/compare/labels.csv",
        "examples/compare/champion.csv",
        "examples/compare/challenger.jsonl",
        "--plot",
        roc.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("plot written to"), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&roc).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("ROC curves"),
        "{}",
        &svg[..200]
    );
    assert!(svg.contains("champion") && svg.contains("challenger"));

    let labels = write(&dir, "y.csv", "1\n2\n3\n4\n");
    let a = write(&dir, "a.csv", "1.1\n2.2\n2.7\n4.4\n");
    let scatter = dir.join("scatter.svg");
    let out = weighbridge(&[
        "compare",
        "--labels",
        &labels,
        &a,
        "--plot",
        scatter.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&scatter).unwrap();
    assert!(svg.contains("Predicted against actual") && svg.matches("<circle").count() >= 4);
}
