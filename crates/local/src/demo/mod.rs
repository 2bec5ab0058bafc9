//! The demo scenario: a model's whole life on the embedded backend. A data set lands and
//! becomes the endpoint's champion; a better one arrives as a challenger and scheduled
//! A/B looks move traffic to it until it is promoted; a worse one arrives and is rolled
//! back. Every step runs the real state machines and task code; the caller watches
//! through an [`Observer`] (the CLI draws progress, tables and a plot from it).
//!
//! Three scenarios: [`Scenario::Live`] (the default, `live.rs`) decides on the endpoint's
//! own traffic — requests over virtual days, captured, labels a day late, an SRM
//! injected and caught; [`Scenario::Shadow`] deploys each candidate as a shadow first —
//! the better one graduates into a weighted A/B and is promoted, the worse one is caught
//! in shadow and never serves a request; [`Scenario::TestSet`] decides on labelled test
//! objects re-scored on every variant.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::{Clock, ExecutionResult, Status, VirtualClock};
use weighbridge_tasks::start_retraining::StartRetrainingConfig;

use crate::functions::{invoke, FunctionEnv};
use crate::workflows::{run_machine, run_started, state_machine_arn, Deployment, ExecutionRecord};
use crate::{MemoryBackend, Timing};

mod live;

/// The demo's data bucket.
pub const BUCKET: &str = "weighbridge-data";
/// The demo's endpoint.
pub const ENDPOINT: &str = "salary";

/// Which evidence the demo's A/B looks decide on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// The endpoint's live traffic: Data Capture joined with labels that arrive later.
    #[default]
    Live,
    /// Labelled test objects, re-scored on every variant.
    TestSet,
    /// Live traffic, each candidate a shadow first (paired evidence on mirrored requests).
    Shadow,
}

/// What the demo does, and how much.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Which evidence the looks use.
    pub scenario: Scenario,
    /// Seeds the data, the routing and the training: the same seed, the same story.
    pub seed: u64,
    /// Rows in each uploaded training set.
    pub training_rows: usize,
    /// Fresh labelled rows before each scheduled look.
    pub rows_per_look: usize,
    /// Looks per experiment before the demo gives up waiting for a decision.
    pub max_looks: u32,
    /// Live scenario: requests per virtual hour.
    pub requests_per_hour: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            scenario: Scenario::Live,
            requests_per_hour: 120,
            seed: 42,
            training_rows: 400,
            rows_per_look: 250,
            max_looks: 12,
        }
    }
}

/// One variant's line in a look.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantLook {
    /// The variant's name.
    pub variant: String,
    /// Rows scored so far in the experiment.
    pub rows: u64,
    /// Its RMSE so far.
    pub rmse: f64,
    /// The RMSE's pointwise interval, when the evaluator gave one.
    pub interval: Option<(f64, f64)>,
    /// Its traffic weight after the look.
    pub weight: f64,
    /// Live: rows labelled this look (each request reached one variant).
    pub new_rows: u64,
    /// Live: share of its matured captures with a label.
    pub coverage: Option<f64>,
    /// Live: requests captured in the hours this look counted.
    pub requests: Option<u64>,
    /// A challenger's improvement over the champion (positive = better), with its
    /// always-valid bounds: what the decision rests on.
    pub improvement: Option<(f64, f64, f64)>,
}

/// One scheduled look, as the evaluator reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct LookReport {
    /// Which experiment (a new one starts with each challenger).
    pub experiment: u32,
    /// The look's number within the experiment.
    pub look: u32,
    /// Rows this look scored.
    pub new_rows: u64,
    /// Every variant's line.
    pub variants: Vec<VariantLook>,
    /// `hold`, `shift`, `promote`, `rollback`, or for a shadow `graduate` or `remove`.
    pub action: String,
    /// Whether the weights were changed.
    pub applied: bool,
    /// The policy's reason.
    pub reason: String,
    /// Weights after the look (and after a promotion or rollback, the live ones).
    pub weights: BTreeMap<String, f64>,
    /// Weights before the look (the first look's are the experiment's starting weights).
    pub previous_weights: BTreeMap<String, f64>,
    /// Live: the SRM verdict after the look (flagged, e-value), if the source is live.
    pub srm: Option<(bool, f64)>,
    /// Virtual time of the look.
    pub at: chrono::DateTime<Utc>,
}

