//! The project's state machines, run offline: the ASL files and `template.yaml` (embedded
//! at build time, or read from a checkout), `DefinitionSubstitutions` resolved to the
//! functions in process, SDK integrations answered by the embedded backend, and the
//! interpreter's virtual clock shared with the backend's.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{json, Value};
use weighbridge_asl::definition::StateMachine;
use weighbridge_asl::interpreter::{run, ExecutionResult, ExecutionSpec, Resources, TaskContext};
use weighbridge_asl::validate::validate_text;
use weighbridge_asl::{substitute, AslError, Failure};
use weighbridge_tasks::names::fingerprint;
use weighbridge_tasks::ports::{PortError, PutCondition};

pub use crate::records::ExecutionRecord;

use crate::functions::{FunctionEnv, Ports};
use crate::MemoryBackend;

/// The account and region ARNs carry in local runs.
pub const ACCOUNT: &str = "123456789012";
/// The region ARNs carry in local runs.
pub const REGION: &str = "us-east-1";

const TEMPLATE: &str = include_str!("../../../template.yaml");
const MACHINES: [(&str, &str); 3] = [
    ("retrain", include_str!("../../../statemachines/retrain.asl.json")),
    (
        "ab-evaluation",
        include_str!("../../../statemachines/ab-evaluation.asl.json"),
    ),
    (
        "alarm-rollback",
        include_str!("../../../statemachines/alarm-rollback.asl.json"),
    ),
];

/// What the template says about the state machines and functions.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// machine (file stem, e.g. `retrain`) → (ASL text, substitutions).
    machines: BTreeMap<String, (String, BTreeMap<String, String>)>,
    /// Lambda ARN → function name (its folder under `functions/`).
    functions: BTreeMap<String, String>,
}

/// The Lambda ARN a function's logical id gets in local runs.
pub fn function_arn(logical_id: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}")
}

/// The ARN of a state machine in local runs.
pub fn state_machine_arn(machine: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}")
}

impl Deployment {
    /// The files built into this binary.
    pub fn embedded() -> Self {
        let asl: BTreeMap<String, String> = MACHINES
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        #[allow(clippy::expect_used)] // compiled in and tested: it cannot fail at run time
        Self::from_files(TEMPLATE, &asl).expect("the embedded template is valid (tested)")
    }

    /// From a template and the ASL texts by file stem.
    pub fn from_files(template: &str, asl: &BTreeMap<String, String>) -> Result<Self, String> {
        let t: serde_norway::Value =
            serde_norway::from_str(template).map_err(|e| format!("template.yaml: {e}"))?;
        let resources = t["Resources"]
            .as_mapping()
            .ok_or("template.yaml has no Resources")?;
        let mut functions = BTreeMap::new();
        let mut machines = BTreeMap::new();
        for (id, r) in resources {
            let id = id.as_str().unwrap_or_default();
            match r["Type"].as_str() {
                Some("AWS::Serverless::Function") => {
                    let code = r["Properties"]["CodeUri"]
                        .as_str()
                        .ok_or(format!("{id} has no CodeUri"))?;
                    let name = code.trim_end_matches('/').rsplit('/').next().unwrap_or(code);
                    functions.insert(function_arn(id), name.to_string());
                }
                Some("AWS::Serverless::StateMachine") => {
                    let uri = r["Properties"]["DefinitionUri"]
                        .as_str()
                        .ok_or(format!("{id} has no DefinitionUri"))?;
                    let stem = uri
                        .rsplit('/')
                        .next()
                        .unwrap_or(uri)
                        .trim_end_matches(".asl.json")
                        .to_string();
                    let text = asl.get(&stem).ok_or(format!("{id}: no ASL file {uri}"))?;
                    let mut substitutions = BTreeMap::new();
                    for (k, v) in r["Properties"]["DefinitionSubstitutions"]
                        .as_mapping()
                        .into_iter()
                        .flatten()
                    {
                        let key = k.as_str().unwrap_or_default().to_string();
                        let target = match v {
                            serde_norway::Value::Tagged(tag) => {
                                tag.value.as_str().unwrap_or_default().to_string()
                            }
                            other => other.as_str().unwrap_or_default().to_string(),
                        };
                        let logical = target.split('.').next().unwrap_or_default();
                        substitutions.insert(key, function_arn(logical));
                    }
                    machines.insert(stem, (text.clone(), substitutions));
                }
                _ => {}
            }
        }
        Ok(Self { machines, functions })
    }

