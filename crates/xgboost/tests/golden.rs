//! Predictions agree with xgboost's own (1.7.6, scripts/xgboost_golden.py) for every
//! objective served and every form the model was saved in: JSON, UBJSON and the legacy
//! binary, and pickled (1.7's own pickle; the 0.90 and 1.2 containers' shapes, see the
//! script) — on rows with missing values and rows exactly on split thresholds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::path::PathBuf;

use serde_json::Value;
use weighbridge_xgboost::{load, Booster, Format};

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Relative agreement to 1e-6 (absolute below 1).
fn close(rust: f32, python: f64) -> bool {
    (f64::from(rust) - python).abs() <= 1e-6 * python.abs().max(1.0)
}

/// A golden row's features (null = missing, NaN).
fn features(row: &Value) -> Vec<f32> {
    row.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().map_or(f32::NAN, |v| v as f32))
        .collect()
}

/// The booster's margin and prediction for `x` agree with xgboost's.
fn agrees(booster: &Booster, x: &[f32], (margin, prediction): (f64, f64), what: &str) {
    let ours = booster.predict_margin(x);
    assert!(
        close(ours, margin),
        "{what} {x:?}: margin {ours} vs xgboost {margin}"
    );
    let ours = booster.predict(x);
    assert!(
        close(ours, prediction),
        "{what}: prediction {ours} vs xgboost {prediction}"
    );
}

#[test]
fn every_form_of_every_objective_predicts_as_xgboost() {
    let text = std::fs::read_to_string(golden().join("predictions.json")).unwrap();
    let golden_cases: Value = serde_json::from_str(&text).unwrap();
    let cases = golden_cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 11);
    let mut compared = 0;
    for case in cases {
        let stem = case["stem"].as_str().unwrap();
        let mut forms = vec![
            ("json", Format::Json, "margin", "prediction"),
            ("ubj", Format::Ubjson, "margin", "prediction"),
            ("bin", Format::Binary, "margin", "prediction"),
            ("pkl", Format::Pickle, "margin", "prediction"),
        ];
        if !case["pickles"].as_array().unwrap().is_empty() {
            forms.push(("pkl-1.2", Format::Pickle, "margin", "prediction"));
            forms.push(("pkl-0.90", Format::Pickle, "0.90 margin", "0.90 prediction"));
        }
        for (ext, format, margin_key, prediction_key) in forms {
            let bytes = std::fs::read(golden().join(format!("{stem}.{ext}"))).unwrap();
            let booster = load(&bytes).unwrap_or_else(|e| panic!("{stem}.{ext}: {e}"));
            assert_eq!(booster.format, format, "{stem}.{ext}");
            assert_eq!(booster.objective.name(), case["objective"].as_str().unwrap());
            assert_eq!(booster.trees.len(), 6);
            let expected = |key: &str, i: usize| match key {
                "0.90 margin" => case["pickles"][0]["margin"][i].as_f64().unwrap(),
                "0.90 prediction" => case["pickles"][0]["prediction"][i].as_f64().unwrap(),
                key => case[key][i].as_f64().unwrap(),
            };
            if ext == "pkl-0.90" {
                assert_eq!(
                    booster.tree_limit,
                    Some(4),
                    "the 0.90 container's best_ntree_limit"
                );
            }
            let rows = case["rows"].as_array().unwrap();
            for (i, row) in rows.iter().enumerate() {
                let x = features(row);
                let (margin, prediction) = (expected(margin_key, i), expected(prediction_key, i));
                agrees(
                    &booster,
                    &x,
                    (margin, prediction),
                    &format!("{stem}.{ext} row {i}"),
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, (11 * 4 + 2 * 2) * 60);
}

#[test]
fn batch_prediction_is_row_prediction() {
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(golden().join("predictions.json")).unwrap()).unwrap();
    for case in cases["cases"].as_array().unwrap() {
        let booster =
            load(&std::fs::read(golden().join(format!("{}.json", case["stem"].as_str().unwrap()))).unwrap())
                .unwrap();
        let x: Vec<f32> = case["rows"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(features)
            .collect();
        let batch = booster.predict_rows(&x, 4);
        let one_by_one: Vec<f32> = x.chunks_exact(4).map(|r| booster.predict(r)).collect();
        assert_eq!(batch.len(), 60);
        assert!(batch
            .iter()
            .zip(&one_by_one)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

/// The 3.0-5 container's generation (scripts/xgboost3_golden.py, xgboost 3.0.5):
/// `xgboost-model` as the container saves it (UBJSON, no extension), JSON, and a pickle
/// (protocol 5, the handle a UBJSON snapshot) — every objective, to 1e-6.
#[test]
fn models_saved_by_xgboost_3_predict_as_xgboost_3() {
    let dir = golden().join("v3");
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("predictions.json")).unwrap()).unwrap();
    assert!(cases["xgboost"].as_str().unwrap().starts_with("3."));
    let mut compared = 0;
    for case in cases["cases"].as_array().unwrap() {
        let stem = case["stem"].as_str().unwrap();
        for (ext, format) in [
            ("xgboost-model", Format::Ubjson),
            ("json", Format::Json),
            ("pkl", Format::Pickle),
        ] {
            let booster = load(&std::fs::read(dir.join(format!("{stem}.{ext}"))).unwrap())
                .unwrap_or_else(|e| panic!("v3/{stem}.{ext}: {e}"));
            assert_eq!(booster.format, format, "{stem}.{ext}");
            assert_eq!(booster.version.map(|v| v.0), Some(3), "{stem}.{ext}");
            for (i, row) in case["rows"].as_array().unwrap().iter().enumerate() {
                let x = features(row);
                let (margin, prediction) = (
                    case["margin"][i].as_f64().unwrap(),
                    case["prediction"][i].as_f64().unwrap(),
                );
                agrees(
                    &booster,
                    &x,
                    (margin, prediction),
                    &format!("v3/{stem}.{ext} row {i}"),
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 11 * 3 * 60);
}
