//! `weighbridge replay`: "would Weighbridge have promoted this model on last week's
//! data?" Two or more `model.tar.gz` files (SageMaker XGBoost artifacts, or models
//! trained here) are deployed on one local endpoint as equal-weight variants, a labelled
//! data set is cut into daily looks, and the real ab-evaluation state machine decides on
//! each — until it promotes or rolls back, or the data runs out. Named steps:
//! [`upload_models`], [`deploy_variants`], [`run_looks`].

use chrono::Duration;
use serde_json::json;
use weighbridge_asl::interpreter::Clock;
use weighbridge_tasks::ports::{ObjectStore, PutCondition};

use crate::demo::{demo_env, ends_experiment, look_report, LookReport};
use crate::functions::invoke;
use crate::workflows::{run_machine, Deployment, ExecutionRecord};
use crate::MemoryBackend;

/// The endpoint and bucket a replay uses.
pub const ENDPOINT: &str = "replay";
const BUCKET: &str = "replay";

/// One model to replay.
#[derive(Debug, Clone)]
pub struct ReplayModel {
    /// Its variant name (a SageMaker name); the first is the champion.
    pub name: String,
    /// The `model.tar.gz` bytes.
    pub artifact: Vec<u8>,
}

/// What to replay.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// Two or more models, the champion first.
    pub models: Vec<ReplayModel>,
    /// Label-first CSV rows (no header), the label in the first column.
    pub data: String,
    /// Looks to cut the data into (one a day).
    pub looks: u32,
    /// The policy's primary metric (`rmse`, `mae`, `logloss`, `auc`).
    pub metric: String,
    /// The serving image's built-in algorithm version (`1.7-1`).
    pub xgboost_version: String,
}

/// What the replay decided, look by look.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    /// Every look, in order.
    pub looks: Vec<LookReport>,
    /// Every execution (for the state directory's history).
    pub executions: Vec<ExecutionRecord>,
}

/// Runs the replay on `backend` (a fresh one: the endpoint must not exist yet).
pub async fn replay(backend: &MemoryBackend, config: &ReplayConfig) -> Result<ReplayOutcome, String> {
    validate(config)?;
    upload_models(backend, config).await?;
    deploy_variants(backend, config).await?;
    run_looks(backend, config).await
}

fn validate(config: &ReplayConfig) -> Result<(), String> {
    if config.models.len() < 2 || config.models.len() > 10 {
        return Err(format!(
            "replay needs 2 to 10 models (an endpoint's limit), got {}",
            config.models.len()
        ));
    }
    for m in &config.models {
        weighbridge_tasks::validation::sagemaker_name("model name", &m.name).map_err(|e| e.to_string())?;
    }
    let mut names: Vec<&str> = config.models.iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err("model names must differ (each is a variant)".into());
    }
    if config.looks == 0 {
        return Err("looks must be at least 1".into());
    }
    // Every artifact must be servable before anything is deployed.
    for m in &config.models {
        crate::artifact::unpack_artifact(&m.artifact).map_err(|e| format!("model {}: {e}", m.name))?;
    }
    Ok(())
}

fn artifact_key(name: &str) -> String {
    format!("models/{name}/model.tar.gz")
}

/// Step 1: the artifacts into the local S3.
async fn upload_models(backend: &MemoryBackend, config: &ReplayConfig) -> Result<(), String> {
    for m in &config.models {
        backend
            .put_object(
                BUCKET,
                &artifact_key(&m.name),
                m.artifact.clone(),
                PutCondition::Always,
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Step 2: the champion creates the endpoint, each challenger joins at an equal share.
async fn deploy_variants(backend: &MemoryBackend, config: &ReplayConfig) -> Result<(), String> {
    let env = demo_env();
    for (i, m) in config.models.iter().enumerate() {
        let event = json!({
            "executionName": format!("replay-{}", m.name),
            "endpointName": ENDPOINT,
            "variantName": m.name,
            "image": {"kind": "builtin", "name": "xgboost", "version": config.xgboost_version},
            "modelDataUrl": format!("s3://{BUCKET}/{}", artifact_key(&m.name)),
            "roleArn": "arn:aws:iam::123456789012:role/weighbridge-replay",
            "initialShare": 1.0 / (i as f64 + 1.0).max(2.0),
        });
        invoke(backend, &env, "deploy", event)
            .await
            .map_err(|e| format!("deploying {}: {e}", m.name))?;
        backend
            .wait_in_service(ENDPOINT, 120)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Step 3: a look a day on the next slice of the data, until a decision ends it.
async fn run_looks(backend: &MemoryBackend, config: &ReplayConfig) -> Result<ReplayOutcome, String> {
    let rows: Vec<&str> = config.data.lines().filter(|l| !l.trim().is_empty()).collect();
    let per_look = rows.len().div_ceil(config.looks as usize).max(1);
    let (env, deployment) = (demo_env(), Deployment::embedded());
    let mut outcome = ReplayOutcome {
        looks: Vec::new(),
        executions: Vec::new(),
    };
    for (n, slice) in (1u32..).zip(rows.chunks(per_look)) {
        backend.clock().advance(Duration::hours(24));
        let body = slice.join("\n") + "\n";
        backend
            .put_object(
                BUCKET,
                &format!("looks/day-{n:03}.csv"),
                body.into_bytes(),
                PutCondition::Always,
            )
            .await
            .map_err(|e| e.to_string())?;
        // The first model is the champion the others must beat (equal weights would
        // otherwise leave the choice to the names' order).
        let input = json!({"endpointName": ENDPOINT, "testBucket": BUCKET, "testPrefix": "looks/",
                           "policy": {"primaryMetric": config.metric, "champion": config.models[0].name}});
        let name = format!("replay-look-{n:03}");
        let result = run_machine(backend, &deployment, &env, "ab-evaluation", &name, input.clone())
            .await
            .map_err(|e| e.to_string())?;
        let report = look_report(1, n, &result, backend)?;
        let done = ends_experiment(&report.action);
        outcome.looks.push(report);
        outcome
            .executions
            .push(ExecutionRecord::project(name, "ab-evaluation", input, result));
        if done {
            break;
        }
    }
    Ok(outcome)
}
