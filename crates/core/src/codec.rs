//! Payload codecs for what SageMaker containers accept and return.
//!
//! Responses: CSV (one value per line, or one row of comma-separated values — the
//! xgboost container returns either), JSON Lines (a number, `[number]` or an object
//! with `score` per line), JSON arrays, the linear-learner shape
//! `{"predictions":[{"score":…,"predicted_label":…}]}` and the framework containers'
//! `{"predictions":[…]}`. Requests: CSV feature rows without the label column (the label
//! comes first in the built-in algorithms' training CSV) or JSON Lines.
//! A malformed payload is a [`CoreError::Payload`] naming the 1-based line.

use serde_json::Value;

use crate::error::{CoreError, Result};

/// Payload formats, by their SageMaker content types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/csv`
    Csv,
    /// `application/jsonlines`
    JsonLines,
    /// `application/json`
    Json,
}

impl Format {
    /// Maps a Content-Type (parameters ignored) to a format.
    pub fn from_content_type(content_type: &str) -> Result<Format> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "text/csv" => Ok(Format::Csv),
            "application/jsonlines" | "application/x-jsonlines" | "application/jsonl" => Ok(Format::JsonLines),
            "application/json" => Ok(Format::Json),
            _ => Err(CoreError::invalid(format!(
                "content type {content_type:?} is not supported; use text/csv, application/json or application/jsonlines"
            ))),
        }
    }

    /// The Content-Type header for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv",
            Format::JsonLines => "application/jsonlines",
            Format::Json => "application/json",
        }
    }

    /// Guesses the format of a file's text: a JSON document, JSON Lines, or CSV.
    pub fn sniff(text: &str) -> Format {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') || trimmed.starts_with('{') {
            if serde_json::from_str::<Value>(trimmed).is_ok() {
                Format::Json
            } else {
                Format::JsonLines
            }
        } else {
            Format::Csv
        }
    }
}

fn payload_err(line: usize, problem: impl Into<String>) -> CoreError {
    CoreError::Payload {
        line,
        problem: problem.into(),
    }
}

/// Non-blank lines with their 1-based line numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

fn parse_number(line: usize, field: &str) -> Result<f64> {
    let v: f64 = field
        .trim()
        .parse()
        .map_err(|_| payload_err(line, format!("{:?} is not a number", field.trim())))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(payload_err(line, format!("{v} is not a finite number")))
    }
}

/// Decodes one prediction per input row from a container's response body.
pub fn decode_predictions(body: &str, format: Format) -> Result<Vec<f64>> {
    match format {
        Format::Csv => decode_csv(body),
        Format::JsonLines => lines(body)
            .map(|(n, l)| {
                let v: Value =
                    serde_json::from_str(l).map_err(|e| payload_err(n, format!("invalid JSON: {e}")))?;
                score_of(&v).map_err(|p| payload_err(n, p))
            })
            .collect(),
        Format::Json => decode_json(body),
    }
}

fn decode_csv(body: &str) -> Result<Vec<f64>> {
    let rows: Vec<(usize, &str)> = lines(body).collect();
    match rows.as_slice() {
        [] => Ok(Vec::new()),
        [(n, only)] => only.split(',').map(|f| parse_number(*n, f)).collect(),
        many => many
            .iter()
            .map(|&(n, l)| {
                let fields: Vec<&str> = l.split(',').collect();
                if fields.len() != 1 {
                    return Err(payload_err(
                        n,
                        format!(
                            "{} values on one line; expected one prediction per line or a single row of predictions",
                            fields.len()
                        ),
                    ));
                }
                parse_number(n, fields[0])
            })
            .collect(),
    }
}

/// A JSON document: an array of predictions or an object with a `predictions` array.
fn decode_json(body: &str) -> Result<Vec<f64>> {
    let doc: Value =
        serde_json::from_str(body).map_err(|e| payload_err(e.line(), format!("invalid JSON: {e}")))?;
    let items = match &doc {
        Value::Array(items) => items,
        Value::Object(map) => match map.get("predictions") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(payload_err(
                    1,
                    "a JSON object response needs a \"predictions\" array (e.g. {\"predictions\":[{\"score\":0.7}]})",
                ))
            }
        },
        other => return Err(payload_err(1, format!("expected a JSON array or object, got {other}"))),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| score_of(v).map_err(|p| payload_err(1, format!("prediction {}: {p}", i + 1))))
        .collect()
}

/// One prediction: a number, a one-element array, or an object with a `score`
/// (linear-learner), `prediction`, or `predicted_label` field, in that preference.
fn score_of(v: &Value) -> std::result::Result<f64, String> {
    let number = |v: &Value| -> std::result::Result<f64, String> {
        v.as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{v} is not a finite number"))
    };
    match v {
        Value::Number(_) => number(v),
        Value::Array(items) if items.len() == 1 => number(&items[0]),
        Value::Array(items) => Err(format!(
            "an array of {} values; expected one prediction per row",
            items.len()
        )),
        Value::Object(map) => ["score", "prediction", "predicted_label"]
            .iter()
            .find_map(|k| map.get(*k))
            .map(number)
            .unwrap_or_else(|| Err("object has no \"score\", \"prediction\" or \"predicted_label\"".into())),
        other => Err(format!("{other} is not a prediction")),
    }
}

/// One labelled row of a test set: the label and the features the model sees.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledRow {
    /// The label.
    pub label: f64,
    /// The features, in order.
    pub features: Vec<f64>,
}

