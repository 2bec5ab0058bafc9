//! PutMetricData and GetMetricStatistics, and the metric alarms (PutMetricAlarm with
//! metric math, DescribeAlarms by prefix, DeleteAlarms), on `aws-sdk-cloudwatch`.

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDatum as SdkDatum, MetricStat,
    StandardUnit, StateValue, Statistic,
};
use aws_sdk_cloudwatch::Client;
use weighbridge_tasks::ports::{
    AlarmSpec, AlarmState, Alarms, Comparison, MetricDatum, MetricQuery, MetricRef, MetricSink, MetricTotals,
    PortResult,
};

use crate::errors::classify;

/// [`MetricSink`] on the AWS SDK.
#[derive(Clone, Debug)]
pub struct CloudWatchMetrics {
    client: Client,
}

impl CloudWatchMetrics {
    /// The adapter over a CloudWatch client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl MetricSink for CloudWatchMetrics {
    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> PortResult<()> {
        let data: Vec<SdkDatum> = data
            .iter()
            .map(|d| {
                SdkDatum::builder()
                    .metric_name(&d.name)
                    .value(d.value)
                    .unit(StandardUnit::from(d.unit.as_str()))
                    .set_dimensions(Some(
                        d.dimensions
                            .iter()
                            .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                            .collect(),
                    ))
                    .build()
            })
            .collect();
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn metric_totals(&self, query: &MetricQuery) -> PortResult<MetricTotals> {
        let out = self
            .client
            .get_metric_statistics()
            .namespace(&query.namespace)
            .metric_name(&query.name)
            .set_dimensions(Some(
                query
                    .dimensions
                    .iter()
                    .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                    .collect(),
            ))
            .start_time(DateTime::from_millis(query.start.timestamp_millis()))
            .end_time(DateTime::from_millis(query.end.timestamp_millis()))
            .period(period_seconds(query))
            .statistics(Statistic::SampleCount)
            .statistics(Statistic::Sum)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .datapoints()
            .iter()
            .fold(MetricTotals::default(), |t, d| MetricTotals {
                sample_count: t.sample_count + d.sample_count().unwrap_or(0.0),
                sum: t.sum + d.sum().unwrap_or(0.0),
            }))
    }
}

/// An hour per datapoint, or longer (a multiple of 60 s) so the range fits in
/// GetMetricStatistics' 1,440 datapoints.
fn period_seconds(query: &MetricQuery) -> i32 {
    let span = (query.end - query.start).num_seconds().max(0);
    let needed = (span / 1440 + 59) / 60 * 60;
    i32::try_from(needed.max(3600)).unwrap_or(i32::MAX / 60 * 60)
}

fn dimensions(pairs: &[(String, String)]) -> Vec<Dimension> {
    pairs
        .iter()
        .map(|(n, v)| Dimension::builder().name(n).value(v).build())
        .collect()
}

fn metric(m: &MetricRef) -> Metric {
    Metric::builder()
        .namespace(&m.namespace)
        .metric_name(&m.name)
        .set_dimensions(Some(dimensions(&m.dimensions)))
        .build()
}

/// The alarm's queries: each metric (returned itself when there is no expression), and
/// the expression as the one query whose value the alarm compares.
fn queries(alarm: &AlarmSpec) -> Vec<MetricDataQuery> {
    let mut queries: Vec<MetricDataQuery> = alarm
        .metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            MetricDataQuery::builder()
                .id(&m.id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric(&m.metric))
                        .period(alarm.period_seconds)
                        .stat(&m.statistic)
                        .build(),
                )
                .return_data(alarm.expression.is_none() && i == 0)
                .build()
        })
        .collect();
    if let Some(expression) = &alarm.expression {
        queries.push(
            MetricDataQuery::builder()
                .id("verdict")
                .expression(expression)
                .label(&alarm.name)
                .return_data(true)
                .build(),
        );
    }
    queries
}

#[async_trait]
impl Alarms for CloudWatchMetrics {
    async fn put_alarm(&self, alarm: &AlarmSpec) -> PortResult<()> {
        let comparison = match alarm.comparison {
            Comparison::GreaterThanThreshold => ComparisonOperator::GreaterThanThreshold,
            Comparison::LessThanThreshold => ComparisonOperator::LessThanThreshold,
        };
        self.client
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(&alarm.description)
            .set_metrics(Some(queries(alarm)))
            .threshold(alarm.threshold)
            .comparison_operator(comparison)
            .evaluation_periods(alarm.evaluation_periods)
            .datapoints_to_alarm(alarm.evaluation_periods)
            .treat_missing_data("notBreaching")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete_alarms(&self, names: &[String]) -> PortResult<()> {
        if names.is_empty() {
            return Ok(());
        }
        self.client
            .delete_alarms()
            .set_alarm_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn alarms_with_prefix(&self, prefix: &str) -> PortResult<Vec<(String, AlarmState)>> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for alarm in page.map_err(classify)?.metric_alarms() {
                let state = match alarm.state_value() {
                    Some(StateValue::Alarm) => AlarmState::Alarm,
                    Some(StateValue::Ok) => AlarmState::Ok,
                    _ => AlarmState::InsufficientData,
                };
                found.push((alarm.alarm_name().unwrap_or_default().to_string(), state));
            }
        }
        Ok(found)
    }
}
