//! The local commands, through the built binary: demo, status, history, run, invoke and
//! validate share a state directory as a user's shell session would.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

mod support;
use support::{files, repo, scratch};

use std::process::{Command, Output};

fn weighbridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weighbridge"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The command was refused (exit 2) saying each of `says`.
fn refused(out: &Output, says: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    for s in says {
        assert!(text(out).contains(s), "{s:?} not in {}", text(out));
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn demo_then_status_history_run_and_invoke_share_the_state() {
    let dir = scratch("demo");
    let state = dir.join("state");
    let s = state.to_str().unwrap();
    let out = weighbridge(&["demo", "--state-dir", s]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    for expected in [
        "promote",
        "rollback",
        "live traffic",
        "coverage",
        "FLAGGED",
        "95% AV bounds",
        "caught and acknowledged",
        "Summary",
        "plot:",
    ] {
        assert!(
            shown.contains(expected),
            "demo output lacks {expected:?}:\n{shown}"
        );
    }
    let svg = std::fs::read_to_string(state.join("demo.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("Traffic weight"),
        "the plot is an SVG with its panels"
    );

    let out = weighbridge(&["status", "--state-dir", s]);
    let shown = text(&out);
    assert!(
        out.status.success() && shown.contains("InService") && shown.contains("RMSE"),
        "{shown}"
    );
    assert!(shown.contains("look-001") && shown.contains("retrain"), "{shown}");

    let out = weighbridge(&["history", "look-001", "--state-dir", s]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    for event in [
        "ExecutionStarted",
        "TaskScheduled",
        "TaskSucceeded",
        "ChoiceStateEntered",
        "ExecutionSucceeded",
    ] {
        assert!(shown.contains(event), "history lacks {event}:\n{shown}");
    }
    assert!(!weighbridge(&["history", "nope", "--state-dir", s])
        .status
        .success());

    // A manual retrain on a data set already in the local bucket adds a challenger.
    let mut input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("events/retrain-execution.json")).unwrap())
            .unwrap();
    input["dataUri"] = "s3://weighbridge-data/incoming/salary-batch-2.csv".into();
    let out = weighbridge(&[
        "run",
        "retrain",
        "--input",
        &input.to_string(),
        "--name",
        "manual-1",
        "--state-dir",
        s,
    ]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("\"outcome\": \"deployed\"") && shown.contains("\"action\": \"updated\""),
        "{shown}"
    );
    let out = weighbridge(&["status", "--state-dir", s]);
    assert!(text(&out).contains("manual-1"), "{}", text(&out));

    // A data set that is not there fails the execution with SageMaker's reason.
    input["dataUri"] = "s3://weighbridge-data/incoming/missing.csv".into();
    let out = weighbridge(&[
        "run",
        "retrain",
        "--input",
        &input.to_string(),
        "--name",
        "manual-2",
        "--state-dir",
        s,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Weighbridge.TrainingFailed") && text(&out).contains("no data under"),
        "{}",
        text(&out)
    );

    // invoke: a function's output, or its typed error and a failing exit code.
    let out = weighbridge(&[
        "invoke",
        "evaluate-variants",
        "--event",
        "{\"endpointName\": \"salary\"}",
        "--state-dir",
        s,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("Weighbridge.InvalidInput"), "{}", text(&out));
    let event = repo().join("events/shift-weights.json");
    let out = weighbridge(&[
        "invoke",
        "shift-weights",
        "--event",
        event.to_str().unwrap(),
        "--state-dir",
        s,
    ]);
    // The sample promotes a variant named "challenger"; the demo's variants are named after
    // their training jobs, so it is refused before anything changes.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("Weighbridge.InvalidInput") && text(&out).contains("\"challenger\""),
        "{}",
        text(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_test_set_scenario_stays_reachable() {
    let dir = scratch("demo-test-set");
    let state = dir.join("state");
    let out = weighbridge(&[
        "demo",
        "--scenario",
        "test-set",
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    for expected in ["promote after", "rollback after", "95% interval"] {
        assert!(
            shown.contains(expected),
            "test-set demo lacks {expected:?}:\n{shown}"
        );
    }
    assert!(!shown.contains("live traffic"), "{shown}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_shadow_scenario_graduates_then_promotes_and_removes_the_worse() {
    let dir = scratch("demo-shadow");
    let state = dir.join("state");
    let out = weighbridge(&[
        "demo",
        "--scenario",
        "shadow",
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    for expected in [
        "each candidate a shadow first",
        "graduate (new config)",
        "promote after",
        "remove after",
    ] {
        assert!(
            shown.contains(expected),
            "shadow demo lacks {expected:?}:\n{shown}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn validate_passes_on_the_project_and_names_the_problem_in_a_broken_copy() {
    let out = weighbridge(&["validate", "--root", repo().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("✓ retrain") && text(&out).contains("✓ ab-evaluation"));
    assert!(text(&out).contains("✓ alarm-rollback"), "{}", text(&out));

    let dir = scratch("validate");
    std::fs::create_dir_all(dir.join("statemachines")).unwrap();
    std::fs::copy(repo().join("template.yaml"), dir.join("template.yaml")).unwrap();
    let retrain = std::fs::read_to_string(repo().join("statemachines/retrain.asl.json")).unwrap();
    let ab = std::fs::read_to_string(repo().join("statemachines/ab-evaluation.asl.json")).unwrap();
    std::fs::copy(
        repo().join("statemachines/alarm-rollback.asl.json"),
        dir.join("statemachines/alarm-rollback.asl.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("statemachines/retrain.asl.json"),
        retrain.replace("\"Next\": \"EvaluateModel\"", "\"Next\": \"Evaluate\""),
    )
    .unwrap();
    std::fs::write(
        dir.join("statemachines/ab-evaluation.asl.json"),
        ab.replace("${ShiftWeightsFunctionArn}", "${ShiftWeightsArn}"),
    )
    .unwrap();
    let out = weighbridge(&["validate", "--root", dir.to_str().unwrap()]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("PrepareGate (Pass): Next \"Evaluate\" is not a state"),
        "{shown}"
    );
    assert!(
        shown.contains("${ShiftWeightsArn} has no DefinitionSubstitutions entry"),
        "{shown}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn aws_mode_needs_the_aws_feature_and_says_so() {
    if cfg!(feature = "aws") {
        return;
    }
    let out = weighbridge(&["invoke", "train", "--aws", "--event", "{}"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--features aws"), "{}", text(&out));
    let out = weighbridge(&["run", "retrain", "--aws", "--input", "{}"]);
    assert!(text(&out).contains("--features aws"), "{}", text(&out));
}

/// Bring your own model, as a user would with the AWS CLI: a SageMaker XGBoost
/// `model.tar.gz` copied into the local S3, deployed, waited for, invoked — and the
/// answer is xgboost's own (crates/xgboost/tests/golden, from xgboost 1.7.6).
#[test]
fn a_sagemaker_xgboost_artifact_is_copied_deployed_waited_for_and_invoked() {
    let dir = scratch("byo");
    let s = dir.join("state");
    let s = s.to_str().unwrap();
    let model = std::fs::read(repo().join("crates/xgboost/tests/golden/binary-logistic.ubj")).unwrap();
    let artifact = dir.join("model.tar.gz");
    std::fs::write(
        &artifact,
        weighbridge_local::artifact::tar_gz("xgboost-model", &model),
    )
    .unwrap();

    let out = weighbridge(&[
        "s3",
        "cp",
        artifact.to_str().unwrap(),
        "s3://models/byo/",
        "--state-dir",
        s,
    ]);
    assert!(
        out.status.success() && text(&out).contains("s3://models/byo/model.tar.gz"),
        "{}",
        text(&out)
    );
    let out = weighbridge(&["s3", "ls", "s3://models/", "--state-dir", s]);
    assert!(
        text(&out).contains("s3://models/byo/model.tar.gz"),
        "{}",
        text(&out)
    );
    let deploy = r#"{"executionName": "byo-1", "endpointName": "byo", "variantName": "champion",
        "image": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
        "modelDataUrl": "s3://models/byo/model.tar.gz", "roleArn": "arn:aws:iam::123456789012:role/sm"}"#;
    assert!(
        weighbridge(&["invoke", "deploy", "--event", deploy, "--state-dir", s])
            .status
            .success()
    );
    let answer = dir.join("out.csv");
    let invoke = |dir: &str| {
        weighbridge(&[
            "invoke-endpoint",
            "--endpoint-name",
            "byo",
            "--body",
            "0.1,0.2,,0.4\n0.9,0.1,0.5,0.5",
            answer.to_str().unwrap(),
            "--state-dir",
            dir,
        ])
    };
    let out = invoke(s);
    assert!(
        !out.status.success() && text(&out).contains("not in service"),
        "{}",
        text(&out)
    );
    let out = weighbridge(&[
        "wait",
        "endpoint-in-service",
        "--endpoint-name",
        "byo",
        "--state-dir",
        s,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = invoke(s);
    assert!(
        out.status.success() && text(&out).contains("\"InvokedProductionVariant\": \"champion\""),
        "{}",
        text(&out)
    );
    // xgboost 1.7.6 on the same two rows (the empty field is missing): 0.17893209, 0.9185605.
    let got: Vec<f64> = std::fs::read_to_string(&answer)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(
        (got[0] - 0.178_932_09).abs() < 1e-7 && (got[1] - 0.918_560_5).abs() < 1e-7,
        "{got:?}"
    );
    let back = dir.join("back.tar.gz");
    let out = weighbridge(&[
        "s3",
        "cp",
        "s3://models/byo/model.tar.gz",
        back.to_str().unwrap(),
        "--state-dir",
        s,
    ]);
    assert!(out.status.success());
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&artifact).unwrap());
    // Refusals: both sides local, a key S3 refuses, an endpoint name SageMaker refuses.
    assert_eq!(
        weighbridge(&["s3", "cp", "a", "b", "--state-dir", s])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        weighbridge(&["s3", "ls", "s3:///x", "--state-dir", s])
            .status
            .code(),
        Some(2)
    );
    let out = weighbridge(&[
        "invoke-endpoint",
        "--endpoint-name",
        "bad name",
        "--body",
        "1",
        "o",
        "--state-dir",
        s,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's third example: the shipped XGBoost artifacts replayed on the shipped
/// data — the challenger (trained on a well measured feature) is promoted, with RMSEs
/// xgboost itself gives on the first look's rows (14.203 and 2.816); a file that is no
/// model is refused before anything is deployed.
#[test]
fn replay_promotes_the_better_shipped_artifact() {
    let dir = scratch("replay");
    let s = dir.join("state");
    let s = s.to_str().unwrap();
    let example = |f: &str| {
        repo()
            .join("examples/replay")
            .join(f)
            .to_str()
            .unwrap()
            .to_string()
    };
    let champion = format!("champion={}", example("champion.tar.gz"));
    let challenger = format!("challenger={}", example("challenger.tar.gz"));
    let data = example("test.csv");
    let out = weighbridge(&[
        "replay",
        "--model",
        &champion,
        "--model",
        &challenger,
        "--data",
        &data,
        "--state-dir",
        s,
    ]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("decision: promote") && shown.contains("promote challenger"),
        "{shown}"
    );
    assert!(shown.contains("14.203") && shown.contains("2.816"), "{shown}");
    assert!(std::fs::read_to_string(dir.join("state/replay.svg"))
        .unwrap()
        .contains("<svg"));
    let out = weighbridge(&["history", "replay-look-001", "--state-dir", s]);
    assert!(out.status.success(), "{}", text(&out));
    let not_a_model = format!("bad={data}");
    let out = weighbridge(&[
        "replay",
        "--model",
        &champion,
        "--model",
        &not_a_model,
        "--data",
        &data,
        "--state-dir",
        s,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("model bad:") && text(&out).contains("gzip"),
        "{}",
        text(&out)
    );
    let out = weighbridge(&["replay", "--model", &champion, "--data", &data, "--state-dir", s]);
    assert!(text(&out).contains("2 to 10 models"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file of examples/run.
fn example(file: &str) -> String {
    repo()
        .join("examples/run")
        .join(file)
        .to_str()
        .unwrap()
        .to_string()
}

/// `weighbridge run` of an example definition with its input and mock config, and `extra`
/// arguments.
fn run_example(
    (machine, input, mocks): &(String, String, String),
    extra: &[&str],
    state_dir: &str,
) -> Output {
    let mut args = vec![
        "run",
        machine,
        "--input",
        input,
        "--mock",
        mocks,
        "--state-dir",
        state_dir,
    ];
    args.extend(extra);
    weighbridge(&args)
}

/// examples/run: the definition, its input and its mock config, with the order lines
/// copied into the state directory's S3 (`s3://stock/lines/`), as the README does.
fn restock_example(state_dir: &str) -> (String, String, String) {
    for line in ["lines/a-1.json", "lines/b-7.json"] {
        let out = weighbridge(&[
            "s3",
            "cp",
            &example(line),
            "s3://stock/lines/",
            "--state-dir",
            state_dir,
        ]);
        assert!(out.status.success(), "{}", text(&out));
    }
    (
        example("restock.asl.json"),
        example("input.json"),
        example("mocks.json"),
    )
}

/// `weighbridge run FILE.asl.json --mock`: the README's example — JSONata, Variables, a
/// Distributed Map over an S3 prefix of the state directory and a Task answered by Step
/// Functions Local's mock config (throttled once, then priced) — and the same machine
/// failing by its own Fail state under another test case.
#[test]
fn any_definition_runs_with_mocks_jsonata_and_variables() {
    let dir = scratch("run-file");
    let s = dir.join("state");
    let s = s.to_str().unwrap();
    let files = restock_example(s);
    let (machine, input) = (&files.0, &files.1);
    let run = |case: &str| run_example(&files, &["--test-case", case], s);
    let ok = run("Throttled");
    assert!(ok.status.success(), "{}", text(&ok));
    let output: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        output,
        serde_json::json!({"total": 130, "currency": "EUR", "lines": [50, 80]})
    );
    assert!(
        text(&ok).contains("execution restock-001: Succeeded"),
        "{}",
        text(&ok)
    );
    // The Distributed Map is a Map Run; its items ran as child executions, each with
    // its own history: an S3 read and a pricing call (the first one throttled once).
    let history = weighbridge(&["history", "restock-001", "--state-dir", s]);
    let shown = text(&history);
    assert!(
        shown.contains("MapRunStarted") && shown.contains("MapRunSucceeded"),
        "{shown}"
    );
    assert!(!shown.contains("TaskScheduled"), "{shown}");
    let child = |index: &str| {
        text(&weighbridge(&[
            "history",
            "restock-001",
            "--child",
            index,
            "--state-dir",
            s,
        ]))
    };
    let (first, second) = (child("0"), child("1"));
    assert!(first.contains("Pricing.Throttled"), "{first}");
    assert_eq!(
        (
            first.matches("TaskScheduled").count(),
            second.matches("TaskScheduled").count()
        ),
        (3, 2),
        "{first}{second}"
    );
    let missing = weighbridge(&["history", "restock-001", "--child", "7", "--state-dir", s]);
    refused(&missing, &["has no child execution \"7\"; it has: "]);
    let too_small = run("Cheap");
    assert_eq!(too_small.status.code(), Some(3), "{}", text(&too_small));
    assert!(text(&too_small).contains("Restock.TooSmall: the total 6 is under the minimum 100"));
    let unknown_case = run("Nope");
    assert_eq!(unknown_case.status.code(), Some(2), "{}", text(&unknown_case));
    assert!(
        text(&unknown_case).contains("no test case \"Nope\"; it has: Throttled, Cheap"),
        "{}",
        text(&unknown_case)
    );
    // Without mocks the Task goes to this project's functions, which have no `price`.
    let no_mock = weighbridge(&["run", machine, "--input", input, "--state-dir", s]);
    assert_eq!(no_mock.status.code(), Some(3), "{}", text(&no_mock));
    let why =
        "Lambda.ResourceNotFoundException: no function arn:aws:lambda:us-east-1:123456789012:function:price";
    assert!(text(&no_mock).contains(why), "{}", text(&no_mock));
}

/// `weighbridge test-state`: one state of the example, with the variables earlier states
/// would have set — the Map's output, next state and the data it saw; a state that is
/// not there is named with the ones that are.
#[test]
fn test_state_answers_as_the_test_state_api() {
    let dir = scratch("test-state");
    let s = dir.join("state");
    let s = s.to_str().unwrap();
    let (machine, input, mocks) = restock_example(s);
    let out = weighbridge(&[
        "test-state",
        &machine,
        "--state",
        "PriceEach",
        "--input",
        &input,
        "--variables",
        r#"{"currency": "EUR", "bucket": "stock"}"#,
        "--mock",
        &mocks,
        "--test-case",
        "Throttled",
        "--inspection-level",
        "DEBUG",
        "--state-dir",
        s,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["status"], "SUCCEEDED");
    assert_eq!(answer["nextState"], "BigEnough");
    assert_eq!(answer["output"], serde_json::json!({"lines": [50, 80]}));
    assert_eq!(answer["inspectionData"]["variables"]["total"], 130);
    let missing = weighbridge(&["test-state", &machine, "--state", "Nope", "--state-dir", s]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing).contains("no state \"Nope\" at the top level; it has: BigEnough, Order, PriceEach")
    );
}

/// The approval example: `run` pauses at the Task waiting for its token and prints it;
/// two answers sent at once are one answer and one `TaskTimedOut`; the supplier's
/// failure fails the execution, and `redrive` goes on from the order without asking for
/// approval again; a rejection (`send-task-failure`) is caught into the Fail state.
#[test]
fn a_paused_execution_goes_on_when_its_token_is_answered_and_a_failed_one_is_redriven() {
    let dir = scratch("approve");
    let s = dir.join("state");
    let s = s.to_str().unwrap();
    let approve = (
        example("approve.asl.json"),
        example("approve-input.json"),
        example("approve-mocks.json"),
    );
    let run = |name: &str| {
        let out = run_example(&approve, &["--name", name], s);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains(&format!("execution {name}: Running")),
            "{}",
            text(&out)
        );
        let paused: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(paused["status"], "RUNNING");
        paused["taskTokens"][0].as_str().unwrap().to_string()
    };
    let token = run("buy-1");
    // Two answers at once: the state directory's lock lets one in; the other finds the
    // task closed.
    let answer = || {
        Command::new(env!("CARGO_BIN_EXE_weighbridge"))
            .args(["send-task-success", "--task-token", &token])
            .args(["--task-output", r#"{"approver": "kim"}"#, "--state-dir", s])
            .spawn()
            .unwrap()
    };
    let (a, b) = (answer(), answer());
    let mut codes = [a, b].map(|c| c.wait_with_output().unwrap().status.code());
    codes.sort();
    // One answer went on to the order, which failed (3); the other was refused (2).
    assert_eq!(codes, [Some(2), Some(3)]);
    let before = files(std::path::Path::new(s));
    let send = |token: &str| {
        weighbridge(&[
            "send-task-success",
            "--task-token",
            token,
            "--task-output",
            "{}",
            "--state-dir",
            s,
        ])
    };
    let again = send(&token);
    refused(&again, &["[TaskTimedOut]"]);
    assert_eq!(
        files(std::path::Path::new(s)),
        before,
        "a refused answer changed the state"
    );
    let history = weighbridge(&["history", "buy-1", "--json", "--state-dir", s]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.last(), Some(&"ExecutionFailed"), "{kinds:?}");
    assert!(kinds.contains(&"TaskSubmitted"), "{kinds:?}");
    let redriven = weighbridge(&["redrive", "buy-1", "--state-dir", s]);
    assert!(redriven.status.success(), "{}", text(&redriven));
    let output: serde_json::Value = serde_json::from_slice(&redriven.stdout).unwrap();
    assert_eq!(
        output,
        serde_json::json!({"orderId": "PO-1001", "approvedBy": "kim"})
    );
    let history = weighbridge(&["history", "buy-1", "--json", "--state-dir", s]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout).unwrap();
    let scheduled = |state: &str| {
        events
            .iter()
            .filter(|e| e["type"] == "TaskScheduled" && e["state"] == state)
            .count()
    };
    // Asked once, ordered twice (the failed order, then the redriven one).
    assert_eq!((scheduled("AskApproval"), scheduled("Order")), (1, 2));
    assert!(events
        .iter()
        .any(|e| e["type"] == "ExecutionRedriven" && e["details"]["redriveCount"] == 1));
    let twice = weighbridge(&["redrive", "buy-1", "--state-dir", s]);
    refused(
        &twice,
        &["Execution is SUCCEEDED and cannot be redriven. [ExecutionNotRedrivable]"],
    );
    // A rejection: the Task fails with the error sent, its Catch goes to the Fail state.
    let token = run("buy-2");
    let rejected = weighbridge(&[
        "send-task-failure",
        "--task-token",
        &token,
        "--error",
        "Approval.Rejected",
        "--cause",
        "over budget",
        "--state-dir",
        s,
    ]);
    assert_eq!(rejected.status.code(), Some(3), "{}", text(&rejected));
    assert!(
        text(&rejected).contains("Purchase.Rejected: over budget"),
        "{}",
        text(&rejected)
    );
    // A paused execution is not redriven (it is not over).
    let waiting = run("buy-3");
    let beat = weighbridge(&["send-task-heartbeat", "--task-token", &waiting, "--state-dir", s]);
    assert!(beat.status.success(), "{}", text(&beat));
    assert!(
        text(&beat).contains("execution buy-3: heartbeat at"),
        "{}",
        text(&beat)
    );
    let paused = weighbridge(&["redrive", "buy-3", "--state-dir", s]);
    refused(
        &paused,
        &["Execution is RUNNING and cannot be redriven. [ExecutionNotRedrivable]"],
    );
    // A project machine is redriven on its own definition: the failed state runs again.
    let failed = weighbridge(&["run", "retrain", "--input", "{}", "--state-dir", s]);
    assert_eq!(failed.status.code(), Some(3), "{}", text(&failed));
    let again = weighbridge(&["redrive", "retrain-004", "--state-dir", s]);
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    assert!(text(&again).contains("States.Runtime"), "{}", text(&again));
    let history = weighbridge(&["history", "retrain-004", "--json", "--state-dir", s]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let redriven = kinds.iter().position(|k| *k == "ExecutionRedriven").unwrap();
    assert_eq!(kinds[redriven - 1], "ExecutionFailed", "{kinds:?}");
    assert_eq!(events[redriven + 1]["state"], "PrepareTraining", "{kinds:?}");
    // A Task's wait for its token ends at its TimeoutSeconds (a day): another execution's
    // 25-hour Wait moves the state directory's clock past it, and the paused execution
    // goes on from the timeout, at its time, without anyone asking; an answer after
    // that is refused.
    let token = run("buy-5");
    let sleep = dir.join("sleep.asl.json");
    std::fs::write(
        &sleep,
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 90000, "End": true}}}"#,
    )
    .unwrap();
    let slept = weighbridge(&["run", sleep.to_str().unwrap(), "--input", "{}", "--state-dir", s]);
    assert!(slept.status.success(), "{}", text(&slept));
    assert!(
        text(&slept)
            .contains("execution buy-5: its task token's wait ran out; it went on from the timeout: FAILED"),
        "{}",
        text(&slept)
    );
    refused(&send(&token), &["has already been closed", "[TaskTimedOut]"]);
    let history = weighbridge(&["history", "buy-5", "--json", "--state-dir", s]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout).unwrap();
    let at = |kind: &str| {
        let e = events.iter().find(|e| e["type"] == kind).unwrap();
        chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).unwrap()
    };
    assert_eq!((at("TaskTimedOut") - at("TaskSubmitted")).num_seconds(), 86_400);
    assert_eq!(events.last().unwrap()["type"], "ExecutionFailed");
    std::fs::remove_dir_all(&dir).unwrap();
}
