//! The targets. Each takes arbitrary bytes and exercises one reader of user input; an
//! error is a fine outcome, a panic is a crash.

use serde_json::{json, Value};
use weighbridge_core::codec::{decode_predictions, parse_labelled, Format, LabelledRowReader};

/// A fuzz target: arbitrary bytes in, any outcome but a panic.
pub type Target = fn(&[u8]);

/// Every target by name, with the repository files that seed it.
pub const TARGETS: [(&str, Target, &[&str]); 12] = [
    ("codecs", codecs, &["examples/compare"]),
    ("capture_records", capture_records, &["crates/fuzz/seeds"]),
    ("labelled_rows", labelled_rows, &["examples/compare"]),
    ("task_inputs", task_inputs, &["events"]),
    ("asl", asl, &["statemachines", "crates/asl/tests/conformance"]),
    ("intrinsics", intrinsics, &[]),
    ("jsonpath", jsonpath, &[]),
    ("state_dir", state_dir, &[]),
    ("xgboost_models", xgboost_models, &["crates/xgboost/tests/golden"]),
    ("model_archives", model_archives, &["crates/fuzz/seeds/archives"]),
    (
        "container_requests",
        container_requests,
        &["examples/replay", "examples/compare"],
    ),
    ("mock_configs", mock_configs, &["examples/run"]),
];

/// A Step Functions Local mock config (`weighbridge run --mock`), for every test case
/// it names.
pub fn mock_configs(data: &[u8]) {
    let text = text(data);
    let _ = weighbridge_local::mocks::Mocks::from_config(&text, None, None);
    if let Ok(config) = serde_json::from_str::<Value>(&text) {
        for (machine, spec) in config["StateMachines"].as_object().into_iter().flatten() {
            for case in spec["TestCases"].as_object().into_iter().flatten() {
                let _ = weighbridge_local::mocks::Mocks::from_config(&text, Some(machine), Some(case.0));
            }
        }
    }
}

/// The XGBoost container's request parsing (the first byte picks CSV or LIBSVM, the
/// rest is the body), the column check and every answer shape.
pub fn container_requests(data: &[u8]) {
    use weighbridge_local::memory::serving;
    use weighbridge_local::ResponseStyle;
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let content_type = if first % 2 == 0 { "text/csv" } else { "text/libsvm" };
    let Ok(rows) = serving::parse_request(content_type, body) else {
        return;
    };
    let shape = serving::ModelShape {
        num_feature: usize::from(*first),
        pickled: first % 3 == 0,
    };
    let _ = serving::check_columns(shape, &rows);
    let scores: Vec<f64> = rows.rows.iter().map(|r| r.iter().sum()).collect();
    for style in [ResponseStyle::Xgboost, ResponseStyle::XgboostCommaJoined] {
        for accept in [None, Some("application/json"), Some("text/csv")] {
            let _ = serving::render_xgboost(style, accept, None, &scores);
        }
    }
}

/// The xgboost model loader on any bytes (JSON, UBJSON, legacy binary, pickle
/// detection); a model that loads predicts a row of zeros, one of NaN and an empty row.
pub fn xgboost_models(data: &[u8]) {
    if let Ok(booster) = weighbridge_xgboost::load(data) {
        let width = booster.num_feature.min(64);
        for row in [vec![0.0f32; width], vec![f32::NAN; width], Vec::new()] {
            let _ = booster.predict(&row);
        }
    }
}

/// `model.tar.gz` reading: the bytes as an archive, and as the one file of an archive.
pub fn model_archives(data: &[u8]) {
    let _ = weighbridge_local::artifact::unpack_artifact(data);
}

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _, _)| *n == name).map(|(_, t, _)| *t)
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Every response decoder, on every format.
pub fn codecs(data: &[u8]) {
    let body = text(data);
    for format in [Format::Csv, Format::JsonLines, Format::Json] {
        let _ = decode_predictions(&body, format);
    }
    let _ = Format::from_content_type(&body);
    let _ = Format::sniff(&body);
}

/// Data Capture and ground-truth records, line by line, as the live source reads them.
pub fn capture_records(data: &[u8]) {
    for line in text(data).lines() {
        let _ = weighbridge_core::capture::parse_capture_line(line);
        let _ = weighbridge_core::capture::parse_ground_truth_line(line);
    }
}

/// The labelled-row reader, whole and in chunks split at every 7th byte.
pub fn labelled_rows(data: &[u8]) {
    let _ = parse_labelled(&text(data));
    let mut reader = LabelledRowReader::default();
    for chunk in data.chunks(7) {
        if reader.feed(chunk).is_err() {
            return;
        }
    }
    let _ = reader.finish();
}

/// Every task's input parsing and validation (no port is called: the checks that run
/// before the first call).
pub fn task_inputs(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    use weighbridge_tasks::*;
    let _ = input::parse_input::<deploy::DeployInput>(event.clone());
    let _ = input::parse_input::<evaluate_model::EvaluateModelInput>(event.clone());
    let _ = input::parse_input::<evaluate_variants::EvaluateVariantsInput>(event.clone());
    let _ = input::parse_input::<shift_weights::ShiftWeightsInput>(event.clone());
    if let Ok(train) = input::parse_input::<train::TrainInput>(event.clone()) {
        let _ = train::build_request(&train, "us-east-1");
    }
    let _ = start_retraining::objects_of(&event);
    if let Some(uri) = event.as_str() {
        let _ = validation::s3_uri("uri", uri);
        let _ = validation::role_arn("arn", uri);
        let _ = validation::execution_name("name", uri);
    }
}

struct Echo;

