//! SageMaker Runtime: `InvokeEndpoint` routed by the variants' weights (seeded) or
//! `TargetVariant`, served by the models trained here (or registered with
//! [`MemoryBackend::serve`]). An endpoint with a shadow variant mirrors a share of its
//! requests to it (the shadow's weight over the production variant's, seeded): the
//! shadow answers, its response is captured under its own variant and never returned.
//! Every answer is counted in the `AWS/SageMaker` invocation metrics per variant and hour.

use super::*;

impl MemoryBackend {
    /// Hosts `predict` for every variant whose model is `model` (by model name).
    pub fn serve(
        &self,
        model: &str,
        style: ResponseStyle,
        predict: impl Fn(&[f64]) -> f64 + Send + Sync + 'static,
    ) {
        let hosted = Hosted {
            predict: Arc::new(predict),
            style,
            shape: None,
            default_accept: None,
        };
        self.with(|s| s.predictors.insert(model.to_string(), hosted));
    }

    /// The `ModelLatency` (microseconds) `variant` reports from now on: a slow model.
    pub fn set_model_latency(&self, variant: &str, micros: f64) {
        self.with(|s| s.model_latency_us.insert(variant.to_string(), micros));
    }

    /// From now on `variant`'s container answers every request with a 500: InvokeEndpoint
    /// fails with a ModelError and SageMaker counts an `Invocation5XXErrors`.
    pub fn fail_variant(&self, variant: &str) {
        self.with(|s| s.failing_variants.insert(variant.to_string()));
    }
}

/// Minutes of per-minute invocation metrics kept (what alarms evaluate).
const RECENT_MINUTES: i64 = 60;
/// Latency samples kept per variant and minute (enough for a p99).
const LATENCY_SAMPLES: usize = 2_000;

/// One variant's invocations in one minute: what a CloudWatch alarm's period reads.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MinuteCell {
    pub(super) invocations: u64,
    pub(super) errors_5xx: u64,
    pub(super) latencies_us: Vec<f64>,
}

/// Recent invocation metrics: endpoint → variant → minute → counts.
pub(super) type RecentMetrics = BTreeMap<String, BTreeMap<String, BTreeMap<i64, MinuteCell>>>;

/// The `ModelLatency` a variant reports unless [`MemoryBackend::set_model_latency`] says.
pub const DEFAULT_MODEL_LATENCY_US: f64 = 2_000.0;

/// One variant's invocation metrics in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InvocationHour {
    invocations: u64,
    latency_us: f64,
    errors_5xx: u64,
}

impl InvocationHour {
    /// Requests answered in the hour.
    pub(super) fn invocations(&self) -> u64 {
        self.invocations
    }
}

/// Invocation metrics: endpoint → variant → hour → counts.
pub(super) type InvocationMetrics = BTreeMap<String, BTreeMap<String, BTreeMap<i64, InvocationHour>>>;

/// The value under `key`, inserted as the default the first time (every InvokeEndpoint
/// passes here: a key is allocated only when it is new).
fn slot<'a, V: Default>(map: &'a mut BTreeMap<String, V>, key: &str) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).unwrap_or_else(|| unreachable!("inserted above"))
}

/// Counts one answer of `variant` in its hour's metrics.
fn count_invocation(s: &mut State, endpoint: &str, variant: &str, now: DateTime<Utc>, error_5xx: bool) {
    let latency = s
        .model_latency_us
        .get(variant)
        .copied()
        .unwrap_or(DEFAULT_MODEL_LATENCY_US);
    let hours = slot(slot(&mut s.world.invocations, endpoint), variant);
    let cell = hours.entry(now.timestamp().div_euclid(3600)).or_default();
    cell.invocations += 1;
    cell.latency_us += latency;
    cell.errors_5xx += u64::from(error_5xx);
    let minutes = slot(slot(&mut s.world.recent, endpoint), variant);
    let minute = now.timestamp().div_euclid(60);
    let cell = minutes.entry(minute).or_default();
    cell.invocations += 1;
    cell.errors_5xx += u64::from(error_5xx);
    if cell.latencies_us.len() < LATENCY_SAMPLES {
        cell.latencies_us.push(latency);
    }
    minutes.retain(|m, _| *m > minute - RECENT_MINUTES);
}

