//! Reading an endpoint's live state, shared by the tasks that rebuild its config.

use crate::error::port;
use crate::ports::{EndpointConfig, EndpointDescription, SageMaker, VariantSpec};
use crate::TaskError;

/// The endpoint's current config with each variant carrying the weight it has live now
/// (DescribeEndpoint's CurrentWeight), so a new config keeps today's traffic split —
/// and its Data Capture, so a new config keeps capturing.
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
            let live = endpoint
                .variants
                .iter()
                .find(|s| s.name == v.name)
                .map(|s| s.current_weight);
            VariantSpec {
                initial_weight: live.unwrap_or(v.initial_weight),
                ..v
            }
        })
        .collect();
    Ok(EndpointConfig { variants, ..config })
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
