//! Batch transform: `CreateTransformJob` scores every input object with a model and
//! writes `.out` objects, as SageMaker batch transform does (completing at once).

use super::*;

/// A batch transform job (the local backend's own shape; the SDK integration maps it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformJob {
    /// The job's name.
    pub name: String,
    /// The model that scores.
    pub model_name: String,
    /// `s3://bucket/prefix` of features-only CSV objects.
    pub input_uri: String,
    /// `s3://bucket/prefix/` for the `.out` objects.
    pub output_uri: String,
    /// `InProgress`, `Completed` or `Failed`.
    #[serde(default)]
    pub status: String,
    /// Why it failed (SageMaker's `FailureReason`).
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// Runs a transform job: every input object scored row by row.
fn transform(s: &mut State, model: &ModelRequest, job: &TransformJob) -> Result<(), String> {
    let hosted =
        hosted_model(s, model, None).map_err(|why| format!("ClientError: model {}: {why}", model.name))?;
    let (in_bucket, prefix) = split_s3(&job.input_uri).ok_or("ClientError: the input is not an S3 URI")?;
    let (out_bucket, out_prefix) =
        split_s3(&with_slash(&job.output_uri)).ok_or("ClientError: the output is not an S3 URI")?;
    let inputs: Vec<(String, Vec<u8>)> = s
        .objects
        .iter()
        .filter(|((b, k), _)| *b == in_bucket && k.starts_with(&prefix) && !k.ends_with('/'))
        .map(|((_, k), o)| (k.clone(), o.body.clone()))
        .collect();
    if inputs.is_empty() {
        return Err(format!("ClientError: no input under {}", job.input_uri));
    }
    for (key, body) in inputs {
        // Batch transform sends the object as the container's payload; its answer is one
        // value per line (SAGEMAKER_BATCH), in every generation.
        let rows = super::serving::parse_request("text/csv", &body)
            .map_err(|refused| format!("ClientError: {key}: {}", refused.message))?;
        if let Some(shape) = hosted.shape {
            super::serving::check_columns(shape, &rows)
                .map_err(|refused| format!("ClientError: {key}: {}", refused.message))?;
        }
        let out: String = rows
            .rows
            .iter()
            .map(|row| format!("{}\n", super::serving::python_repr((hosted.predict)(row))))
            .collect();
        let name = key.rsplit('/').next().unwrap_or(&key);
        let body = out.into_bytes();
        let etag = etag_of(&body);
        s.objects.insert(
            (out_bucket.clone(), format!("{out_prefix}{name}.out")),
            StoredObject { body, etag },
        );
    }
    Ok(())
}

impl MemoryBackend {
    /// CreateTransformJob: scores every object under `input_uri` (features-only CSV, one
    /// row per line) with the model and writes `<output_uri><object name>.out`, one
    /// prediction per line, as SageMaker batch transform does. Completes at once.
    pub fn create_transform_job(&self, job: &TransformJob) -> PortResult<String> {
        self.call("CreateTransformJob")?;
        self.with(|s| {
            if s.world.transforms.contains_key(&job.name) {
                return Err(PortError::AlreadyExists(format!("transform job {}", job.name)));
            }
            let model = s.world.models.get(&job.model_name).cloned().ok_or_else(|| {
                PortError::Validation(format!("Could not find model \"{}\".", job.model_name))
            })?;
            let mut done = job.clone();
            match transform(s, &model, job) {
                Ok(()) => done.status = "Completed".into(),
                Err(reason) => {
                    done.status = "Failed".into();
                    done.failure_reason = Some(reason);
                }
            }
            s.world.transforms.insert(job.name.clone(), done);
            Ok(format!(
                "arn:aws:sagemaker:us-east-1:000000000000:transform-job/{}",
                job.name
            ))
        })
    }

    /// DescribeTransformJob.
    pub fn describe_transform_job(&self, name: &str) -> PortResult<TransformJob> {
        self.call("DescribeTransformJob")?;
        self.with(|s| get_named(&s.world.transforms, "transform job", name))
    }
}
