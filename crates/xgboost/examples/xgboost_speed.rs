//! Rows per second served by weighbridge-xgboost, for `bench/xgboost_speed.py`:
//!
//!     speed MODEL ROWS.f32 FEATURES OUT.f32 REPEAT
//!
//! loads the model, reads the rows (little-endian f32, row-major), predicts every row on
//! one thread, best of REPEAT, writes the predictions, and prints `{"load": s, "predict": s}`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness may panic

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, model, rows, features, out, repeat] = args.as_slice() else {
        panic!("usage: speed MODEL ROWS.f32 FEATURES OUT.f32 REPEAT");
    };
    let features: usize = features.parse().unwrap();
    let repeat: usize = repeat.parse().unwrap();
    let bytes = std::fs::read(model).unwrap();
    let t = Instant::now();
    let booster = weighbridge_xgboost::load(&bytes).unwrap();
    let load = t.elapsed().as_secs_f64();
    let raw = std::fs::read(rows).unwrap();
    let x: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut best = f64::INFINITY;
    let mut predictions = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        predictions = booster.predict_rows(&x, features);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let out_bytes: Vec<u8> = predictions.iter().flat_map(|p| p.to_le_bytes()).collect();
    std::fs::write(out, out_bytes).unwrap();
    println!("{{\"load\": {load}, \"predict\": {best}}}");
}
