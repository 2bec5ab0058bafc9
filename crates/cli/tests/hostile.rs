//! Weighbridge tried as a hostile new user would: a catalogue of bad input over every
//! function and every command (one table), commands run eight at a time on one state
//! directory, and keys and names that try to leave it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;
use support::{files, repo, scratch};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

/// Runs the binary; an argument too long for a command line (a 1 MB event) is passed
/// as a file, as a user would.
fn weighbridge(args: &[String]) -> Output {
    let args: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if a.len() < 100_000 {
                return a.clone();
            }
            let file =
                std::env::temp_dir().join(format!("weighbridge-hostile-arg-{}-{i}.json", std::process::id()));
            std::fs::write(&file, a).unwrap();
            file.to_string_lossy().into_owned()
        })
        .collect();
    Command::new(env!("CARGO_BIN_EXE_weighbridge"))
        .args(&args)
        .env("WEIGHBRIDGE_LOCK_WAIT_MS", "120000")
        .output()
        .expect("the binary runs")
}

fn event(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("events").join(name)).unwrap()).unwrap()
}

/// `base` with the dotted `path` set to `value` (an empty path replaces the whole event;
/// a path ending in `!` removes the field).
fn patched(mut base: Value, path: &str, value: Value) -> Value {
    if path.is_empty() {
        return value;
    }
    let (path, remove) = match path.strip_suffix('!') {
        Some(p) => (p, true),
        None => (path, false),
    };
    let mut node = &mut base;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        node = match part.parse::<usize>() {
            Ok(i) => &mut node[i],
            Err(_) => &mut node[*part],
        };
    }
    let last = parts[parts.len() - 1];
    if remove {
        node.as_object_mut().unwrap().remove(last);
    } else {
        node[last] = value;
    }
    base
}

/// One catalogue row: a command line, its exit code, the error name and a fragment of
/// the message it must print.
struct Row {
    args: Vec<String>,
    code: i32,
    name: &'static str,
    says: String,
}

const INVALID: &str = "Weighbridge.InvalidInput";

/// `invoke <function>` with its sample event patched at `path`.
fn invoke(state: &str, function: &str, path: &str, value: Value, says: &str) -> Row {
    let body = patched(event(&format!("{function}.json")), path, value);
    Row {
        args: vec![
            "invoke".into(),
            function.into(),
            "--event".into(),
            body.to_string(),
            "--state-dir".into(),
            state.into(),
        ],
        code: 2,
        name: INVALID,
        says: says.into(),
    }
}

fn command(args: &[&str], code: i32, name: &'static str, says: &str) -> Row {
    Row {
        args: args.iter().map(|a| a.to_string()).collect(),
        code,
        name,
        says: says.into(),
    }
}

use weighbridge_tasks::functions::FUNCTIONS;

/// A well-formed task token of `execution` (as the interpreter writes them: `wbt-` and
/// the hex of the execution, the call's place and the redrive count).
fn token(execution: &str) -> String {
    let plain = format!("{execution}\n/Ask@1.\n0");
    let hex: String = plain.bytes().map(|b| format!("{b:02x}")).collect();
    format!("wbt-{hex}")
}

