//! PutMetricData and GetMetricStatistics on `aws-sdk-cloudwatch`.

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum as SdkDatum, StandardUnit, Statistic};
use aws_sdk_cloudwatch::Client;
use weighbridge_tasks::ports::{MetricDatum, MetricQuery, MetricSink, MetricTotals, PortResult};

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
