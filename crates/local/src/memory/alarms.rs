//! CloudWatch metric alarms on the endpoint's invocation metrics, evaluated on the
//! virtual clock at every period boundary (missing data does not breach), and the one
//! EventBridge rule the template defines: an alarm under Weighbridge's prefix that goes to
//! ALARM emits a "CloudWatch Alarm State Change" event and starts the alarm-rollback
//! state machine with what the rule's input transformer extracts (endpoint and variant
//! from the alarm's first metric, the alarm's name and reason).
//!
//! Metrics are kept per minute, so a period shorter than a minute is read as a minute.
//! Of metric math, the embedded backend evaluates what Weighbridge writes:
//! `IF(x > 0, y / x, 0)` over two metric IDs; any other expression leaves the alarm in
//! INSUFFICIENT_DATA.

use super::*;
use weighbridge_tasks::names::readable_unique;
use weighbridge_tasks::ports::{AlarmMetric, AlarmSpec, AlarmState, Alarms, Comparison};

/// An alarm as CloudWatch keeps it: its definition, state and the last period evaluated.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredAlarm {
    spec: AlarmSpec,
    state: AlarmState,
    reason: String,
    /// The index of the last period evaluated (time ÷ period).
    evaluated: i64,
}

impl MemoryBackend {
    /// Routes "CloudWatch Alarm State Change" events of alarms named `prefix…` that go to
    /// ALARM to the state machine `state_machine_arn` (the template's EventBridge rule).
    pub fn route_alarms(&self, prefix: &str, state_machine_arn: &str) {
        self.with(|s| s.world.alarm_rule = Some((prefix.to_string(), state_machine_arn.to_string())));
    }

    /// Every alarm's name and state.
    pub fn alarm_states(&self) -> BTreeMap<String, AlarmState> {
        self.with(|s| s.world.alarms.iter().map(|(n, a)| (n.clone(), a.state)).collect())
    }

    /// The EventBridge events emitted so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.with(|s| s.world.events.clone())
    }
}

/// Seconds per period as the backend keeps metrics (a minute at least).
fn period_of(spec: &AlarmSpec) -> i64 {
    i64::from(spec.period_seconds).max(60)
}

/// Evaluates every alarm whose period ended since it was last evaluated.
pub(super) fn evaluate(s: &mut State, now: DateTime<Utc>) {
    let due: Vec<String> = s
        .world
        .alarms
        .iter()
        .filter(|(_, a)| now.timestamp().div_euclid(period_of(&a.spec)) - 1 > a.evaluated)
        .map(|(n, _)| n.clone())
        .collect();
    for name in due {
        let Some(alarm) = s.world.alarms.get(&name) else {
            continue;
        };
        let period = period_of(&alarm.spec);
        let last = now.timestamp().div_euclid(period) - 1;
        let windows = (0..i64::from(alarm.spec.evaluation_periods.max(1))).map(|back| last - back);
        let values: Vec<Option<f64>> = windows
            .map(|k| value(s, &alarm.spec, k * period, (k + 1) * period))
            .collect();
        let breaching = values.iter().all(|v| v.is_some_and(|v| breaches(&alarm.spec, v)));
        let state = if breaching {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        };
        let reason = format!(
            "Threshold Crossed: {} datapoint(s) {:?} {} the threshold ({})",
            values.len(),
            values,
            if breaching { "breach" } else { "do not all breach" },
            alarm.spec.threshold
        );
        let previous = alarm.state;
        if let Some(stored) = s.world.alarms.get_mut(&name) {
            stored.evaluated = last;
            stored.state = state;
            stored.reason = reason;
        }
        if previous != AlarmState::Alarm && state == AlarmState::Alarm {
            emit_alarm(s, &name, previous, now);
        }
    }
}

fn breaches(spec: &AlarmSpec, value: f64) -> bool {
    match spec.comparison {
        Comparison::GreaterThanThreshold => value > spec.threshold,
        Comparison::LessThanThreshold => value < spec.threshold,
    }
}

/// The alarm's value over `[from, to)` seconds, `None` without data.
fn value(s: &State, spec: &AlarmSpec, from: i64, to: i64) -> Option<f64> {
    let of = |id: &str| {
        spec.metrics
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| metric_value(s, m, from, to))
    };
    let Some(expression) = &spec.expression else {
        return spec.metrics.first().and_then(|m| metric_value(s, m, from, to));
    };
    // IF(x > 0, y / x, 0)
    let inner = expression.strip_prefix("IF(")?.strip_suffix(')')?;
    let [condition, then, otherwise] = <[&str; 3]>::try_from(inner.split(", ").collect::<Vec<_>>()).ok()?;
    let x = condition.strip_suffix(" > 0")?;
    let (y, divisor) = then.split_once(" / ")?;
    if divisor != x || otherwise != "0" {
        return None;
    }
    let (x, y) = (of(x)?, of(y)?);
    Some(if x > 0.0 { y / x } else { 0.0 })
}

