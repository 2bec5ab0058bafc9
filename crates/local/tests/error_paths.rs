//! Every error branch of every task, one table per task. Each row is a sample from
//! `events/` with a field or two changed (or the backend in a state that must be
//! refused); it names the stable error name, a fragment of the message that says what
//! to fix, and checks that no mutating call reached the backend.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

mod support;
use support::event;

use serde_json::{json, Value};
use weighbridge_local::{Fault, MemoryBackend};
use weighbridge_tasks::deploy::deploy;
use weighbridge_tasks::evaluate_model::evaluate_model;
use weighbridge_tasks::evaluate_variants::evaluate_variants;
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::EndpointStatus;
use weighbridge_tasks::shift_weights::shift_weights;
use weighbridge_tasks::start_retraining::{start_retraining, StartRetrainingConfig};
use weighbridge_tasks::train::train;
use weighbridge_tasks::TaskError;

/// The sample with each JSON pointer set to its value (`null` removes the field).
fn patched(mut v: Value, patch: &[(&str, Value)]) -> Value {
    for (pointer, value) in patch {
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        let target = v.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
        match (target, value) {
            (Value::Object(map), Value::Null) => {
                map.remove(field);
            }
            (Value::Object(map), value) => {
                map.insert(field.to_string(), value.clone());
            }
            (Value::Array(items), value) => items[field.parse::<usize>().unwrap()] = value.clone(),
            (other, _) => panic!("{pointer}: cannot patch {other}"),
        }
    }
    v
}

/// Operations that change something; none may run before an input error is found.
fn mutating(calls: &[String]) -> Vec<String> {
    const VERBS: [&str; 6] = ["Create", "Update", "Delete", "Put", "Start", "Stop"];
    calls
        .iter()
        .filter(|c| VERBS.iter().any(|v| c.starts_with(v)))
        .cloned()
        .collect()
}

fn expect(case: &str, result: Result<impl std::fmt::Debug, TaskError>, name: &str, says: &str) {
    let err = match result {
        Ok(out) => panic!("{case}: expected {name}, got {out:?}"),
        Err(e) => e,
    };
    assert_eq!(err.name(), name, "{case}: {err}");
    assert!(
        err.to_string().contains(says),
        "{case}: {err:?} does not say {says:?}"
    );
}

/// Runs a table over a fresh backend per row (built by `setup`) and checks that no
/// mutating call followed the setup.
macro_rules! table {
    ($setup:expr, $run:expr, $cases:expr) => {
        for (case, input, name, says) in $cases {
            let b: MemoryBackend = $setup.await;
            let before = b.calls().len();
            let result = $run(&b, input).await;
            expect(case, result, name, says);
            let after = b.calls()[before..].to_vec();
            assert_eq!(
                mutating(&after),
                Vec::<String>::new(),
                "{case}: changed something"
            );
        }
    };
}

async fn empty() -> MemoryBackend {
    MemoryBackend::new()
}

