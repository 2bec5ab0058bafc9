//! Reading an endpoint's live state, shared by the tasks that rebuild its config.

use crate::error::port;
use crate::ports::{EndpointConfig, EndpointDescription, SageMaker, VariantSpec};
use crate::TaskError;

/// The endpoint's current config with each variant carrying the weight and the instance
/// count it has live now (DescribeEndpoint's CurrentWeight and CurrentInstanceCount), so
/// a new config keeps today's traffic split and today's capacity (what autoscaling set,
/// not the old config's initial count) — and its Data Capture, so a new config keeps
/// capturing.
pub(crate) async fn live_config(
    sagemaker: &dyn SageMaker,
    endpoint: &EndpointDescription,
) -> Result<EndpointConfig, TaskError> {
    let config = sagemaker
        .describe_endpoint_config(&endpoint.config_name)
        .await
        .map_err(port(format!("DescribeEndpointConfig {}", endpoint.config_name)))?;
    let variants = config
        .variants
        .into_iter()
        .map(|v| {
            let live = endpoint.variants.iter().find(|s| s.name == v.name);
            VariantSpec {
                initial_weight: live.map_or(v.initial_weight, |s| s.current_weight),
                initial_instance_count: live
                    .map_or(v.initial_instance_count, |s| s.current_instance_count.max(1)),
                ..v
            }
        })
        .collect();
    let shadow_variants = config
        .shadow_variants
        .into_iter()
        .map(|v| {
            let live = endpoint.shadow_variants.iter().find(|s| s.name == v.name);
            VariantSpec {
                initial_instance_count: live
                    .map_or(v.initial_instance_count, |s| s.current_instance_count.max(1)),
                ..v
            }
        })
        .collect();
    Ok(EndpointConfig {
        variants,
        shadow_variants,
        ..config
    })
}

/// The relative weight that gives a new variant `share` of the traffic beside variants
/// whose weights sum to `others` (SageMaker's weights are relative); 1 when the others
/// weigh nothing.
pub(crate) fn weight_for_share(share: f64, others: f64) -> f64 {
    if others > 0.0 {
        share * others / (1.0 - share)
    } else {
        1.0
    }
}