/// One metric's statistic over `[from, to)`: the endpoint's invocation metrics per
/// minute, or the datapoints published with PutMetricData (their latest value).
fn metric_value(s: &State, m: &AlarmMetric, from: i64, to: i64) -> Option<f64> {
    let dimension = |name: &str| {
        m.metric
            .dimensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if m.metric.namespace != "AWS/SageMaker" {
        return s
            .world
            .metrics
            .iter()
            .rev()
            .find(|(ns, d)| *ns == m.metric.namespace && d.name == m.metric.name)
            .map(|(_, d)| d.value);
    }
    let cells: Vec<&runtime::MinuteCell> = s
        .world
        .recent
        .get(dimension("EndpointName")?)?
        .get(dimension("VariantName")?)?
        .range(from.div_euclid(60)..to.div_euclid(60))
        .map(|(_, c)| c)
        .collect();
    if cells.is_empty() {
        return None;
    }
    match m.metric.name.as_str() {
        "Invocations" => Some(cells.iter().map(|c| c.invocations as f64).sum()),
        "Invocation5XXErrors" => Some(cells.iter().map(|c| c.errors_5xx as f64).sum()),
        "ModelLatency" => {
            let mut samples: Vec<f64> = cells
                .iter()
                .flat_map(|c| c.latencies_us.iter().copied())
                .collect();
            latency_statistic(&mut samples, &m.statistic)
        }
        _ => None,
    }
}

fn latency_statistic(samples: &mut [f64], statistic: &str) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    match statistic {
        "Average" => Some(samples.iter().sum::<f64>() / n as f64),
        "Maximum" => samples.last().copied(),
        "Minimum" => samples.first().copied(),
        p => {
            let q: f64 = p.strip_prefix('p')?.parse().ok()?;
            let rank = ((q / 100.0) * n as f64).ceil().max(1.0) as usize;
            samples.get(rank.min(n) - 1).copied()
        }
    }
}

/// The state change as EventBridge carries it, and the rule's action: an execution of
/// the alarm-rollback state machine.
fn emit_alarm(s: &mut State, name: &str, previous: AlarmState, now: DateTime<Utc>) {
    let Some(alarm) = s.world.alarms.get(name) else {
        return;
    };
    let dims = |key: &str| {
        alarm.spec.metrics.first().and_then(|m| {
            m.metric
                .dimensions
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        })
    };
    let (endpoint, variant) = (
        dims("EndpointName").unwrap_or_default(),
        dims("VariantName").unwrap_or_default(),
    );
    let state_name = |st: AlarmState| match st {
        AlarmState::Ok => "OK",
        AlarmState::Alarm => "ALARM",
        AlarmState::InsufficientData => "INSUFFICIENT_DATA",
    };
    s.world.events.push(serde_json::json!({
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "detail": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": alarm.reason},
            "previousState": {"value": state_name(previous)},
            "configuration": {"metrics": [{"metricStat": {"metric": {
                "dimensions": {"EndpointName": endpoint, "VariantName": variant}}}}]}
        }
    }));
    let Some((prefix, state_machine)) = s.world.alarm_rule.clone() else {
        return;
    };
    if !name.starts_with(&prefix) {
        return;
    }
    let input = serde_json::json!({
        "endpointName": endpoint,
        "variantName": variant,
        "alarmName": name,
        "reason": alarm.reason,
    })
    .to_string();
    let minute = now.timestamp().div_euclid(60).to_string();
    let execution = readable_unique(&format!("alarm-{variant}"), &[name, &minute], 80, false);
    let arn = execution_arn(&state_machine, &execution);
    if !s.world.executions.contains_key(&execution) {
        s.world.executions.insert(execution.clone(), (arn, input));
        s.world.started.push(execution);
    }
}

#[async_trait]
impl Alarms for MemoryBackend {
    async fn put_alarm(&self, alarm: &AlarmSpec) -> PortResult<()> {
        self.call("PutMetricAlarm")?;
        if alarm.name.is_empty() || alarm.name.len() > 255 || alarm.metrics.is_empty() {
            return Err(PortError::Validation(format!(
                "alarm {} needs a name of 1 to 255 characters and at least one metric",
                alarm.name
            )));
        }
        let now = self.clock.now();
        self.with(|s| {
            s.world.alarms.insert(
                alarm.name.clone(),
                StoredAlarm {
                    spec: alarm.clone(),
                    state: AlarmState::InsufficientData,
                    reason: "Unchecked: Initial alarm creation".into(),
                    evaluated: now.timestamp().div_euclid(period_of(alarm)) - 1,
                },
            );
        });
        Ok(())
    }

    async fn delete_alarms(&self, names: &[String]) -> PortResult<()> {
        self.call("DeleteAlarms")?;
        self.with(|s| {
            for name in names {
                s.world.alarms.remove(name);
            }
        });
        Ok(())
    }

    async fn alarms_with_prefix(&self, prefix: &str) -> PortResult<Vec<(String, AlarmState)>> {
        self.call("DescribeAlarms")?;
        Ok(self.with(|s| {
            s.world
                .alarms
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(n, a)| (n.clone(), a.state))
                .collect()
        }))
    }
}