/// A metric's totals over the hours of one variant (what GetMetricStatistics sums).
pub(super) fn invocation_totals(
    s: &State,
    endpoint: &str,
    variant: &str,
    metric: &str,
    hours: std::ops::Range<i64>,
) -> MetricTotals {
    let Some(cells) = s.world.invocations.get(endpoint).and_then(|v| v.get(variant)) else {
        return MetricTotals::default();
    };
    cells.range(hours).fold(MetricTotals::default(), |t, (_, c)| {
        let n = c.invocations as f64;
        let sum = match metric {
            "ModelLatency" => c.latency_us,
            "Invocations" => n,
            "Invocation5XXErrors" => c.errors_5xx as f64,
            _ => 0.0,
        };
        MetricTotals {
            sample_count: t.sample_count + n,
            sum: t.sum + sum,
        }
    })
}

/// A model as its container serves it: the prediction, how answers are written, and
/// what the container checks the request's columns against.
#[derive(Clone)]
pub struct Hosted {
    /// One row's prediction.
    pub predict: Predictor,
    /// The container's answers.
    pub style: ResponseStyle,
    /// The model's feature count and file form (an xgboost artifact), for the column check.
    pub shape: Option<serving::ModelShape>,
    /// The model's `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`.
    pub default_accept: Option<String>,
}

/// The predictor of `model` (cached under `key`): one registered with `serve`, else
/// the artifact of the model `hosted` (at `target` under it, for a multi-model endpoint).
fn predictor(s: &mut State, key: &str, hosted: &str, target: Option<&str>) -> Result<Hosted, String> {
    if let Some(served) = s.predictors.get(key) {
        return Ok(served.clone());
    }
    let model = s
        .world
        .models
        .get(hosted)
        .ok_or_else(|| format!("model {hosted} does not exist"))?;
    let served = hosted_model(s, model, target)?;
    s.predictors.insert(key.to_string(), served.clone());
    Ok(served)
}

/// A predictor for a model whose artifact is in the local S3 (a model trained here).
/// For a multi-model endpoint, `target` is the artifact's path under the model's
/// `ModelDataUrl` prefix, as SageMaker resolves `TargetModel`.
pub(super) fn hosted_model(s: &State, model: &ModelRequest, target: Option<&str>) -> Result<Hosted, String> {
    let data_url = model
        .model_data_url
        .as_deref()
        .ok_or_else(|| format!("model {} has no ModelDataUrl", model.name))?;
    let url = match target {
        Some(t) => format!("{}{t}", with_slash(data_url)),
        None => data_url.to_string(),
    };
    let (bucket, key) = split_s3(&url).ok_or_else(|| format!("{url} is not an S3 URI"))?;
    let object = s
        .objects
        .get(&(bucket, key))
        .ok_or_else(|| format!("no object at {url} (the model's artifact)"))?;
    let artifact = crate::artifact::unpack_artifact(&object.body).map_err(|e| format!("{url}: {e}"))?;
    let style = if model.image.contains("linear-learner") {
        ResponseStyle::LinearLearner
    } else {
        serving::xgboost_style(&model.image)
    };
    let files = artifact.boosters().len();
    let ensembles = model
        .environment
        .get("SAGEMAKER_INFERENCE_ENSEMBLE")
        .is_none_or(|v| v == "true");
    if files > 1 && (style == ResponseStyle::XgboostCommaJoined || !ensembles) {
        return Err(format!(
            "{url} holds {files} model files; this container loads one of them, chosen by directory order (only the 1.2-2 and later containers average an ensemble, unless SAGEMAKER_INFERENCE_ENSEMBLE is not \"true\"): keep one file"
        ));
    }
    // The container checks the columns against its first model.
    let shape = artifact.boosters().first().map(|b| serving::ModelShape {
        num_feature: b.num_feature,
        pickled: b.format == weighbridge_xgboost::Format::Pickle,
    });
    Ok(Hosted {
        predict: Arc::new(move |x: &[f64]| artifact.predict(x)),
        style,
        shape,
        default_accept: model
            .environment
            .get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT")
            .cloned(),
    })
}

