//! SageMaker Data Capture and ground-truth records: the live evidence of an A/B test.
//!
//! A capture line (one per sampled request, JSON Lines under
//! `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`):
//! `{"captureData": {"endpointInput": {...}, "endpointOutput": {"observedContentType":
//! "text/csv", "mode": "OUTPUT", "data": "0.73", "encoding": "CSV"}}, "eventMetadata":
//! {"eventId": "…", "inferenceId": "…", "inferenceTime": "…"}, "eventVersion": "0"}`.
//! `encoding` is `CSV` or `JSON` (the body as text) or `BASE64` (content types the
//! config did not name).
//!
//! A ground-truth line, in Model Monitor's merge format: `{"groundTruthData": {"data":
//! "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "…"}, "eventVersion": "0"}`,
//! where `eventId` holds the capture's `inferenceId` when the caller set one, else its
//! `eventId` — the join key, as Model Monitor joins.
//!
//! **Requests with several rows.** A request may carry k CSV (or JSON Lines) rows and
//! its response k predictions. Its ground truth must then carry k labels in the same
//! order (`"data": "1,0,1"`, or a JSON array); row i's prediction pairs with label i. A
//! count that differs is a malformed pair, counted and named, never guessed at.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::codec::{decode_predictions, Format};
use crate::error::{CoreError, Result};

/// One captured response: its join key and the predictions it returned.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedResponse {
    /// `inferenceId` when the caller set one, else `eventId`.
    pub key: String,
    /// The predictions, one per request row.
    pub predictions: Vec<f64>,
}

/// One captured response of a variant that shares its requests with another (a shadow
/// and its production variant), with what pairs the two records of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct MirroredResponse {
    /// The label join key: `inferenceId` when the caller set one, else `eventId`.
    pub key: String,
    /// The caller's `inferenceId`, if set: the pairing key when both records carry it.
    pub inference_id: Option<String>,
    /// FNV-1a hash of the captured request body (`endpointInput`, as captured), if the
    /// capture includes inputs: the pairing key without an `inferenceId`.
    pub request_hash: Option<u64>,
    /// `inferenceTime` as written (RFC 3339), bounding the body-hash pairing in time.
    pub inference_time: Option<String>,
    /// The predictions, one per request row.
    pub predictions: Vec<f64>,
}

/// One ground-truth record: the join key and the labels, one per request row.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// The capture's `inferenceId` (or `eventId`).
    pub key: String,
    /// The labels, in the request's row order.
    pub labels: Vec<f64>,
}

// The record types borrow from the line (a capture file holds millions of lines; only
// the join key and the output are kept) and ignore the fields a look does not need.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaptureLine<'a> {
    #[serde(borrow)]
    capture_data: CaptureData<'a>,
    #[serde(borrow)]
    event_metadata: EventMetadata<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaptureData<'a> {
    #[serde(borrow)]
    endpoint_output: Option<Payload<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    #[serde(default, borrow)]
    observed_content_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Data<'a>,
    #[serde(borrow)]
    encoding: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventMetadata<'a> {
    #[serde(default, borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    inference_id: Option<Cow<'a, str>>,
    /// Only a mirrored pair's reader uses it (to bound body-hash pairing in time).
    #[serde(default, borrow)]
    inference_time: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MirroredLine<'a> {
    #[serde(borrow)]
    capture_data: MirroredData<'a>,
    #[serde(borrow)]
    event_metadata: EventMetadata<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MirroredData<'a> {
    #[serde(borrow)]
    endpoint_input: Option<Payload<'a>>,
    #[serde(borrow)]
    endpoint_output: Option<Payload<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroundTruthLine<'a> {
    #[serde(borrow)]
    ground_truth_data: Payload<'a>,
    #[serde(borrow)]
    event_metadata: EventMetadata<'a>,
}