#[tokio::test]
async fn train_errors() {
    let t = event("train.json");
    let spot = |wait: i32, uri: &str| json!({"maxWaitSeconds": wait, "checkpointS3Uri": uri});
    let cases = [
        (
            "no execution",
            patched(t.clone(), &[("/executionName", json!(" "))]),
            "Weighbridge.InvalidInput",
            "executionName is empty",
        ),
        (
            "no channels",
            patched(t.clone(), &[("/channels", json!([]))]),
            "Weighbridge.InvalidInput",
            "channels is empty",
        ),
        (
            "channel uri",
            patched(t.clone(), &[("/channels/0/s3Uri", json!("data/train/"))]),
            "Weighbridge.InvalidInput",
            "must start with s3://",
        ),
        (
            "output path",
            patched(t.clone(), &[("/outputPath", json!("models/"))]),
            "Weighbridge.InvalidInput",
            "outputPath",
        ),
        (
            "role",
            patched(t.clone(), &[("/roleArn", json!("weighbridge"))]),
            "Weighbridge.InvalidInput",
            "is not an IAM role ARN",
        ),
        (
            "instances",
            patched(t.clone(), &[("/instanceCount", json!(0))]),
            "Weighbridge.InvalidInput",
            "must be ≥ 1",
        ),
        (
            "spot wait",
            patched(t.clone(), &[("/spot", spot(60, "s3://b/ckpt"))]),
            "Weighbridge.InvalidInput",
            "spot.maxWaitSeconds",
        ),
        (
            "spot uri",
            patched(t.clone(), &[("/spot", spot(7200, "ckpt"))]),
            "Weighbridge.InvalidInput",
            "spot.checkpointS3Uri",
        ),
        (
            "hyperparameter",
            patched(t.clone(), &[("/hyperparameters/epochs", json!([1]))]),
            "Weighbridge.InvalidInput",
            "use a string, number or boolean",
        ),
        (
            "algorithm",
            patched(t.clone(), &[("/algorithm/name", json!("nope"))]),
            "Weighbridge.InvalidInput",
            "unknown built-in algorithm",
        ),
        (
            "version",
            patched(t.clone(), &[("/algorithm/version", json!("99"))]),
            "Weighbridge.InvalidInput",
            "has no version \"99\"",
        ),
        (
            "prefix",
            patched(t.clone(), &[("/jobPrefix", json!("bad prefix"))]),
            "Weighbridge.InvalidInput",
            "jobPrefix",
        ),
        (
            "shape",
            patched(t.clone(), &[("/instanceType", json!(5))]),
            "Weighbridge.InvalidInput",
            "does not parse",
        ),
    ];
    table!(
        empty(),
        |b: &MemoryBackend, input: Value| {
            let b = b.clone();
            async move { train(&b, "us-east-1", &parse_input(input)?).await }
        },
        cases
    );

    // A region without the algorithm, and a job of the same name with another spec.
    let b = MemoryBackend::new();
    let input = parse_input(t.clone()).unwrap();
    expect(
        "region",
        train(&b, "mars-east-1", &input).await,
        "Weighbridge.InvalidInput",
        "not offered in region",
    );
    train(&b, "us-east-1", &input).await.unwrap();
    let other = parse_input(patched(t.clone(), &[("/instanceType", json!("ml.c5.xlarge"))])).unwrap();
    expect(
        "conflict",
        train(&b, "us-east-1", &other).await,
        "Weighbridge.Conflict",
        "different spec",
    );
    // Throttled and unavailable control plane: retryable names.
    let b = MemoryBackend::new();
    b.inject("DescribeTrainingJob", [Fault::Throttle]);
    expect(
        "throttled",
        train(&b, "us-east-1", &input).await,
        "Weighbridge.Throttled",
        "DescribeTrainingJob",
    );
    b.inject("CreateTrainingJob", [Fault::ServerError]);
    expect(
        "5xx",
        train(&b, "us-east-1", &input).await,
        "Weighbridge.ServiceUnavailable",
        "CreateTrainingJob",
    );
}