#[async_trait]
impl Runtime for MemoryBackend {
    async fn invoke_endpoint(&self, r: &InvokeRequest) -> PortResult<InvokeResponse> {
        self.call("InvokeEndpoint")?;
        self.tick();
        if let Some(latency) = self.with(|s| s.latency.get("InvokeEndpoint").copied()) {
            tokio::time::sleep(latency).await;
        }
        let (hosted, variant) = self.with(|s| route(s, r))?;
        let now = self.clock.now();
        if self.with(|s| s.failing_variants.contains(&variant)) {
            self.with(|s| {
                count_invocation(s, &r.endpoint, &variant, now, true);
                super::alarms::evaluate(s, now);
            });
            return Err(PortError::Unavailable(format!(
                "ModelError: Received server error (500) from primary with message \"internal error\" (variant {variant})"
            )));
        }
        let answered = self.answer_and_record(r, &variant, &hosted, now);
        if let Some((shadow_model, shadow)) = self.with(|s| mirrored_to(s, r)) {
            // The shadow answers too: its response is captured and counted, never returned.
            let _ = self.answer_and_record(r, &shadow, &shadow_model, now);
        }
        let (body, content_type) = answered.map_err(|refused| model_error(&r.endpoint, &refused))?;
        Ok(InvokeResponse {
            body: body.into_bytes(),
            content_type: Some(content_type),
            invoked_variant: Some(variant),
        })
    }
}

/// A container's non-200 as SageMaker reports it: a ModelError (HTTP 424) carrying the
/// container's status and body.
fn model_error(endpoint: &str, refused: &serving::Rejection) -> PortError {
    let kind = if refused.status >= 500 { "server" } else { "client" };
    PortError::Validation(format!(
        "ModelError: Received {kind} error ({}) from primary with message \"{}\". See the log group /aws/sagemaker/Endpoints/{endpoint} for more information.",
        refused.status, refused.message
    ))
}

impl MemoryBackend {
    /// `variant`'s answer to the request, captured (if sampled) and counted in its
    /// invocation metrics; a container's refusal is counted (a 5xx as an error) and
    /// not captured.
    fn answer_and_record(
        &self,
        r: &InvokeRequest,
        variant: &str,
        hosted: &Hosted,
        now: DateTime<Utc>,
    ) -> Result<(String, String), serving::Rejection> {
        let answer = container_answer(r, hosted);
        self.with(|s| {
            if let Ok((body, content_type)) = &answer {
                let exchange = capture::Exchange {
                    request: r,
                    variant,
                    response: body.as_bytes(),
                    response_type: content_type,
                };
                capture::record(s, now, &exchange);
            }
            let error_5xx = match &answer {
                Ok(_) => hosted.style == ResponseStyle::Garbage,
                Err(refused) => refused.status >= 500,
            };
            count_invocation(s, &r.endpoint, variant, now, error_5xx);
            super::alarms::evaluate(s, now);
        });
        answer
    }
}

/// What the container answers: the request parsed and checked as its generation does,
/// one prediction per row, written by `Accept`.
fn container_answer(r: &InvokeRequest, hosted: &Hosted) -> Result<(String, String), serving::Rejection> {
    let predict = |rows: &[Vec<f64>]| -> Vec<f64> { rows.iter().map(|row| (hosted.predict)(row)).collect() };
    match hosted.style {
        ResponseStyle::Xgboost | ResponseStyle::XgboostCommaJoined => {
            if r.body.is_empty() {
                // The container answers an empty body with 204 and nothing.
                return Ok((String::new(), "text/csv".into()));
            }
            let rows = serving::parse_request(&r.content_type, &r.body)?;
            if let Some(shape) = hosted.shape {
                serving::check_columns(shape, &rows)?;
            }
            let scores = predict(&rows.rows);
            serving::render_xgboost(
                hosted.style,
                r.accept.as_deref(),
                hosted.default_accept.as_deref(),
                &scores,
            )
        }
        ResponseStyle::LinearLearner => {
            let scores = predict(&linear_learner_rows(&r.body));
            let predictions: Vec<_> = scores.iter().map(|s| serde_json::json!({ "score": s })).collect();
            Ok((
                serde_json::json!({ "predictions": predictions }).to_string(),
                "application/json".into(),
            ))
        }
        ResponseStyle::Garbage => Ok(("<html>502 Bad Gateway</html>".to_string(), "text/csv".into())),
    }
}

