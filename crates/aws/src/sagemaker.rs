//! The SageMaker control plane on `aws-sdk-sagemaker`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sagemaker::types::{
    Alarm, AlgorithmSpecification, AutoRollbackConfig, BlueGreenUpdatePolicy, CapacitySize, CapacitySizeType,
    CaptureContentTypeHeader, CaptureMode, CaptureOption, CheckpointConfig, ContainerDefinition,
    ContainerMode, DataCaptureConfig, DataSource, DeploymentConfig, DesiredWeightAndCapacity,
    EndpointStatus as SdkEndpointStatus, OutputDataConfig, ProductionVariant, ProductionVariantInstanceType,
    ResourceConfig, RollingUpdatePolicy, S3DataDistribution, S3DataSource, S3DataType, StoppingCondition,
    Tag, TrafficRoutingConfig, TrafficRoutingConfigType, TrainingInputMode, TrainingInstanceType,
    TrainingJobStatus, VariantProperty, VariantPropertyType,
};
use aws_sdk_sagemaker::Client;
use serde_json::Value;
use weighbridge_tasks::ports::{
    DataCapture, EndpointConfig, EndpointDescription, EndpointStatus, EndpointUpdate, ModelRequest,
    PortError, PortResult, SageMaker, TrainingJobDescription, TrainingJobRequest, TrainingStatus,
    VariantSpec, VariantState,
};

use crate::errors::classify;

/// [`SageMaker`] on the AWS SDK.
#[derive(Clone, Debug)]
pub struct SageMakerControl {
    pub(crate) client: Client,
}

impl SageMakerControl {
    /// The adapter over a SageMaker client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn endpoint_status(s: Option<&SdkEndpointStatus>) -> EndpointStatus {
    match s {
        Some(SdkEndpointStatus::InService) => EndpointStatus::InService,
        Some(SdkEndpointStatus::Creating) => EndpointStatus::Creating,
        Some(SdkEndpointStatus::Updating) => EndpointStatus::Updating,
        Some(SdkEndpointStatus::SystemUpdating) => EndpointStatus::SystemUpdating,
        Some(SdkEndpointStatus::RollingBack) => EndpointStatus::RollingBack,
        Some(SdkEndpointStatus::Deleting) => EndpointStatus::Deleting,
        Some(SdkEndpointStatus::Failed) => EndpointStatus::Failed,
        Some(SdkEndpointStatus::UpdateRollbackFailed) => EndpointStatus::UpdateRollbackFailed,
        _ => EndpointStatus::OutOfService,
    }
}

/// A `CapacitySize` (`{"Type": …, "Value": …}`) from its JSON form.
fn capacity(json: Option<&Value>) -> PortResult<Option<CapacitySize>> {
    let bad = |m: &str| PortError::Validation(format!("DeploymentConfig: {m}"));
    let Some(s) = json else {
        return Ok(None);
    };
    let t = s
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("CapacitySize.Type"))?;
    let v = s
        .get("Value")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("CapacitySize.Value"))? as i32;
    Ok(Some(
        CapacitySize::builder()
            .r#type(CapacitySizeType::from(t))
            .value(v)
            .build(),
    ))
}

