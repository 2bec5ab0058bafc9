//! `model.tar.gz`: what a container finds in `/opt/ml/model` and serves. A model trained
//! here is `model.json`; anything else is read as the SageMaker XGBoost container reads
//! its model directory (`serve_utils.get_loaded_booster`): every regular file at the top
//! level that is not a dotfile is a model (files in subfolders are not looked at), one
//! file is served alone and several are an ensemble — the 1.2-2 and later containers
//! average their predictions (a vote for `binary:hinge`).

use std::io::Read;

use weighbridge_xgboost::Booster;

use crate::training::Model;

/// What a `model.tar.gz` holds that the backend can serve.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// `model.json`: a model trained here.
    Trained(Model),
    /// One xgboost model file (`xgboost-model`, in any of its forms).
    Xgboost(Booster),
    /// Several model files: their predictions averaged (voted for `binary:hinge`).
    XgboostEnsemble(Vec<Booster>),
}

impl Artifact {
    /// The prediction for one row (features in order, NaN = missing).
    pub fn predict(&self, x: &[f64]) -> f64 {
        let row = || -> Vec<f32> { x.iter().map(|&v| v as f32).collect() };
        match self {
            Self::Trained(m) => m.predict(x),
            Self::Xgboost(b) => f64::from(b.predict(&row())),
            Self::XgboostEnsemble(boosters) => {
                let row = row();
                let each: Vec<f32> = boosters.iter().map(|b| b.predict(&row)).collect();
                let voted = boosters
                    .first()
                    .is_some_and(|b| b.objective.name() == "binary:hinge");
                f64::from(if voted { vote(&each) } else { mean(&each) })
            }
        }
    }

    /// The xgboost models (the first decides the container's column check).
    pub fn boosters(&self) -> &[Booster] {
        match self {
            Self::Trained(_) => &[],
            Self::Xgboost(b) => std::slice::from_ref(b),
            Self::XgboostEnsemble(boosters) => boosters,
        }
    }
}

/// `np.mean(predictions, axis=0)` on float32 predictions: a float32 sum in model order,
/// divided in float32.
fn mean(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |sum, v| sum + v) / values.len().max(1) as f32
}

/// `scipy.stats.mode`: the most common value, the smallest on a tie.
fn vote(values: &[f32]) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let mut best = (0usize, f32::NAN);
    for group in sorted.chunk_by(|a, b| a == b) {
        if group.len() > best.0 {
            best = (group.len(), group[0]);
        }
    }
    best.1
}

/// The largest file read out of an archive, and the most read in all (a decompression
/// bomb stops here).
const MAX_ENTRY_BYTES: u64 = 512 << 20;

/// Reads what a `model.tar.gz` holds: `model.json` (trained here), else the model files
/// the XGBoost container would load (see the module's notes). The error says what the
/// file is and why it cannot be served.
pub fn unpack_artifact(bytes: &[u8]) -> Result<Artifact, String> {
    let (files, others) = top_level_files(bytes)?;
    if let Some((_, body)) = files.iter().find(|(name, _)| name == "model.json") {
        return serde_json::from_slice(body)
            .map(Artifact::Trained)
            .map_err(|e| format!("model.json: {e}"));
    }
    let mut boosters = files
        .iter()
        .map(|(name, body)| weighbridge_xgboost::load(body).map_err(|e| format!("{name}: {e}")))
        .collect::<Result<Vec<Booster>, String>>()?;
    match boosters.len() {
        0 => Err(format!(
            "model.tar.gz holds neither model.json (a model trained here) nor a model file at its top level (SageMaker XGBoost: xgboost-model); it holds: {}",
            if others.is_empty() { "nothing".to_string() } else { others.join(", ") }
        )),
        1 => Ok(Artifact::Xgboost(boosters.remove(0))),
        _ => Ok(Artifact::XgboostEnsemble(boosters)),
    }
}

/// Regular files at the archive's top level that are not dotfiles, by name (sorted), and
/// the names of every other entry.
type Files = (Vec<(String, Vec<u8>)>, Vec<String>);

fn top_level_files(bytes: &[u8]) -> Result<Files, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| format!("not a gzip-compressed tar (model.tar.gz): {e}"))?;
    let (mut files, mut others, mut total) = (Vec::new(), Vec::new(), 0u64);
    for entry in entries {
        let entry = entry.map_err(|e| format!("model.tar.gz is not a readable gzip-compressed tar: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let name = path.trim_start_matches("./").to_string();
        let served = entry.header().entry_type().is_file() && !name.contains('/') && !name.starts_with('.');
        if !served {
            others.push(name);
            continue;
        }
        let mut body = Vec::new();
        entry
            .take(MAX_ENTRY_BYTES + 1 - total.min(MAX_ENTRY_BYTES))
            .read_to_end(&mut body)
            .map_err(|e| format!("model.tar.gz: {name}: {e}"))?;
        total += body.len() as u64;
        if total > MAX_ENTRY_BYTES {
            return Err(format!(
                "model.tar.gz: its model files are larger than {MAX_ENTRY_BYTES} bytes"
            ));
        }
        files.push((name, body));
    }
    files.sort();
    Ok((files, others))
}

/// A gzip-compressed tar holding one file, as SageMaker's `model.tar.gz`.
pub fn tar_gz(name: &str, body: &[u8]) -> Vec<u8> {
    tar_gz_files(&[(name, body)])
}

/// A gzip-compressed tar of files (written to memory, which cannot fail).
#[allow(clippy::expect_used)]
pub fn tar_gz_files(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (name, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive
            .append_data(&mut header, name, *body)
            .expect("writing to memory");
    }
    archive
        .into_inner()
        .expect("writing to memory")
        .finish()
        .expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ensemble_averages_in_float32_and_hinge_votes_smallest_on_a_tie() {
        assert_eq!(mean(&[0.1, 0.2, 0.4]), (0.1f32 + 0.2 + 0.4) / 3.0);
        assert_eq!(vote(&[1.0, 0.0, 1.0]), 1.0);
        assert_eq!(vote(&[1.0, 0.0]), 0.0);
    }

    #[test]
    fn dotfiles_and_subfolders_are_not_models() {
        let archive = tar_gz_files(&[(".DS_Store", b"junk"), ("code/inference.py", b"print()")]);
        let err = unpack_artifact(&archive).unwrap_err();
        assert!(
            err.contains(".DS_Store") && err.contains("code/inference.py"),
            "{err}"
        );
        let junk_beside_a_model = tar_gz_files(&[("notes.txt", b"hello")]);
        assert!(unpack_artifact(&junk_beside_a_model)
            .unwrap_err()
            .starts_with("notes.txt: "));
    }
}
