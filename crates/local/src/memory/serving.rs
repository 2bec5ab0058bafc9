//! The container's side of InvokeEndpoint: the request body parsed by its content type,
//! checked against the model, the answer written by `Accept` — as each generation of
//! SageMaker's XGBoost container does it (facts from aws/sagemaker-xgboost-container,
//! `algorithm_mode/serve.py`, `serve_utils.py` and `encoder.py` at the tags 0.90-2, 1.0-1,
//! 1.2-1, 1.2-2, 1.7-1 and 3.0-5):
//!
//! - The body is `strip()`ped, decoded as UTF-8 and parsed by Content-Type: `text/csv`
//!   (a `label_size` other than 1 refused) or `text/libsvm` / `text/x-libsvm`; anything
//!   else is a 415. An empty body is a 204 with no answer.
//! - CSV: lines split on `\n`, fields on the delimiter `csv.Sniffer` finds in the first
//!   line (`,` when it finds a letter or digit), an empty field is `nan`, every field read
//!   as Python's `float()` reads it; lines of different lengths are a 415.
//! - LIBSVM: lines split on `\n`, tokens on single spaces; a token with `:` is
//!   `column:value` (column 0-based, as written), the rest (the label) ignored; absent
//!   columns are missing; rows after the last one with a value are dropped (scipy infers
//!   the shape).
//! - A pickled model checks the column count: CSV needs the model's or one fewer, LIBSVM
//!   at most one more; any other model form lets xgboost check (at most the model's).
//! - Answers: 0.90-1 to 1.2-1 write one comma-joined line as `text/csv` whatever
//!   `Accept` says; 1.2-2 and later read `Accept` (absent or `*/*`: the model's
//!   `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`, else `text/csv`): `text/csv` one value per
//!   line, `application/json` `{"predictions": [{"score": …}]}`; `application/jsonlines`
//!   and RecordIO are accepted but have no encoder (a 500); anything else is a 406.
//!   Values are written as Python writes a float.

use super::ResponseStyle;

/// A container's answer other than 200: its status and body (InvokeEndpoint turns it
/// into a ModelError).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The container's HTTP status.
    pub status: u16,
    /// The container's response body.
    pub message: String,
}

impl Rejection {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// What the model tells the container about its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    /// The model's feature count.
    pub num_feature: usize,
    /// Whether the model file was a pickle (the container checks the columns itself then).
    pub pickled: bool,
}

/// A parsed request: rows of features (NaN = missing), all `columns` wide.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// The rows.
    pub rows: Vec<Vec<f64>>,
    /// The matrix's column count.
    pub columns: usize,
    /// Whether it came as LIBSVM (the column check differs).
    pub libsvm: bool,
}

/// The XGBoost container's generation, by the image's tag (`…/sagemaker-xgboost:1.7-1`):
/// 0.90-x, 1.0-1 and 1.2-1 answer one comma-joined line; later ones read `Accept`.
pub fn xgboost_style(image: &str) -> ResponseStyle {
    let tag = image.rsplit('/').next().unwrap_or(image);
    let version = tag.rsplit_once(':').map(|(_, v)| v).unwrap_or("");
    match version {
        v if v.starts_with("0.") || v == "1" || v == "latest" => ResponseStyle::XgboostCommaJoined,
        "1.0-1" | "1.2-1" => ResponseStyle::XgboostCommaJoined,
        _ => ResponseStyle::Xgboost,
    }
}

/// Parses a request body as the XGBoost container does (see the module's notes).
pub fn parse_request(content_type: &str, body: &[u8]) -> Result<Rows, Rejection> {
    let (mime, params) = parse_header(content_type);
    let text = || {
        std::str::from_utf8(strip(body))
            .map_err(|e| Rejection::new(415, format!("the body is not UTF-8: {e}")))
    };
    match mime.as_str() {
        "text/csv" | "csv" => {
            if let Some(size) = params.iter().find(|(k, _)| k == "label_size").map(|(_, v)| v) {
                if size != "1" {
                    return Err(Rejection::new(
                        415,
                        format!("{content_type} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"),
                    ));
                }
            }
            parse_csv(text()?).and_then(finite_as_f32).map_err(|e| {
                Rejection::new(
                    415,
                    format!("Loading csv data failed with Exception, please ensure data is in csv format:\n {e}"),
                )
            })
        }
        "text/libsvm" | "text/x-libsvm" | "libsvm" | "" => parse_libsvm(text()?).and_then(finite_as_f32).map_err(|e| {
            Rejection::new(
                415,
                format!("Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n {e}"),
            )
        }),
        "application/x-recordio-protobuf" | "recordio-protobuf" => Err(Rejection::new(
            415,
            "application/x-recordio-protobuf is served by the real container, not by the embedded backend: send text/csv or text/libsvm",
        )),
        _ => Err(Rejection::new(415, format!("Content-type {content_type} is not supported."))),
    }
}

