//! The deployment files agree with each other and with the code: every `${…}` in an ASL
//! file is provided by its `DefinitionSubstitutions` (and every substitution is used),
//! every Task names a function of the template or an AWS SDK action its state machine's
//! policy grants, every error name in `Retry`/`Catch` is one something can raise, every
//! Task retries the retryable names, and IAM holds no wildcard where the API allows less.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use weighbridge_tasks::TaskError;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// `!GetAtt Fn.Arn` → `Fn`; `!Ref X` → `X`.
fn tagged_target(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Tagged(t) => t.value.as_str().map(|s| s.split('.').next().unwrap().to_string()),
        _ => None,
    }
}

fn resources_of_type<'a>(t: &'a Yaml, kind: &str) -> BTreeMap<String, &'a Yaml> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r))
        .collect()
}

/// Every Task state, however deeply nested (Map item processors, Parallel branches).
fn tasks(states: &Json, out: &mut Vec<(String, Json)>) {
    for (name, state) in states.as_object().unwrap() {
        if state["Type"] == "Task" {
            out.push((name.clone(), state.clone()));
        }
        for nested in [&state["ItemProcessor"]["States"], &state["Iterator"]["States"]] {
            if nested.is_object() {
                tasks(nested, out);
            }
        }
        if let Some(branches) = state["Branches"].as_array() {
            for b in branches {
                tasks(&b["States"], out);
            }
        }
    }
}

/// Every `${Name}` in a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

/// Actions granted by a resource's inline policy statements (`sagemaker:DescribeEndpoint`).
fn granted_actions(resource: &Yaml) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for policy in resource["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            match &statement["Action"] {
                Yaml::String(a) => {
                    out.insert(a.clone());
                }
                Yaml::Sequence(actions) => {
                    out.extend(actions.iter().filter_map(|a| a.as_str().map(String::from)))
                }
                _ => {}
            }
        }
    }
    out
}

const LAMBDA_ERRORS: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];
const RETRYABLE: [&str; 2] = ["Weighbridge.Throttled", "Weighbridge.ServiceUnavailable"];
const STATES_ERRORS: [&str; 4] = [
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "States.Runtime",
];

#[test]
fn state_machines_agree_with_the_template_and_the_functions() {
    let t = template();
    let functions = resources_of_type(&t, "AWS::Serverless::Function");
    let machines = resources_of_type(&t, "AWS::Serverless::StateMachine");
    assert_eq!(machines.len(), 3, "retrain, ab-evaluation and alarm-rollback");
    let mut checked_tasks = 0;
    for (machine, resource) in &machines {
        let props = &resource["Properties"];
        let file = props["DefinitionUri"].as_str().unwrap();
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let definition: Json = serde_json::from_str(&text).unwrap();
        let substitutions: BTreeMap<String, Option<String>> = props["DefinitionSubstitutions"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), tagged_target(v)))
            .collect();
        let used = placeholders(&text);
        let provided: BTreeSet<String> = substitutions.keys().cloned().collect();
        assert_eq!(
            used, provided,
            "{machine}: placeholders in {file} vs DefinitionSubstitutions"
        );
        let granted = granted_actions(resource);
        let mut found = Vec::new();
        tasks(&definition["States"], &mut found);
        for (name, task) in found {
            let resource_arn = task["Resource"].as_str().unwrap();
            assert!(
                !resource_arn.contains("${"),
                "{machine}.{name}: keep ${{…}} out of Resource (statelint)"
            );
            let lambda = resource_arn == "arn:aws:states:::lambda:invoke";
            if lambda {
                let placeholder = task["Parameters"]["FunctionName"].as_str().unwrap();
                let key = placeholder.trim_start_matches("${").trim_end_matches('}');
                let function = substitutions[key].as_ref().unwrap();
                let code = functions.get(function).unwrap_or_else(|| {
                    panic!("{machine}.{name}: {function} is not a function of the template")
                })["Properties"]["CodeUri"]
                    .as_str()
                    .unwrap();
                assert!(
                    root().join(code).join("Cargo.toml").exists(),
                    "{function}: {code} is not a crate"
                );
            } else {
                let action = resource_arn
                    .strip_prefix("arn:aws:states:::aws-sdk:sagemaker:")
                    .unwrap_or_else(|| panic!("{machine}.{name}: unknown resource {resource_arn}"));
                let iam = format!("sagemaker:{}{}", action[..1].to_uppercase(), &action[1..]);
                assert!(
                    granted.contains(&iam),
                    "{machine}.{name}: {iam} is not granted to the state machine"
                );
            }
            // Names in Retry and Catch are ones this task can raise.
            let retry = task["Retry"]
                .as_array()
                .unwrap_or_else(|| panic!("{machine}.{name}: no Retry"));
            assert!(task["Catch"].is_array(), "{machine}.{name}: no Catch");
            let mut retried = BTreeSet::new();
            for r in retry {
                assert_eq!(
                    r["JitterStrategy"], "FULL",
                    "{machine}.{name}: retry without jitter"
                );
                assert!(
                    r["BackoffRate"].as_f64().unwrap() > 1.0,
                    "{machine}.{name}: retry without backoff"
                );
                assert!(
                    r["MaxAttempts"].as_u64().unwrap() <= 10,
                    "{machine}.{name}: unbounded retry"
                );
                retried.extend(
                    r["ErrorEquals"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e.as_str().unwrap()),
                );
            }
            let caught = task["Catch"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["ErrorEquals"].as_array().unwrap());
            for error in retried.iter().copied().chain(caught.map(|e| e.as_str().unwrap())) {
                let known = STATES_ERRORS.contains(&error)
                    || (lambda && (LAMBDA_ERRORS.contains(&error) || TaskError::NAMES.contains(&error)))
                    || (!lambda && error.starts_with("SageMaker."));
                assert!(known, "{machine}.{name}: nothing raises {error}");
            }
            if lambda {
                for needed in LAMBDA_ERRORS.iter().chain(&RETRYABLE) {
                    assert!(
                        retried.contains(needed),
                        "{machine}.{name}: does not retry {needed}"
                    );
                }
            }
            checked_tasks += 1;
        }
    }
    assert!(checked_tasks >= 15, "{checked_tasks} tasks checked");
}

