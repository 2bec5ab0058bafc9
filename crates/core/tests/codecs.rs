//! Payload codecs: every shape SageMaker containers use, and typed errors naming the line.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use weighbridge_core::codec::{decode_predictions, encode_rows, parse_label_first_csv, Format};
use weighbridge_core::CoreError;

#[test]
fn csv_one_value_per_line_or_one_row() {
    assert_eq!(
        decode_predictions("0.1\n0.2\n\n0.3\n", Format::Csv).unwrap(),
        vec![0.1, 0.2, 0.3]
    );
    assert_eq!(
        decode_predictions("0.1,0.2,0.3", Format::Csv).unwrap(),
        vec![0.1, 0.2, 0.3]
    );
}

#[test]
fn json_lines_numbers_arrays_and_objects() {
    let body = "0.5\n[0.25]\n{\"score\": 0.75}\n{\"predicted_label\": 1}\n";
    assert_eq!(
        decode_predictions(body, Format::JsonLines).unwrap(),
        vec![0.5, 0.25, 0.75, 1.0]
    );
}

#[test]
fn json_documents_of_every_container_shape() {
    let linear_learner =
        r#"{"predictions":[{"score":0.9,"predicted_label":1},{"score":0.2,"predicted_label":0}]}"#;
    assert_eq!(
        decode_predictions(linear_learner, Format::Json).unwrap(),
        vec![0.9, 0.2]
    );
    let framework = r#"{"predictions":[[0.4],[0.6]]}"#;
    assert_eq!(
        decode_predictions(framework, Format::Json).unwrap(),
        vec![0.4, 0.6]
    );
    assert_eq!(
        decode_predictions("[1, 2.5]", Format::Json).unwrap(),
        vec![1.0, 2.5]
    );
}

#[test]
fn malformed_payloads_name_the_line_and_the_problem() {
    let err = decode_predictions("0.1\nabc\n0.3", Format::Csv).unwrap_err();
    assert_eq!(
        err,
        CoreError::Payload {
            line: 2,
            problem: "\"abc\" is not a number".into()
        }
    );
    assert_eq!(err.name(), "Weighbridge.InvalidPayload");
    let err = decode_predictions("0.1\n0.2,0.3\n", Format::Csv).unwrap_err();
    assert!(matches!(err, CoreError::Payload { line: 2, .. }), "{err}");
    let err = decode_predictions("0.5\n{\"label\": 1}\n", Format::JsonLines).unwrap_err();
    assert!(
        matches!(&err, CoreError::Payload { line: 2, problem } if problem.contains("score")),
        "{err}"
    );
    let err = decode_predictions("{\"predictions\": 3}", Format::Json).unwrap_err();
    assert!(err.to_string().contains("predictions"), "{err}");
    let err = decode_predictions("NaN\n", Format::Csv).unwrap_err();
    assert!(err.to_string().contains("finite"), "{err}");
    let err = decode_predictions("[1, [2, 3]]", Format::Json).unwrap_err();
    assert!(err.to_string().contains("prediction 2"), "{err}");
}

#[test]
fn content_types_and_sniffing() {
    assert_eq!(
        Format::from_content_type("text/csv; charset=utf-8").unwrap(),
        Format::Csv
    );
    assert_eq!(
        Format::from_content_type("application/jsonlines").unwrap(),
        Format::JsonLines
    );
    assert!(Format::from_content_type("image/png").is_err());
    assert_eq!(Format::sniff("{\"a\":1}\n{\"a\":2}\n"), Format::JsonLines);
    assert_eq!(Format::sniff("{\"predictions\":[1]}"), Format::Json);
    assert_eq!(Format::sniff("0.1\n"), Format::Csv);
}

#[test]
fn label_first_csv_splits_label_and_features() {
    let rows = parse_label_first_csv("10,1.5,2\n20,3,4\n").unwrap();
    assert_eq!(rows[1].label, 20.0);
    assert_eq!(rows[1].features, vec![3.0, 4.0]);
    let err = parse_label_first_csv("10,1,2\n20,3\n").unwrap_err();
    assert!(matches!(err, CoreError::Payload { line: 2, .. }));
    let err = parse_label_first_csv("10\n").unwrap_err();
    assert!(err.to_string().contains("at least one feature"));
}