/// The API's DeploymentConfig from its JSON form (BlueGreenUpdatePolicy with canary,
/// linear or all-at-once traffic routing, RollingUpdatePolicy, and
/// AutoRollbackConfiguration alarms).
pub fn deployment_config(json: &Value) -> PortResult<DeploymentConfig> {
    let bad = |m: &str| PortError::Validation(format!("DeploymentConfig: {m}"));
    let mut out = DeploymentConfig::builder();
    if let Some(policy) = json.get("BlueGreenUpdatePolicy") {
        let routing = policy
            .get("TrafficRoutingConfiguration")
            .ok_or_else(|| bad("BlueGreenUpdatePolicy needs TrafficRoutingConfiguration"))?;
        let kind = routing
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("TrafficRoutingConfiguration.Type"))?;
        let wait = routing
            .get("WaitIntervalInSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0) as i32;
        let routing = TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingConfigType::from(kind))
            .wait_interval_in_seconds(wait)
            .set_canary_size(capacity(routing.get("CanarySize"))?)
            .set_linear_step_size(capacity(routing.get("LinearStepSize"))?)
            .build();
        let mut p = BlueGreenUpdatePolicy::builder().traffic_routing_configuration(routing);
        if let Some(t) = policy.get("TerminationWaitInSeconds").and_then(Value::as_i64) {
            p = p.termination_wait_in_seconds(t as i32);
        }
        if let Some(t) = policy
            .get("MaximumExecutionTimeoutInSeconds")
            .and_then(Value::as_i64)
        {
            p = p.maximum_execution_timeout_in_seconds(t as i32);
        }
        out = out.blue_green_update_policy(p.build());
    }
    if let Some(policy) = json.get("RollingUpdatePolicy") {
        let seconds = |key: &str| policy.get(key).and_then(Value::as_i64).map(|t| t as i32);
        out = out.rolling_update_policy(
            RollingUpdatePolicy::builder()
                .set_maximum_batch_size(capacity(policy.get("MaximumBatchSize"))?)
                .set_wait_interval_in_seconds(seconds("WaitIntervalInSeconds"))
                .set_maximum_execution_timeout_in_seconds(seconds("MaximumExecutionTimeoutInSeconds"))
                .set_rollback_maximum_batch_size(capacity(policy.get("RollbackMaximumBatchSize"))?)
                .build(),
        );
    }
    if let Some(rollback) = json.get("AutoRollbackConfiguration") {
        let alarms = rollback
            .get("Alarms")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut r = AutoRollbackConfig::builder();
        for a in alarms {
            let name = a
                .get("AlarmName")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("Alarms[].AlarmName"))?;
            r = r.alarms(Alarm::builder().alarm_name(name).build());
        }
        out = out.auto_rollback_configuration(r.build());
    }
    Ok(out.build())
}

/// SageMaker's tag list; `None` for none (the field left out of the request).
fn tags_of(tags: &BTreeMap<String, String>) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    })
}

#[async_trait]
impl SageMaker for SageMakerControl {
    async fn create_training_job(&self, r: &TrainingJobRequest) -> PortResult<String> {
        let mut call = self
            .client
            .create_training_job()
            .training_job_name(&r.name)
            .algorithm_specification(
                AlgorithmSpecification::builder()
                    .training_image(&r.image)
                    .training_input_mode(TrainingInputMode::File)
                    .build(),
            )
            .role_arn(&r.role_arn)
            .set_hyper_parameters(Some(r.hyperparameters.clone().into_iter().collect()))
            .output_data_config(OutputDataConfig::builder().s3_output_path(&r.output_path).build())
            .resource_config(
                ResourceConfig::builder()
                    .instance_type(TrainingInstanceType::from(r.instance_type.as_str()))
                    .instance_count(r.instance_count)
                    .volume_size_in_gb(r.volume_gb)
                    .build(),
            );
        for c in &r.channels {
            let source = S3DataSource::builder()
                .s3_data_type(S3DataType::S3Prefix)
                .s3_uri(&c.s3_uri)
                .s3_data_distribution_type(S3DataDistribution::FullyReplicated)
                .build();
            let channel = aws_sdk_sagemaker::types::Channel::builder()
                .channel_name(&c.name)
                .data_source(DataSource::builder().s3_data_source(source).build())
                .set_content_type(c.content_type.clone())
                .build();
            call = call.input_data_config(channel);
        }
        let mut stopping = StoppingCondition::builder().max_runtime_in_seconds(r.max_runtime_seconds);
        if let Some(spot) = &r.spot {
            stopping = stopping.max_wait_time_in_seconds(spot.max_wait_seconds);
            call = call.enable_managed_spot_training(true).checkpoint_config(
                CheckpointConfig::builder()
                    .s3_uri(&spot.checkpoint_s3_uri)
                    .build(),
            );
        }
        call = call.stopping_condition(stopping.build());
        let out = call.set_tags(tags_of(&r.tags)).send().await.map_err(classify)?;
        Ok(out.training_job_arn().unwrap_or_default().to_string())
    }