#[async_trait::async_trait]
impl weighbridge_asl::interpreter::Resources for Echo {
    async fn call(
        &self,
        resource: &str,
        parameters: Value,
        _: &weighbridge_asl::interpreter::TaskContext,
    ) -> Result<Value, weighbridge_asl::Failure> {
        if resource.contains("fail") {
            Err(weighbridge_asl::Failure::new("Task.Failed", "asked to"))
        } else {
            Ok(parameters)
        }
    }
}

/// Parse, validate and (when valid) run a definition on a virtual clock, with Tasks that
/// echo their parameters; the run is bounded by the definition's own limits and a
/// one-hour execution timeout.
pub fn asl(data: &[u8]) {
    let Ok(machine) = weighbridge_asl::validate::validate_text(&text(data), &|_| true) else {
        return;
    };
    let clock = weighbridge_asl::interpreter::VirtualClock::starting_at(chrono::DateTime::UNIX_EPOCH);
    let spec = weighbridge_asl::interpreter::ExecutionSpec {
        state_machine_name: "fuzz".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:fuzz".into(),
        name: "fuzz".into(),
        role_arn: "arn:aws:iam::123456789012:role/fuzz".into(),
        seed: 1,
    };
    let mut bounded = machine;
    bounded.timeout_seconds = Some(bounded.timeout_seconds.unwrap_or(3600).min(3600));
    let input = json!({"a": 1, "b": [1, 2, 3], "c": {"d": "x"}});
    let _ = futures::executor::block_on(weighbridge_asl::interpreter::run(
        &bounded, input, &spec, &Echo, &clock,
    ));
}

/// An intrinsic function call (`States.Format('{}', $.a)` …) on a fixed input.
pub fn intrinsics(data: &[u8]) {
    let call = text(data);
    let input = json!({"a": 1, "s": "text", "l": [1, 2, 3], "o": {"k": "v"}});
    let _ = weighbridge_asl::intrinsics::check(&call);
    let _ = weighbridge_asl::intrinsics::evaluate(&call, &input, &json!({"Execution": {"Name": "x"}}));
}

/// A JSONPath read and a reference-path write on a fixed document.
pub fn jsonpath(data: &[u8]) {
    let path = text(data);
    let doc = json!({"a": {"b": [1, {"c": 2}]}, "detail-type": "x", "l": [0, 1, 2]});
    let _ = weighbridge_asl::paths::read(&path, &doc, &json!({"Map": {"Item": {"Index": 0}}}));
    let _ = weighbridge_asl::paths::write(doc, &path, json!(true));
}

/// Fuzzed bytes as `state.json` (and as a blob) in a fresh state directory, opened.
pub fn state_dir(data: &[u8]) {
    use weighbridge_local::store::{Access, StateDir};
    thread_local! {
        static DIR: std::path::PathBuf = {
            let dir = std::env::temp_dir().join(format!("weighbridge-fuzz-state-{}-{:?}", std::process::id(), std::thread::current().id()));
            let _ = std::fs::create_dir_all(dir.join("blobs"));
            dir
        };
    }
    DIR.with(|dir| {
        let _ = std::fs::write(dir.join("state.json"), data);
        let store = StateDir::new(dir);
        if let Ok(lock) = store.lock(Access::Write, "fuzz", std::time::Duration::from_secs(5)) {
            let _ = store.open(&lock, 1);
            let _ = store.executions();
        }
    });
    let _ = weighbridge_local::store::decode_name(&text(data));
}

/// Seeds every target starts from, beside the repository files: small valid and
/// nearly-valid inputs of its kind.
pub fn builtin_seeds(name: &str) -> Vec<Vec<u8>> {
    let seeds: Vec<String> = match name {
        "codecs" => vec!["1\n2\n3\n".into(), "{\"predictions\":[{\"score\":0.5}]}".into(), "[1,2]".into(), "0.5,0.7".into()],
        "labelled_rows" => vec!["1,2,3\n0,4,5\n".into(), "{\"label\":1,\"features\":[1,2]}\n".into()],
        "intrinsics" => [
            "States.Format('{} and {}', $.a, $.s)",
            "States.StringToJson('{\"a\":1}')",
            "States.JsonToString($.o)",
            "States.Array(1, 2, $.a)",
            "States.ArrayPartition($.l, 2)",
            "States.ArrayContains($.l, 1)",
            "States.ArrayRange(1, 9, 2)",
            "States.ArrayGetItem($.l, 1)",
            "States.ArrayLength($.l)",
            "States.ArrayUnique($.l)",
            "States.Base64Encode($.s)",
            "States.Base64Decode('dGV4dA==')",
            "States.Hash($.s, 'SHA-256')",
            "States.JsonMerge($.o, $.o, false)",
            "States.MathRandom(1, 9)",
            "States.MathAdd($.a, 2)",
            "States.StringSplit('a,b', ',')",
            "States.UUID()",
        ]
        .map(String::from)
        .to_vec(),
        "jsonpath" => ["$", "$.a.b[1].c", "$.l[0:2]", "$['detail-type']", "$.a..c", "$.l[?(@ > 0)]", "$$.Map.Item.Index"]
            .map(String::from)
            .to_vec(),
        "state_dir" => vec![
            serde_json::to_string(&json!({"format": 2, "now": "2026-01-01T00:00:00Z", "timing_seconds": null, "world": {}, "objects": {"b": {"k": {"etag": "\"e\"", "blob": "00"}}}})).unwrap_or_default(),
            "{}".into(),
        ],
        "task_inputs" => vec![json!({"endpointName": "e", "action": "set", "weights": {"a": 1.0}}).to_string()],
        _ => Vec::new(),
    };
    seeds.into_iter().map(String::into_bytes).collect()
}