#[tokio::test]
async fn evaluate_model_errors() {
    // The sample names the job the train sample starts.
    let train_input = parse_input(event("train.json")).unwrap();
    let job = weighbridge_tasks::train::build_request(&train_input, "us-east-1")
        .unwrap()
        .name;
    let m = patched(
        event("evaluate-model.json"),
        &[("/source/trainingJobName", json!(job))],
    );
    let batch = |predictions: &str, labels: &str| json!({"kind": "batchTransform", "predictionsUri": predictions, "labelsUri": labels});
    let setup = || async move {
        let b = MemoryBackend::new();
        let train_input = parse_input(event("train.json")).unwrap();
        let started = train(&b, "us-east-1", &train_input).await.unwrap();
        b.complete_training_job(&started.training_job_name, &[("validation:rmse", 4000.0)]);
        b.put("data", "pred.csv", "0.9\n0.1\n");
        b.put("data", "labels.csv", "1,0.5\n1,0.7\n");
        b.put("data", "bad.csv", "1,x\n");
        b
    };
    let cases = [
        (
            "direction",
            patched(m.clone(), &[("/metric", json!("validation:custom"))]),
            "Weighbridge.InvalidInput",
            "set direction",
        ),
        (
            "improvement",
            patched(m.clone(), &[("/minImprovement", json!(-1.0))]),
            "Weighbridge.InvalidInput",
            "minImprovement must be ≥ 0",
        ),
        (
            "unknown job",
            patched(m.clone(), &[("/source/trainingJobName", json!("ghost"))]),
            "Weighbridge.NotFound",
            "ghost",
        ),
        (
            "no such metric",
            patched(m.clone(), &[("/metric", json!("validation:mae"))]),
            "Weighbridge.NotFound",
            "reported no \"validation:mae\"",
        ),
        (
            "champion job",
            patched(
                m.clone(),
                &[(
                    "/champion",
                    json!({"kind": "trainingJob", "trainingJobName": "ghost"}),
                )],
            ),
            "Weighbridge.NotFound",
            "ghost",
        ),
        (
            "not s3",
            patched(
                m.clone(),
                &[
                    ("/source", batch("pred.csv", "s3://data/labels.csv")),
                    ("/metric", json!("auc")),
                ],
            ),
            "Weighbridge.InvalidInput",
            "is not an s3:// URI",
        ),
        (
            "no key",
            patched(
                m.clone(),
                &[
                    ("/source", batch("s3://data", "s3://data/labels.csv")),
                    ("/metric", json!("auc")),
                ],
            ),
            "Weighbridge.InvalidInput",
            "needs a bucket and a key",
        ),
        (
            "missing object",
            patched(
                m.clone(),
                &[
                    ("/source", batch("s3://data/none.csv", "s3://data/labels.csv")),
                    ("/metric", json!("auc")),
                ],
            ),
            "Weighbridge.NotFound",
            "none.csv",
        ),
        (
            "one class",
            patched(
                m.clone(),
                &[
                    ("/source", batch("s3://data/pred.csv", "s3://data/labels.csv")),
                    ("/metric", json!("auc")),
                    ("/threshold", Value::Null),
                    ("/champion", Value::Null),
                ],
            ),
            "Weighbridge.InsufficientData",
            "single class",
        ),
        (
            "bad labels",
            patched(
                m.clone(),
                &[
                    ("/source", batch("s3://data/pred.csv", "s3://data/bad.csv")),
                    ("/metric", json!("rmse")),
                ],
            ),
            "Weighbridge.InvalidPayload",
            "line 1",
        ),
        (
            "batch metric",
            patched(
                m.clone(),
                &[
                    ("/source", batch("s3://data/pred.csv", "s3://data/labels.csv")),
                    ("/metric", json!("ndcg")),
                    ("/direction", json!("higher_is_better")),
                ],
            ),
            "Weighbridge.InvalidInput",
            "cannot be computed from a batch transform",
        ),
    ];
    table!(
        setup(),
        |b: &MemoryBackend, input: Value| {
            let b = b.clone();
            async move { evaluate_model(b.ports(), &parse_input(input)?).await }
        },
        cases
    );
    // A job that has not completed cannot be judged.
    let b = MemoryBackend::new();
    let started = train(&b, "us-east-1", &parse_input(event("train.json")).unwrap())
        .await
        .unwrap();
    let input = patched(
        m.clone(),
        &[("/source/trainingJobName", json!(started.training_job_name))],
    );
    let result = evaluate_model(b.ports(), &parse_input(input).unwrap()).await;
    expect(
        "in progress",
        result,
        "Weighbridge.InvalidInput",
        "only a Completed job can be evaluated",
    );
}

/// An endpoint `salary` with `champion` (and `challenger` when asked), InService.
async fn endpoint(variants: &[&str]) -> MemoryBackend {
    let b = MemoryBackend::new();
    for (i, v) in variants.iter().enumerate() {
        let input = patched(
            event("deploy.json"),
            &[
                ("/variantName", json!(v)),
                ("/executionName", json!(format!("e{i}"))),
            ],
        );
        deploy(b.ports(), "us-east-1", &parse_input(input).unwrap())
            .await
            .unwrap();
        b.settle();
    }
    b
}