    async fn describe_training_job(&self, name: &str) -> PortResult<TrainingJobDescription> {
        let d = self
            .client
            .describe_training_job()
            .training_job_name(name)
            .send()
            .await
            .map_err(classify)?;
        let status = match d.training_job_status() {
            Some(TrainingJobStatus::Completed) => TrainingStatus::Completed,
            Some(TrainingJobStatus::Failed) => TrainingStatus::Failed,
            Some(TrainingJobStatus::Stopping) => TrainingStatus::Stopping,
            Some(TrainingJobStatus::Stopped) => TrainingStatus::Stopped,
            _ => TrainingStatus::InProgress,
        };
        let final_metrics: BTreeMap<String, f64> = d
            .final_metric_data_list()
            .iter()
            .filter_map(|m| Some((m.metric_name()?.to_string(), f64::from(m.value()?))))
            .collect();
        let resources = d.resource_config();
        Ok(TrainingJobDescription {
            name: d.training_job_name().unwrap_or(name).to_string(),
            status,
            failure_reason: d.failure_reason().map(str::to_string),
            final_metrics,
            model_artifacts: d
                .model_artifacts()
                .and_then(|m| m.s3_model_artifacts())
                .map(str::to_string),
            image: d
                .algorithm_specification()
                .and_then(|a| a.training_image())
                .unwrap_or_default()
                .to_string(),
            hyperparameters: d
                .hyper_parameters()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            output_path: d
                .output_data_config()
                .and_then(|o| o.s3_output_path())
                .unwrap_or_default()
                .to_string(),
            instance_type: resources
                .and_then(|r| r.instance_type())
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            instance_count: resources.and_then(|r| r.instance_count()).unwrap_or(0),
        })
    }

    async fn create_model(&self, r: &ModelRequest) -> PortResult<String> {
        let mut container = ContainerDefinition::builder()
            .image(&r.image)
            .set_model_data_url(r.model_data_url.clone())
            .set_environment(
                (!r.environment.is_empty()).then(|| r.environment.clone().into_iter().collect()),
            );
        if r.multi_model {
            container = container.mode(ContainerMode::MultiModel);
        }
        let out = self
            .client
            .create_model()
            .model_name(&r.name)
            .execution_role_arn(&r.role_arn)
            .primary_container(container.build())
            .set_tags(tags_of(&r.tags))
            .send()
            .await
            .map_err(classify)?;
        Ok(out.model_arn().unwrap_or_default().to_string())
    }

