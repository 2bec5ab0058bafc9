//! **evaluate-model**: the quality gate for a trained candidate. Reads the metric from
//! the training job's `FinalMetricDataList`, or scores a batch transform's output in S3
//! against the test labels with the core metrics; compares it with an absolute threshold
//! and with the champion's value; returns `passed` and why.

use serde::{Deserialize, Serialize};
use weighbridge_core::codec::{decode_predictions, parse_labelled, Format};
use weighbridge_core::metrics::{ClassificationMetrics, RegressionMetrics};
use weighbridge_core::policy::Direction;

use crate::error::port;
use crate::functions::Ports;
use crate::ports::{ObjectStore, SageMaker, TrainingStatus};
use crate::registration::{self, Candidate, RegistrySettings};
use crate::{validation, TaskError};

/// Where the candidate's metric comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum MetricSource {
    /// `FinalMetricDataList` of a completed training job (metric e.g. `validation:rmse`).
    #[serde(rename_all = "camelCase")]
    TrainingJob {
        /// The completed training job whose `FinalMetricDataList` holds the metric.
        training_job_name: String,
    },
    /// A batch transform's output scored against label-first CSV test data
    /// (metric `rmse`, `mae`, `r2`, `auc`, `log_loss`, `accuracy` or `f1`).
    #[serde(rename_all = "camelCase")]
    BatchTransform {
        /// `s3://…` of the transform's `.out` object.
        predictions_uri: String,
        /// `s3://…` of the label-first CSV test data, row for row.
        labels_uri: String,
        /// Content type of the predictions (default `text/csv`).
        #[serde(default = "csv")]
        content_type: String,
    },
}

fn csv() -> String {
    "text/csv".into()
}

/// What the candidate is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum Champion {
    /// The champion's value of the metric, known.
    Value {
        /// The champion's value of the metric.
        value: f64,
    },
    /// The champion's training job (its `FinalMetricDataList`).
    #[serde(rename_all = "camelCase")]
    TrainingJob {
        /// The completed training job whose `FinalMetricDataList` holds the metric.
        training_job_name: String,
    },
}

/// The task's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluateModelInput {
    /// Where the candidate's metric comes from.
    pub source: MetricSource,
    /// The metric (`validation:rmse` from a job; `rmse`, `auc`, … from a transform).
    pub metric: String,
    /// Inferred from the metric's name when absent.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// The candidate must be at least this good.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// What the candidate is compared with, if anything.
    #[serde(default)]
    pub champion: Option<Champion>,
    /// How much better than the champion the candidate must be (metric units, ≥ 0).
    #[serde(default)]
    pub min_improvement: f64,
    /// Register a candidate that passes as a model package in the Model Registry (source
    /// `trainingJob` only: its artifact and image are the job's). Absent: not registered.
    #[serde(default)]
    pub registry: Option<RegistrySettings>,
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateModelOutput {
    /// Whether the candidate passed the gate.
    pub passed: bool,
    /// The metric judged.
    pub metric: String,
    /// The candidate's value of it.
    pub value: f64,
    /// The threshold it had to meet, if any.
    pub threshold: Option<f64>,
    /// The champion's value, if compared.
    pub champion_value: Option<f64>,
    /// Why it passed or failed, in words.
    pub reason: String,
    /// The model package a passing candidate was registered as (with `registry`; null
    /// otherwise — always present, so the workflow's path to it never fails).
    #[serde(default)]
    pub model_package_arn: Option<String>,
    /// What the retrain workflow does next: `deploy` (passed, and approved or no
    /// registry), `awaitApproval` (registered pending: the workflow polls the package until
    /// it is approved or rejected), `awaitApprovalEvent` (registered pending: the workflow
    /// ends, and the registry's approval event starts the deploy) or `reject` (failed).
    pub next: GateNext,
}

/// The retrain workflow's next step after the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GateNext {
    /// Deploy the candidate now.
    Deploy,
    /// Poll the model package until a person or a pipeline approves or rejects it.
    AwaitApproval,
    /// End; the registry's "Model Package State Change" to Approved starts the deploy.
    AwaitApprovalEvent,
    /// Nothing is deployed.
    Reject,
}

