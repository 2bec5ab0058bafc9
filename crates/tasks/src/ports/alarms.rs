//! CloudWatch alarms on endpoint variants: what deploy puts on a challenger and a config
//! switch deletes with it. An alarm that goes to ALARM is what EventBridge's "CloudWatch
//! Alarm State Change" rule turns into an alarm rollback.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::PortResult;

/// One CloudWatch metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricRef {
    /// Its namespace (`AWS/SageMaker`).
    pub namespace: String,
    /// Its name (`Invocation5XXErrors`, `ModelLatency`, …).
    pub name: String,
    /// Its dimensions (`EndpointName`, `VariantName`).
    pub dimensions: Vec<(String, String)>,
}

/// A metric an alarm reads, under an ID its expression can name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmMetric {
    /// The ID (lower-case first letter, as metric math requires).
    pub id: String,
    /// The metric.
    pub metric: MetricRef,
    /// `Sum`, `Average`, `Maximum`, … or a percentile such as `p99`.
    pub statistic: String,
}

/// Which side of the threshold breaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// `GreaterThanThreshold`.
    GreaterThanThreshold,
    /// `LessThanThreshold`.
    LessThanThreshold,
}

/// A metric alarm (PutMetricAlarm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmSpec {
    /// Its name (Weighbridge's start with `weighbridge-<endpoint>-<variant>-`).
    pub name: String,
    /// What it watches, for a person.
    pub description: String,
    /// The metrics it reads; the first is the watched variant's.
    pub metrics: Vec<AlarmMetric>,
    /// Metric math over the metrics' IDs; `None`: the alarm is on the first metric.
    pub expression: Option<String>,
    /// The threshold.
    pub threshold: f64,
    /// Which side breaches.
    pub comparison: Comparison,
    /// Seconds per datapoint (60, or 10/20/30 for high resolution).
    pub period_seconds: i32,
    /// Breaching datapoints in a row before ALARM.
    pub evaluation_periods: i32,
}

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    /// Within its threshold.
    Ok,
    /// Breaching.
    Alarm,
    /// Not enough data yet.
    InsufficientData,
}

/// CloudWatch alarms, as far as the tasks use them.
#[async_trait]
pub trait Alarms: Send + Sync {
    /// PutMetricAlarm (creates or replaces the alarm of that name; missing data does
    /// not breach).
    async fn put_alarm(&self, alarm: &AlarmSpec) -> PortResult<()>;
    /// DeleteAlarms (names that do not exist are ignored, as CloudWatch does).
    async fn delete_alarms(&self, names: &[String]) -> PortResult<()>;
    /// DescribeAlarms by name prefix: each alarm's name and state.
    async fn alarms_with_prefix(&self, prefix: &str) -> PortResult<Vec<(String, AlarmState)>>;
}
