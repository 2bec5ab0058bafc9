//! `weighbridge invoke-endpoint`: InvokeEndpoint on the state directory's embedded
//! backend, as `aws sagemaker-runtime invoke-endpoint` calls it — the answer written to
//! OUTFILE, the response's metadata printed as JSON. The request is captured and counted
//! like any other (Data Capture, invocation metrics).
//!
//!     weighbridge invoke-endpoint --endpoint-name salary --content-type text/csv \
//!         --body '3.5,0.2' out.csv

use std::path::PathBuf;

use clap::Args;
use weighbridge_local::store::Access;
use weighbridge_tasks::ports::{InvokeRequest, Runtime};
use weighbridge_tasks::validation;

use super::local_state::Local;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct InvokeEndpointArgs {
    /// The endpoint.
    #[arg(long)]
    pub endpoint_name: String,
    /// The request body: the text itself, or `fileb://path` for a file's bytes.
    #[arg(long)]
    pub body: String,
    /// The body's MIME type (`text/csv`, `text/libsvm`; the linear-learner container also takes JSON Lines).
    #[arg(long, default_value = "text/csv")]
    pub content_type: String,
    /// The MIME type asked for in the answer.
    #[arg(long)]
    pub accept: Option<String>,
    /// Send the request to this production variant, not by the weights.
    #[arg(long)]
    pub target_variant: Option<String>,
    /// On a multi-model endpoint, the artifact (path under the model's prefix).
    #[arg(long)]
    pub target_model: Option<String>,
    /// An ID the capture records with the request (joins ground truth).
    #[arg(long)]
    pub inference_id: Option<String>,
    /// Where the answer's body goes.
    pub outfile: PathBuf,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
}

/// InvokeEndpoint takes at most 6 MB of payload.
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

fn body(arg: &str) -> Result<Vec<u8>, CliError> {
    let bytes = match arg.strip_prefix("fileb://") {
        Some(path) => std::fs::read(path).map_err(|source| CliError::Read {
            path: PathBuf::from(path),
            source,
        })?,
        None => arg.as_bytes().to_vec(),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(CliError::Usage(format!(
            "the body is {} bytes; InvokeEndpoint takes at most 6 MB",
            bytes.len()
        )));
    }
    Ok(bytes)
}

pub fn run(args: &InvokeEndpointArgs) -> Result<(), CliError> {
    validation::sagemaker_name("--endpoint-name", &args.endpoint_name).map_err(CliError::Task)?;
    if let Some(v) = &args.target_variant {
        validation::sagemaker_name("--target-variant", v).map_err(CliError::Task)?;
    }
    let request = InvokeRequest {
        endpoint: args.endpoint_name.clone(),
        body: body(&args.body)?,
        content_type: args.content_type.clone(),
        accept: args.accept.clone(),
        target_variant: args.target_variant.clone(),
        target_model: args.target_model.clone(),
        inference_id: args.inference_id.clone(),
    };
    let local = Local::open(&args.state_dir, Access::Write, "invoke-endpoint")?;
    let answer = local
        .runtime
        .block_on(local.backend.invoke_endpoint(&request))
        .map_err(|e| CliError::Usage(format!("InvokeEndpoint {}: {e}", args.endpoint_name)))?;
    local.save(&[])?;
    std::fs::write(&args.outfile, &answer.body).map_err(|source| CliError::Read {
        path: args.outfile.clone(),
        source,
    })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "ContentType": answer.content_type,
            "InvokedProductionVariant": answer.invoked_variant,
        }))
        .unwrap_or_default()
    );
    Ok(())
}
