//! CloudWatch: every arm's metrics per look, in batches within PutMetricData's limit.

use super::*;

/// Per-arm metrics to CloudWatch (dimensions EndpointName and VariantName/ModelName).
pub(super) async fn publish(
    sink: &dyn MetricSink,
    input: &EvaluateVariantsInput,
    arms: &Arms,
    reports: &[VariantReport],
) -> Result<(), TaskError> {
    let dimension = match arms {
        Arms::Variants(_) => "VariantName",
        Arms::Models(_) => "TargetModel",
    };
    let mut data = Vec::new();
    for r in reports {
        let dimensions = vec![
            ("EndpointName".to_string(), input.endpoint_name.clone()),
            (dimension.to_string(), r.variant.clone()),
        ];
        data.push(MetricDatum {
            name: "EvaluatedRows".into(),
            value: r.rows as f64,
            unit: "Count".into(),
            dimensions: dimensions.clone(),
        });
        for (name, value) in &r.metrics {
            data.push(MetricDatum {
                name: name.to_uppercase(),
                value: *value,
                unit: "None".into(),
                dimensions: dimensions.clone(),
            });
        }
    }
    for chunk in data.chunks(MAX_DATUMS_PER_PUT) {
        sink.put_metric_data(&input.namespace, chunk)
            .await
            .map_err(port(format!("PutMetricData {}", input.namespace)))?;
    }
    Ok(())
}