/// One model's line in the Model Registry at the end: what the workflows wrote there.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryReport {
    /// The package's group and version (`salary-candidates/2`).
    pub package: String,
    /// The training job it came from (registration metadata).
    pub training_job: String,
    /// Its approval now.
    pub approval: weighbridge_tasks::ports::ApprovalStatus,
    /// The approval's description: the gate's, or the last verdict's with its reason.
    pub description: String,
    /// The endpoint variant serving it now, if any.
    pub serving_as: Option<String>,
}

/// An alarm rollback between looks: a challenger whose container started failing.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRollbackReport {
    /// The challenger.
    pub variant: String,
    /// The alarm that fired.
    pub alarm: String,
    /// When its container started failing (virtual).
    pub fault_at: chrono::DateTime<Utc>,
    /// When the alarm-rollback execution took it out of traffic.
    pub out_of_traffic_at: chrono::DateTime<Utc>,
    /// Requests that failed before it was out of traffic.
    pub failed_requests: u64,
    /// Requests the champion answered meanwhile.
    pub champion_requests: u64,
    /// How the execution ended (`alarm-rollback`).
    pub outcome: String,
    /// The experiment record the rollback was written to (`s3://…`).
    pub experiment_record: Option<String>,
}

/// A retrain execution's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrainReport {
    /// The uploaded object's key.
    pub key: String,
    /// How the retrain execution ended.
    pub outcome: String,
    /// The variant the candidate became, if it was deployed.
    pub variant: Option<String>,
    /// The quality gate's verdict.
    pub gate: String,
    /// Virtual minutes the execution took.
    pub virtual_minutes: i64,
}

/// What the caller sees as the demo goes.
pub trait Observer {
    /// A phase starts (`upload`, `retrain`, `look`, …) with a line that says what.
    fn phase(&mut self, what: &str);
    /// A retrain execution finished.
    fn retrained(&mut self, report: &RetrainReport);
    /// A scheduled look finished.
    fn looked(&mut self, report: &LookReport);
    /// An alarm rolled a challenger back between looks.
    fn alarm_rolled_back(&mut self, report: &AlarmRollbackReport);
}

/// The whole demo's result.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// Every retrain, in order.
    pub retrains: Vec<RetrainReport>,
    /// Every look, in order.
    pub looks: Vec<LookReport>,
    /// Alarm rollbacks between looks (the live scenario's fourth candidate).
    pub alarm_rollbacks: Vec<AlarmRollbackReport>,
    /// Every model's package in the registry at the end, in registration order.
    pub registry: Vec<RegistryReport>,
    /// The endpoint's variants and weights at the end.
    pub final_weights: BTreeMap<String, f64>,
    /// Virtual hours the whole story took.
    pub virtual_hours: f64,
    /// Every execution, in order (the CLI saves their histories).
    pub executions: Vec<ExecutionRecord>,
}

/// Salary = 1000 + 20·months + 300·rating + noise. A data set with `feature_noise`
/// measures the rating badly, so a model trained on it predicts worse.
pub fn salary_rows(n: usize, seed: u64, feature_noise: f64) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let months: f64 = rng.random_range(0.0..120.0);
            let rating: f64 = rng.random_range(0.0..1.0);
            let salary = 1000.0 + 20.0 * months + 300.0 * rating + rng.random_range(-25.0..25.0);
            let seen = rating + feature_noise * rng.random_range(-1.0..1.0);
            format!("{salary:.2},{months:.3},{seen:.4}\n")
        })
        .collect()
}

/// The function environment of the demo's deployment (what the template sets in AWS).
pub fn demo_env() -> FunctionEnv {
    function_env(BUCKET, 500.0, 0.1)
}

/// The functions' environment for a salary model retrained from `bucket`: linear-learner,
/// a validation channel under `validation/`, a gate on `validation:rmse`, deployed to
/// the `salary` endpoint at `initial_share`.
pub fn function_env(bucket: &str, gate_threshold: f64, initial_share: f64) -> FunctionEnv {
    FunctionEnv {
        region: "us-east-1".into(),
        start_retraining: StartRetrainingConfig {
            state_machine_arn: state_machine_arn("retrain"),
            key_prefix: "incoming/".into(),
            key_suffix: ".csv".into(),
            training_defaults: json!({
                "train": {
                    "jobPrefix": "wb",
                    "algorithm": {"kind": "builtin", "name": "linear-learner", "version": "1"},
                    "hyperparameters": {"predictor_type": "regressor"},
                    "channels": [{"name": "validation", "s3Uri": format!("s3://{bucket}/validation/"), "contentType": "text/csv"}],
                    "outputPath": format!("s3://{bucket}/models/"),
                    "roleArn": "arn:aws:iam::123456789012:role/weighbridge-sagemaker"
                },
                "gate": {"metric": "validation:rmse", "threshold": gate_threshold},
                "deploy": {
                    "endpointName": ENDPOINT,
                    "image": {"kind": "builtin", "name": "linear-learner", "version": "1"},
                    "roleArn": "arn:aws:iam::123456789012:role/weighbridge-sagemaker",
                    "initialShare": initial_share,
                    "dataCapture": {"destinationS3Uri": format!("s3://{bucket}/capture"), "captureInput": false}
                }
            }),
        },
        metric_namespace: "Weighbridge".into(),
    }
}

