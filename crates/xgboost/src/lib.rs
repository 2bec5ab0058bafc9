//! SageMaker XGBoost artifacts served exactly, without Python: the `xgboost-model` file
//! inside a `model.tar.gz`, in whichever form the container generation wrote it, loaded
//! into a [`Booster`] that predicts as xgboost does (float32 thresholds and sums, each
//! split's default direction for missing values, the objective's transform).
//!
//! The form is chosen by the bytes, as xgboost's own loader does:
//!
//! | first bytes | form | written by |
//! |---|---|---|
//! | `{"` | xgboost's JSON model | `save_model("…json")`, users |
//! | `{` + a letter | UBJSON | `save_model("…ubj")`, the 3.0 container |
//! | `binf` | legacy binary with its header | `save_model` in the 1.3–1.7 containers |
//! | `0x80` | a Python pickle of a Booster (read, never executed) | the 0.90, 1.0 and 1.2 containers |
//! | anything else | headerless legacy binary | 0.90 |
//!
//! Nothing here executes anything from the file; every length and index is checked
//! before it is used, and a bad file is a [`LoadError`] that says what it is and why it
//! cannot be served.
#![warn(missing_docs)]

mod binary;
mod error;
mod json;
mod model;
mod objective;
mod pickle;
mod ubjson;

pub use error::LoadError;
pub use model::{Booster, Format, Tree};
pub use objective::Objective;

/// Loads an `xgboost-model` file, whichever form it is in.
pub fn load(bytes: &[u8]) -> Result<Booster, LoadError> {
    if let Some(what) = not_a_model(bytes) {
        return Err(LoadError::malformed(what));
    }
    match detect(bytes) {
        Format::Json => json::load_text(bytes),
        Format::Ubjson => json::load_value(ubjson::parse(bytes)?, Format::Ubjson),
        Format::Binary => binary::load(bytes),
        Format::Pickle => pickle::load(bytes),
    }
}

/// Files that often end up where the model should be, named (rather than read as a
/// headerless legacy binary, which any bytes start like).
fn not_a_model(bytes: &[u8]) -> Option<String> {
    let what = match bytes {
        [] => "the file is empty",
        [0x1f, 0x8b, ..] => "the file is gzip-compressed (a model.tar.gz inside the archive?), not a model",
        [b'P', b'K', 3, 4, ..] => "the file is a zip archive, not a model",
        [b'\x89', b'H', b'D', b'F', ..] => "the file is HDF5 (a Keras model?), not an xgboost model",
        _ => return None,
    };
    Some(what.to_string())
}

/// The form of a model file, from its first bytes (as xgboost's `Learner::LoadModel`).
pub fn detect(bytes: &[u8]) -> Format {
    match bytes {
        [b'{', rest @ ..] => match rest.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'"') | Some(b'}') | None => Format::Json,
            Some(_) => Format::Ubjson,
        },
        [0x80, ..] => Format::Pickle,
        _ => Format::Binary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_models_are_named() {
        for (bytes, says) in [
            (&b""[..], "empty"),
            (&[0x1f, 0x8b, 8, 0][..], "gzip-compressed"),
            (&b"PK\x03\x04rest"[..], "zip archive"),
            (&b"\x89HDF\r\n"[..], "HDF5"),
        ] {
            let err = load(bytes).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }
}
