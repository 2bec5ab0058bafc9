//! InvokeEndpoint on `aws-sdk-sagemakerruntime`.

use async_trait::async_trait;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::Client;
use weighbridge_tasks::ports::{InvokeRequest, InvokeResponse, PortResult, Runtime};

use crate::errors::classify;

/// [`Runtime`] on the AWS SDK.
#[derive(Clone, Debug)]
pub struct SageMakerRuntime {
    client: Client,
}

impl SageMakerRuntime {
    /// The adapter over a SageMaker Runtime client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Runtime for SageMakerRuntime {
    async fn invoke_endpoint(&self, r: &InvokeRequest) -> PortResult<InvokeResponse> {
        let out = self
            .client
            .invoke_endpoint()
            .endpoint_name(&r.endpoint)
            .body(Blob::new(r.body.clone()))
            .content_type(&r.content_type)
            .set_accept(r.accept.clone())
            .set_target_variant(r.target_variant.clone())
            .set_target_model(r.target_model.clone())
            .set_inference_id(r.inference_id.clone())
            .send()
            .await
            .map_err(classify)?;
        Ok(InvokeResponse {
            body: out.body().map(|b| b.as_ref().to_vec()).unwrap_or_default(),
            content_type: out.content_type().map(str::to_string),
            invoked_variant: out.invoked_production_variant().map(str::to_string),
        })
    }
}