/// The EventBridge "Object Created" event S3 sends for a new object.
pub fn object_created(bucket: &str, key: &str, etag: &str, size: usize, time: &str) -> Value {
    json!({
        "version": "0", "id": key, "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": time, "region": "us-east-1", "resources": [],
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": size, "etag": etag}}
    })
}

/// A backend for the demo: simulated SageMaker timings on a virtual clock.
pub fn demo_backend(seed: u64) -> MemoryBackend {
    let clock = Arc::new(VirtualClock::starting_at(
        Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
    ));
    MemoryBackend::simulated(clock, Timing::default(), seed)
}

struct Demo<'a> {
    backend: &'a MemoryBackend,
    env: FunctionEnv,
    deployment: Deployment,
    config: DemoConfig,
    looks_run: u32,
    executions: Vec<ExecutionRecord>,
    /// The live scenario's requests and labels in flight.
    traffic: crate::traffic::Traffic,
}

impl Demo<'_> {
    async fn upload(
        &mut self,
        key: &str,
        body: &str,
        observer: &mut dyn Observer,
    ) -> Result<RetrainReport, String> {
        observer.phase(&format!(
            "upload s3://{BUCKET}/{key} → start-retraining → retrain"
        ));
        self.backend.put(BUCKET, key, body);
        let etag = format!("{:016x}", weighbridge_tasks::names::fingerprint(&[body]));
        let now = self.backend.clock().now().to_rfc3339();
        let event = object_created(BUCKET, key, &etag, body.len(), &now);
        invoke(self.backend, &self.env, "start-retraining", event)
            .await
            .map_err(|e| e.to_string())?;
        let before = self.backend.clock().now();
        let runs = run_started(self.backend, &self.deployment, &self.env)
            .await
            .map_err(|e| e.to_string())?;
        let result = runs
            .last()
            .ok_or("start-retraining started no execution")?
            .result
            .clone();
        self.executions.extend(runs);
        let report = retrain_report(key, &result, (self.backend.clock().now() - before).num_minutes())?;
        observer.retrained(&report);
        Ok(report)
    }

    /// Test set: looks until the policy promotes or rolls back (or `max_looks`).
    async fn experiment(
        &mut self,
        experiment: u32,
        observer: &mut dyn Observer,
    ) -> Result<Vec<LookReport>, String> {
        let mut looks = Vec::new();
        for n in 1..=self.config.max_looks {
            self.looks_run += 1;
            observer.phase(&format!(
                "experiment {experiment}, look {n}: new labelled rows → ab-evaluation"
            ));
            // A day passes between scheduled looks.
            self.backend.clock().advance(chrono::Duration::hours(24));
            let key = format!("ab-tests/day-{:03}.csv", self.looks_run);
            let rows = salary_rows(
                self.config.rows_per_look,
                self.config.seed * 1000 + u64::from(self.looks_run),
                0.0,
            );
            self.backend.put(BUCKET, &key, &rows);
            let input = json!({"endpointName": ENDPOINT, "testBucket": BUCKET, "testPrefix": "ab-tests/",
                               "policy": {"primaryMetric": "rmse", "maxStep": 0.2, "floor": 0.05}});
            let report = self.scheduled_look(experiment, n, input).await?;
            observer.looked(&report);
            let done = ends_experiment(&report.action);
            looks.push(report);
            if done {
                break;
            }
        }
        Ok(looks)
    }
}