/// A payload's `data`: text as SageMaker writes it, or (ground truth written by hand) a
/// JSON number or array of numbers.
enum Data<'a> {
    Text(Cow<'a, str>),
    Numbers(Vec<f64>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Data<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = Data<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or an array of numbers")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Data::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Data::Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
                Ok(Data::Numbers(vec![v]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(Data::Numbers(vec![v as f64]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(Data::Numbers(vec![v as f64]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<f64>()? {
                    out.push(v);
                }
                Ok(Data::Numbers(out))
            }
        }
        deserializer.deserialize_any(DataVisitor)
    }
}

/// Reads one capture line. Errors say what is wrong with the line (the caller names
/// the object and line number).
pub fn parse_capture_line(line: &str) -> Result<CapturedResponse> {
    let record: CaptureLine = serde_json::from_str(line)
        .map_err(|e| CoreError::invalid_payload(format!("not a Data Capture record: {e}")))?;
    let key = join_key(&record.event_metadata)?;
    let output = record
        .capture_data
        .endpoint_output
        .ok_or_else(|| CoreError::invalid_payload("no endpointOutput: capture the Output mode"))?;
    let predictions = output_predictions(&output)?;
    Ok(CapturedResponse { key, predictions })
}

/// Reads one capture line of a mirrored pair (a shadow's, or its production variant's):
/// the predictions, the label key, and the pairing keys (`inferenceId`, request-body
/// hash, `inferenceTime`).
pub fn parse_mirrored_line(line: &str) -> Result<MirroredResponse> {
    let record: MirroredLine = serde_json::from_str(line)
        .map_err(|e| CoreError::invalid_payload(format!("not a Data Capture record: {e}")))?;
    let meta = &record.event_metadata;
    let key = join_key(meta)?;
    let output = record
        .capture_data
        .endpoint_output
        .ok_or_else(|| CoreError::invalid_payload("no endpointOutput: capture the Output mode"))?;
    let request_hash = record.capture_data.endpoint_input.as_ref().map(|input| {
        let text = match &input.data {
            Data::Text(t) => Cow::Borrowed(t.as_ref()),
            Data::Numbers(n) => Cow::Owned(format!("{n:?}")),
        };
        fnv1a(text.as_bytes())
    });
    Ok(MirroredResponse {
        key,
        inference_id: meta
            .inference_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        request_hash,
        inference_time: meta.inference_time.as_deref().map(str::to_string),
        predictions: output_predictions(&output)?,
    })
}

/// FNV-1a, 64 bits: stable across builds and machines (unlike `std`'s hasher), so the
/// pairing of a look is reproducible.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A response's predictions, one per request row (never empty).
fn output_predictions(output: &Payload<'_>) -> Result<Vec<f64>> {
    let text = payload_text(output)?;
    let format = output
        .observed_content_type
        .as_deref()
        .and_then(|c| Format::from_content_type(c).ok())
        .unwrap_or_else(|| Format::sniff(&text));
    let predictions = match (&output.data, format) {
        // The common case, one CSV prediction, without the general decoder's allocations.
        (Data::Text(t), Format::Csv)
            if !t.contains([',', '\n']) && output.encoding.eq_ignore_ascii_case("CSV") =>
        {
            vec![t.trim().parse::<f64>().map_err(|_| {
                CoreError::invalid_payload(format!("prediction {:?} is not a number", t.trim()))
            })?]
        }
        _ => decode_predictions(&text, format)?,
    };
    if predictions.is_empty() {
        return Err(CoreError::invalid_payload("endpointOutput holds no prediction"));
    }
    Ok(predictions)
}

/// Reads one ground-truth line: `data` as CSV values (commas or new lines), a JSON
/// number, string or array of numbers.
pub fn parse_ground_truth_line(line: &str) -> Result<GroundTruth> {
    let record: GroundTruthLine = serde_json::from_str(line)
        .map_err(|e| CoreError::invalid_payload(format!("not a ground-truth record: {e}")))?;
    let key = join_key(&record.event_metadata)?;
    let labels = match &record.ground_truth_data.data {
        Data::Numbers(n) => n.clone(),
        Data::Text(_) => csv_numbers(&payload_text(&record.ground_truth_data)?)?,
    };
    if labels.is_empty() || labels.iter().any(|l| !l.is_finite()) {
        return Err(CoreError::invalid_payload(format!(
            "labels {labels:?} must be finite numbers"
        )));
    }
    Ok(GroundTruth { key, labels })
}

/// `inferenceId` when set (non-empty), else `eventId`.
fn join_key(meta: &EventMetadata<'_>) -> Result<String> {
    meta.inference_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .or(meta.event_id.as_deref().filter(|id| !id.is_empty()))
        .map(str::to_string)
        .ok_or_else(|| CoreError::invalid_payload("eventMetadata has neither inferenceId nor eventId"))
}

/// The payload's body as text: CSV and JSON as written, BASE64 decoded (must be UTF-8).
fn payload_text<'a>(p: &'a Payload<'a>) -> Result<Cow<'a, str>> {
    let data: Cow<'a, str> = match &p.data {
        Data::Text(s) => Cow::Borrowed(s.as_ref()),
        Data::Numbers(n) => Cow::Owned(n.iter().map(f64::to_string).collect::<Vec<_>>().join(",")),
    };
    match p.encoding.to_ascii_uppercase().as_str() {
        "CSV" | "JSON" => Ok(data),
        "BASE64" => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| CoreError::invalid_payload(format!("BASE64 data does not decode: {e}")))?;
            String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|_| CoreError::invalid_payload("BASE64 data is not UTF-8 text"))
        }
        other => Err(CoreError::invalid_payload(format!(
            "encoding {other:?} is not CSV, JSON or BASE64"
        ))),
    }
}