/// Splits `s3://bucket/key` (an object, not a prefix), checked by S3's rules.
pub fn parse_s3_uri(uri: &str) -> Result<(String, String), TaskError> {
    validation::s3_object_uri("the URI", uri)
}

/// Every name, URI and number of the input, before the first call.
fn validate(input: &EvaluateModelInput) -> Result<(), TaskError> {
    match &input.source {
        MetricSource::TrainingJob { training_job_name } => {
            validation::sagemaker_name("source.trainingJobName", training_job_name)?
        }
        MetricSource::BatchTransform {
            predictions_uri,
            labels_uri,
            ..
        } => {
            validation::s3_object_uri("source.predictionsUri", predictions_uri)?;
            validation::s3_object_uri("source.labelsUri", labels_uri)?;
        }
    }
    match &input.champion {
        Some(Champion::TrainingJob { training_job_name }) => {
            validation::sagemaker_name("champion.trainingJobName", training_job_name)?
        }
        Some(Champion::Value { value }) if !value.is_finite() => {
            return Err(TaskError::InvalidInput(format!(
                "champion.value is {value}; give a finite number"
            )))
        }
        _ => {}
    }
    if input.threshold.is_some_and(|t| !t.is_finite()) {
        return Err(TaskError::InvalidInput(
            "threshold must be a finite number".into(),
        ));
    }
    if let Some(settings) = &input.registry {
        settings.validate()?;
        if matches!(input.source, MetricSource::BatchTransform { .. }) {
            return Err(TaskError::InvalidInput(
                "registry needs source trainingJob: the package's artifact and image are the training job's"
                    .into(),
            ));
        }
    }
    if input.metric.is_empty() || input.metric.len() > 255 {
        return Err(TaskError::InvalidInput(
            "metric must be 1 to 255 characters (e.g. validation:rmse)".into(),
        ));
    }
    Ok(())
}