/// Parses a label-first CSV test set (no header), the built-in algorithms' convention.
pub fn parse_label_first_csv(text: &str) -> Result<Vec<LabelledRow>> {
    let mut width = None;
    lines(text).map(|(n, l)| csv_row(n, l, &mut width)).collect()
}

/// One label-first CSV line; `width` is the column count of the first row. An empty
/// feature field is a missing value (NaN), as the containers read it; the label must be
/// a number.
fn csv_row(n: usize, line: &str, width: &mut Option<usize>) -> Result<LabelledRow> {
    let values: Vec<f64> = line
        .split(',')
        .enumerate()
        .map(|(i, f)| {
            if i > 0 && f.trim().is_empty() {
                Ok(f64::NAN)
            } else {
                parse_number(n, f)
            }
        })
        .collect::<Result<_>>()?;
    if values.len() < 2 {
        return Err(payload_err(
            n,
            "a labelled row needs the label and at least one feature",
        ));
    }
    match *width {
        None => *width = Some(values.len()),
        Some(w) if w != values.len() => {
            return Err(payload_err(
                n,
                format!("{} columns, but earlier rows have {w}", values.len()),
            ))
        }
        _ => {}
    }
    Ok(LabelledRow {
        label: values[0],
        features: values[1..].to_vec(),
    })
}

/// A number as CSV: the shortest decimal that round-trips, in exponent form when the
/// plain form would be long (1e-300 is 302 characters plain), so every field fits in 24;
/// a missing value (NaN) is an empty field.
fn csv_number(v: f64) -> String {
    if v.is_nan() {
        return String::new();
    }
    let plain = v.to_string();
    if plain.len() <= 24 {
        plain
    } else {
        format!("{v:e}")
    }
}

/// Encodes feature rows as an InvokeEndpoint request body (label column already dropped).
pub fn encode_rows(rows: &[&[f64]], format: Format) -> Result<String> {
    let mut out = String::new();
    for row in rows {
        match format {
            Format::Csv => {
                let fields: Vec<String> = row.iter().map(|v| csv_number(*v)).collect();
                out.push_str(&fields.join(","));
            }
            Format::JsonLines => {
                out.push_str(&serde_json::json!({ "features": row }).to_string());
            }
            Format::Json => {
                return Err(CoreError::invalid(
                    "requests are encoded as text/csv or application/jsonlines, not application/json",
                ))
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// Parses labelled rows from JSON Lines, one `{"label": 1, "features": [0.5, 2.0]}` a line.
pub fn parse_labelled_jsonlines(text: &str) -> Result<Vec<LabelledRow>> {
    lines(text).map(|(n, l)| jsonl_row(n, l)).collect()
}

/// One JSON Lines labelled row.
fn jsonl_row(n: usize, line: &str) -> Result<LabelledRow> {
    let v: Value = serde_json::from_str(line).map_err(|e| payload_err(n, format!("invalid JSON: {e}")))?;
    let label = v
        .get("label")
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite())
        .ok_or_else(|| payload_err(n, "needs a finite number \"label\""))?;
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| payload_err(n, "needs a \"features\" array"))?
        .iter()
        .map(|f| {
            if f.is_null() {
                Some(f64::NAN)
            } else {
                f.as_f64().filter(|x| x.is_finite())
            }
        })
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| payload_err(n, "every feature must be a finite number or null (missing)"))?;
    if features.is_empty() {
        return Err(payload_err(n, "a labelled row needs at least one feature"));
    }
    Ok(LabelledRow { label, features })
}

/// A labelled test set in either shape: JSON Lines when the first non-blank character is
/// `{`, label-first CSV otherwise.
pub fn parse_labelled(text: &str) -> Result<Vec<LabelledRow>> {
    let mut reader = LabelledRowReader::default();
    reader.feed(text.as_bytes())?;
    reader.finish()
}

/// Parses a labelled test set that arrives in chunks (an S3 body stream): complete lines
/// are parsed as they arrive, so only the rows and one partial line are held, never the
/// whole object. The shape is chosen by the first non-blank line, as `parse_labelled` does;
/// line numbers in errors count from the start of the object.
#[derive(Debug, Default)]
pub struct LabelledRowReader {
    pending: Vec<u8>,
    line: usize,
    json_lines: Option<bool>,
    width: Option<usize>,
    rows: Vec<LabelledRow>,
}

impl LabelledRowReader {
    /// Parses every complete line in `chunk` (plus what was left over from before).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(chunk);
        let Some(cut) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let complete: Vec<u8> = self.pending.drain(..=cut).collect();
        self.parse_lines(&complete)
    }

    /// Rows parsed and not yet taken.
    pub fn buffered(&self) -> usize {
        self.rows.len()
    }

    /// Takes the rows parsed so far (a caller that scores rows in blocks holds one block).
    pub fn take_rows(&mut self) -> Vec<LabelledRow> {
        std::mem::take(&mut self.rows)
    }

    /// Parses the last line (one without a final newline) and returns every row.
    pub fn finish(mut self) -> Result<Vec<LabelledRow>> {
        let rest = std::mem::take(&mut self.pending);
        self.parse_lines(&rest)?;
        Ok(self.rows)
    }

    fn parse_lines(&mut self, bytes: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = self.line + 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
            payload_err(line, "is not UTF-8 text")
        })?;
        for raw in text.split_terminator('\n') {
            self.line += 1;
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let json = *self.json_lines.get_or_insert_with(|| line.starts_with('{'));
            let row = if json {
                jsonl_row(self.line, line)?
            } else {
                csv_row(self.line, line, &mut self.width)?
            };
            self.rows.push(row);
        }
        Ok(())
    }
}