impl Demo<'_> {
    /// The scheduled `ab-evaluation` execution on `input` (either source), recorded for
    /// the state directory; answers the evaluator's report.
    async fn scheduled_look(&mut self, experiment: u32, n: u32, input: Value) -> Result<LookReport, String> {
        let name = format!("look-{:03}", self.looks_run);
        let result = run_machine(
            self.backend,
            &self.deployment,
            &self.env,
            "ab-evaluation",
            &name,
            input.clone(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let report = look_report(experiment, n, &result, self.backend)?;
        self.executions
            .push(ExecutionRecord::project(name, "ab-evaluation", input, result));
        Ok(report)
    }
}

/// Whether a look's action ends its experiment: a promotion, a rollback or a shadow's
/// removal (a graduation starts the weighted A/B that decides the rest).
pub(crate) fn ends_experiment(action: &str) -> bool {
    matches!(action, "promote" | "rollback" | "remove")
}

fn retrain_report(key: &str, r: &ExecutionResult, minutes: i64) -> Result<RetrainReport, String> {
    match (&r.status, &r.output) {
        (Status::Succeeded, Some(out)) => Ok(RetrainReport {
            key: key.to_string(),
            outcome: out["outcome"].as_str().unwrap_or_default().to_string(),
            variant: out["variantName"].as_str().map(String::from),
            gate: out["gate"]
                .as_str()
                .or(out["reason"].as_str())
                .unwrap_or_default()
                .to_string(),
            virtual_minutes: minutes,
        }),
        _ => Err(format!("the retrain of {key} failed: {:?}", r.error)),
    }
}

/// The evaluator's report for the look, from the execution history.
pub(crate) fn look_report(
    experiment: u32,
    look: u32,
    r: &ExecutionResult,
    backend: &MemoryBackend,
) -> Result<LookReport, String> {
    if r.status != Status::Succeeded {
        return Err(format!("ab-evaluation failed: {:?}", r.error));
    }
    let evaluated: &Value = r
        .history
        .iter()
        .find(|e| e.kind == "TaskSucceeded" && e.state.as_deref() == Some("EvaluateVariants"))
        .map(|e| &e.details["output"]["Payload"])
        .ok_or("the look has no evaluate-variants result")?;
    let decided = &evaluated["decision"]["weights"];
    let variants = evaluated["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let name = v["variant"].as_str().unwrap_or_default().to_string();
            let live = evaluated["live"]["variants"]
                .as_array()
                .and_then(|all| all.iter().find(|l| l["variant"] == v["variant"]));
            let verdict = evaluated["decision"]["verdicts"]
                .as_array()
                .and_then(|all| all.iter().find(|d| d["variant"] == v["variant"]));
            VariantLook {
                weight: decided[&name].as_f64().unwrap_or(0.0),
                rows: v["rows"].as_u64().unwrap_or(0),
                rmse: v["metrics"]["rmse"].as_f64().unwrap_or(f64::NAN),
                interval: pair(&v["intervals"]["rmse"]),
                new_rows: live.and_then(|l| l["labelledRows"].as_u64()).unwrap_or(0),
                coverage: live.and_then(|l| l["labelCoverage"].as_f64()),
                requests: live.and_then(|l| l["capturedRequests"].as_u64()),
                improvement: verdict.and_then(|d| {
                    let (lo, hi) = pair(&d["interval"])?;
                    Some((d["improvement"].as_f64()?, lo, hi))
                }),
                variant: name,
            }
        })
        .collect();
    let endpoint = evaluated["endpointName"].as_str().unwrap_or(ENDPOINT);
    let live = backend.endpoint(endpoint).map(|e| e.variants).unwrap_or_default();
    let total: f64 = live.iter().map(|v| v.current_weight).sum();
    Ok(LookReport {
        experiment,
        look,
        new_rows: evaluated["newRows"].as_u64().unwrap_or(0),
        variants,
        action: evaluated["action"].as_str().unwrap_or_default().to_string(),
        applied: evaluated["applied"].as_bool().unwrap_or(false),
        reason: evaluated["decision"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        previous_weights: evaluated["decision"]["previousWeights"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default(),
        srm: evaluated["live"]["srm"].as_object().map(|s| {
            (
                s["flagged"].as_bool().unwrap_or(false),
                s["eValue"].as_f64().unwrap_or(0.0),
            )
        }),
        weights: live
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    if total > 0.0 {
                        v.current_weight / total
                    } else {
                        0.0
                    },
                )
            })
            .collect(),
        at: backend.clock().now(),
    })
}

/// `[a, b]` as a pair of numbers.
fn pair(v: &Value) -> Option<(f64, f64)> {
    let a = v.as_array()?;
    Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
}

/// The demo's model package group.
pub const REGISTRY_GROUP: &str = "salary-candidates";