    async fn model_tags(&self, name: &str) -> PortResult<BTreeMap<String, String>> {
        let model = self
            .client
            .describe_model()
            .model_name(name)
            .send()
            .await
            .map_err(classify)?;
        let arn = model.model_arn().unwrap_or_default();
        let mut tags = BTreeMap::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_tags()
                .resource_arn(arn)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(classify)?;
            for tag in page.tags() {
                if let (Some(key), Some(value)) = (tag.key(), tag.value()) {
                    tags.insert(key.to_string(), value.to_string());
                }
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(tags),
            }
        }
    }

    async fn stop_training_job(&self, name: &str) -> PortResult<()> {
        self.client
            .stop_training_job()
            .training_job_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete_endpoint(&self, name: &str) -> PortResult<()> {
        self.client
            .delete_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete_model(&self, name: &str) -> PortResult<()> {
        self.client
            .delete_model()
            .model_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn create_endpoint_config(&self, c: &EndpointConfig) -> PortResult<String> {
        let mut call = self.client.create_endpoint_config().endpoint_config_name(&c.name);
        for v in &c.variants {
            call = call.production_variants(variant_to_sdk(v));
        }
        for v in &c.shadow_variants {
            call = call.shadow_production_variants(variant_to_sdk(v));
        }
        if let Some(capture) = &c.data_capture {
            call = call.data_capture_config(capture_to_sdk(capture));
        }
        let out = call.send().await.map_err(classify)?;
        Ok(out.endpoint_config_arn().unwrap_or_default().to_string())
    }

    async fn describe_endpoint_config(&self, name: &str) -> PortResult<EndpointConfig> {
        let d = self
            .client
            .describe_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(EndpointConfig {
            name: d.endpoint_config_name().unwrap_or(name).to_string(),
            variants: d.production_variants().iter().map(variant_from_sdk).collect(),
            shadow_variants: d
                .shadow_production_variants()
                .iter()
                .map(variant_from_sdk)
                .collect(),
            data_capture: d.data_capture_config().and_then(capture_from_sdk),
        })
    }

    async fn delete_endpoint_config(&self, name: &str) -> PortResult<()> {
        self.client
            .delete_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn create_endpoint(&self, name: &str, config_name: &str) -> PortResult<String> {
        let out = self
            .client
            .create_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config_name)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.endpoint_arn().unwrap_or_default().to_string())
    }

    async fn update_endpoint(&self, update: &EndpointUpdate<'_>) -> PortResult<()> {
        let deployment = update.deployment_config.map(deployment_config).transpose()?;
        // Weights and capture always come from the new config (Weighbridge's); the
        // instance counts, when retained, from the live endpoint (autoscaling's).
        let excluded = [
            VariantPropertyType::DesiredWeight,
            VariantPropertyType::DataCaptureConfig,
        ]
        .into_iter()
        .map(|kind| VariantProperty::builder().variant_property_type(kind).build())
        .collect::<Vec<_>>();
        let retain = update.retain_instance_counts;
        self.client
            .update_endpoint()
            .endpoint_name(update.name)
            .endpoint_config_name(update.config_name)
            .set_deployment_config(deployment)
            .set_retain_all_variant_properties(retain.then_some(true))
            .set_exclude_retained_variant_properties(retain.then_some(excluded))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn describe_endpoint(&self, name: &str) -> PortResult<EndpointDescription> {
        let d = self
            .client
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(EndpointDescription {
            name: d.endpoint_name().unwrap_or(name).to_string(),
            config_name: d.endpoint_config_name().unwrap_or_default().to_string(),
            status: endpoint_status(d.endpoint_status()),
            failure_reason: d.failure_reason().map(str::to_string),
            variants: d.production_variants().iter().map(state_from_sdk).collect(),
            shadow_variants: d
                .shadow_production_variants()
                .iter()
                .map(state_from_sdk)
                .collect(),
            last_modified: d
                .last_modified_time()
                .and_then(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?)),
        })
    }

    async fn update_endpoint_weights(&self, name: &str, weights: &BTreeMap<String, f64>) -> PortResult<()> {
        let mut call = self
            .client
            .update_endpoint_weights_and_capacities()
            .endpoint_name(name);
        for (variant, w) in weights {
            let desired = DesiredWeightAndCapacity::builder()
                .variant_name(variant)
                .desired_weight(*w as f32)
                .build();
            call = call.desired_weights_and_capacities(desired);
        }
        call.send().await.map_err(classify)?;
        Ok(())
    }
}

/// The port's Data Capture as the API's `DataCaptureConfig`: responses always, requests
/// when asked, and the content types SageMaker should write as text rather than base64.
fn capture_to_sdk(c: &DataCapture) -> DataCaptureConfig {
    let mode = |m: CaptureMode| CaptureOption::builder().capture_mode(m).build();
    let mut options = vec![mode(CaptureMode::Output)];
    if c.capture_input {
        options.insert(0, mode(CaptureMode::Input));
    }
    let header = (!c.csv_content_types.is_empty() || !c.json_content_types.is_empty()).then(|| {
        CaptureContentTypeHeader::builder()
            .set_csv_content_types((!c.csv_content_types.is_empty()).then(|| c.csv_content_types.clone()))
            .set_json_content_types((!c.json_content_types.is_empty()).then(|| c.json_content_types.clone()))
            .build()
    });
    DataCaptureConfig::builder()
        .enable_capture(true)
        .initial_sampling_percentage(i32::try_from(c.sampling_percentage).unwrap_or(100))
        .destination_s3_uri(&c.destination_s3_uri)
        .set_kms_key_id(c.kms_key_id.clone())
        .set_capture_options(Some(options))
        .set_capture_content_type_header(header)
        .build()
}

/// DescribeEndpointConfig's `DataCaptureConfig` in the port's terms; `None` when capture
/// is off (`EnableCapture: false`) or has no destination.
fn capture_from_sdk(c: &DataCaptureConfig) -> Option<DataCapture> {
    if c.enable_capture() == Some(false) {
        return None;
    }
    let modes: Vec<&CaptureMode> = c
        .capture_options()
        .iter()
        .filter_map(|o| o.capture_mode())
        .collect();
    let header = c.capture_content_type_header();
    Some(DataCapture {
        destination_s3_uri: c.destination_s3_uri()?.to_string(),
        sampling_percentage: u32::try_from(c.initial_sampling_percentage().unwrap_or(0)).unwrap_or(0),
        capture_input: modes
            .iter()
            .any(|m| matches!(m, CaptureMode::Input | CaptureMode::InputAndOutput)),
        kms_key_id: c.kms_key_id().map(str::to_string),
        csv_content_types: header.map(|h| h.csv_content_types().to_vec()).unwrap_or_default(),
        json_content_types: header
            .map(|h| h.json_content_types().to_vec())
            .unwrap_or_default(),
    })
}

fn variant_to_sdk(v: &VariantSpec) -> ProductionVariant {
    ProductionVariant::builder()
        .variant_name(&v.name)
        .model_name(&v.model_name)
        .instance_type(ProductionVariantInstanceType::from(v.instance_type.as_str()))
        .initial_instance_count(v.initial_instance_count)
        .initial_variant_weight(v.initial_weight as f32)
        .build()
}

fn variant_from_sdk(v: &ProductionVariant) -> VariantSpec {
    VariantSpec {
        name: v.variant_name().unwrap_or_default().to_string(),
        model_name: v.model_name().unwrap_or_default().to_string(),
        instance_type: v
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        initial_instance_count: v.initial_instance_count().unwrap_or(1),
        initial_weight: f64::from(v.initial_variant_weight().unwrap_or(1.0)),
    }
}

fn state_from_sdk(v: &aws_sdk_sagemaker::types::ProductionVariantSummary) -> VariantState {
    VariantState {
        name: v.variant_name().unwrap_or_default().to_string(),
        current_weight: f64::from(v.current_weight().unwrap_or(0.0)),
        current_instance_count: v.current_instance_count().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_config_json_becomes_the_sdk_shape() {
        let json = serde_json::json!({
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY", "WaitIntervalInSeconds": 300,
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}
                },
                "TerminationWaitInSeconds": 120,
                "MaximumExecutionTimeoutInSeconds": 1800
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "salary-5xx"}]}
        });
        let c = deployment_config(&json).unwrap();
        let policy = c.blue_green_update_policy().unwrap();
        let routing = policy.traffic_routing_configuration().unwrap();
        assert_eq!(routing.r#type(), Some(&TrafficRoutingConfigType::Canary));
        assert_eq!(routing.wait_interval_in_seconds(), Some(300));
        assert_eq!(routing.canary_size().unwrap().value(), Some(10));
        assert_eq!(policy.termination_wait_in_seconds(), Some(120));
        let alarms = c.auto_rollback_configuration().unwrap().alarms();
        assert_eq!(alarms[0].alarm_name(), Some("salary-5xx"));
        let bad = deployment_config(&serde_json::json!({"BlueGreenUpdatePolicy": {}})).unwrap_err();
        assert!(matches!(bad, PortError::Validation(m) if m.contains("TrafficRoutingConfiguration")));
    }
}
