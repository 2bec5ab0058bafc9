//! InvokeEndpoint on a real XGBoost artifact answers, byte for byte, what the SageMaker
//! XGBoost container answers: the golden file (scripts/xgboost_golden.py, xgboost 1.7.6
//! with the container's own parsing and encoding lines) holds CSV and LIBSVM requests,
//! the status the container refuses each bad one with, and the bodies it writes — one
//! comma-joined line (0.90-1 to 1.2-1), one value per line or JSON by `Accept` (1.2-2
//! and later), one value per line for batch transform.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::VirtualClock;
use weighbridge_local::artifact::{tar_gz, tar_gz_files};
use weighbridge_local::{MemoryBackend, Timing, TransformJob};
use weighbridge_tasks::deploy::{deploy, DeployInput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::{InvokeRequest, ObjectStore, PutCondition, Runtime};

fn repo_file(path: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)).unwrap()
}

/// A replay model's `xgboost-model` (legacy binary, 3 features).
fn replay_model(name: &str) -> Vec<u8> {
    let archive = repo_file(&format!("examples/replay/{name}.tar.gz"));
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive.as_slice()));
    let mut entry = tar.entries().unwrap().next().unwrap().unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
    bytes
}

/// The archives the golden cases name: the replay champion, a golden binary:hinge model,
/// and both replay models in one archive (an ensemble).
fn models() -> [(&'static str, Vec<u8>); 3] {
    let (champion, challenger) = (replay_model("champion"), replay_model("challenger"));
    let hinge = repo_file("crates/xgboost/tests/golden/binary-hinge.bin");
    [
        ("champion", tar_gz("xgboost-model", &champion)),
        ("binary-hinge", tar_gz("xgboost-model", &hinge)),
        (
            "ensemble",
            tar_gz_files(&[("model-a", &champion), ("model-b", &challenger)]),
        ),
    ]
}

/// A backend with an endpoint `<model>-<version>` per model and container version, and
/// the SageMaker model name behind each endpoint.
async fn endpoints(versions: &[&str]) -> (MemoryBackend, BTreeMap<String, String>) {
    let start: DateTime<Utc> = DateTime::UNIX_EPOCH + Duration::days(20_000);
    let b = MemoryBackend::simulated(Arc::new(VirtualClock::starting_at(start)), Timing::default(), 5);
    let mut model_names = BTreeMap::new();
    for (model, archive) in models() {
        let key = format!("byo/{model}/model.tar.gz");
        b.put_object("models", &key, archive, PutCondition::Always)
            .await
            .unwrap();
        for version in versions {
            let name = endpoint(model, version);
            let input: DeployInput = parse_input(json!({
                "executionName": name, "endpointName": name, "variantName": "champion",
                "image": {"kind": "builtin", "name": "xgboost", "version": version},
                "modelDataUrl": format!("s3://models/{key}"),
                "roleArn": "arn:aws:iam::000000000000:role/sagemaker"
            }))
            .unwrap();
            let deployed = deploy(b.ports(), "us-east-1", &input).await.unwrap();
            model_names.insert(name.clone(), deployed.model_name);
            b.wait_in_service(&name, 30).unwrap();
        }
    }
    (b, model_names)
}

fn endpoint(model: &str, version: &str) -> String {
    format!("{model}-{}", version.replace('.', "-"))
}

/// The case sent to its model's endpoint for the container `version`.
async fn invoke(
    b: &MemoryBackend,
    version: &str,
    case: &Value,
    accept: Option<&str>,
) -> Result<String, String> {
    b.invoke_endpoint(&InvokeRequest {
        endpoint: endpoint(case["model"].as_str().unwrap_or("champion"), version),
        body: case["body"].as_str().unwrap().as_bytes().to_vec(),
        content_type: case["contentType"].as_str().unwrap().into(),
        accept: accept.map(str::to_string),
        target_variant: None,
        target_model: None,
        inference_id: None,
    })
    .await
    .map(|r| String::from_utf8(r.body).unwrap())
    .map_err(|e| e.to_string())
}

fn cases() -> Vec<Value> {
    let golden: Value =
        serde_json::from_slice(&repo_file("crates/local/tests/golden/container-requests.json")).unwrap();
    golden["cases"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_request_is_answered_or_refused_as_the_container_does() {
    let (b, _) = endpoints(&["1.0-1", "1.7-1", "3.0-5"]).await;
    let cases = cases();
    assert!(cases.len() >= 25 && cases.iter().any(|c| c.get("status").is_some()));
    assert!(cases
        .iter()
        .any(|c| c["model"] == "ensemble" && c.get("answers").is_some()));
    for case in &cases {
        let what = format!("{} {:?}", case["contentType"], case["body"]);
        if let Some(status) = case.get("status") {
            for version in ["1.0-1", "1.7-1"] {
                let err = invoke(&b, version, case, None).await.unwrap_err();
                assert!(
                    err.contains("ModelError") && err.contains(&format!("error ({status})")),
                    "{what} on {version}: {err}"
                );
            }
            continue;
        }
        let answers = &case["answers"];
        let legacy = invoke(&b, "1.0-1", case, Some("application/json")).await;
        match answers["commaJoined"].as_str() {
            Some(joined) => assert_eq!(legacy.unwrap(), joined, "{what} on 1.0-1"),
            // One model file per container before 1.2-2: an ensemble is refused, by name.
            None => assert!(
                legacy.unwrap_err().contains("holds 2 model files"),
                "{what} on 1.0-1"
            ),
        }
        for version in ["1.7-1", "3.0-5"] {
            let csv = invoke(&b, version, case, None).await.unwrap();
            assert_eq!(csv, answers["csv"].as_str().unwrap(), "{what} on {version}");
            let json = invoke(&b, version, case, Some("application/json")).await.unwrap();
            assert_eq!(
                json,
                answers["json"].as_str().unwrap(),
                "{what} on {version}, JSON"
            );
        }
    }
}

#[tokio::test]
async fn accept_types_are_read_as_the_1_2_2_and_later_containers_read_them() {
    let (b, _) = endpoints(&["1.7-1"]).await;
    let case = &cases()[0];
    let csv = case["answers"]["csv"].as_str().unwrap();
    for accept in ["*/*", "text/csv", "TEXT/CSV", "text/csv; charset=utf-8"] {
        assert_eq!(
            invoke(&b, "1.7-1", case, Some(accept)).await.unwrap(),
            csv,
            "{accept}"
        );
    }
    let refused = invoke(&b, "1.7-1", case, Some("text/plain")).await.unwrap_err();
    assert!(
        refused.contains("error (406)") && refused.contains("Accept type text/plain is not supported"),
        "{refused}"
    );
    // Named as supported, but the container has no encoder for it: a 500.
    let broken = invoke(&b, "1.7-1", case, Some("application/jsonlines"))
        .await
        .unwrap_err();
    assert!(broken.contains("server error (500)"), "{broken}");
    let wrong_type = invoke(
        &b,
        "1.7-1",
        &json!({"contentType": "application/json", "body": "[1,2,3]"}),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        wrong_type.contains("error (415)")
            && wrong_type.contains("Content-type application/json is not supported")
    );
    let label_size = json!({"contentType": "text/csv;label_size=2", "body": "1,2,3"});
    assert!(invoke(&b, "1.7-1", &label_size, None)
        .await
        .unwrap_err()
        .contains("label_size must be equal to 1"));
}

#[tokio::test]
async fn batch_transform_writes_one_value_per_line_in_every_generation() {
    let (b, model_names) = endpoints(&["1.0-1"]).await;
    let cases = cases();
    let good: Vec<&Value> = cases
        .iter()
        .filter(|c| {
            c["contentType"] == "text/csv" && c["model"] == "binary-hinge" && c.get("answers").is_some()
        })
        .collect();
    for (i, case) in good.iter().enumerate() {
        let body = case["body"].as_str().unwrap().as_bytes().to_vec();
        b.put_object("data", &format!("in/{i}.csv"), body, PutCondition::Always)
            .await
            .unwrap();
    }
    b.create_transform_job(&TransformJob {
        name: "batch".into(),
        model_name: model_names["binary-hinge-1-0-1"].clone(),
        input_uri: "s3://data/in/".into(),
        output_uri: "s3://data/out/".into(),
        status: String::new(),
        failure_reason: None,
    })
    .unwrap();
    for (i, case) in good.iter().enumerate() {
        let out = b.get_object("data", &format!("out/{i}.csv.out")).await.unwrap();
        assert_eq!(
            String::from_utf8(out.body).unwrap(),
            case["answers"]["batch"].as_str().unwrap()
        );
    }
}
