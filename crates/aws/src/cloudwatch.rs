//! PutMetricData on `aws-sdk-cloudwatch`.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum as SdkDatum, StandardUnit};
use aws_sdk_cloudwatch::Client;
use weighbridge_tasks::ports::{MetricDatum, MetricSink, PortResult};

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
}