/// xgboost's DMatrix refuses a value that is infinite as a float32 (`inf`, `1e39`).
fn finite_as_f32(rows: Rows) -> Result<Rows, String> {
    let infinite = rows.rows.iter().flatten().any(|v| (*v as f32).is_infinite());
    if infinite {
        return Err(
            "<class 'xgboost.core.XGBoostError'>\n Check failed: valid: Input data contains `inf` or `nan`"
                .into(),
        );
    }
    Ok(rows)
}

/// `cgi.parse_header` on the lowercased value: the type and its `key=value` parameters.
fn parse_header(value: &str) -> (String, Vec<(String, String)>) {
    let lower = value.to_ascii_lowercase();
    let mut parts = lower.split(';');
    let mime = parts.next().unwrap_or("").trim().to_string();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect();
    (mime, params)
}

/// Python's `bytes.strip()`: ASCII whitespace off both ends.
fn strip(body: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let start = body.iter().position(|b| !ws(b)).unwrap_or(body.len());
    let end = body.iter().rposition(|b| !ws(b)).map_or(start, |e| e + 1);
    &body[start..end]
}

/// CSV as `encoder.csv_to_dmatrix` reads it.
pub fn parse_csv(text: &str) -> Result<Rows, String> {
    let delimiter = sniff_delimiter(text.split('\n').next().unwrap_or(""))?;
    let mut rows = Vec::new();
    for line in text.split('\n') {
        let row = line
            .split(delimiter)
            .map(|f| {
                if f.is_empty() {
                    Ok(f64::NAN)
                } else {
                    python_float(f)
                }
            })
            .collect::<Result<Vec<f64>, String>>()?;
        rows.push(row);
    }
    let columns = rows.first().map_or(0, Vec::len);
    if let Some((n, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != columns) {
        return Err(format!(
            "<class 'ValueError'>\n line {} has {} fields but line 1 has {columns} (an inhomogeneous array)",
            n + 1,
            row.len()
        ));
    }
    Ok(Rows {
        rows,
        columns,
        libsvm: false,
    })
}

/// The delimiter `csv.Sniffer().sniff(first_line[:512])` finds, `,` when that is a
/// letter or digit. With one line every character present qualifies: the first of
/// `, \t ; space :` present wins, else the most frequent (ties: the highest code point).
fn sniff_delimiter(first_line: &str) -> Result<char, String> {
    let sample: String = first_line.chars().take(512).collect();
    if sample.is_empty() {
        return Err("<class '_csv.Error'>\n Could not determine delimiter".into());
    }
    if let Some(d) = [',', '\t', ';', ' ', ':']
        .into_iter()
        .find(|d| sample.contains(*d))
    {
        return Ok(d);
    }
    let mut counts = std::collections::BTreeMap::<char, usize>::new();
    for c in sample.chars().filter(char::is_ascii) {
        *counts.entry(c).or_default() += 1;
    }
    let pick = counts.into_iter().max_by_key(|&(c, n)| (n, c)).map(|(c, _)| c);
    Ok(match pick {
        Some(c) if !c.is_alphanumeric() => c,
        _ => ',',
    })
}

/// A field as Python's `float()` reads it: surrounding whitespace ignored, `_` allowed
/// between digits, `inf`/`infinity`/`nan` in any case.
pub fn python_float(field: &str) -> Result<f64, String> {
    let trimmed = field.trim_matches(|c: char| c.is_whitespace());
    let bad = || format!("<class 'ValueError'>\n could not convert string to float: '{field}'");
    let chars: Vec<char> = trimmed.chars().collect();
    let underscores_ok = chars.iter().enumerate().all(|(i, c)| {
        *c != '_'
            || (i > 0
                && i + 1 < chars.len()
                && chars[i - 1].is_ascii_digit()
                && chars[i + 1].is_ascii_digit())
    });
    if !underscores_ok || trimmed.is_empty() {
        return Err(bad());
    }
    let plain: String = chars.into_iter().filter(|c| *c != '_').collect();
    plain.parse::<f64>().map_err(|_| bad())
}

/// LIBSVM as `serve_utils._get_sparse_matrix_from_libsvm` reads it.
pub fn parse_libsvm(text: &str) -> Result<Rows, String> {
    let mut entries: Vec<(usize, usize, f64)> = Vec::new();
    for (row, line) in text.split('\n').enumerate() {
        for token in line.split(' ').filter(|t| t.contains(':')) {
            let mut parts = token.split(':');
            let column = parts.next().unwrap_or("");
            let value = parts.next().unwrap_or("");
            let column: usize = column.trim().parse().map_err(|_| {
                format!("<class 'ValueError'>\n invalid literal for int() with base 10: '{column}'")
            })?;
            let value = if value.is_empty() {
                return Err(format!(
                    "<class 'ValueError'>\n could not convert string to float: '{value}'"
                ));
            } else {
                python_float(value)?
            };
            entries.push((row, column, value));
        }
    }
    let (Some(last_row), Some(columns)) = (
        entries.iter().map(|e| e.0).max(),
        entries.iter().map(|e| e.1 + 1).max(),
    ) else {
        return Err("<class 'ValueError'>\n cannot infer dimensions from zero sized index arrays".into());
    };
    let mut rows = vec![vec![f64::NAN; columns]; last_row + 1];
    for (row, column, value) in entries {
        // scipy sums duplicate entries when it builds the matrix.
        let cell = &mut rows[row][column];
        *cell = if cell.is_nan() { value } else { *cell + value };
    }
    Ok(Rows {
        rows,
        columns,
        libsvm: true,
    })
}

/// The column check before predicting (a 400 from the container).
pub fn check_columns(shape: ModelShape, rows: &Rows) -> Result<(), Rejection> {
    let (x, y) = (shape.num_feature, rows.columns);
    let refuse = |detail: String| {
        Err(Rejection::new(
            400,
            format!("Unable to evaluate payload provided: {detail}"),
        ))
    };
    if !shape.pickled {
        if y > x {
            return refuse(format!(
                "Check failed: learner_model_param_.num_feature >= p_fmat->Info().num_col_ ({x} vs. {y}) : Number of columns does not match number of features in booster."
            ));
        }
        return Ok(());
    }
    match (rows.libsvm, y) {
        (true, y) if y > x + 1 => refuse(format!(
            "Feature size of libsvm inference data {y} is larger than feature size of trained model {x}."
        )),
        (false, y) if !(x == y || x == y + 1) => refuse(format!(
            "Feature size of csv inference data {y} is not consistent with feature size of trained model {x}."
        )),
        _ => Ok(()),
    }
}

/// The accept types the 1.2-2 and later containers name.
const SUPPORTED_ACCEPTS: [&str; 4] = [
    "application/json",
    "application/jsonlines",
    "application/x-recordio-protobuf",
    "text/csv",
];

/// The answer's body and content type for `accept` (`default_accept`: the model's
/// `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`).
pub fn render_xgboost(
    style: ResponseStyle,
    accept: Option<&str>,
    default_accept: Option<&str>,
    scores: &[f64],
) -> Result<(String, String), Rejection> {
    if style == ResponseStyle::XgboostCommaJoined {
        let line: Vec<String> = scores.iter().map(|v| python_repr(*v)).collect();
        return Ok((line.join(","), "text/csv".into()));
    }
    let (asked, _) = parse_header(accept.unwrap_or(""));
    let accept = if asked.is_empty() || asked == "*/*" {
        default_accept.unwrap_or("text/csv").to_string()
    } else if SUPPORTED_ACCEPTS.contains(&asked.as_str()) {
        asked
    } else {
        let original = accept.unwrap_or("").split(';').next().unwrap_or("").trim();
        return Err(Rejection::new(
            406,
            format!("Accept type {original} is not supported. Please use supported accept types: ['application/json', 'application/jsonlines', 'application/x-recordio-protobuf', 'text/csv']."),
        ));
    };
    match accept.as_str() {
        "text/csv" => Ok((scores.iter().map(|v| format!("{}\n", python_repr(*v))).collect(), accept)),
        "application/json" => {
            let items: Vec<String> = scores.iter().map(|v| format!("{{\"score\": {}}}", python_repr(*v))).collect();
            Ok((format!("{{\"predictions\": [{}]}}", items.join(", ")), accept))
        }
        other => Err(Rejection::new(
            500,
            format!("<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1> (the container names {other} but has no encoder for it outside selectable inference output)"),
        )),
    }
}

/// A float as Python's `repr` writes it: the shortest digits that read back, plain
/// when the decimal exponent is in [-4, 16), else `d.ddde±XX`; integral values keep `.0`.
pub fn python_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{v:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{body}")
    } else {
        let (head, tail) = digits.split_at(1);
        let fraction = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let esign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{head}{fraction}e{esign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_python_writes_them() {
        let cases = [
            (f64::from(0.3f32), "0.30000001192092896"),
            (1e-5, "1e-05"),
            (f64::from(1e-5f32), "9.999999747378752e-06"),
            (1e16, "1e+16"),
            (123456789.0, "123456789.0"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (1.5e300, "1.5e+300"),
            (1234567890123456.0, "1234567890123456.0"),
        ];
        for (v, python) in cases {
            assert_eq!(python_repr(v), python, "{v}");
        }
    }

    #[test]
    fn csv_reads_like_the_container() {
        let rows = parse_csv("1,,3\n4,5,6").unwrap();
        assert_eq!(rows.columns, 3);
        assert!(rows.rows[0][1].is_nan());
        assert_eq!(parse_csv("1\t2").unwrap().rows, vec![vec![1.0, 2.0]]);
        assert_eq!(parse_csv(" 1 , 2_0 ").unwrap().rows, vec![vec![1.0, 20.0]]);
        assert!(parse_csv("a,b")
            .unwrap_err()
            .contains("could not convert string to float: 'a'"));
        assert!(parse_csv("1,2\n3").unwrap_err().contains("inhomogeneous"));
        assert!(parse_csv("")
            .unwrap_err()
            .contains("Could not determine delimiter"));
    }

    #[test]
    fn libsvm_reads_like_the_container() {
        let rows = parse_libsvm("1 0:0.5 2:1.5\n0 1:2").unwrap();
        assert_eq!(rows.columns, 3);
        assert_eq!(rows.rows[0][2], 1.5);
        assert!(rows.rows[0][1].is_nan() && rows.rows[1][0].is_nan());
        // A last row without values is dropped (scipy infers the shape from the entries).
        assert_eq!(parse_libsvm("1 0:1\n0").unwrap().rows.len(), 1);
        assert!(parse_libsvm("1 2").is_err());
    }

    #[test]
    fn answers_follow_the_generation_and_accept() {
        let scores = [0.5, f64::from(0.25f32)];
        let legacy = render_xgboost(
            ResponseStyle::XgboostCommaJoined,
            Some("application/json"),
            None,
            &scores,
        );
        assert_eq!(legacy.unwrap(), ("0.5,0.25".to_string(), "text/csv".to_string()));
        let csv = render_xgboost(ResponseStyle::Xgboost, None, None, &scores).unwrap();
        assert_eq!(csv.0, "0.5\n0.25\n");
        let json = render_xgboost(ResponseStyle::Xgboost, Some("application/json"), None, &scores).unwrap();
        assert_eq!(json.0, r#"{"predictions": [{"score": 0.5}, {"score": 0.25}]}"#);
        let by_default = render_xgboost(
            ResponseStyle::Xgboost,
            Some("*/*"),
            Some("application/json"),
            &scores,
        );
        assert_eq!(by_default.unwrap().1, "application/json");
        assert_eq!(
            render_xgboost(ResponseStyle::Xgboost, Some("text/plain"), None, &scores)
                .unwrap_err()
                .status,
            406
        );
        assert_eq!(
            render_xgboost(
                ResponseStyle::Xgboost,
                Some("application/jsonlines"),
                None,
                &scores
            )
            .unwrap_err()
            .status,
            500
        );
    }

    #[test]
    fn generations_come_from_the_image_tag() {
        let image =
            |tag: &str| format!("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:{tag}");
        for (tag, style) in [
            ("0.90-2", ResponseStyle::XgboostCommaJoined),
            ("1.0-1", ResponseStyle::XgboostCommaJoined),
            ("1.2-1", ResponseStyle::XgboostCommaJoined),
            ("1.2-2", ResponseStyle::Xgboost),
            ("1.7-1", ResponseStyle::Xgboost),
            ("3.0-5", ResponseStyle::Xgboost),
        ] {
            assert_eq!(xgboost_style(&image(tag)), style, "{tag}");
        }
    }

    #[test]
    fn pickles_check_columns_and_other_forms_let_xgboost_check() {
        let csv = |columns| Rows {
            rows: Vec::new(),
            columns,
            libsvm: false,
        };
        let pickled = ModelShape {
            num_feature: 4,
            pickled: true,
        };
        assert!(check_columns(pickled, &csv(4)).is_ok());
        assert!(check_columns(pickled, &csv(3)).is_ok());
        assert_eq!(check_columns(pickled, &csv(2)).unwrap_err().status, 400);
        let saved = ModelShape {
            pickled: false,
            ..pickled
        };
        assert!(check_columns(saved, &csv(2)).is_ok());
        assert!(check_columns(saved, &csv(5))
            .unwrap_err()
            .message
            .contains("4 vs. 5"));
    }
}