/// Numbers separated by commas or new lines.
fn csv_numbers(text: &str) -> Result<Vec<f64>> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            f.trim_matches('"')
                .parse::<f64>()
                .map_err(|_| CoreError::invalid_payload(format!("label {f:?} is not a number")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(output: &str, meta: &str) -> String {
        format!(
            r#"{{"captureData":{{"endpointInput":{{"observedContentType":"text/csv","mode":"INPUT","data":"1,2","encoding":"CSV"}},"endpointOutput":{output}}},"eventMetadata":{meta},"eventVersion":"0"}}"#
        )
    }

    #[test]
    fn a_mirrored_record_carries_its_pairing_keys() {
        let with_id = capture(
            r#"{"observedContentType":"text/csv","mode":"OUTPUT","data":"0.5","encoding":"CSV"}"#,
            r#"{"eventId":"e-1","inferenceId":"order-7","inferenceTime":"2026-12-01T10:00:00Z"}"#,
        );
        let m = parse_mirrored_line(&with_id).unwrap();
        assert_eq!(
            (m.key.as_str(), m.inference_id.as_deref()),
            ("order-7", Some("order-7"))
        );
        assert_eq!(m.inference_time.as_deref(), Some("2026-12-01T10:00:00Z"));
        assert_eq!(m.predictions, vec![0.5]);
        let without = capture(
            r#"{"observedContentType":"text/csv","mode":"OUTPUT","data":"0.6","encoding":"CSV"}"#,
            r#"{"eventId":"e-2"}"#,
        );
        let n = parse_mirrored_line(&without).unwrap();
        assert_eq!((n.key.as_str(), n.inference_id), ("e-2", None));
        assert_eq!(n.request_hash, m.request_hash, "the same body hashes alike");
        let other = with_id.replace(r#""data":"1,2""#, r#""data":"1,3""#);
        assert_ne!(parse_mirrored_line(&other).unwrap().request_hash, m.request_hash);
        let no_input = with_id.replace(
            r#""endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"1,2","encoding":"CSV"},"#,
            "",
        );
        assert_eq!(parse_mirrored_line(&no_input).unwrap().request_hash, None);
    }

    #[test]
    fn csv_json_and_base64_outputs_decode_alike() {
        let meta = r#"{"eventId":"e-1","inferenceId":"order-7","inferenceTime":"2026-12-01T10:00:00Z"}"#;
        let csv = capture(
            r#"{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.25\n0.75","encoding":"CSV"}"#,
            meta,
        );
        let json = capture(
            r#"{"observedContentType":"application/json","mode":"OUTPUT","data":"{\"predictions\":[{\"score\":0.25},{\"score\":0.75}]}","encoding":"JSON"}"#,
            meta,
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode("0.25\n0.75\n");
        let base64 = capture(
            &format!(
                r#"{{"observedContentType":"text/csv","mode":"OUTPUT","data":"{b64}","encoding":"BASE64"}}"#
            ),
            meta,
        );
        for line in [csv, json, base64] {
            let c = parse_capture_line(&line).unwrap();
            assert_eq!(c.key, "order-7", "inferenceId wins over eventId");
            assert_eq!(c.predictions, vec![0.25, 0.75]);
        }
    }

    #[test]
    fn the_event_id_joins_when_there_is_no_inference_id() {
        let line = capture(
            r#"{"observedContentType":"text/csv","mode":"OUTPUT","data":"3","encoding":"CSV"}"#,
            r#"{"eventId":"e-9","inferenceTime":"2026-12-01T10:00:00Z"}"#,
        );
        assert_eq!(parse_capture_line(&line).unwrap().key, "e-9");
    }

    #[test]
    fn malformed_records_say_what_is_wrong() {
        let cases = [
            ("{", "not a Data Capture record"),
            (
                r#"{"captureData":{},"eventMetadata":{"eventId":"e"}}"#,
                "no endpointOutput",
            ),
            (
                &capture(r#"{"mode":"OUTPUT","data":"1","encoding":"CSV"}"#, "{}"),
                "neither inferenceId nor eventId",
            ),
            (
                &capture(
                    r#"{"mode":"OUTPUT","data":"%%","encoding":"BASE64"}"#,
                    r#"{"eventId":"e"}"#,
                ),
                "does not decode",
            ),
            (
                &capture(
                    r#"{"mode":"OUTPUT","data":"1","encoding":"XML"}"#,
                    r#"{"eventId":"e"}"#,
                ),
                "not CSV, JSON or BASE64",
            ),
        ];
        for (line, says) in cases {
            let e = parse_capture_line(line).unwrap_err().to_string();
            assert!(e.contains(says), "{line}: {e}");
        }
    }

    #[test]
    fn ground_truth_in_every_shape() {
        let line = |data: &str, enc: &str| {
            format!(
                r#"{{"groundTruthData":{{"data":{data},"encoding":"{enc}"}},"eventMetadata":{{"eventId":"order-7"}},"eventVersion":"0"}}"#
            )
        };
        assert_eq!(
            parse_ground_truth_line(&line("\"1\"", "CSV")).unwrap().labels,
            vec![1.0]
        );
        assert_eq!(
            parse_ground_truth_line(&line("\"1,0,1\"", "CSV")).unwrap().labels,
            vec![1.0, 0.0, 1.0]
        );
        assert_eq!(
            parse_ground_truth_line(&line("[2.5, 3]", "JSON")).unwrap().labels,
            vec![2.5, 3.0]
        );
        assert_eq!(
            parse_ground_truth_line(&line("0.5", "JSON")).unwrap().labels,
            vec![0.5]
        );
        assert_eq!(
            parse_ground_truth_line(&line("\"MQ==\"", "BASE64"))
                .unwrap()
                .labels,
            vec![1.0]
        );
        assert_eq!(
            parse_ground_truth_line(&line("\"1\"", "CSV")).unwrap().key,
            "order-7"
        );
        for bad in [
            line("\"yes\"", "CSV"),
            line("\"\"", "CSV"),
            line("\"NaN\"", "CSV"),
            "[]".into(),
        ] {
            assert!(parse_ground_truth_line(&bad).is_err(), "{bad}");
        }
    }
}