#[tokio::test]
async fn deploy_errors() {
    let d = event("deploy.json");
    let cases = [
        (
            "share",
            patched(d.clone(), &[("/initialShare", json!(1.0))]),
            "Weighbridge.InvalidInput",
            "initialShare",
        ),
        (
            "count",
            patched(d.clone(), &[("/initialInstanceCount", json!(0))]),
            "Weighbridge.InvalidInput",
            "initialInstanceCount must be ≥ 1",
        ),
        (
            "model data",
            patched(d.clone(), &[("/modelDataUrl", json!("model.tar.gz"))]),
            "Weighbridge.InvalidInput",
            "modelDataUrl",
        ),
        (
            "execution",
            patched(d.clone(), &[("/executionName", json!(""))]),
            "Weighbridge.InvalidInput",
            "executionName is empty",
        ),
        (
            "endpoint name",
            patched(d.clone(), &[("/endpointName", json!("bad_name"))]),
            "Weighbridge.InvalidInput",
            "endpointName",
        ),
        (
            "variant name",
            patched(d.clone(), &[("/variantName", json!("-x"))]),
            "Weighbridge.InvalidInput",
            "variantName",
        ),
        (
            "taken variant",
            patched(d.clone(), &[("/variantName", json!("champion"))]),
            "Weighbridge.InvalidInput",
            "already has a variant \"champion\"",
        ),
        (
            "algorithm",
            patched(d.clone(), &[("/image/name", json!("nope"))]),
            "Weighbridge.InvalidInput",
            "unknown built-in algorithm",
        ),
    ];
    table!(
        endpoint(&["champion"]),
        |b: &MemoryBackend, input: Value| {
            let b = b.clone();
            async move { deploy(b.ports(), "us-east-1", &parse_input(input)?).await }
        },
        cases
    );
    // Updating endpoint: retryable; ten variants: the API's maximum.
    let b = endpoint(&["champion"]).await;
    b.set_endpoint_status("salary", EndpointStatus::Updating);
    let input = parse_input(patched(d.clone(), &[("/variantName", json!("challenger"))])).unwrap();
    expect(
        "updating",
        deploy(b.ports(), "us-east-1", &input).await,
        "Weighbridge.EndpointNotReady",
        "is Updating",
    );
    let names: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
    let b = endpoint(&names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    expect(
        "eleven",
        deploy(b.ports(), "us-east-1", &input).await,
        "Weighbridge.InvalidInput",
        "the most SageMaker allows",
    );
}

#[tokio::test]
async fn shift_weights_errors() {
    let s = event("shift-weights.json");
    let with = |action: Value| {
        let mut v = s.clone();
        let map = v.as_object_mut().unwrap();
        map.remove("winner");
        map.extend(action.as_object().unwrap().clone());
        v
    };
    let cases = [
        (
            "unknown winner",
            patched(s.clone(), &[("/winner", json!("ghost"))]),
            "Weighbridge.InvalidInput",
            "\"ghost\"",
        ),
        (
            "no execution",
            patched(s.clone(), &[("/executionName", json!(""))]),
            "Weighbridge.InvalidInput",
            "executionName is empty",
        ),
        (
            "set count",
            with(json!({"action": "set", "weights": {"champion": 1.0}})),
            "Weighbridge.InvalidInput",
            "set gives 1 weights for 2 variants",
        ),
        (
            "set weights",
            with(json!({"action": "set", "weights": {"champion": -1.0, "challenger": 1.0}})),
            "Weighbridge.InvalidInput",
            "weight",
        ),
        (
            "step size",
            with(json!({"action": "step", "target": {"challenger": 1.0, "champion": 0.0}, "step": 0.0})),
            "Weighbridge.InvalidInput",
            "step 0 must be in (0, 1]",
        ),
        (
            "step target",
            with(json!({"action": "step", "target": {"ghost": 1.0}, "step": 0.5})),
            "Weighbridge.InvalidInput",
            "\"ghost\"",
        ),
        (
            "rollback all",
            with(json!({"action": "rollback", "loser": "champion"})),
            "Weighbridge.InvalidInput",
            "holds all the traffic",
        ),
        (
            "remove all",
            with(json!({"action": "rollback", "loser": "champion", "remove": true})),
            "Weighbridge.InvalidInput",
            "holds all the traffic",
        ),
        (
            "unknown endpoint",
            patched(s.clone(), &[("/endpointName", json!("ghost"))]),
            "Weighbridge.NotFound",
            "ghost",
        ),
        (
            "shape",
            with(json!({"action": "teleport"})),
            "Weighbridge.InvalidInput",
            "does not parse",
        ),
    ];
    let setup = || async {
        let b = endpoint(&["champion", "challenger"]).await;
        // The champion holds everything; the challenger is at 0 (after a rollback).
        weighbridge_tasks::ports::SageMaker::update_endpoint_weights(
            &b,
            "salary",
            &[("champion".to_string(), 1.0), ("challenger".to_string(), 0.0)].into(),
        )
        .await
        .unwrap();
        b.settle();
        b
    };
    table!(
        setup(),
        |b: &MemoryBackend, input: Value| {
            let b = b.clone();
            async move { shift_weights(b.ports(), &parse_input(input)?).await }
        },
        cases
    );
    // One variant: nothing to roll back to. Updating: not now. Cleanup of a live model.
    let b = endpoint(&["champion"]).await;
    let rollback = parse_input(with(json!({"action": "rollback", "loser": "champion"}))).unwrap();
    expect(
        "only variant",
        shift_weights(b.ports(), &rollback).await,
        "Weighbridge.InvalidInput",
        "only variant",
    );
    let b = endpoint(&["champion", "challenger"]).await;
    b.set_endpoint_status("salary", EndpointStatus::Updating);
    let promote = parse_input(s.clone()).unwrap();
    expect(
        "updating",
        shift_weights(b.ports(), &promote).await,
        "Weighbridge.EndpointNotReady",
        "Updating",
    );
    b.settle();
    let live = b.endpoint("salary").unwrap();
    let cleanup = with(json!({"action": "cleanup", "supersededConfig": live.config_name}));
    expect(
        "cleanup live config",
        shift_weights(b.ports(), &parse_input(cleanup).unwrap()).await,
        "Weighbridge.EndpointNotReady",
        "superseded resources",
    );
    let model = weighbridge_tasks::ports::SageMaker::describe_endpoint_config(&b, &live.config_name)
        .await
        .unwrap()
        .variants[0]
        .model_name
        .clone();
    let cleanup = with(json!({"action": "cleanup", "supersededConfig": "old-config", "models": [model]}));
    expect(
        "cleanup live model",
        shift_weights(b.ports(), &parse_input(cleanup).unwrap()).await,
        "Weighbridge.InvalidInput",
        "is still used by the live config",
    );
}

#[tokio::test]
async fn evaluate_variants_errors() {
    let e = patched(event("evaluate-variants.json"), &[("/testBucket", json!("data"))]);
    let setup = || async {
        let b = endpoint(&["champion", "challenger"]).await;
        b.put("data", "ab-tests/salary/look1.csv", "1,2\n3,4\n");
        b
    };
    let cases = [
        (
            "content type",
            patched(e.clone(), &[("/contentType", json!("application/json"))]),
            "Weighbridge.InvalidInput",
            "contentType must be text/csv or application/jsonlines",
        ),
        (
            "unknown type",
            patched(e.clone(), &[("/contentType", json!("image/png"))]),
            "Weighbridge.InvalidInput",
            "image/png",
        ),
        (
            "batch rows",
            patched(e.clone(), &[("/batchRows", json!(0))]),
            "Weighbridge.InvalidInput",
            "batchRows and maxConcurrency must be ≥ 1",
        ),
        (
            "metric",
            patched(e.clone(), &[("/policy/primaryMetric", json!("r2"))]),
            "Weighbridge.InvalidInput",
            "cannot be compared",
        ),
        (
            "policy",
            patched(e.clone(), &[("/policy/alpha", json!(2.0))]),
            "Weighbridge.InvalidInput",
            "alpha",
        ),
        (
            "one model",
            patched(e.clone(), &[("/targetModels", json!(["a.tar.gz"]))]),
            "Weighbridge.InvalidInput",
            "targetModels needs at least two models",
        ),
        (
            "one variant",
            patched(e.clone(), &[("/variants", json!(["champion"]))]),
            "Weighbridge.InsufficientData",
            "needs a challenger",
        ),
        (
            "champion pin",
            patched(e.clone(), &[("/policy/champion", json!("ghost"))]),
            "Weighbridge.InvalidInput",
            "ghost",
        ),
        (
            "no endpoint",
            patched(e.clone(), &[("/endpointName", json!("ghost"))]),
            "Weighbridge.NotFound",
            "ghost",
        ),
        (
            "no objects",
            patched(e.clone(), &[("/testPrefix", json!("empty/"))]),
            "Weighbridge.InsufficientData",
            "no test objects under s3://data/empty/",
        ),
    ];
    table!(
        setup(),
        |b: &MemoryBackend, input: Value| {
            let b = b.clone();
            async move { evaluate_variants(&b, &b, &b, &b, &parse_input(input)?).await }
        },
        cases
    );
    // A row too wide for one InvokeEndpoint request.
    let b = setup().await;
    let wide: String = format!("1,{}\n", vec!["0.123456789"; 700_000].join(","));
    b.put("data", "ab-tests/salary/look1.csv", &wide);
    expect(
        "wide row",
        evaluate_variants(&b, &b, &b, &b, &parse_input(e.clone()).unwrap()).await,
        "Weighbridge.InvalidInput",
        "over InvokeEndpoint's 6 MB limit",
    );
}

#[tokio::test]
async fn start_retraining_errors() {
    let config = StartRetrainingConfig {
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:retrain".into(),
        key_prefix: "incoming/".into(),
        key_suffix: ".csv".into(),
        training_defaults: Value::Null,
    };
    let eb = event("start-retraining.json");
    let s3 = event("start-retraining-s3-notification.json");
    let cases = [
        (
            "detail type",
            patched(eb.clone(), &[("/detail-type", json!("Object Deleted"))]),
            "Weighbridge.InvalidInput",
            "Object Created",
        ),
        (
            "source",
            patched(eb.clone(), &[("/source", json!("aws.ec2"))]),
            "Weighbridge.InvalidInput",
            "Object Created",
        ),
        (
            "not eventbridge",
            json!({"hello": "world"}),
            "Weighbridge.InvalidInput",
            "expected an EventBridge",
        ),
        (
            "no bucket",
            patched(eb.clone(), &[("/detail/bucket", Value::Null)]),
            "Weighbridge.InvalidInput",
            "bucket",
        ),
        (
            "bad records",
            json!({"Records": "nope"}),
            "Weighbridge.InvalidInput",
            "not an S3 notification event",
        ),
        (
            "no key",
            patched(s3.clone(), &[("/Records/0/s3/object/key", Value::Null)]),
            "Weighbridge.InvalidInput",
            "the S3 notification record has no",
        ),
    ];
    for (case, event, name, says) in cases {
        let b = MemoryBackend::new();
        expect(case, start_retraining(&b, &config, &event).await, name, says);
        assert_eq!(mutating(&b.calls()), Vec::<String>::new(), "{case}");
    }
    let b = MemoryBackend::new();
    let bad = StartRetrainingConfig {
        state_machine_arn: "retrain".into(),
        ..config.clone()
    };
    expect(
        "arn",
        start_retraining(&b, &bad, &eb).await,
        "Weighbridge.InvalidInput",
        "is not a state machine ARN",
    );
    b.inject("StartExecution", [Fault::Throttle]);
    expect(
        "throttled",
        start_retraining(&b, &config, &eb).await,
        "Weighbridge.Throttled",
        "StartExecution",
    );
}

/// The rules issue 9 added, through the one entrypoint layer the Lambdas use on AWS
/// (`weighbridge_tasks::functions::invoke`): each is refused before any mutating call.
#[tokio::test]
async fn the_entrypoint_refuses_aws_invalid_input_before_any_change() {
    let env = weighbridge_tasks::functions::FunctionEnv::from_vars("us-east-1", |k| {
        (k == "STATE_MACHINE_ARN")
            .then(|| "arn:aws:states:us-east-1:123456789012:stateMachine:retrain".into())
    })
    .unwrap();
    let train = event("train.json");
    let deploy = event("deploy.json");
    let ab = event("evaluate-variants.json");
    let shift = json!({"endpointName": "ab", "action": "set", "weights": {"champion": 1.0}});
    let cases = [
        ("train", json!([]), "must be a JSON object"),
        (
            "train",
            patched(train.clone(), &[("/rolearn", json!("x"))]),
            "did you mean `roleArn`?",
        ),
        (
            "train",
            patched(train.clone(), &[("/outputPath", json!("s3://"))]),
            "has no bucket",
        ),
        (
            "train",
            patched(train.clone(), &[("/outputPath", json!("s3:///x"))]),
            "has no bucket",
        ),
        (
            "train",
            patched(train.clone(), &[("/instanceType", json!(""))]),
            "instance type",
        ),
        (
            "train",
            patched(train.clone(), &[("/executionName", json!("a/b"))]),
            "execution names",
        ),
        (
            "deploy",
            patched(deploy.clone(), &[("/roleArn", json!("not-an-arn"))]),
            "is not an IAM role ARN",
        ),
        (
            "deploy",
            patched(deploy.clone(), &[("/instanceType", json!(""))]),
            "instance type",
        ),
        (
            "deploy",
            patched(deploy.clone(), &[("/modelDataUrl", json!("s3://Bad/x"))]),
            "bucket name",
        ),
        (
            "evaluate-variants",
            patched(ab.clone(), &[("/dryrun", json!(true))]),
            "did you mean `dryRun`?",
        ),
        (
            "evaluate-variants",
            patched(ab.clone(), &[("/policy/maxstep", json!(0.2))]),
            "did you mean `maxStep`?",
        ),
        (
            "evaluate-variants",
            patched(ab.clone(), &[("/variants", json!(["champion", "champion"]))]),
            "twice",
        ),
        (
            "evaluate-variants",
            patched(ab.clone(), &[("/testBucket", json!("Bad"))]),
            "bucket name",
        ),
        (
            "evaluate-variants",
            patched(ab.clone(), &[("/testBucket", json!(""))]),
            "testBucket is required",
        ),
        (
            "evaluate-variants",
            patched(ab.clone(), &[("/experimentKey", json!("k".repeat(1025)))]),
            "1024 bytes",
        ),
        (
            "shift-weights",
            patched(shift.clone(), &[("/weights", json!({"a": 1e308, "b": 1e308}))]),
            "add up to inf",
        ),
        (
            "shift-weights",
            patched(shift.clone(), &[("/dryrun", json!(true))]),
            "unknown field `dryrun`",
        ),
        ("start-retraining", json!(42), "must be a JSON object"),
        ("nope", json!({}), "no function"),
    ];
    for (function, event, says) in cases {
        let b = endpoint(&["champion", "challenger"]).await;
        let before = b.calls().len();
        let result = weighbridge_tasks::functions::invoke(b.ports(), &env, function, event).await;
        expect(function, result, "Weighbridge.InvalidInput", says);
        assert_eq!(
            mutating(&b.calls()[before..]),
            Vec::<String>::new(),
            "{function}: {says}"
        );
    }
}