async fn job_metric(sagemaker: &dyn SageMaker, job: &str, metric: &str) -> Result<f64, TaskError> {
    let d = sagemaker
        .describe_training_job(job)
        .await
        .map_err(port(format!("DescribeTrainingJob {job}")))?;
    if d.status != TrainingStatus::Completed {
        return Err(TaskError::InvalidInput(format!(
            "training job {job} is {:?}{}; only a Completed job can be evaluated",
            d.status,
            d.failure_reason.map(|r| format!(" ({r})")).unwrap_or_default()
        )));
    }
    d.final_metrics.get(metric).copied().ok_or_else(|| {
        TaskError::NotFound(format!(
            "training job {job} reported no {metric:?}; it reported: {}",
            d.final_metrics.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

async fn read_text(store: &dyn ObjectStore, uri: &str) -> Result<String, TaskError> {
    let (bucket, key) = parse_s3_uri(uri)?;
    let object = store
        .get_object(&bucket, &key)
        .await
        .map_err(port(format!("GetObject {uri}")))?;
    String::from_utf8(object.body).map_err(|_| TaskError::InvalidPayload(format!("{uri} is not UTF-8 text")))
}

async fn batch_metric(
    store: &dyn ObjectStore,
    predictions_uri: &str,
    labels_uri: &str,
    content_type: &str,
    metric: &str,
) -> Result<f64, TaskError> {
    let format = Format::from_content_type(content_type)?;
    let predictions = decode_predictions(&read_text(store, predictions_uri).await?, format)?;
    let labels: Vec<f64> = parse_labelled(&read_text(store, labels_uri).await?)?
        .into_iter()
        .map(|r| r.label)
        .collect();
    let value = match metric {
        "rmse" | "mae" | "r2" | "mse" => {
            let m = RegressionMetrics::compute(&predictions, &labels)?;
            match metric {
                "rmse" => m.rmse,
                "mae" => m.mae,
                "mse" => m.mse,
                _ => m.r2,
            }
        }
        "auc" | "log_loss" | "accuracy" | "f1" => {
            let m = ClassificationMetrics::compute(&predictions, &labels, 0.5)?;
            match metric {
                "auc" => m
                    .auc
                    .ok_or_else(|| TaskError::InsufficientData("the test labels hold a single class".into()))?,
                "log_loss" => m.log_loss,
                "accuracy" => m.accuracy,
                _ => m.f1,
            }
        }
        other => {
            return Err(TaskError::InvalidInput(format!(
                "metric {other:?} cannot be computed from a batch transform; use rmse, mae, mse, r2, auc, log_loss, accuracy or f1"
            )))
        }
    };
    Ok(value)
}

/// Runs the quality gate.
pub async fn evaluate_model(
    ports: Ports<'_>,
    input: &EvaluateModelInput,
) -> Result<EvaluateModelOutput, TaskError> {
    let verdict = judge(ports.sagemaker, ports.s3, input).await?;
    let job = match &input.source {
        MetricSource::TrainingJob { training_job_name } => Some(training_job_name.as_str()),
        MetricSource::BatchTransform { .. } => None,
    };
    let model_package_arn = match (&input.registry, job) {
        (Some(settings), Some(training_job)) if verdict.passed => {
            let candidate = Candidate {
                training_job,
                metric: &verdict.metric,
                value: verdict.value,
                reason: &verdict.reason,
            };
            Some(registration::register(ports.registry, ports.sagemaker, settings, &candidate).await?)
        }
        _ => None,
    };
    let next = match &input.registry {
        _ if !verdict.passed => GateNext::Reject,
        Some(settings) if model_package_arn.is_some() => settings.next(),
        _ => GateNext::Deploy,
    };
    Ok(EvaluateModelOutput {
        model_package_arn,
        next,
        ..verdict
    })
}

/// The gate itself: the candidate's metric against the threshold and the champion.
async fn judge(
    sagemaker: &dyn SageMaker,
    store: &dyn ObjectStore,
    input: &EvaluateModelInput,
) -> Result<EvaluateModelOutput, TaskError> {
    validate(input)?;
    let direction = input
        .direction
        .or_else(|| Direction::of_metric(&input.metric))
        .ok_or_else(|| {
            TaskError::InvalidInput(format!(
            "cannot tell whether higher {:?} is better; set direction to higher_is_better or lower_is_better",
            input.metric
        ))
        })?;
    if !(input.min_improvement >= 0.0 && input.min_improvement.is_finite()) {
        return Err(TaskError::InvalidInput("minImprovement must be ≥ 0".into()));
    }
    let value = match &input.source {
        MetricSource::TrainingJob { training_job_name } => {
            job_metric(sagemaker, training_job_name, &input.metric).await?
        }
        MetricSource::BatchTransform {
            predictions_uri,
            labels_uri,
            content_type,
        } => batch_metric(store, predictions_uri, labels_uri, content_type, &input.metric).await?,
    };
    let champion_value = match &input.champion {
        None => None,
        Some(Champion::Value { value }) => Some(*value),
        Some(Champion::TrainingJob { training_job_name }) => {
            Some(job_metric(sagemaker, training_job_name, &input.metric).await?)
        }
    };
    // Positive = better, in either direction.
    let better_by = |a: f64, b: f64| direction.improvement(a - b);
    let mut reasons = Vec::new();
    let mut passed = true;
    if let Some(t) = input.threshold {
        let ok = better_by(value, t) >= 0.0;
        passed &= ok;
        reasons.push(format!(
            "{} {value:.6} {} the threshold {t}",
            input.metric,
            if ok { "meets" } else { "misses" }
        ));
    }
    if let Some(c) = champion_value {
        let gain = better_by(value, c);
        let ok = gain >= input.min_improvement;
        passed &= ok;
        reasons.push(format!(
            "{} the champion's {c:.6} by {gain:+.6} (needed {:+})",
            if gain >= 0.0 { "beats" } else { "trails" },
            input.min_improvement
        ));
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "{} is {value:.6}; no threshold or champion to compare with",
            input.metric
        ));
    }
    Ok(EvaluateModelOutput {
        passed,
        metric: input.metric.clone(),
        value,
        threshold: input.threshold,
        champion_value,
        reason: format!(
            "{}: {}",
            if passed { "passed" } else { "rejected" },
            reasons.join("; ")
        ),
        model_package_arn: None,
        next: if passed {
            GateNext::Deploy
        } else {
            GateNext::Reject
        },
    })
}
