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

    /// `AWS/SageMaker` invocation metrics from the hours the endpoint served (by the
    /// virtual clock); other namespaces: every datum published, summed.
    async fn metric_totals(&self, q: &MetricQuery) -> PortResult<MetricTotals> {
        self.call("GetMetricStatistics")?;
        if q.start >= q.end {
            return Err(PortError::Validation(
                "The parameter StartTime must be less than the parameter EndTime.".into(),
            ));
        }
        if q.namespace == "AWS/SageMaker" {
            let dimension = |name: &str| {
                q.dimensions
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("", |(_, v)| v.as_str())
            };
            let hours = q.start.timestamp().div_euclid(3600)..q.end.timestamp().div_euclid(3600) + 1;
            return Ok(self.with(|s| {
                runtime::invocation_totals(
                    s,
                    dimension("EndpointName"),
                    dimension("VariantName"),
                    &q.name,
                    hours,
                )
            }));
        }
        Ok(self.with(|s| {
            s.world
                .metrics
                .iter()
                .filter(|(ns, d)| *ns == q.namespace && d.name == q.name && d.dimensions == q.dimensions)
                .fold(MetricTotals::default(), |t, (_, d)| MetricTotals {
                    sample_count: t.sample_count + 1.0,
                    sum: t.sum + d.value,
                })
        }))
    }
}