/// The table. Each family is one class of defect from issue 9.
fn catalogue(s: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    // Events that are JSON but not objects, for every function.
    for f in FUNCTIONS {
        for (v, kind) in [
            (json!([]), "an array"),
            (json!([1]), "an array"),
            (json!(42), "a number"),
            (json!("x"), "a string"),
            (json!(null), "null"),
            (json!(true), "a boolean"),
        ] {
            rows.push(invoke(s, f, "", v, &format!("the task input is {kind}")));
        }
    }
    // Misspelt fields are refused, with the near miss named.
    for (f, path, says) in [
        ("train", "rolearn", "did you mean `roleArn`?"),
        ("train", "outputpath", "did you mean `outputPath`?"),
        ("train", "algorithm.nmae", "unknown field `nmae`"),
        ("train", "channels.0.s3uri", "did you mean `s3Uri`?"),
        ("evaluate-model", "treshold", "did you mean `threshold`?"),
        (
            "evaluate-model",
            "minimprovement",
            "did you mean `minImprovement`?",
        ),
        ("deploy", "endpointname", "did you mean `endpointName`?"),
        ("deploy", "initialshare", "did you mean `initialShare`?"),
        ("evaluate-variants", "dryrun", "did you mean `dryRun`?"),
        ("evaluate-variants", "policy.maxstep", "did you mean `maxStep`?"),
        ("evaluate-variants", "policy.aplha", "did you mean `alpha`?"),
        ("evaluate-variants", "testprefix", "did you mean `testPrefix`?"),
        ("shift-weights", "winer", "did you mean `winner`?"),
        ("shift-weights", "dryRun", "unknown field `dryRun`"),
    ] {
        rows.push(invoke(s, f, path, json!(true), says));
    }
    // train: AWS's rules for every name, URI, ARN and number.
    for (path, value, says) in [
        ("roleArn", json!("not-an-arn"), "is not an IAM role ARN"),
        (
            "roleArn",
            json!("arn:aws:iam::12:role/x"),
            "is not an IAM role ARN",
        ),
        (
            "roleArn",
            json!("arn:aws:iam::123456789012:user/x"),
            "is not an IAM role ARN",
        ),
        ("outputPath", json!("s3://"), "has no bucket"),
        ("outputPath", json!("s3:///x"), "has no bucket"),
        (
            "outputPath",
            json!("s3://Bad_Bucket/x"),
            "is not a valid bucket name",
        ),
        ("outputPath", json!("/tmp/x"), "is not an s3:// URI"),
        ("outputPath", json!("s3://ab/x"), "is not a valid bucket name"),
        ("channels.0.s3Uri", json!("s3://"), "has no bucket"),
        ("channels.0.name", json!("a b"), "channel name"),
        ("instanceType", json!(""), "is not a SageMaker instance type"),
        (
            "instanceType",
            json!("m5.large"),
            "is not a SageMaker instance type",
        ),
        ("executionName", json!(""), "executionName is empty"),
        ("executionName", json!("a b"), "refuses in execution names"),
        ("executionName", json!("../../x"), "refuses in execution names"),
        ("executionName", json!("x".repeat(81)), "have 1 to 80"),
        ("jobPrefix", json!("bad prefix"), "jobPrefix"),
        ("instanceCount", json!(0), "must be ≥ 1"),
        ("maxRuntimeSeconds", json!(-5), "must be ≥ 1"),
        (
            "hyperparameters.x",
            json!({"a": 1}),
            "use a string, number or boolean",
        ),
        ("algorithm", json!({"kind": "nope"}), "unknown variant `nope`"),
        ("algorithm!", json!(null), "missing field `algorithm`"),
        ("instanceCount", json!("one"), "invalid type"),
    ] {
        rows.push(invoke(s, "train", path, value, says));
    }
    // deploy.
    for (path, value, says) in [
        ("roleArn", json!("not-an-arn"), "is not an IAM role ARN"),
        ("endpointName", json!("-bad"), "is not a valid SageMaker name"),
        ("endpointName", json!("a_b"), "is not a valid SageMaker name"),
        (
            "endpointName",
            json!("x".repeat(64)),
            "is not a valid SageMaker name",
        ),
        ("variantName", json!(""), "is not a valid SageMaker name"),
        ("variantName", json!("../x"), "is not a valid SageMaker name"),
        ("modelDataUrl", json!("s3://"), "has no bucket"),
        ("modelDataUrl", json!("s3:///x"), "has no bucket"),
        (
            "modelDataUrl",
            json!("http://x/model.tar.gz"),
            "is not an s3:// URI",
        ),
        ("modelDataUrl", json!("s3://bucket/"), "needs a bucket and a key"),
        ("instanceType", json!(""), "is not a SageMaker instance type"),
        ("initialShare", json!(0.0), "must be between 0 and 1"),
        ("initialShare", json!(1.0), "must be between 0 and 1"),
        ("initialShare", json!(-0.5), "must be between 0 and 1"),
        (
            "initialInstanceCount",
            json!(0),
            "initialInstanceCount must be ≥ 1",
        ),
        ("executionName", json!("a/b"), "refuses in execution names"),
        ("image", json!({"kind": "docker"}), "unknown variant `docker`"),
        ("environment", json!({"": "x"}), "at most 100 variables"),
        ("mode", json!("canary"), "unknown variant `canary`"),
        ("mode", json!(["shadow"]), "invalid type"),
        (
            "shadowSamplingPercent",
            json!(10),
            "unknown field `shadowSamplingPercent`",
        ),
        ("shadowSamplingPercentage", json!(-1), "invalid value"),
        ("copyScalingToChallenger", json!("yes"), "invalid type"),
        (
            "deploymentConfig",
            json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60}}}),
            "takes CanarySize",
        ),
        (
            "deploymentConfig",
            json!({"Canary": 10}),
            "is not SageMaker's DeploymentConfig",
        ),
        (
            "deploymentConfig",
            json!({"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "x"}]}}),
            "same variant names",
        ),
        (
            "modelPackageArn",
            json!("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"),
            "is not a versioned model package ARN",
        ),
        (
            "modelPackageArn",
            json!("arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1; rm -rf /"),
            "is not a versioned model package ARN",
        ),
    ] {
        rows.push(invoke(s, "deploy", path, value, says));
    }
    // evaluate-model.
    for (path, value, says) in [
        (
            "source",
            json!({"kind": "batchTransform", "predictionsUri": "s3://", "labelsUri": "s3://b-1/l.csv"}),
            "has no bucket",
        ),
        (
            "source",
            json!({"kind": "batchTransform", "predictionsUri": "s3://b-1/p.out", "labelsUri": "s3:///x"}),
            "has no bucket",
        ),
        (
            "source",
            json!({"kind": "batchTransform", "predictionsUri": "s3://b-1/", "labelsUri": "s3://b-1/l"}),
            "needs a bucket and a key",
        ),
        (
            "source",
            json!({"kind": "trainingJob", "trainingJobName": "bad name"}),
            "is not a valid SageMaker name",
        ),
        ("source", json!({"kind": "manual"}), "unknown variant `manual`"),
        ("metric", json!(""), "metric must be 1 to 255"),
        (
            "registry",
            json!({"group": "a b"}),
            "is not a valid SageMaker name",
        ),
        (
            "registry",
            json!({"group": "g", "approval": "rejected"}),
            "unknown variant `rejected`",
        ),
        (
            "registry",
            json!({"group": "g", "contentTypes": ["csv"]}),
            "MIME type",
        ),
        (
            "registry",
            json!({"group": "g", "aproval": "approved"}),
            "unknown field `aproval`",
        ),
        (
            "registry",
            json!({"group": "g", "awaitApproval": "forever"}),
            "unknown variant `forever`",
        ),
        (
            "champion",
            json!({"kind": "trainingJob", "trainingJobName": "../x"}),
            "is not a valid SageMaker name",
        ),
        ("minImprovement", json!(-1.0), "minImprovement must be ≥ 0"),
        ("direction", json!("sideways"), "unknown variant `sideways`"),
        ("threshold", json!("high"), "invalid type"),
    ] {
        rows.push(invoke(s, "evaluate-model", path, value, says));
    }
    // evaluate-variants.
    for (path, value, says) in [
        ("endpointName", json!("bad name"), "is not a valid SageMaker name"),
        (
            "testBucket",
            json!(""),
            "testBucket is required for source testSet",
        ),
        ("testBucket", json!("UPPER"), "is not a valid bucket name"),
        ("testBucket", json!("s3://x"), "is not a valid bucket name"),
        ("source", json!({"type": "live"}), "unknown variant `live`"),
        (
            "source",
            json!({"type": "capture"}),
            "missing field `groundTruthUri`",
        ),
        (
            "source",
            json!({"type": "capture", "groundTruthUri": "s3://"}),
            "has no bucket",
        ),
        (
            "source",
            json!({"type": "capture", "groundTruthUri": "s3://bkt/gt", "captureUri": "b/c"}),
            "is not an s3:// URI",
        ),
        ("asOf", json!("2026-13-01T00:00:00Z"), "RFC 3339"),
        (
            "shadow",
            json!({"maxShadowHour": 24}),
            "unknown field `maxShadowHour`",
        ),
        ("shadow", json!("two weeks"), "invalid type"),
        (
            "shadow",
            json!({"maxShadowHours": 0}),
            "shadow.maxShadowHours is 0",
        ),
        (
            "shadow",
            json!({"pairingWindowSeconds": 86_400}),
            "shadow.pairingWindowSeconds",
        ),
        (
            "shadow",
            json!({"maxLatencyIncrease": -0.5}),
            "shadow.maxLatencyIncrease is -0.5",
        ),
        (
            "shadow",
            json!({"maxLatencyIncrease": f64::MAX}),
            "shadow.maxLatencyIncrease",
        ),
        (
            "shadow",
            json!({"maxErrorRateIncrease": 2.0}),
            "shadow.maxErrorRateIncrease is 2",
        ),
        (
            "source",
            json!({"type": "capture", "groundTruthUri": "s3://bkt/gt", "startAt": "01/12/2026"}),
            "RFC 3339",
        ),
        (
            "source",
            json!({"type": "capture", "groundTruthUri": "s3://bkt/gt", "maxLabelDelayHours": 4_000_000_000u64}),
            "maxLabelDelayHours",
        ),
        (
            "source",
            json!({"type": "capture", "groundTruthUri": "s3://b/gt", "maxLabelDelayHours": -1}),
            "invalid value",
        ),
        (
            "source",
            json!({"type": "capture", "groundTruthUri": "s3://bkt/gt", "maxCoverageGap": f64::MAX}),
            "maxCoverageGap",
        ),
        ("testBucket", json!("192.168.0.1"), "not an IP address"),
        (
            "testPrefix",
            json!("p".repeat(1025)),
            "S3 keys are at most 1024 bytes",
        ),
        ("testPrefix", json!("a\u{0}b"), "contains a NUL"),
        ("experimentKey", json!(""), "experimentKey is empty"),
        (
            "experimentKey",
            json!("k".repeat(1_000_000)),
            "Step Functions passes at most",
        ),
        (
            "experimentKey",
            json!("k".repeat(2000)),
            "S3 keys are at most 1024 bytes",
        ),
        ("variants", json!([]), "variants is empty"),
        ("variants", json!(["A", "A"]), "names \"A\" twice"),
        ("variants", json!(["bad name"]), "is not a valid SageMaker name"),
        ("targetModels", json!(["m.tar.gz", "m.tar.gz"]), "named once"),
        ("batchRows", json!(0), "batchRows and maxConcurrency must be ≥ 1"),
        ("batchRows", json!(1_000_000_000u64), "batchRows is 1000000000"),
        (
            "maxConcurrency",
            json!(0),
            "batchRows and maxConcurrency must be ≥ 1",
        ),
        ("maxConcurrency", json!(100_000), "maxConcurrency is 100000"),
        (
            "namespace",
            json!("AWS/SageMaker"),
            "is not a CloudWatch namespace",
        ),
        ("namespace", json!(""), "is not a CloudWatch namespace"),
        ("contentType", json!("application/json"), "contentType must be"),
        ("contentType", json!("image/png"), "image/png"),
        ("policy.alpha", json!(2.0), "alpha"),
        ("policy.maxStep", json!(0.0), "maxStep"),
        ("policy.primaryMetric", json!("accuracy"), "cannot be compared"),
        ("policy.direction", json!("up"), "unknown variant `up`"),
        (
            "policy.guardrails",
            json!([{"metric": "mae", "direction": "lower_is_better", "margin": 1, "bound": 2}]),
            "unknown field `bound`",
        ),
        ("dryRun", json!("yes"), "invalid type"),
        ("batchRows", json!(-1), "invalid value"),
    ] {
        rows.push(invoke(s, "evaluate-variants", path, value, says));
    }
    // shift-weights: every action's rules.
    let shift = |body: Value, says: &str| invoke(s, "shift-weights", "", body, says);
    for (body, says) in [
        (
            json!({"endpointName": "salary", "action": "teleport"}),
            "unknown variant `teleport`",
        ),
        (json!({"endpointName": "salary"}), "missing field `action`"),
        (
            json!({"endpointName": "salary", "executionName": "x", "action": "graduate", "shadow": "../x"}),
            "is not a valid SageMaker name",
        ),
        (
            json!({"endpointName": "salary", "executionName": "x", "action": "graduate", "shadow": "s", "initialShare": 1.0}),
            "must be between 0 and 1",
        ),
        (
            json!({"endpointName": "salary", "executionName": "x", "action": "removeShadow", "shadow": "a".repeat(300)}),
            "is not a valid SageMaker name",
        ),
        (
            json!({"endpointName": "salary", "action": "removeShadow"}),
            "missing field `shadow`",
        ),
        (
            json!({"endpointName": "salary", "action": "restoreScaling", "restore": [{"variant": "champion",
                "scaling": {"minCapacity": 5, "maxCapacity": 2}}]}),
            "1 ≤ min ≤ max",
        ),
        (
            json!({"endpointName": "salary", "action": "restoreScaling", "restore": [{"variant": "champion",
                "scaling": {"minCapacity": 1, "maxCapacity": 2, "policies": [{"name": "a/b",
                "kind": {"type": "stepScaling", "adjustmentType": "ChangeInCapacity", "steps": []}}]}}]}),
            "without ':', '/'",
        ),
        (
            json!({"endpointName": "salary", "action": "restoreScaling", "restore": [{"variant": "champion",
                "scaling": {"minCapacity": 1, "maxCapacity": 2, "policies": [{"name": "p",
                "kind": {"type": "predictiveScaling"}}]}}]}),
            "unknown variant `predictiveScaling`",
        ),
        (
            json!({"endpointName": "salary", "action": "restoreScaling", "restore": [{"variant": "nobody",
                "scaling": {"minCapacity": 1, "maxCapacity": 2}}]}),
            "is not on endpoint",
        ),
        (
            json!({"endpointName": "salary", "executionName": "x", "action": "removeShadow", "shadow": "champion"}),
            "is not a shadow variant of endpoint",
        ),
        (
            json!({"action": "promote", "winner": "a"}),
            "missing field `endpointName`",
        ),
        (
            json!({"endpointName": 7, "action": "promote", "winner": "a"}),
            "expected a string",
        ),
        (
            json!({"endpointName": "salary", "action": "set", "weights": {}}),
            "weights is empty",
        ),
        (
            json!({"endpointName": "salary", "action": "set", "weights": {"a": -1.0}}),
            "finite and ≥ 0",
        ),
        (
            json!({"endpointName": "salary", "action": "set", "weights": {"a": 1e308, "b": 1e308}}),
            "add up to inf",
        ),
        (
            json!({"endpointName": "salary", "action": "set", "weights": {"a": 0.0, "b": 0.0}}),
            "all zero",
        ),
        (
            json!({"endpointName": "salary", "action": "set", "weights": {"bad name": 1.0}}),
            "is not a valid SageMaker name",
        ),
        (
            json!({"endpointName": "salary", "action": "step", "target": {"a": 1.0}, "step": 0.0}),
            "must be in (0, 1]",
        ),
        (
            json!({"endpointName": "salary", "action": "step", "target": {"a": 1.0}, "step": 2.0}),
            "must be in (0, 1]",
        ),
        (
            json!({"endpointName": "salary", "action": "step", "target": {}, "step": 0.1}),
            "target is empty",
        ),
        (
            json!({"endpointName": "salary", "action": "promote", "winner": ""}),
            "is not a valid SageMaker name",
        ),
        (
            json!({"endpointName": "salary", "action": "promote", "winner": "nobody"}),
            "is not on endpoint salary",
        ),
        (
            json!({"endpointName": "salary", "action": "rollback", "loser": "a b"}),
            "is not a valid SageMaker name",
        ),
        (
            json!({"endpointName": "salary", "action": "cleanup", "supersededConfig": ""}),
            "is not a valid SageMaker name",
        ),
        (
            json!({"endpointName": "salary", "action": "cleanup", "supersededConfig": "c", "models": ["x y"]}),
            "is not a valid SageMaker name",
        ),
        (
            json!({"endpointName": "x".repeat(64), "action": "promote", "winner": "a"}),
            "is not a valid SageMaker name",
        ),
        (
            json!({"endpointName": "salary", "executionName": "a/b", "action": "promote", "winner": "a"}),
            "refuses in execution names",
        ),
        (
            json!({"endpointName": "salary", "action": "rollback", "loser": "a", "remove": "yes"}),
            "invalid type",
        ),
    ] {
        rows.push(shift(body, says));
    }
    // start-retraining: events that are not S3 "Object Created", and bad names in them.
    for (path, value, says) in [
        (
            "source",
            json!("aws.ec2"),
            "is not an S3 \"Object Created\" event",
        ),
        (
            "detail-type",
            json!("Object Deleted"),
            "is not an S3 \"Object Created\" event",
        ),
        ("detail.bucket.name", json!(""), "is not a valid bucket name"),
        ("detail.bucket.name", json!("../x"), "is not a valid bucket name"),
        ("detail.object.key", json!(""), "object key is empty"),
        (
            "detail.object.key",
            json!("k".repeat(1025)),
            "S3 keys are at most 1024 bytes",
        ),
        (
            "detail.object.key",
            json!("k".repeat(1_000_000)),
            "Step Functions passes at most",
        ),
        ("detail!", json!(null), "expected an EventBridge"),
        (
            "",
            json!({"Records": [{"s3": {"bucket": {"name": "UPPER"}, "object": {"key": "k"}}}]}),
            "missing field `eventTime`",
        ),
        (
            "",
            json!({"Records": [{"s3": {"object": {"key": "k"}}}]}),
            "missing field",
        ),
        ("", json!({"Records": "x"}), "not an S3 notification event"),
    ] {
        rows.push(invoke(s, "start-retraining", path, value, says));
    }
    // The commands themselves.
    let too_long = "x".repeat(81);
    let c = |args: &[&str], code, name, says: &str| {
        let mut all: Vec<&str> = args.to_vec();
        if matches!(
            args[0],
            "invoke"
                | "run"
                | "history"
                | "status"
                | "send-task-success"
                | "send-task-failure"
                | "send-task-heartbeat"
                | "redrive"
        ) {
            all.extend(["--state-dir", s]);
        }
        command(&all, code, name, says)
    };
    rows.push(c(
        &["send-task-heartbeat", "--task-token", "nonsense"],
        2,
        "[InvalidToken]",
        "is not a task token",
    ));
    rows.push(c(
        &["send-task-heartbeat", "--task-token", &token("look-001")],
        2,
        "[TaskTimedOut]",
        "has already been closed",
    ));
    // Task tokens, refused by Step Functions' error names.
    for (token, output, name, says) in [
        (
            "nonsense".to_string(),
            "{}",
            "[InvalidToken]",
            "is not a task token",
        ),
        (token("../../etc"), "{}", "[InvalidToken]", "is not a task token"),
        (
            "wbt-zz".to_string(),
            "{}",
            "[InvalidToken]",
            "is not a task token",
        ),
        (
            String::new(),
            "{}",
            "[ValidationException]",
            "a task token has 1 to 2048",
        ),
        (
            token("nobody-001"),
            "{}",
            "[TaskDoesNotExist]",
            "there is no execution \"nobody-001\"",
        ),
        (
            token("look-001"),
            "{}",
            "[TaskTimedOut]",
            "has already been closed",
        ),
        (token("look-001"), "{", "[InvalidOutput]", "is not JSON"),
    ] {
        let args = [
            "send-task-success",
            "--task-token",
            &token,
            "--task-output",
            output,
        ];
        rows.push(c(&args, 2, name, says));
    }
    let labels = repo().join("examples/compare/labels.csv");
    let champion = repo().join("examples/compare/champion.csv");
    let (labels, champion) = (labels.to_str().unwrap(), champion.to_str().unwrap());
    rows.extend([
        c(
            &["invoke", "nope", "--event", "{}"],
            2,
            INVALID,
            "no function \"nope\"",
        ),
        c(
            &["invoke", "../../etc", "--event", "{}"],
            2,
            INVALID,
            "no function",
        ),
        c(
            &["invoke", "train", "--event", "/nonexistent/event.json"],
            1,
            "",
            "cannot read /nonexistent/event.json",
        ),
        c(
            &["invoke", "train", "--event", "{"],
            2,
            INVALID,
            "is not valid JSON",
        ),
        c(
            &["invoke", "train", "--event", "{\"a\":1}x"],
            2,
            INVALID,
            "is not valid JSON",
        ),
        c(&["invoke", "train"], 2, "", "--event"),
        c(&["run", "nope", "--input", "{}"], 2, "", "nope"),
        c(
            &["run", "retrain", "--input", "{}", "--name", ""],
            2,
            INVALID,
            "--name is empty",
        ),
        c(
            &["run", "retrain", "--input", "{}", "--name", "../../x"],
            2,
            INVALID,
            "refuses in execution names",
        ),
        c(
            &["run", "retrain", "--input", "{}", "--name", "/etc/x"],
            2,
            INVALID,
            "refuses in execution names",
        ),
        c(
            &["run", "retrain", "--input", "{}", "--name", "a b"],
            2,
            INVALID,
            "refuses in execution names",
        ),
        c(
            &["run", "retrain", "--input", "{}", "--name", &too_long],
            2,
            INVALID,
            "have 1 to 80",
        ),
        c(
            &["run", "ab-evaluation", "--input", "{}", "--name", "look-001"],
            2,
            "Weighbridge.ExecutionAlreadyExists",
            "already exists",
        ),
        c(
            &["run", "retrain", "--input", "{"],
            2,
            INVALID,
            "is not valid JSON",
        ),
        c(
            &[
                "send-task-failure",
                "--task-token",
                &token("look-001"),
                "--error",
                &"E".repeat(257),
            ],
            2,
            "[ValidationException]",
            "--error has 257 characters; the service takes at most 256",
        ),
        c(
            &[
                "send-task-failure",
                "--task-token",
                &token("look-001"),
                "--error",
                "E",
            ],
            2,
            "[TaskTimedOut]",
            "has already been closed",
        ),
        c(
            &["redrive", "nobody-001"],
            2,
            "[ExecutionDoesNotExist]",
            "there is no execution",
        ),
        c(
            &["redrive", "look-001"],
            2,
            "[ExecutionNotRedrivable]",
            "Execution is SUCCEEDED and cannot be redriven.",
        ),
        c(&["redrive", "../x"], 2, INVALID, "refuses in execution names"),
        c(
            &["history", "no-such-execution"],
            2,
            "Weighbridge.NotFound",
            "no execution",
        ),
        c(
            &["history", "../../../etc/passwd"],
            2,
            "Weighbridge.NotFound",
            "no execution",
        ),
        c(
            &["history", &"x".repeat(300)],
            2,
            "Weighbridge.NotFound",
            "no execution",
        ),
        c(
            &[
                "compare",
                "--labels",
                labels,
                champion,
                champion,
                "--replicates",
                "0",
            ],
            2,
            "",
            "--replicates",
        ),
        c(
            &[
                "compare",
                "--labels",
                labels,
                champion,
                champion,
                "--replicates",
                "18446744073709551615",
            ],
            2,
            "",
            "--replicates",
        ),
        c(
            &["compare", "--labels", labels, champion, champion, "--alpha", "5"],
            2,
            INVALID,
            "alpha 5 must be between 0 and 1",
        ),
        c(
            &[
                "compare",
                "--labels",
                labels,
                champion,
                champion,
                "--threshold",
                "NaN",
            ],
            2,
            INVALID,
            "threshold NaN must be finite",
        ),
        c(
            &["compare", "--labels", "/nonexistent", champion, champion],
            1,
            "",
            "cannot read /nonexistent",
        ),
        c(&["validate", "--root", "/nonexistent"], 1, "", "/nonexistent"),
        c(&["nonsense"], 2, "", "unrecognized subcommand"),
        c(&["demo", "--seed", "many"], 2, "", "--seed"),
        c(&["demo", "--max-looks", "-1"], 2, "", "unexpected argument '-1'"),
        c(
            &["demo", "--state-dir", "/dev/null/state"],
            1,
            "Weighbridge.StateIo",
            "/dev/null/state",
        ),
        c(&["status", "--state-dir"], 2, "", "--state-dir"),
    ]);
    rows
}