#[test]
fn every_function_directory_is_deployed_with_a_sample_event() {
    let t = template();
    let deployed: BTreeSet<String> = resources_of_type(&t, "AWS::Serverless::Function")
        .values()
        .map(|f| {
            assert_eq!(f["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
            f["Properties"]["CodeUri"]
                .as_str()
                .unwrap()
                .trim_start_matches("./")
                .to_string()
        })
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| format!("functions/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(deployed, on_disk);
    for dir in &on_disk {
        let name = dir.trim_start_matches("functions/");
        assert!(
            root().join("events").join(format!("{name}.json")).exists(),
            "no events/{name}.json"
        );
    }
    for machine in ["retrain", "ab-evaluation"] {
        assert!(root()
            .join("events")
            .join(format!("{machine}-execution.json"))
            .exists());
    }
}

/// Statements of every policy in the template (functions, state machines, queues, bucket).
fn statements(v: &Yaml, out: &mut Vec<Yaml>) {
    match v {
        Yaml::Mapping(m) => {
            if let Some(Yaml::Sequence(s)) = m.get("Statement") {
                out.extend(s.iter().cloned());
            }
            m.values().for_each(|x| statements(x, out));
        }
        Yaml::Sequence(s) => s.iter().for_each(|x| statements(x, out)),
        Yaml::Tagged(t) => statements(&t.value, out),
        _ => {}
    }
}

#[test]
fn iam_is_least_privilege() {
    let t = template();
    let mut all = Vec::new();
    statements(&t["Resources"], &mut all);
    // Actions that have no resource-level permissions, where "*" is the only choice.
    let star_ok = [
        "cloudwatch:PutMetricData",
        // The service authorization reference lists no resource type for it either.
        "cloudwatch:GetMetricStatistics",
        // Application Auto Scaling's Describe* take no resource type.
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    ];
    let mut allows = 0;
    for s in all.iter().filter(|s| s["Effect"].as_str() == Some("Allow")) {
        let actions: Vec<String> = match &s["Action"] {
            Yaml::String(a) => vec![a.clone()],
            Yaml::Sequence(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            other => panic!("action {other:?}"),
        };
        for a in &actions {
            assert!(!a.ends_with(":*") || a == "kms:*", "wildcard action {a}");
        }
        let is_key_policy = s.get("Principal").is_some();
        if s["Resource"].as_str() == Some("*") && !is_key_policy {
            for a in &actions {
                assert!(star_ok.contains(&a.as_str()), "{a} on Resource \"*\"");
            }
        }
        if actions.iter().any(|a| a == "iam:PassRole") {
            assert_eq!(actions, ["iam:PassRole"]);
            let service = &s["Condition"]["StringEquals"]["iam:PassedToService"];
            assert_eq!(service.as_str(), Some("sagemaker.amazonaws.com"));
        }
        allows += 1;
    }
    assert!(allows >= 15, "{allows} statements checked");
}

/// A `!Sub` string with the template's parameter defaults (and sample values for the
/// parameters without one) substituted.
fn render(text: &str, extra: &[(&str, &str)]) -> String {
    let t = template();
    let mut out = text.to_string();
    for (name, p) in t["Parameters"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let value = match name {
            "SageMakerRoleArn" => "arn:aws:iam::123456789012:role/weighbridge-sagemaker".to_string(),
            "DataBucketName" => "weighbridge-data".to_string(),
            _ => match &p["Default"] {
                Yaml::String(s) => s.clone(),
                Yaml::Number(n) => n.to_string(),
                other => panic!("{name}: default {other:?}"),
            },
        };
        out = out.replace(&format!("${{{name}}}"), &value);
    }
    for (name, value) in extra {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    assert!(!out.contains("${"), "unsubstituted: {out}");
    out
}

fn sub_text(v: &Yaml) -> String {
    let Yaml::Tagged(t) = v else {
        panic!("not a !Sub: {v:?}")
    };
    match &t.value {
        Yaml::String(s) => s.clone(),
        Yaml::Sequence(s) => s[0].as_str().unwrap().to_string(),
        other => panic!("{other:?}"),
    }
}

/// The JSON the template builds for the retrain workflow (TRAINING_DEFAULTS) and for the
/// schedule's input parse as the inputs of the functions they feed.
#[test]
fn the_template_json_strings_are_valid_task_inputs() {
    use weighbridge_tasks::{deploy::DeployInput, parse_input, train::TrainInput};
    use weighbridge_tasks::{evaluate_model::EvaluateModelInput, evaluate_variants::EvaluateVariantsInput};
    let t = template();
    let env = &t["Resources"]["StartRetrainingFunction"]["Properties"]["Environment"]["Variables"];
    // The alarms' fragment as the template's `!If [WithChallengerAlarms, !Sub …, ""]`
    // renders it with ChallengerAlarms true.
    let Yaml::Tagged(sub) = &env["TRAINING_DEFAULTS"] else {
        panic!("TRAINING_DEFAULTS is not a !Sub")
    };
    let Yaml::Tagged(when) = &sub.value[1]["Alarms"] else {
        panic!("no Alarms !If in TRAINING_DEFAULTS")
    };
    let alarms = render(&sub_text(&when.value[1]), &[]);
    let Yaml::Tagged(registered) = &sub.value[1]["Registry"] else {
        panic!("no Registry !If in TRAINING_DEFAULTS")
    };
    // The group's default is empty (registration off): a sample name stands in.
    let registry = render(
        &sub_text(&registered.value[1]).replace("${ModelPackageGroup}", "salary-candidates"),
        &[("Approval", "pendingManualApproval"), ("Await", "event")],
    );
    // Every RegistryApproval mode maps to registry settings evaluate-model accepts.
    let modes = t["Mappings"]["RegistryApprovalModes"].as_mapping().unwrap();
    assert_eq!(modes.len(), 3);
    for (mode, values) in modes {
        let text = render(
            &sub_text(&registered.value[1]).replace("${ModelPackageGroup}", "salary-candidates"),
            &[
                ("Approval", values["Approval"].as_str().unwrap()),
                ("Await", values["Await"].as_str().unwrap()),
            ],
        );
        let json = format!("{{{}}}", text.trim_start_matches(','));
        let settings: Json = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{mode:?}: {e}: {json}"));
        let registry: weighbridge_tasks::registration::RegistrySettings =
            serde_json::from_value(settings["registry"].clone()).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        registry.validate().unwrap();
    }
    let variants = [
        ("[]", alarms.as_str(), registry.as_str()),
        (
            r#"[{"name": "validation", "s3Uri": "s3://bkt/v/", "contentType": "text/csv"}]"#,
            "",
            "",
        ),
    ];
    for (channels, alarms, registry) in variants {
        let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let text = render(
            &sub_text(&env["TRAINING_DEFAULTS"]),
            &[
                ("Channels", channels),
                ("DataKey.Arn", key),
                ("Alarms", alarms),
                ("Registry", registry),
            ],
        );
        let defaults: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let mut train = defaults["train"].clone();
        train["executionName"] = "exec".into();
        train["trainDataUri"] = "s3://weighbridge-data/incoming/x.csv".into();
        let train: TrainInput = parse_input(train).unwrap();
        let job = weighbridge_tasks::train::build_request(&train, "us-east-1")
            .unwrap()
            .name;
        let mut gate = defaults["gate"].clone();
        gate["source"] = serde_json::json!({"kind": "trainingJob", "trainingJobName": job});
        let gate: EvaluateModelInput = parse_input(gate).unwrap();
        assert_eq!(gate.registry.is_some(), !registry.is_empty(), "{text}");
        let mut deploy = defaults["deploy"].clone();
        deploy["executionName"] = "exec".into();
        deploy["variantName"] = job.into();
        deploy["modelDataUrl"] = "s3://weighbridge-data/models/m/model.tar.gz".into();
        let deploy: DeployInput = parse_input(deploy).unwrap();
        assert!(
            deploy.data_capture.is_some(),
            "the retrain workflow deploys with Data Capture"
        );
        assert_eq!(deploy.alarms.is_some(), !alarms.is_empty(), "{text}");
    }
    let schedule = &t["Resources"]["AbEvaluationStateMachine"]["Properties"]["Events"]["Look"]["Properties"];
    let Yaml::Tagged(schedule_sub) = &schedule["Input"] else {
        panic!("the schedule's Input is not a !Sub")
    };
    let Yaml::Tagged(graduate_alarms) = &schedule_sub.value[1]["GraduateAlarms"] else {
        panic!("no GraduateAlarms !If in the schedule's input")
    };
    let graduate_alarms = render(&sub_text(&graduate_alarms.value[1]), &[]);
    let mut graduations = Vec::new();
    for fragment in [graduate_alarms.as_str(), ""] {
        let text = render(&sub_text(&schedule["Input"]), &[("GraduateAlarms", fragment)]);
        let input: EvaluateVariantsInput = parse_input(serde_json::from_str(&text).unwrap()).unwrap();
        graduations.push(input.shadow.graduation().alarms.is_some());
    }
    assert_eq!(
        graduations,
        [true, false],
        "graduate alarms follow ChallengerAlarms"
    );
    let text = render(&sub_text(&schedule["Input"]), &[("GraduateAlarms", "")]);
    let input: EvaluateVariantsInput = parse_input(serde_json::from_str(&text).unwrap()).unwrap();
    input.policy.validate().unwrap();
    assert!(
        matches!(
            input.source,
            weighbridge_tasks::evaluate_variants::Source::Capture(_)
        ),
        "the schedule looks at live traffic"
    );
}

/// ARCHITECTURE.md stays true: every file or folder it names in backticks exists (a full
/// path as written; a bare file name somewhere in the tree).
#[test]
fn every_path_the_codemap_names_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut all_files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if e.path().is_dir() {
                stack.push(e.path());
            }
            all_files.push(name);
        }
    }
    let looks_like_path = |t: &str| {
        !t.contains(' ')
            && !t.contains('<')
            && !t.contains('*')
            && !t.contains("::")
            && (t.contains('/')
                || [".rs", ".md", ".json", ".py", ".sh", ".yaml", ".toml", ".txt"]
                    .iter()
                    .any(|ext| t.ends_with(ext)))
    };
    let mut missing = Vec::new();
    let mut checked = 0;
    for token in text.split('`').skip(1).step_by(2).filter(|t| looks_like_path(t)) {
        let token = token.trim_end_matches('/');
        if token.starts_with("s3:") || token.starts_with("arn:") || token.starts_with("../shared") {
            continue;
        }
        checked += 1;
        // Files the state directory holds at run time, not the tree.
        if ["state.json"].contains(&token) {
            continue;
        }
        let crates: Vec<_> = std::fs::read_dir(root.join("crates"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        let found = if token.contains('/') {
            // As written, or inside a crate (`tests/…`, `src/…`, module paths like `metrics/auc`).
            let bases =
                std::iter::once(root.clone()).chain(crates.iter().flat_map(|c| [c.clone(), c.join("src")]));
            bases
                .into_iter()
                .any(|b| b.join(token).exists() || b.join(format!("{token}.rs")).exists())
        } else {
            all_files.iter().any(|f| f == token)
        };
        if !found {
            missing.push(token.to_string());
        }
    }
    assert!(checked > 30, "only {checked} paths found in ARCHITECTURE.md");
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}
