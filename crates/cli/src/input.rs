//! Reading labels and predictions from files, in any of the shapes the codecs know.

use std::path::Path;

use weighbridge_core::codec::{decode_predictions, Format};

use crate::error::CliError;

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn non_empty(path: &Path, text: String) -> Result<String, CliError> {
    if text.trim().is_empty() {
        Err(CliError::Usage(format!(
            "{} is empty; it needs one value per row",
            path.display()
        )))
    } else {
        Ok(text)
    }
}

/// Predictions: CSV (one per line or one row), JSON Lines, or a JSON document.
pub fn read_predictions(path: &Path) -> Result<Vec<f64>, CliError> {
    let text = non_empty(path, read(path)?)?;
    decode_predictions(&text, Format::sniff(&text)).map_err(CliError::core(path.display().to_string()))
}

/// Labels: one value per line, or label-first CSV rows (a test set) whose first column is taken.
pub fn read_labels(path: &Path) -> Result<Vec<f64>, CliError> {
    let text = non_empty(path, read(path)?)?;
    let multi_column =
        text.lines().filter(|l| !l.trim().is_empty()).count() > 1 && text.lines().any(|l| l.contains(','));
    if multi_column {
        let first_column: String = text
            .lines()
            .map(|l| l.split(',').next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        decode_predictions(&first_column, Format::Csv)
    } else {
        decode_predictions(&text, Format::sniff(&text))
    }
    .map_err(CliError::core(path.display().to_string()))
}