#[test]
fn bad_input_is_refused_by_name_and_changes_nothing() {
    let dir = scratch("catalogue");
    let state = dir.join("state");
    let s = state.to_str().unwrap();
    let out = weighbridge(&["demo".into(), "--state-dir".into(), s.into()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = files(&state);
    let rows = catalogue(s);
    assert!(rows.len() >= 150, "the catalogue has {} rows", rows.len());
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let out = weighbridge(&row.args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown: String = row.args.join(" ").chars().take(160).collect();
        let code = out.status.code().unwrap_or(-1);
        if code != row.code
            || !stderr.contains(row.name)
            || !stderr.contains(&row.says)
            || stderr.contains("panicked")
        {
            failures.push(format!(
                "row {i}: {shown}\n  expected exit {} {} {:?}\n  got exit {code}: {}",
                row.code,
                row.name,
                row.says,
                stderr.chars().take(400).collect::<String>()
            ));
        }
        if files(&state) != before {
            failures.push(format!("row {i}: {shown}\n  changed the state directory"));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn state_json(state: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(state.join("state.json")).unwrap()).unwrap()
}

fn object_created(key: &str, etag: &str) -> String {
    weighbridge_local::demo::object_created(
        weighbridge_local::demo::BUCKET,
        key,
        etag,
        1,
        "2026-11-24T08:00:00Z",
    )
    .to_string()
}

/// Every endpoint's weights are what UpdateEndpointWeightsAndCapacities accepts.
fn weights_valid(state: &Value) -> bool {
    state["world"]["endpoints"]
        .as_object()
        .unwrap()
        .values()
        .all(|e| {
            let weights: BTreeMap<String, f64> = e["variants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["name"].as_str().unwrap().to_string(),
                        v["currentWeight"].as_f64().unwrap(),
                    )
                })
                .collect();
            weighbridge_tasks::validation::weights("weights", &weights).is_ok()
        })
}

#[test]
fn eight_writers_at_once_lose_no_update() {
    let dir = scratch("concurrent");
    let state = dir.join("state");
    let s = state.to_str().unwrap().to_string();
    assert!(weighbridge(&["demo".into(), "--state-dir".into(), s.clone()])
        .status
        .success());
    let started = |st: &Value| st["world"]["executions"].as_object().unwrap().len();
    let mut expected = started(&state_json(&state));
    let (rounds, writers) = (50, 8);
    for round in 0..rounds {
        let children: Vec<_> = (0..writers)
            .map(|w| {
                let event = object_created(
                    &format!("incoming/r{round}-w{w}.csv"),
                    &format!("{round:04}{w:04}"),
                );
                Command::new(env!("CARGO_BIN_EXE_weighbridge"))
                    .args(["invoke", "start-retraining", "--event", &event, "--state-dir", &s])
                    .env("WEIGHBRIDGE_LOCK_WAIT_MS", "120000")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Two readers in the middle of the writers: they see a whole state or wait.
        let readers: Vec<_> = (0..2)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_weighbridge"))
                    .args(["status", "--state-dir", &s])
                    .env("WEIGHBRIDGE_LOCK_WAIT_MS", "120000")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for reader in readers {
            let out = reader.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: status during writes: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => expected += 1,
                // The only failure allowed: the lock's bounded wait, by name.
                Some(4) => assert!(stderr.contains("Weighbridge.StateBusy"), "{stderr}"),
                other => panic!("round {round}: exit {other:?}: {stderr}"),
            }
        }
        let now = state_json(&state);
        assert_eq!(started(&now), expected, "round {round}: an update was lost");
        assert!(weights_valid(&now), "round {round}: weights invalid");
        let status = weighbridge(&["status".into(), "--state-dir".into(), s.clone()]);
        assert!(
            status.status.success(),
            "round {round}: the directory does not open"
        );
    }
    assert!(expected >= rounds * writers, "{expected} executions");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keys_and_names_never_leave_the_state_directory() {
    let dir = scratch("confined");
    let state = dir.join("state");
    let s = state.to_str().unwrap().to_string();
    assert!(weighbridge(&["demo".into(), "--state-dir".into(), s.clone()])
        .status
        .success());
    let outside = std::env::temp_dir().join(format!("weighbridge-escape-{}", std::process::id()));
    let escape = outside.to_str().unwrap();
    let hostile_keys = [
        "../../escape.csv".to_string(),
        "incoming/../../../escape.csv".to_string(),
        format!("incoming/{escape}.csv"),
        format!("{escape}/abs.csv"),
        "incoming/a\u{0}b.csv".to_string(),
        format!("incoming/{}.csv", "k".repeat(1010)),
        "incoming/\u{fffd}\u{202e}.csv".to_string(),
    ];
    let inv = |function: &str, event: String| {
        weighbridge(&[
            "invoke".into(),
            function.into(),
            "--event".into(),
            event,
            "--state-dir".into(),
            s.clone(),
        ])
    };
    for (i, key) in hostile_keys.iter().enumerate() {
        inv("start-retraining", object_created(key, &format!("{i:08}")));
    }
    // A training job whose output path climbs out of the bucket, and an experiment record
    // whose key does.
    for output in [
        "s3://weighbridge-data/../../../escape/",
        &format!("s3://weighbridge-data/{escape}/"),
    ] {
        inv(
            "train",
            patched(event("train.json"), "outputPath", json!(output)).to_string(),
        );
    }
    for key in ["../../escape.json", &format!("{escape}.json"), "/etc/escape.json"] {
        inv(
            "evaluate-variants",
            patched(event("evaluate-variants.json"), "experimentKey", json!(key)).to_string(),
        );
    }
    // `...` is a name Step Functions accepts (a NUL cannot reach a command line at all): it runs, and its history is confined like any.
    for name in ["../../escape", "/tmp/escape", "..."] {
        let run = weighbridge(&[
            "run".into(),
            "ab-evaluation".into(),
            "--input".into(),
            event("evaluate-variants.json").to_string(),
            "--name".into(),
            name.into(),
            "--state-dir".into(),
            s.clone(),
        ]);
        if name != "..." {
            assert_eq!(run.status.code(), Some(2), "{name:?} was accepted");
        }
    }
    // Non-UTF-8 bytes on the command line are refused by the parser.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"../\xff\xfe");
        let out = Command::new(env!("CARGO_BIN_EXE_weighbridge"))
            .args([
                std::ffi::OsStr::new("history"),
                bad,
                std::ffi::OsStr::new("--state-dir"),
                state.as_os_str(),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
    }
    // Nothing beside the state directory, nothing at the escape paths, and the directory
    // still opens.
    let beside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(beside, vec![std::ffi::OsString::from("state")]);
    assert!(
        !outside.exists() && !Path::new("/etc/escape.json").exists() && !Path::new("/tmp/escape").exists()
    );
    for entry in files(&state).keys() {
        assert!(entry.starts_with(&state), "{entry:?}");
        let name = entry.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.contains("escape") || entry.starts_with(state.join("executions")),
            "{entry:?}"
        );
    }
    let status = weighbridge(&["status".into(), "--state-dir".into(), s.clone()]);
    assert!(status.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_directory_is_an_error_that_says_how_to_recover() {
    let dir = scratch("damaged");
    let state = dir.join("state");
    let s = state.to_str().unwrap().to_string();
    assert!(weighbridge(&["demo".into(), "--state-dir".into(), s.clone()])
        .status
        .success());
    let status = |s: &str| weighbridge(&["status".into(), "--state-dir".into(), s.into()]);
    let blobs_before = files(&state.join("blobs"));
    // A torn state.json, then a missing one: never an empty world with exit 0.
    let good = std::fs::read(state.join("state.json")).unwrap();
    std::fs::write(state.join("state.json"), &good[..good.len() / 2]).unwrap();
    let out = status(&s);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Weighbridge.StateDamaged"));
    std::fs::remove_file(state.join("state.json")).unwrap();
    let out = invoke_sample(&s);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Restore the directory"));
    assert_eq!(
        files(&state.join("blobs")),
        blobs_before,
        "a rejected command deleted objects"
    );
    // A missing blob names the object.
    std::fs::write(state.join("state.json"), &good).unwrap();
    let first = blobs_before.keys().next().unwrap();
    std::fs::remove_file(first).unwrap();
    let out = status(&s);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("s3://"));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn invoke_sample(s: &str) -> Output {
    weighbridge(&[
        "invoke".into(),
        "shift-weights".into(),
        "--event".into(),
        json!({"endpointName": "salary", "action": "promote", "winner": "x"}).to_string(),
        "--state-dir".into(),
        s.into(),
    ])
}

#[test]
fn a_second_writer_waits_a_bounded_time_then_names_the_holder() {
    use weighbridge_local::store::{Access, StateDir};
    let dir = scratch("busy");
    let state = dir.join("state");
    let held = StateDir::new(&state)
        .lock(
            Access::Write,
            "the test's own writer",
            std::time::Duration::from_secs(5),
        )
        .unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_weighbridge"))
        .args([
            "invoke",
            "train",
            "--event",
            "{}",
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .env("WEIGHBRIDGE_LOCK_WAIT_MS", "300")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("Weighbridge.StateBusy"), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())) && stderr.contains("the test's own writer"),
        "the message names the holder: {stderr}"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(300),
        "it waited"
    );
    // A reader waits too, then fails the same way; once the holder is gone, both work.
    let out = Command::new(env!("CARGO_BIN_EXE_weighbridge"))
        .args(["status", "--state-dir", state.to_str().unwrap()])
        .env("WEIGHBRIDGE_LOCK_WAIT_MS", "100")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    drop(held);
    let out = weighbridge(&[
        "status".into(),
        "--state-dir".into(),
        state.to_str().unwrap().into(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}
