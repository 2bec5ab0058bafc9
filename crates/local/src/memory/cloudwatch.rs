//! CloudWatch metrics: `PutMetricData` with its limits; the datapoints are kept for `status`.

use super::*;

impl MemoryBackend {
    /// Datapoints published so far.
    pub fn metric_data(&self) -> Vec<(String, MetricDatum)> {
        self.with(|s| s.world.metrics.clone())
    }
}

#[async_trait]
#[async_trait]
impl MetricSink for MemoryBackend {
    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> PortResult<()> {
        self.call("PutMetricData")?;
        if data.len() > weighbridge_tasks::ports::MAX_DATUMS_PER_PUT {
            return Err(PortError::Validation(
                "too many datums in one PutMetricData".into(),
            ));
        }
        self.with(|s| {
            s.world
                .metrics
                .extend(data.iter().map(|d| (namespace.to_string(), d.clone())))
        });
        Ok(())
    }
}