/// Which variant answers (`TargetVariant`, else the weights) and its model's predictor.
fn route(s: &mut State, r: &InvokeRequest) -> PortResult<(Hosted, String)> {
    let e = s.world.endpoints.get(&r.endpoint).ok_or_else(|| {
        PortError::Validation(format!(
            "Endpoint {} of account 000000000000 not found.",
            r.endpoint
        ))
    })?;
    if e.status != EndpointStatus::InService && e.status != EndpointStatus::Updating {
        return Err(PortError::Validation(format!(
            "Endpoint {} is not in service.",
            r.endpoint
        )));
    }
    let variant = match &r.target_variant {
        Some(v) if e.variants.iter().any(|x| &x.name == v) => v.clone(),
        Some(v) => {
            return Err(PortError::Validation(format!(
                "Variant {v} not found for endpoint {}.",
                r.endpoint
            )))
        }
        None => routed_by_weight(s.rng.as_mut(), e, &s.routing_skew)
            .ok_or_else(|| PortError::Validation(format!("Endpoint {} has no variants.", r.endpoint)))?,
    };
    let variant_model = s
        .world
        .configs
        .get(&e.config_name)
        .and_then(|c| c.variants.iter().find(|v| v.name == variant))
        .map(|v| v.model_name.clone())
        .ok_or_else(|| {
            PortError::Validation(format!(
                "Variant {variant} of endpoint {} has no model in config {}.",
                r.endpoint, e.config_name
            ))
        })?;
    let model = r.target_model.clone().unwrap_or_else(|| variant_model.clone());
    let hosted = predictor(s, &model, &variant_model, r.target_model.as_deref())
        .map_err(|why| PortError::Validation(format!("model {model} cannot be served: {why}")))?;
    Ok((hosted, variant))
}

/// The shadow variant this request is mirrored to, if the endpoint has one and the
/// request is sampled (the shadow's weight over the production variant's; seeded, and
/// without a seed every request); `TargetVariant` requests are not mirrored.
fn mirrored_to(s: &mut State, r: &InvokeRequest) -> Option<(Hosted, String)> {
    if r.target_variant.is_some() {
        return None;
    }
    let e = s.world.endpoints.get(&r.endpoint)?;
    let share = e.mirrored_share()?;
    let shadow = e.shadow_variants.first()?.clone();
    let config = s.world.configs.get(&e.config_name)?;
    let model = config
        .shadow_variants
        .iter()
        .find(|v| v.name == shadow.name)?
        .model_name
        .clone();
    let sampled = s.rng.as_mut().is_none_or(|rng| rng.random::<f64>() < share);
    if !sampled {
        return None;
    }
    let hosted = predictor(s, &model, &model, None).ok()?;
    Some((hosted, shadow.name))
}

/// A variant by the current weights (seeded); without a seed, the heaviest.
fn routed_by_weight(
    rng: Option<&mut rand::rngs::StdRng>,
    e: &EndpointDescription,
    skew: &BTreeMap<String, f64>,
) -> Option<String> {
    let weight = |v: &VariantState| v.current_weight * skew.get(&v.name).copied().unwrap_or(1.0);
    let total: f64 = e.variants.iter().map(weight).sum();
    match rng {
        Some(rng) if total > 0.0 => {
            let mut pick = rng.random::<f64>() * total;
            e.variants
                .iter()
                .find(|v| {
                    pick -= weight(v);
                    pick < 0.0
                })
                .or_else(|| e.variants.last())
                .map(|v| v.name.clone())
        }
        _ => e
            .variants
            .iter()
            .max_by(|a, b| a.current_weight.total_cmp(&b.current_weight))
            .map(|v| v.name.clone()),
    }
}

/// The rows of a request to the linear-learner container: CSV lines (an empty field is
/// missing, NaN) or JSON Lines with `features`.
fn linear_learner_rows(body: &[u8]) -> Vec<Vec<f64>> {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            if l.trim_start().starts_with('{') {
                let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
                v["features"]
                    .as_array()
                    .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
                    .unwrap_or_default()
            } else {
                l.split(',')
                    .map(|f| serving::python_float(f).unwrap_or(f64::NAN))
                    .collect()
            }
        })
        .collect()
}
