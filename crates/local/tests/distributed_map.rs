//! A Distributed Map over the embedded backend's S3: items read from a CSV object
//! (`ItemReader`, `MaxItems`), selected and batched (`ItemBatcher`), their results written
//! back (`ResultWriter`: manifest and result files); and items listed under a prefix
//! (`s3:listObjectsV2`), each read by a Task through the S3 SDK integration.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::{run, ExecutionSpec, Status, VirtualClock};
use weighbridge_asl::validate::validate_text;
use weighbridge_local::demo::demo_env;
use weighbridge_local::workflows::{Deployment, TaskResources};
use weighbridge_local::{MemoryBackend, Timing};
use weighbridge_tasks::ports::{ObjectStore, PutCondition};

async fn execute(
    b: &MemoryBackend,
    definition: Value,
    input: Value,
) -> weighbridge_asl::interpreter::ExecutionResult {
    let deployment = Deployment::embedded();
    let machine = validate_text(&definition.to_string(), &|r: &str| deployment.knows(r)).unwrap();
    let env = demo_env();
    let resources = TaskResources::local(b, &env, &deployment);
    let spec = ExecutionSpec {
        state_machine_name: "dmap".into(),
        state_machine_arn: "arn:aws:states:us-east-1:000000000000:stateMachine:dmap".into(),
        name: "run-1".into(),
        role_arn: "arn:aws:iam::000000000000:role/dmap".into(),
        seed: 3,
    };
    let clock = b.clock();
    run(&machine, input, &spec, &resources, clock.as_ref()).await
}

fn backend() -> MemoryBackend {
    let start: DateTime<Utc> = DateTime::UNIX_EPOCH + Duration::days(20_000);
    MemoryBackend::simulated(Arc::new(VirtualClock::starting_at(start)), Timing::default(), 5)
}

async fn text(b: &MemoryBackend, bucket: &str, key: &str) -> Value {
    serde_json::from_slice(&b.get_object(bucket, key).await.unwrap().body).unwrap()
}

#[tokio::test]
async fn a_csv_is_read_batched_and_its_results_written_back() {
    let b = backend();
    let csv = "id,qty\na,1\nb,2\nc,3\nd,4\ne,5\nf,6\n";
    b.put_object(
        "data",
        "orders/orders.csv",
        csv.as_bytes().to_vec(),
        PutCondition::Always,
    )
    .await
    .unwrap();
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 5},
                       "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "orders/orders.csv"}},
        "ItemSelector": {"id": "{% $states.context.Map.Item.Value.id %}",
                         "qty": "{% $number($states.context.Map.Item.Value.qty) %}"},
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"shop": "north"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Sum", "States": {"Sum": {"Type": "Pass",
                "Output": {"shop": "{% $states.input.BatchInput.shop %}", "units": "{% $sum($states.input.Items.qty) %}"},
                "End": true}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "data", "Prefix": "results"}},
        "End": true}}});
    let result = execute(&b, definition, json!({"bucket": "data"})).await;
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
    let output = result.output.unwrap();
    let manifest_key = output["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert!(manifest_key.starts_with("results/") && manifest_key.ends_with("/manifest.json"));
    assert!(output["MapRunArn"]
        .as_str()
        .unwrap()
        .contains(":mapRun:dmap/Each:"));
    let manifest = text(&b, "data", manifest_key).await;
    let succeeded_key = manifest["ResultFiles"][0]["Key"].as_str().unwrap();
    let succeeded = text(&b, "data", succeeded_key).await;
    let units: Vec<Value> = succeeded
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str::<Value>(e["Output"].as_str().unwrap()).unwrap())
        .collect();
    // Five rows (MaxItems) in batches of two: 1+2, 3+4, 5.
    assert_eq!(
        units,
        vec![
            json!({"shop": "north", "units": 3}),
            json!({"shop": "north", "units": 7}),
            json!({"shop": "north", "units": 5})
        ]
    );
}

#[tokio::test]
async fn objects_under_a_prefix_are_the_items() {
    let b = backend();
    for (key, body) in [
        ("in/1.json", json!({"n": 1})),
        ("in/2.json", json!({"n": 2})),
        ("other/3.json", json!({"n": 3})),
    ] {
        b.put_object("data", key, body.to_string().into_bytes(), PutCondition::Always)
            .await
            .unwrap();
    }
    let definition = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "data", "Prefix": "in/"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Read", "States": {"Read": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "data", "Key.$": "$.Key"},
                "ResultSelector": {"doc.$": "States.StringToJson($.Body)"}, "OutputPath": "$.doc.n", "End": true}}},
        "End": true}}});
    let result = execute(&b, definition, json!({})).await;
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
    assert_eq!(result.output, Some(json!([1, 2])));
    let missing = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "data", "Key": "nope.json"}},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    reader_failed(&execute(&b, missing, json!({})).await, "S3.NoSuchKey");
}

