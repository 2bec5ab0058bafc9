//! SageMaker Runtime: `InvokeEndpoint` routed by the variants' weights (seeded) or
//! `TargetVariant`, served by the models trained here (or registered with [`MemoryBackend::serve`]).

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
}

/// A predictor for a model whose artifact is in the local S3 (a model trained here).
/// For a multi-model endpoint, `target` is the artifact's path under the model's
/// `ModelDataUrl` prefix, as SageMaker resolves `TargetModel`.
pub(super) fn hosted_model(
    s: &State,
    model: &ModelRequest,
    target: Option<&str>,
) -> Option<(Predictor, ResponseStyle)> {
    let url = match target {
        Some(t) => format!("{}{t}", with_slash(model.model_data_url.as_deref()?)),
        None => model.model_data_url.clone()?,
    };
    let (bucket, key) = split_s3(&url)?;
    let trained = training::unpack(&s.objects.get(&(bucket, key))?.body).ok()?;
    let style = if model.image.contains("linear-learner") {
        ResponseStyle::LinearLearner
    } else {
        ResponseStyle::Csv
    };
    Some((Arc::new(move |x: &[f64]| trained.predict(x)), style))
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
        let scores: Vec<f64> = request_rows(&r.body).iter().map(|row| predict(row)).collect();
        let (body, content_type) = answer(style, &scores);
        let now = self.clock.now();
        self.with(|s| {
            let exchange = capture::Exchange {
                request: r,
                variant: &variant,
                response: body.as_bytes(),
                response_type: content_type,
            };
            capture::record(s, now, &exchange)
        });
        Ok(InvokeResponse {
            body: body.into_bytes(),
            content_type: Some(content_type.into()),
            invoked_variant: Some(variant),
        })
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
    let served = s.predictors.get(&model).cloned().or_else(|| {
        let hosted = hosted_model(s, s.world.models.get(&variant_model)?, r.target_model.as_deref())?;
        s.predictors.insert(model.clone(), hosted.clone());
        Some(hosted)
    });
    let (p, style) =
        served.ok_or_else(|| PortError::Validation(format!("model {model} has no predictor served")))?;
    Ok((p, style, variant))
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

/// The request's feature rows: CSV lines, or JSON Lines with `features`.
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
                l.split(',').filter_map(|f| f.trim().parse().ok()).collect()
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