/// Every package's line, in version order.
fn registry_report(backend: &MemoryBackend) -> Vec<RegistryReport> {
    let serving = backend.packages_in_service();
    let mut packages: Vec<_> = backend.model_packages().into_iter().collect();
    packages.sort_by_key(|(_, p)| (p.group.clone(), p.version));
    packages
        .into_iter()
        .map(|(arn, p)| RegistryReport {
            package: format!("{}/{}", p.group, p.version),
            training_job: p
                .metadata
                .get("weighbridge:trainingJob")
                .cloned()
                .unwrap_or_default(),
            approval: p.approval,
            description: p.approval_description.clone().unwrap_or_default(),
            serving_as: serving.get(&arn).map(|(e, v)| format!("{e}/{v}")),
        })
        .collect()
}

/// Runs the whole demo on `backend` (see [`demo_backend`]).
pub async fn run_demo(
    backend: &MemoryBackend,
    config: &DemoConfig,
    observer: &mut dyn Observer,
) -> Result<DemoSummary, String> {
    let start = backend.clock().now();
    let mut env = demo_env();
    if config.scenario == Scenario::Shadow {
        env.start_retraining.training_defaults["deploy"]["mode"] = json!("shadow");
    }
    // Every weighted challenger is watched between looks (the template's default), and
    // the EventBridge rule routes its alarms to alarm-rollback.
    env.start_retraining.training_defaults["deploy"]["alarms"] = json!({});
    // Every candidate that passes the gate is registered (approved by the gate: the demo
    // runs unattended), and the verdicts of the looks and alarms are written back.
    env.start_retraining.training_defaults["gate"]["registry"] =
        json!({"group": REGISTRY_GROUP, "approval": "approved"});
    backend.route_alarms(
        &format!("weighbridge-{ENDPOINT}-"),
        &state_machine_arn("alarm-rollback"),
    );
    let mut demo = Demo {
        backend,
        env,
        deployment: Deployment::embedded(),
        config: config.clone(),
        looks_run: 0,
        executions: Vec::new(),
        traffic: live::demo_traffic(config),
    };
    observer.phase("generate the salary data sets (seeded) and the validation channel");
    let seed = config.seed;
    backend.put(BUCKET, "validation/salary.csv", &salary_rows(200, seed + 1, 0.0));
    // How badly each upload measures the rating: the champion's badly, then a better
    // challenger's well, then a worse one's barely. Every upload after the first is a
    // challenger, and an experiment of scheduled looks decides on it. Live, a fourth
    // candidate's container breaks an hour in: its alarm rolls it back, no look needed.
    let uploads: &[f64] = if config.scenario == Scenario::Live {
        &[0.8, 0.0, 3.0, 0.0]
    } else {
        &[0.8, 0.0, 3.0]
    };
    let mut retrains = Vec::new();
    let mut looks = Vec::new();
    let mut alarm_rollbacks = Vec::new();
    for (batch, &noise) in (1u32..).zip(uploads) {
        let key = format!("incoming/salary-batch-{batch}.csv");
        let rows = salary_rows(config.training_rows, seed + 1 + u64::from(batch), noise);
        retrains.push(demo.upload(&key, &rows, observer).await?);
        match (config.scenario, batch) {
            (_, 1) => {}
            (Scenario::TestSet, _) => looks.extend(demo.experiment(batch - 1, observer).await?),
            // The worse challenger meets a router fault first: an SRM, caught and held.
            (Scenario::Live, 4) => alarm_rollbacks.push(demo.failing_challenger(observer).await?),
            (Scenario::Live, _) => {
                let skewed_looks = if batch == 3 { 2 } else { 0 };
                looks.extend(demo.live_experiment(batch - 1, skewed_looks, observer).await?)
            }
            // Each candidate starts as a shadow: the same scheduled looks graduate it
            // (a weighted A/B follows, in the same experiment) or remove it.
            (Scenario::Shadow, _) => looks.extend(demo.live_experiment(batch - 1, 0, observer).await?),
        }
    }
    let live = backend.endpoint(ENDPOINT).map(|e| e.variants).unwrap_or_default();
    Ok(DemoSummary {
        retrains,
        looks,
        alarm_rollbacks,
        registry: registry_report(backend),
        final_weights: live.iter().map(|v| (v.name.clone(), v.current_weight)).collect(),
        virtual_hours: (backend.clock().now() - start).num_minutes() as f64 / 60.0,
        executions: demo.executions,
    })
}