/// A Map that passes each item through: what the ItemReader read.
fn reading(reader: Value) -> Value {
    json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemReader": reader,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Keep", "States": {"Keep": {"Type": "Pass", "End": true}}},
        "End": true}}})
}

async fn put(b: &MemoryBackend, bucket: &str, key: &str, body: Vec<u8>) {
    b.put_object(bucket, key, body, PutCondition::Always)
        .await
        .unwrap();
}

fn gzipped(text: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    zip.write_all(text.as_bytes()).unwrap();
    zip.finish().unwrap()
}

/// An S3 inventory (the manifest and CSV layout of the Step Functions guide's example):
/// the rows of its gzipped and plain files, keyed by `fileSchema`, every value a string.
#[tokio::test]
async fn an_s3_inventory_manifest_lists_its_files_rows() {
    let b = backend();
    let rows = "\"src\",\"csvDataset/titles.csv\",\"3399671\",\"2022-11-16T00:29:32.000Z\"\n";
    put(&b, "inventory", "inv/data/0.csv.gz", gzipped(rows)).await;
    put(
        &b,
        "inventory",
        "inv/data/1.csv",
        b"\"src\",\"imageDataset/pic.jpg\",\"27034\",\"2022-11-15T20:02:16.000Z\"\n".to_vec(),
    )
    .await;
    let manifest = json!({
        "sourceBucket": "src", "destinationBucket": "arn:aws:s3:::inventory", "version": "2016-11-30",
        "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size, LastModifiedDate",
        "files": [{"key": "inv/data/0.csv.gz", "size": 70}, {"key": "inv/data/1.csv", "size": 70}]});
    put(
        &b,
        "inventory",
        "inv/manifest.json",
        manifest.to_string().into_bytes(),
    )
    .await;
    let get = json!({"Bucket": "inventory", "Key": "inv/manifest.json"});
    for config in [
        json!({"InputType": "MANIFEST"}),
        json!({"ManifestType": "S3_INVENTORY"}),
    ] {
        let reader =
            json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": config, "Parameters": get});
        let result = execute(&b, reading(reader), json!({})).await;
        assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
        assert_eq!(
            result.output.unwrap(),
            json!([
                {"Bucket": "src", "Key": "csvDataset/titles.csv", "Size": "3399671", "LastModifiedDate": "2022-11-16T00:29:32.000Z"},
                {"Bucket": "src", "Key": "imageDataset/pic.jpg", "Size": "27034", "LastModifiedDate": "2022-11-15T20:02:16.000Z"}
            ])
        );
    }
    // Only CSV inventories are read.
    let orc = json!({"fileFormat": "ORC", "fileSchema": "Bucket, Key", "files": []});
    put(&b, "inventory", "orc/manifest.json", orc.to_string().into_bytes()).await;
    let reader = json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"},
                        "Parameters": {"Bucket": "inventory", "Key": "orc/manifest.json"}});
    reader_failed(
        &execute(&b, reading(reader), json!({})).await,
        "only CSV inventories",
    );
}

/// The execution failed with `States.ItemReaderFailed` whose cause says `says`.
fn reader_failed(result: &weighbridge_asl::interpreter::ExecutionResult, says: &str) {
    let failure = result.error.as_ref().unwrap();
    assert_eq!(failure.error, "States.ItemReaderFailed");
    assert!(failure.cause.contains(says), "{failure}");
}

/// `Transformation: LOAD_AND_FLATTEN` reads every listed object (here JSON Lines) and
/// maps over all their items; an object that is not there fails the Map Run with
/// `States.ItemReaderFailed` naming S3's error.
#[tokio::test]
async fn listed_objects_load_and_flatten_and_a_missing_one_is_an_item_reader_failure() {
    let b = backend();
    put(&b, "logs", "day/1.jsonl", b"{\"n\": 1}\n{\"n\": 2}\n".to_vec()).await;
    put(&b, "logs", "day/2.jsonl", b"{\"n\": 3}\n".to_vec()).await;
    let reader = json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
                        "ReaderConfig": {"InputType": "JSONL", "Transformation": "LOAD_AND_FLATTEN"},
                        "Parameters": {"Bucket": "logs", "Prefix": "day/"}});
    let result = execute(&b, reading(reader), json!({})).await;
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
    assert_eq!(result.output.unwrap(), json!([{"n": 1}, {"n": 2}, {"n": 3}]));
    let missing = json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                         "Parameters": {"Bucket": "logs", "Key": "nope.json"}});
    let result = execute(&b, reading(missing), json!({})).await;
    reader_failed(&result, "NoSuchKey");
    let kinds: Vec<&str> = result.history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
}
