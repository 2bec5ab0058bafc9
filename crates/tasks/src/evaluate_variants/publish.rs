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

/// The live look's checks to CloudWatch: `SampleRatioMismatch` (1 while flagged) and
/// `SrmEValue` per endpoint; `CapturedRequests` and `LabelCoverage` per variant. An
/// alarm on `SampleRatioMismatch ≥ 1` tells someone the experiment is held.
pub(super) async fn publish_live(
    sink: &dyn MetricSink,
    input: &EvaluateVariantsInput,
    report: &LiveReport,
) -> Result<(), TaskError> {
    let endpoint = vec![("EndpointName".to_string(), input.endpoint_name.clone())];
    let datum = |name: &str, value: f64, unit: &str, dimensions: Vec<(String, String)>| MetricDatum {
        name: name.into(),
        value,
        unit: unit.into(),
        dimensions,
    };
    let mut data = vec![
        datum(
            "SampleRatioMismatch",
            f64::from(u8::from(report.srm.flagged)),
            "Count",
            endpoint.clone(),
        ),
        datum(
            "SrmEValue",
            report.srm.e_value.min(1e300),
            "None",
            endpoint.clone(),
        ),
    ];
    for v in &report.variants {
        let mut dimensions = endpoint.clone();
        dimensions.push(("VariantName".to_string(), v.variant.clone()));
        data.push(datum(
            "CapturedRequests",
            v.captured_requests as f64,
            "Count",
            dimensions.clone(),
        ));
        data.push(datum("LabelCoverage", v.label_coverage, "None", dimensions));
    }
    sink.put_metric_data(&input.namespace, &data)
        .await
        .map_err(port(format!("PutMetricData {}", input.namespace)))
}
