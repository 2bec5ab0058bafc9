//! The Model Registry on `aws-sdk-sagemaker` (the SageMaker client): model package
//! groups, versioned model packages with an inference specification, approval updates
//! with their description and customer metadata.

use async_trait::async_trait;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition,
};
use weighbridge_tasks::ports::{
    ApprovalStatus, ApprovalUpdate, ModelPackage, ModelPackageRequest, PortError, PortResult, Registry,
};

use crate::errors::classify;
use crate::SageMakerControl;

fn status(approval: ApprovalStatus) -> ModelApprovalStatus {
    ModelApprovalStatus::from(approval.as_str())
}

#[async_trait]
impl Registry for SageMakerControl {
    async fn create_group(&self, name: &str, description: &str) -> PortResult<()> {
        self.client
            .create_model_package_group()
            .model_package_group_name(name)
            .model_package_group_description(description)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn create_model_package(&self, request: &ModelPackageRequest) -> PortResult<String> {
        let container = ModelPackageContainerDefinition::builder()
            .image(&request.image)
            .model_data_url(&request.model_data_url)
            .build();
        let inference = InferenceSpecification::builder()
            .containers(container)
            .set_supported_content_types(Some(request.content_types.clone()))
            .set_supported_response_mime_types(Some(request.content_types.clone()))
            .build();
        let out = self
            .client
            .create_model_package()
            .model_package_group_name(&request.group)
            .model_package_description(&request.description)
            .inference_specification(inference)
            .model_approval_status(status(request.approval))
            .set_customer_metadata_properties(Some(request.metadata.clone().into_iter().collect()))
            .client_token(&request.client_token)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.model_package_arn().unwrap_or_default().to_string())
    }

    async fn describe_model_package(&self, arn: &str) -> PortResult<ModelPackage> {
        let d = self
            .client
            .describe_model_package()
            .model_package_name(arn)
            .send()
            .await
            .map_err(classify)?;
        let approval = d
            .model_approval_status()
            .and_then(|s| ApprovalStatus::parse(s.as_str()))
            .ok_or_else(|| PortError::Validation(format!("model package {arn} has no approval status")))?;
        let container = d.inference_specification().and_then(|i| i.containers().first());
        Ok(ModelPackage {
            arn: d.model_package_arn().unwrap_or(arn).to_string(),
            group: d.model_package_group_name().unwrap_or_default().to_string(),
            version: d.model_package_version().map_or(0, i64::from),
            approval,
            approval_description: d.approval_description().map(str::to_string),
            metadata: d
                .customer_metadata_properties()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            image: container.and_then(|c| c.image()).unwrap_or_default().to_string(),
            model_data_url: container
                .and_then(|c| c.model_data_url())
                .unwrap_or_default()
                .to_string(),
        })
    }

    async fn update_approval(&self, update: &ApprovalUpdate) -> PortResult<()> {
        self.client
            .update_model_package()
            .model_package_arn(&update.arn)
            .model_approval_status(status(update.approval))
            .approval_description(&update.description)
            .set_customer_metadata_properties(Some(update.metadata.clone().into_iter().collect()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