    /// The state machines by name.
    pub fn machine_names(&self) -> Vec<String> {
        self.machines.keys().cloned().collect()
    }

    /// Whether this runner can execute a Task resource.
    pub fn knows(&self, resource: &str) -> bool {
        resource == "arn:aws:states:::lambda:invoke"
            || s3_action(resource).is_some()
            || self.functions.contains_key(resource)
            || resource
                .strip_prefix("arn:aws:states:::aws-sdk:sagemaker:")
                .is_some_and(|a| SDK_ACTIONS.contains(&a))
    }

    /// The machine's definition with its substitutions applied, validated. Every
    /// substituted Lambda ARN must name a function of the template.
    pub fn definition(&self, machine: &str) -> Result<StateMachine, AslError> {
        let (text, substitutions) = self.machines.get(machine).ok_or_else(|| {
            AslError::Invalid(vec![format!("no state machine {machine:?} in the template")])
        })?;
        let mut problems = Vec::new();
        for (key, arn) in substitutions {
            if !self.functions.contains_key(arn) {
                problems.push(format!(
                    "DefinitionSubstitutions {key} → {arn} is not a function of the template"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(AslError::Invalid(problems));
        }
        let resolved = substitute(text, substitutions);
        if let Some(left) = resolved.split("${").nth(1) {
            let key = left.split('}').next().unwrap_or_default();
            return Err(AslError::Invalid(vec![format!(
                "${{{key}}} has no DefinitionSubstitutions entry"
            )]));
        }
        validate_text(&resolved, &|r| self.knows(r))
    }

    /// The function a Lambda ARN names.
    pub fn function(&self, arn: &str) -> Option<&str> {
        self.functions.get(arn).map(String::as_str)
    }
}

/// The SageMaker actions the state machines call through the SDK integration.
pub const SDK_ACTIONS: [&str; 9] = [
    "createTransformJob",
    "describeTransformJob",
    "describeTrainingJob",
    "stopTrainingJob",
    "describeEndpoint",
    "deleteEndpoint",
    "deleteEndpointConfig",
    "deleteModel",
    "describeModelPackage",
];

/// Task resources: the functions in process and the SageMaker SDK actions, on the
/// embedded backend or on any ports (the AWS adapters in the CLI's `--aws` mode).
pub struct TaskResources<'a> {
    /// The ports the functions run on.
    pub ports: Ports<'a>,
    /// The embedded backend, for what only it has (batch transform jobs).
    pub backend: Option<&'a MemoryBackend>,
    /// The functions' environment.
    pub env: &'a FunctionEnv,
    /// The template's substitutions and the machines.
    pub deployment: &'a Deployment,
}

impl<'a> TaskResources<'a> {
    /// Everything on the embedded backend.
    pub fn local(backend: &'a MemoryBackend, env: &'a FunctionEnv, deployment: &'a Deployment) -> Self {
        Self {
            ports: backend.ports(),
            backend: Some(backend),
            env,
            deployment,
        }
    }
}

/// An action that answers nothing (`{}`), as the SDK integration does.
fn empty(result: Result<(), PortError>) -> Result<Value, Failure> {
    result.map(|()| json!({})).map_err(sdk_failure)
}

fn sdk_failure(e: PortError) -> Failure {
    let name = match &e {
        PortError::NotFound(_) => "SageMaker.ResourceNotFoundException",
        PortError::Throttled(_) => "SageMaker.ThrottlingException",
        PortError::Validation(_) => "SageMaker.ValidationException",
        _ => "SageMaker.SageMakerException",
    };
    Failure::new(name, e.to_string())
}

/// The S3 actions a Distributed Map's ItemReader and ResultWriter use (and Task states'
/// SDK integration), by resource.
fn s3_action(resource: &str) -> Option<&str> {
    let action = resource
        .strip_prefix("arn:aws:states:::s3:")
        .or_else(|| resource.strip_prefix("arn:aws:states:::aws-sdk:s3:"))?;
    ["getObject", "listObjectsV2", "putObject"]
        .contains(&action)
        .then_some(action)
}

impl TaskResources<'_> {
    /// `getObject` → `{"Body": text, "ETag"}`, `listObjectsV2` → `{"Contents": [...]}`,
    /// `putObject` → `{"ETag"}`, on the ports' object store.
    async fn s3(&self, action: &str, p: &Value) -> Result<Value, Failure> {
        let bucket = p["Bucket"].as_str().unwrap_or_default();
        let failed = |e: PortError| {
            let name = if matches!(e, PortError::NotFound(_)) {
                "S3.NoSuchKey"
            } else {
                "S3.S3Exception"
            };
            Failure::new(name, e.to_string())
        };
        match action {
            "getObject" => {
                let object = self
                    .ports
                    .s3
                    .get_object(bucket, p["Key"].as_str().unwrap_or_default())
                    .await
                    .map_err(failed)?;
                let mut out = json!({"Body": String::from_utf8_lossy(&object.body), "ETag": object.etag});
                // A body that is not text (a gzipped inventory file) also goes whole, for
                // the Distributed Map's ItemReader.
                if std::str::from_utf8(&object.body).is_err() {
                    use base64::Engine as _;
                    out["BodyBase64"] = json!(base64::engine::general_purpose::STANDARD.encode(&object.body));
                }
                Ok(out)
            }
            "listObjectsV2" => {
                let listed = self
                    .ports
                    .s3
                    .list_objects(bucket, p["Prefix"].as_str().unwrap_or_default())
                    .await
                    .map_err(failed)?;
                let contents: Vec<Value> = listed
                    .iter()
                    .map(
                        |o| json!({"Key": o.key, "Etag": o.etag, "Size": o.size, "StorageClass": "STANDARD"}),
                    )
                    .collect();
                Ok(json!({"Contents": contents, "KeyCount": contents.len(), "Name": bucket}))
            }
            _ => {
                let body = match &p["Body"] {
                    Value::String(text) => text.clone().into_bytes(),
                    other => other.to_string().into_bytes(),
                };
                let key = p["Key"].as_str().unwrap_or_default();
                let etag = self
                    .ports
                    .s3
                    .put_object(bucket, key, body, PutCondition::Always)
                    .await
                    .map_err(failed)?;
                Ok(json!({"ETag": etag}))
            }
        }
    }

    async fn lambda(&self, arn: &str, payload: Value) -> Result<Value, Failure> {
        let name = self
            .deployment
            .function(arn)
            .ok_or_else(|| Failure::new("Lambda.ResourceNotFoundException", format!("no function {arn}")))?;
        weighbridge_tasks::functions::invoke(self.ports, self.env, name, payload)
            .await
            .map_err(|e| {
                Failure::new(
                    e.name(),
                    json!({"errorType": e.name(), "errorMessage": e.to_string()}).to_string(),
                )
            })
    }

    async fn sagemaker(&self, action: &str, p: &Value) -> Result<Value, Failure> {
        let b = self.ports.sagemaker;
        let local = || {
            self.backend.ok_or_else(|| {
                Failure::new(
                    "SageMaker.ValidationException",
                    format!("{action} runs only on the local backend here"),
                )
            })
        };
        let field = |name: &str| {
            p[name].as_str().map(String::from).ok_or_else(|| {
                Failure::new("SageMaker.ValidationException", format!("{action} needs {name}"))
            })
        };
        match action {
            "describeTrainingJob" => {
                let j = b
                    .describe_training_job(&field("TrainingJobName")?)
                    .await
                    .map_err(sdk_failure)?;
                let mut out = json!({
                    "TrainingJobName": j.name,
                    "TrainingJobStatus": j.status,
                    "AlgorithmSpecification": {"TrainingImage": j.image},
                    "HyperParameters": j.hyperparameters,
                    "FinalMetricDataList": j.final_metrics.iter().map(|(k, v)| json!({"MetricName": k, "Value": v})).collect::<Vec<_>>(),
                });
                if let Some(reason) = j.failure_reason {
                    out["FailureReason"] = json!(reason);
                }
                if let Some(artifacts) = j.model_artifacts {
                    out["ModelArtifacts"] = json!({"S3ModelArtifacts": artifacts});
                }
                Ok(out)
            }
            "describeEndpoint" => {
                let e = b
                    .describe_endpoint(&field("EndpointName")?)
                    .await
                    .map_err(sdk_failure)?;
                let mut out = json!({
                    "EndpointName": e.name,
                    "EndpointConfigName": e.config_name,
                    "EndpointStatus": e.status,
                    "ProductionVariants": e.variants.iter().map(|v| json!({
                        "VariantName": v.name, "CurrentWeight": v.current_weight, "CurrentInstanceCount": v.current_instance_count
                    })).collect::<Vec<_>>(),
                });
                if let Some(reason) = e.failure_reason {
                    out["FailureReason"] = json!(reason);
                }
                Ok(out)
            }
            "createTransformJob" => {
                let job = crate::TransformJob {
                    name: field("TransformJobName")?,
                    model_name: field("ModelName")?,
                    input_uri: p["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    output_uri: p["TransformOutput"]["S3OutputPath"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    status: String::new(),
                    failure_reason: None,
                };
                let arn = local()?.create_transform_job(&job).map_err(sdk_failure)?;
                Ok(json!({"TransformJobArn": arn}))
            }
            "describeTransformJob" => {
                let j = local()?
                    .describe_transform_job(&field("TransformJobName")?)
                    .map_err(sdk_failure)?;
                let mut out = json!({
                    "TransformJobName": j.name, "ModelName": j.model_name, "TransformJobStatus": j.status,
                    "TransformOutput": {"S3OutputPath": j.output_uri},
                });
                if let Some(reason) = j.failure_reason {
                    out["FailureReason"] = json!(reason);
                }
                Ok(out)
            }
            "describeModelPackage" => {
                let name = field("ModelPackageName")?;
                let m = self
                    .ports
                    .registry
                    .describe_model_package(&name)
                    .await
                    .map_err(sdk_failure)?;
                let mut out = json!({
                    "ModelPackageArn": m.arn,
                    "ModelPackageGroupName": m.group,
                    "ModelPackageVersion": m.version,
                    "ModelApprovalStatus": m.approval.as_str(),
                    "ModelPackageStatus": "Completed",
                    "CustomerMetadataProperties": m.metadata,
                    "InferenceSpecification": {"Containers": [{"Image": m.image, "ModelDataUrl": m.model_data_url}]},
                });
                if let Some(description) = m.approval_description {
                    out["ApprovalDescription"] = json!(description);
                }
                Ok(out)
            }
            "stopTrainingJob" => empty(b.stop_training_job(&field("TrainingJobName")?).await),
            "deleteEndpoint" => empty(b.delete_endpoint(&field("EndpointName")?).await),
            "deleteEndpointConfig" => empty(b.delete_endpoint_config(&field("EndpointConfigName")?).await),
            "deleteModel" => empty(b.delete_model(&field("ModelName")?).await),
            other => Err(Failure::runtime(format!(
                "the local backend has no SageMaker action {other}"
            ))),
        }
    }
}

#[async_trait]
impl Resources for TaskResources<'_> {
    async fn call(&self, resource: &str, parameters: Value, _task: &TaskContext) -> Result<Value, Failure> {
        if resource == "arn:aws:states:::lambda:invoke" {
            let arn = parameters["FunctionName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let payload = parameters.get("Payload").cloned().unwrap_or(json!({}));
            let out = self.lambda(&arn, payload).await?;
            return Ok(json!({"Payload": out, "StatusCode": 200, "ExecutedVersion": "$LATEST"}));
        }
        if let Some(action) = resource.strip_prefix("arn:aws:states:::aws-sdk:sagemaker:") {
            return self.sagemaker(action, &parameters).await;
        }
        if let Some(action) = s3_action(resource) {
            return self.s3(action, &parameters).await;
        }
        self.lambda(resource, parameters).await
    }
}

/// Runs one execution of `machine` to its end on the backend's clock.
pub async fn run_machine(
    backend: &MemoryBackend,
    deployment: &Deployment,
    env: &FunctionEnv,
    machine: &str,
    execution_name: &str,
    input: Value,
) -> Result<ExecutionResult, AslError> {
    let clock = backend.clock();
    run_machine_with(
        &TaskResources::local(backend, env, deployment),
        clock.as_ref(),
        machine,
        execution_name,
        input,
    )
    .await
}

/// Runs one execution of `machine` on any resources and clock (`--aws`: the AWS
/// adapters and the wall clock).
pub async fn run_machine_with(
    resources: &TaskResources<'_>,
    clock: &dyn weighbridge_asl::interpreter::Clock,
    machine: &str,
    execution_name: &str,
    input: Value,
) -> Result<ExecutionResult, AslError> {
    let definition = resources.deployment.definition(machine)?;
    let spec = execution_spec(machine, execution_name);
    Ok(run(&definition, input, &spec, resources, clock).await)
}

/// An execution's identity in local runs: the machine's ARN, a role named after it, and
/// the retry jitter seeded by both names (so a rerun or a replay is the same run).
pub fn execution_spec(machine: &str, execution_name: &str) -> ExecutionSpec {
    ExecutionSpec {
        state_machine_name: machine.to_string(),
        state_machine_arn: state_machine_arn(machine),
        name: execution_name.to_string(),
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{machine}"),
        seed: fingerprint(&[machine, execution_name]),
    }
}

/// Runs every execution that `StartExecution` queued on the backend and that has not run
/// yet (what Step Functions does after start-retraining), in the order they were started.
pub async fn run_started(
    backend: &MemoryBackend,
    deployment: &Deployment,
    env: &FunctionEnv,
) -> Result<Vec<ExecutionRecord>, AslError> {
    let mut out = Vec::new();
    for (name, arn, input) in backend.take_started_executions() {
        let machine = arn.split(':').nth(6).unwrap_or_default().to_string();
        let input: Value = serde_json::from_str(&input).unwrap_or(Value::Null);
        let result = run_machine(backend, deployment, env, &machine, &name, input.clone()).await?;
        backend.finish_execution(&arn, result.status);
        out.push(ExecutionRecord::project(name, &machine, input, result));
    }
    Ok(out)
}

/// The template's EventBridge rule for `awaitApproval: event`: every approval of the
/// routed group since the last call goes to start-retraining (as EventBridge delivers
/// it), then the executions it started run. A start-retraining failure is reported as
/// the function's error name and message.
pub async fn deliver_package_approvals(
    backend: &MemoryBackend,
    deployment: &Deployment,
    env: &FunctionEnv,
) -> Result<Vec<ExecutionRecord>, String> {
    for event in backend.take_package_approvals() {
        weighbridge_tasks::functions::invoke(backend.ports(), env, "start-retraining", event)
            .await
            .map_err(|e| format!("{}: {e}", e.name()))?;
    }
    run_started(backend, deployment, env)
        .await
        .map_err(|e| e.to_string())
}
