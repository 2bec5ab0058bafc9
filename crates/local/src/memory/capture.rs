//! Data Capture as SageMaker writes it: for an endpoint whose config has a
//! `DataCaptureConfig`, each sampled InvokeEndpoint appends one JSON line to
//! `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<id>.jsonl`, the
//! hour of the virtual clock (UTC), with the request and response bodies (`CSV` or
//! `JSON` text for the configured content types, `BASE64` otherwise) and the event's
//! metadata (`eventId`, the caller's `inferenceId`, `inferenceTime`).

use base64::Engine;
use serde_json::json;
use weighbridge_tasks::ports::DataCapture;

use super::*;

/// SageMaker starts a new capture file every few minutes; here every this many lines.
const LINES_PER_FILE: u32 = 200;

/// One answered request, as the capture records it.
pub(super) struct Exchange<'a> {
    pub(super) request: &'a InvokeRequest,
    pub(super) variant: &'a str,
    pub(super) response: &'a [u8],
    pub(super) response_type: &'a str,
}

/// Appends the exchange to the variant's capture file for this hour, if the endpoint's
/// config captures and the request is sampled. Returns whether it was captured.
pub(super) fn record(s: &mut State, now: DateTime<Utc>, exchange: &Exchange<'_>) -> bool {
    let endpoint = &exchange.request.endpoint;
    let Some(capture) = s
        .world
        .endpoints
        .get(endpoint)
        .and_then(|e| s.world.configs.get(&e.config_name))
        .and_then(|c| c.data_capture.clone())
    else {
        return false;
    };
    s.world.capture_events += 1;
    let sequence = s.world.capture_events;
    if !sampled(s, &capture, sequence) {
        return false;
    }
    let Some((bucket, prefix)) = split_s3(&capture.destination_s3_uri) else {
        return false;
    };
    let event_id = event_id(endpoint, sequence);
    let line = capture_line(&capture, exchange, &event_id, now);
    let hour = now.format("%Y/%m/%d/%H").to_string();
    let file_of = format!("{endpoint}/{}", exchange.variant);
    let key = match s.world.capture_files.get_mut(&file_of) {
        Some((open_hour, key, lines)) if *open_hour == hour && *lines < LINES_PER_FILE => {
            *lines += 1;
            key.clone()
        }
        _ => {
            let key = format!(
                "{}{endpoint}/{}/{hour}/{}-{}.jsonl",
                if prefix.is_empty() {
                    String::new()
                } else {
                    with_slash(&prefix)
                },
                exchange.variant,
                now.format("%M-%S-%3f"),
                &event_id[..8]
            );
            s.world.capture_files.insert(file_of, (hour, key.clone(), 1));
            key
        }
    };
    let object = s.objects.entry((bucket, key)).or_insert_with(|| StoredObject {
        body: Vec::new(),
        etag: String::new(),
    });
    object.body.extend_from_slice(line.as_bytes());
    object.body.push(b'\n');
    object.etag = etag_of(&object.body);
    true
}

/// SageMaker samples `InitialSamplingPercentage` of the requests: seeded when the
/// backend is, else every n-th by the event's sequence number.
fn sampled(s: &mut State, capture: &DataCapture, sequence: u64) -> bool {
    let percent = capture.sampling_percentage.min(100);
    match s.rng.as_mut() {
        Some(rng) => rng.random_range(0..100) < percent,
        None => (sequence * u64::from(percent)) / 100 != ((sequence - 1) * u64::from(percent)) / 100,
    }
}

/// A UUID-shaped event ID, unique per endpoint and request.
fn event_id(endpoint: &str, sequence: u64) -> String {
    let a = fingerprint(&[endpoint, &sequence.to_string()]);
    let b = fingerprint(&[&sequence.to_string(), endpoint]);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// The capture record, as SageMaker writes it.
fn capture_line(capture: &DataCapture, x: &Exchange<'_>, event_id: &str, now: DateTime<Utc>) -> String {
    let mut data = serde_json::Map::new();
    if capture.capture_input {
        data.insert(
            "endpointInput".into(),
            payload(capture, &x.request.content_type, &x.request.body, "INPUT"),
        );
    }
    data.insert(
        "endpointOutput".into(),
        payload(capture, x.response_type, x.response, "OUTPUT"),
    );
    let mut meta = json!({
        "eventId": event_id,
        "inferenceTime": now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    });
    if let (Some(id), Some(m)) = (&x.request.inference_id, meta.as_object_mut()) {
        m.insert("inferenceId".into(), json!(id));
    }
    json!({"captureData": data, "eventMetadata": meta, "eventVersion": "0"}).to_string()
}

/// A body as text (`CSV`/`JSON`) when its content type is configured as such, else `BASE64`.
fn payload(capture: &DataCapture, content_type: &str, body: &[u8], mode: &str) -> serde_json::Value {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let text = std::str::from_utf8(body).ok();
    let (data, encoding) = match text {
        Some(t) if capture.csv_content_types.iter().any(|c| c == mime) => (t.to_string(), "CSV"),
        Some(t) if capture.json_content_types.iter().any(|c| c == mime) => (t.to_string(), "JSON"),
        _ => (base64::engine::general_purpose::STANDARD.encode(body), "BASE64"),
    };
    json!({"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding})
}