/// An empty feature field is a missing value, as the containers read it, and goes back
/// out as an empty field (never a shifted column); the label must still be a number.
#[test]
fn missing_features_are_nan_in_and_empty_out() {
    let rows = parse_label_first_csv("10,,2\n20,3,\n").unwrap();
    assert!(rows[0].features[0].is_nan() && rows[0].features[1] == 2.0);
    assert!(rows[1].features[1].is_nan());
    let features: Vec<&[f64]> = rows.iter().map(|r| r.features.as_slice()).collect();
    assert_eq!(encode_rows(&features, Format::Csv).unwrap(), ",2\n3,\n");
    let err = parse_label_first_csv(",1,2\n").unwrap_err();
    assert!(err.to_string().contains("not a number"), "{err}");
    let json = weighbridge_core::codec::parse_labelled("{\"label\": 1, \"features\": [null, 2]}\n").unwrap();
    assert!(json[0].features[0].is_nan());
}

#[test]
fn requests_drop_nothing_and_encode_rows() {
    let rows: Vec<&[f64]> = vec![&[1.0, 2.5], &[3.0, 4.0]];
    assert_eq!(encode_rows(&rows, Format::Csv).unwrap(), "1,2.5\n3,4\n");
    assert_eq!(
        encode_rows(&rows, Format::JsonLines).unwrap(),
        "{\"features\":[1.0,2.5]}\n{\"features\":[3.0,4.0]}\n"
    );
    assert!(encode_rows(&rows, Format::Json).is_err());
    // Extreme values stay short (and exact): every field fits in 24 characters.
    let extreme: Vec<&[f64]> = vec![&[1e-300, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1]];
    let line = encode_rows(&extreme, Format::Csv).unwrap();
    for (field, want) in
        line.trim_end()
            .split(',')
            .zip([1e-300, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1])
    {
        assert!(field.len() <= 24, "{field}");
        assert_eq!(field.parse::<f64>().unwrap(), want);
    }
}

#[test]
fn labelled_json_lines_and_the_shape_sniffer() {
    use weighbridge_core::codec::parse_labelled;
    let rows =
        parse_labelled("{\"label\": 1, \"features\": [0.5, 2]}\n\n{\"label\": 0, \"features\": [1.5, 3]}\n")
            .unwrap();
    assert_eq!((rows[1].label, rows[1].features.clone()), (0.0, vec![1.5, 3.0]));
    assert_eq!(parse_labelled("1,0.5,2\n").unwrap()[0].features, vec![0.5, 2.0]);
    let err = parse_labelled("{\"label\": 1, \"features\": [1]}\n{\"features\": [1]}\n").unwrap_err();
    assert!(
        matches!(&err, CoreError::Payload { line: 2, problem } if problem.contains("label")),
        "{err}"
    );
    let err = parse_labelled("{\"label\": 1, \"features\": [\"x\"]}\n").unwrap_err();
    assert!(err.to_string().contains("finite number"), "{err}");
}

/// Fed in chunks of any size (splitting lines and multi-byte characters), the reader
/// returns what the whole-text parser returns, and errors name the same line.
#[test]
fn chunked_reader_matches_the_whole_text_parser() {
    use weighbridge_core::codec::{parse_labelled, LabelledRowReader};
    let csv = "1,0.5,2\n\n0,1e-3,-4\r\n1,7,8";
    let jsonl = "{\"label\": 1, \"features\": [0.5, 2]}\n{\"label\": 0, \"features\": [1, 3]}\n";
    let bad = "1,0.5,2\n0,1,2\n1,x,3\n";
    let not_utf8: &[u8] = b"1,2,3\n0,\xff,1\n";
    for text in [csv, jsonl] {
        let whole = parse_labelled(text).unwrap();
        assert!(whole.len() >= 2);
        for size in 1..=text.len() {
            let mut reader = LabelledRowReader::default();
            for chunk in text.as_bytes().chunks(size) {
                reader.feed(chunk).unwrap();
            }
            assert_eq!(reader.finish().unwrap(), whole, "chunk size {size}");
        }
    }
    for size in [1, 3, 100] {
        let mut reader = LabelledRowReader::default();
        let err = bad
            .as_bytes()
            .chunks(size)
            .try_for_each(|c| reader.feed(c))
            .unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        let mut reader = LabelledRowReader::default();
        let err = not_utf8
            .chunks(size)
            .try_for_each(|c| reader.feed(c))
            .and_then(|()| reader.finish().map(|_| ()))
            .unwrap_err();
        assert!(
            err.to_string().contains("line 2") && err.to_string().contains("UTF-8"),
            "{err}"
        );
    }
}
