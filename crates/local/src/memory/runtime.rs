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
        self.with(|s| s.predictors.insert(model.to_string(), (Arc::new(predict), style)));
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

/// The predictor of `model` (cached under `key`): one registered with `serve`, else
/// the artifact of the model `hosted` (at `target` under it, for a multi-model endpoint).
fn predictor(
    s: &mut State,
    key: &str,
    hosted: &str,
    target: Option<&str>,
) -> Result<(Predictor, ResponseStyle), String> {
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
pub(super) fn hosted_model(
    s: &State,
    model: &ModelRequest,
    target: Option<&str>,
) -> Result<(Predictor, ResponseStyle), String> {
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
    let artifact = training::unpack_artifact(&object.body).map_err(|e| format!("{url}: {e}"))?;
    let style = if model.image.contains("linear-learner") {
        ResponseStyle::LinearLearner
    } else {
        ResponseStyle::Csv
    };
    Ok((Arc::new(move |x: &[f64]| artifact.predict(x)), style))
}

#[async_trait]
#[async_trait]
impl Runtime for MemoryBackend {
    async fn invoke_endpoint(&self, r: &InvokeRequest) -> PortResult<InvokeResponse> {
        self.call("InvokeEndpoint")?;
        self.tick();
        if let Some(latency) = self.with(|s| s.latency.get("InvokeEndpoint").copied()) {
            tokio::time::sleep(latency).await;
        }
        let (predict, style, variant) = self.with(|s| route(s, r))?;
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
        let (body, content_type) = self.answer_and_record(r, &variant, (&predict, style), now);
        if let Some((predict, style, shadow)) = self.with(|s| mirrored_to(s, r)) {
            // The shadow answers too: its response is captured and counted, never returned.
            self.answer_and_record(r, &shadow, (&predict, style), now);
        }
        Ok(InvokeResponse {
            body: body.into_bytes(),
            content_type: Some(content_type.into()),
            invoked_variant: Some(variant),
        })
    }
}

impl MemoryBackend {
    /// `variant`'s answer to the request, captured (if sampled) and counted in its
    /// invocation metrics.
    fn answer_and_record(
        &self,
        r: &InvokeRequest,
        variant: &str,
        (predict, style): (&Predictor, ResponseStyle),
        now: DateTime<Utc>,
    ) -> (String, &'static str) {
        let scores: Vec<f64> = request_rows(&r.body).iter().map(|row| predict(row)).collect();
        let (body, content_type) = answer(style, &scores);
        self.with(|s| {
            let exchange = capture::Exchange {
                request: r,
                variant,
                response: body.as_bytes(),
                response_type: content_type,
            };
            capture::record(s, now, &exchange);
            count_invocation(s, &r.endpoint, variant, now, style == ResponseStyle::Garbage);
            super::alarms::evaluate(s, now);
        });
        (body, content_type)
    }
}

/// Which variant answers (`TargetVariant`, else the weights) and its model's predictor.
fn route(s: &mut State, r: &InvokeRequest) -> PortResult<(Predictor, ResponseStyle, String)> {
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
    let (p, style) = predictor(s, &model, &variant_model, r.target_model.as_deref())
        .map_err(|why| PortError::Validation(format!("model {model} cannot be served: {why}")))?;
    Ok((p, style, variant))
}

/// The shadow variant this request is mirrored to, if the endpoint has one and the
/// request is sampled (the shadow's weight over the production variant's; seeded, and
/// without a seed every request); `TargetVariant` requests are not mirrored.
fn mirrored_to(s: &mut State, r: &InvokeRequest) -> Option<(Predictor, ResponseStyle, String)> {
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
    let (predict, style) = predictor(s, &model, &model, None).ok()?;
    Some((predict, style, shadow.name))
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

/// The request's feature rows: CSV lines (an empty field is missing: NaN; so, for now,
/// is a field that is not a number — the containers answer a ModelError there), or JSON
/// Lines with `features`.
fn request_rows(body: &[u8]) -> Vec<Vec<f64>> {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            if l.trim_start().starts_with('{') {
                let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
                v["features"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                    .unwrap_or_default()
            } else {
                // An empty field is a missing value (NaN), never a shifted column.
                l.split(',')
                    .map(|f| match f.trim() {
                        "" => f64::NAN,
                        f => f.parse().unwrap_or(f64::NAN),
                    })
                    .collect()
            }
        })
        .collect()
}

/// The response body and content type as the container of `style` writes them.
fn answer(style: ResponseStyle, scores: &[f64]) -> (String, &'static str) {
    match style {
        ResponseStyle::Csv => (scores.iter().map(|v| format!("{v}\n")).collect::<String>(), "text/csv"),
        ResponseStyle::LinearLearner => (
            serde_json::json!({ "predictions": scores.iter().map(|s| serde_json::json!({"score": s})).collect::<Vec<_>>() }).to_string(),
            "application/json",
        ),
        ResponseStyle::Garbage => ("<html>502 Bad Gateway</html>".to_string(), "text/csv"),
    }
}
