//! A real SageMaker XGBoost artifact (`model.tar.gz` holding `xgboost-model`, as the
//! containers write it) deployed and invoked over the embedded backend: the endpoint
//! answers what xgboost itself predicts (golden values from xgboost 1.7.6, in
//! crates/xgboost/tests/golden), empty CSV fields are missing values, and an artifact
//! that cannot be served says what it is and why.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::VirtualClock;
use weighbridge_local::{MemoryBackend, Timing};
use weighbridge_tasks::deploy::{deploy, DeployInput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::{InvokeRequest, ObjectStore, PutCondition, Runtime};

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../xgboost/tests/golden")
            .join(name),
    )
    .unwrap()
}

use weighbridge_local::artifact::tar_gz;

async fn endpoint_serving(b: &MemoryBackend, artifact: Vec<u8>) {
    b.put_object("models", "byo/model.tar.gz", artifact, PutCondition::Always)
        .await
        .unwrap();
    let input: DeployInput = parse_input(json!({
        "executionName": "byo", "endpointName": "byo", "variantName": "champion",
        "image": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
        "modelDataUrl": "s3://models/byo/model.tar.gz",
        "roleArn": "arn:aws:iam::000000000000:role/sagemaker"
    }))
    .unwrap();
    deploy(b.ports(), "us-east-1", &input).await.unwrap();
    b.wait_in_service("byo", 30).unwrap();
}

fn backend() -> MemoryBackend {
    let start: DateTime<Utc> = DateTime::UNIX_EPOCH + Duration::days(20_000);
    MemoryBackend::simulated(Arc::new(VirtualClock::starting_at(start)), Timing::default(), 5)
}

async fn invoke(b: &MemoryBackend, body: &str) -> Result<String, String> {
    b.invoke_endpoint(&InvokeRequest {
        endpoint: "byo".into(),
        body: body.as_bytes().to_vec(),
        content_type: "text/csv".into(),
        accept: None,
        target_variant: None,
        target_model: None,
        inference_id: None,
    })
    .await
    .map(|r| String::from_utf8(r.body).unwrap())
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_sagemaker_xgboost_artifact_answers_as_xgboost_does() {
    let cases: Value = serde_json::from_slice(&golden("predictions.json")).unwrap();
    let case = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["objective"] == "binary:logistic")
        .unwrap();
    let b = backend();
    endpoint_serving(&b, tar_gz("xgboost-model", &golden("binary-logistic.bin"))).await;
    // Rows as CSV, a missing value as an empty field.
    let body: String = case["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let fields: Vec<String> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().map(|x| format!("{}", x as f32)).unwrap_or_default())
                .collect();
            fields.join(",") + "\n"
        })
        .collect();
    assert!(body.contains(",,") || body.lines().any(|l| l.starts_with(',') || l.ends_with(',')));
    let answer = invoke(&b, &body).await.unwrap();
    let got: Vec<f64> = answer.lines().map(|l| l.parse().unwrap()).collect();
    let expected: Vec<f64> = case["prediction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!(
            (g - e).abs() <= 1e-6 * e.abs().max(1.0),
            "row {i}: {g} vs xgboost {e}"
        );
    }
}

#[tokio::test]
async fn an_artifact_that_cannot_be_served_says_what_it_is_and_why() {
    for (artifact, says) in [
        (tar_gz("xgboost-model", &[0x80, 0x04, 0x95]), "pickle at byte"),
        (
            tar_gz("weights.h5", b"\x89HDF\r\n\x1a\n"),
            "weights.h5: not a valid xgboost model: the file is HDF5",
        ),
        (
            tar_gz("code/inference.py", b"print()"),
            "holds neither model.json",
        ),
        (b"not gzip".to_vec(), "gzip"),
        (tar_gz("xgboost-model", b"{\"learner\": {}}"), "learner.objective"),
    ] {
        let b = backend();
        endpoint_serving(&b, artifact).await;
        let err = invoke(&b, "1,2,3,4\n").await.unwrap_err();
        assert!(err.contains("cannot be served") && err.contains(says), "{err}");
        assert!(err.contains("s3://models/byo/model.tar.gz"), "{err}");
    }
}

/// A model trained here is an `xgboost-model` real xgboost loads: this test keeps the
/// committed model and its served predictions equal to what the trainer makes today
/// (`WEIGHBRIDGE_BLESS=1` rewrites them), and scripts/xgboost_golden.py (`--check` in CI)
/// loads that file in xgboost 1.7.6 and checks xgboost predicts the same to 1e-6.
#[test]
fn a_model_trained_here_is_xgboost_json_that_xgboost_predicts_the_same() {
    use weighbridge_local::artifact::{unpack_artifact, Artifact};
    use weighbridge_local::training::{train, Dataset};
    let data = Dataset::from_csv(&weighbridge_local::demo::salary_rows(300, 7, 0.3), "train").unwrap();
    let hyper = [("num_round", "8"), ("max_depth", "3")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    let model = train("xgboost:1.7-1", &hyper, &data).unwrap();
    let json = weighbridge_local::xgboost_export::to_xgboost_json(&model, 2).unwrap();
    let Artifact::Xgboost(served) = unpack_artifact(&weighbridge_local::training::pack(&model, 2)).unwrap()
    else {
        panic!("not xgboost");
    };
    let rows: Vec<Vec<Option<f32>>> = data.rows[..40]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.iter()
                .enumerate()
                .map(|(j, &v)| (i % 7 != j).then_some(v as f32))
                .collect()
        })
        .collect();
    let predictions: Vec<f32> = rows
        .iter()
        .map(|r| served.predict(&r.iter().map(|v| v.unwrap_or(f32::NAN)).collect::<Vec<_>>()))
        .collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let model_text = serde_json::to_string(&json).unwrap() + "\n";
    let expected =
        serde_json::to_string_pretty(&json!({"rows": rows, "prediction": predictions})).unwrap() + "\n";
    if std::env::var("WEIGHBRIDGE_BLESS").is_ok() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("trained-xgboost.json"), &model_text).unwrap();
        std::fs::write(dir.join("trained-predictions.json"), &expected).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("trained-xgboost.json")).unwrap(),
        model_text
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("trained-predictions.json")).unwrap(),
        expected
    );
}
