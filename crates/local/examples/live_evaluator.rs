//! Benchmark: one live look (`source: capture`) over ten million requests' capture and
//! ground-truth files, with the embedded backend's SageMaker and CloudWatch and S3 as a
//! directory of files (the embedded S3 keeps bodies in memory, which would count the
//! storage as the evaluator's memory; on AWS the objects are in S3, not in the Lambda).
//!
//!     cargo run --release -p weighbridge-local --example live_evaluator -- generate DIR [REQUESTS]
//!     cargo run --release -p weighbridge-local --example live_evaluator -- evaluate DIR
//!
//! `generate` writes Data Capture files as SageMaker lays them out
//! (`DIR/capture/bench/<variant>/2026/12/01/hh/*.jsonl`, champion 90 %, challenger 10 %,
//! 24 hours) and ground truth for 90 % of the requests a day later
//! (`DIR/ground-truth/2026/12/02/hh/*.jsonl`). `evaluate` runs the look and prints one
//! JSON line: wall seconds, lines read, records per second, peak RSS (VmHWM), and each
//! variant's labelled rows and RMSE (so `bench/live.py` can check the reference agrees).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use async_trait::async_trait;
use futures::stream;
use rand::{Rng, SeedableRng};
use serde_json::json;
use weighbridge_local::MemoryBackend;
use weighbridge_tasks::deploy::deploy;
use weighbridge_tasks::evaluate_variants::{evaluate_variants, EvaluateVariantsInput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::{
    ObjectChunks, ObjectStore, ObjectSummary, PortError, PortResult, PutCondition, StoredObject,
};

const LINES_PER_CAPTURE_FILE: usize = 20_000;
const LINES_PER_TRUTH_FILE: usize = 50_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(2).expect("usage: generate|evaluate DIR [REQUESTS]"));
    let count = || args.get(3).map_or(10_000_000, |n| n.parse().unwrap());
    match args.get(1).map(String::as_str) {
        Some("generate") => generate(&dir, count()),
        Some("evaluate") => evaluate(&dir),
        Some("generate-test-set") => generate_test_set(&dir, count()),
        Some("evaluate-test-set") => evaluate_test_set(&dir),
        _ => panic!("usage: generate|evaluate|generate-test-set|evaluate-test-set DIR [COUNT]"),
    }
}

/// A file writer that starts a new file every `lines` lines.
struct Rolling {
    dir: PathBuf,
    lines: usize,
    written: usize,
    files: usize,
    out: Option<BufWriter<std::fs::File>>,
}

impl Rolling {
    fn new(dir: PathBuf, lines: usize) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            lines,
            written: 0,
            files: 0,
            out: None,
        }
    }
    fn line(&mut self, text: &str) {
        if self.out.is_none() || self.written == self.lines {
            self.files += 1;
            let path = self.dir.join(format!("{:05}-bench.jsonl", self.files));
            self.out = Some(BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(path).unwrap(),
            ));
            self.written = 0;
        }
        let out = self.out.as_mut().unwrap();
        out.write_all(text.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
        self.written += 1;
    }
}

fn generate(dir: &Path, requests: u64) {
    let started = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let per_hour = requests.div_ceil(24);
    let mut sent = 0u64;
    for hour in 0..24u64 {
        let mut capture: Vec<Rolling> = ["champion", "challenger"]
            .iter()
            .map(|v| {
                Rolling::new(
                    dir.join(format!("capture/bench/{v}/2026/12/01/{hour:02}")),
                    LINES_PER_CAPTURE_FILE,
                )
            })
            .collect();
        let mut truth = Rolling::new(
            dir.join(format!("ground-truth/2026/12/02/{hour:02}")),
            LINES_PER_TRUTH_FILE,
        );
        for i in 0..per_hour.min(requests - sent) {
            let id = format!("req-{:010}", sent);
            sent += 1;
            let (x0, x1): (f64, f64) = (rng.random::<f64>() * 10.0, rng.random());
            let label = x0 + (x1 - 0.5);
            let challenger = rng.random::<f64>() < 0.1;
            // The challenger's error is 0.8 times the champion's.
            let noise = if challenger { 0.8 } else { 1.0 } * (rng.random::<f64>() - 0.5);
            let prediction = label + noise;
            let time = format!(
                "2026-12-01T{hour:02}:{:02}:{:02}.000Z",
                (i * 60 / per_hour) % 60,
                i % 60
            );
            let line = format!(
                r#"{{"captureData":{{"endpointInput":{{"observedContentType":"text/csv","mode":"INPUT","data":"{x0:.4},{x1:.4}","encoding":"CSV"}},"endpointOutput":{{"observedContentType":"text/csv","mode":"OUTPUT","data":"{prediction:.6}","encoding":"CSV"}}}},"eventMetadata":{{"eventId":"{:08x}-0000-4000-8000-{:012x}","inferenceId":"{id}","inferenceTime":"{time}"}},"eventVersion":"0"}}"#,
                sent, sent
            );
            capture[usize::from(challenger)].line(&line);
            if rng.random::<f64>() < 0.9 {
                truth.line(&format!(
                    r#"{{"groundTruthData":{{"data":"{label:.6}","encoding":"CSV"}},"eventMetadata":{{"eventId":"{id}"}},"eventVersion":"0"}}"#
                ));
            }
        }
        for w in capture.iter_mut().chain(std::iter::once(&mut truth)) {
            if let Some(out) = w.out.as_mut() {
                out.flush().unwrap();
            }
        }
    }
    eprintln!(
        "generated {sent} requests in {:.1} s under {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
}

/// S3 as a directory: keys are paths below it. Listing walks the prefix's directory.
struct DirStore {
    root: PathBuf,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[async_trait]
impl ObjectStore for DirStore {
    async fn get_object(&self, _bucket: &str, key: &str) -> PortResult<StoredObject> {
        let body = std::fs::read(self.root.join(key)).map_err(|_| PortError::NotFound(key.into()))?;
        Ok(StoredObject {
            etag: format!("\"{}\"", body.len()),
            body,
        })
    }

    async fn get_object_chunks(&self, _bucket: &str, key: &str) -> PortResult<ObjectChunks> {
        let mut file =
            std::fs::File::open(self.root.join(key)).map_err(|_| PortError::NotFound(key.into()))?;
        let chunks = stream::iter(std::iter::from_fn(move || {
            let mut buf = vec![0u8; 1 << 20];
            match file.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some(Ok(buf))
                }
                Err(e) => Some(Err(PortError::Unavailable(e.to_string()))),
            }
        }));
        Ok(ObjectChunks {
            etag: String::new(),
            chunks: Box::pin(chunks),
        })
    }

    async fn put_object(
        &self,
        _bucket: &str,
        key: &str,
        body: Vec<u8>,
        _c: PutCondition,
    ) -> PortResult<String> {
        let path = self.root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &body).map_err(|e| PortError::Unavailable(e.to_string()))?;
        Ok(format!("\"{}\"", body.len()))
    }

    async fn list_objects(&self, _bucket: &str, prefix: &str) -> PortResult<Vec<ObjectSummary>> {
        let base = self.root.join(prefix.trim_end_matches('/'));
        let mut files = Vec::new();
        walk(&base, &mut files);
        let mut out: Vec<ObjectSummary> = files
            .into_iter()
            .map(|p| ObjectSummary {
                key: p.strip_prefix(&self.root).unwrap().to_string_lossy().into_owned(),
                etag: String::new(),
                size: p.metadata().map_or(0, |m| m.len()),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The endpoint `bench` with a champion and a challenger, deployed by the deploy task
/// with `extra` merged into its input.
async fn bench_endpoint(backend: &MemoryBackend, extra: serde_json::Value) {
    for (variant, execution) in [("champion", "e1"), ("challenger", "e2")] {
        let mut input = json!({
            "executionName": execution, "endpointName": "bench", "variantName": variant,
            "image": {"kind": "image", "uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"},
            "modelDataUrl": format!("s3://bench/{variant}/model.tar.gz"),
            "roleArn": "arn:aws:iam::123456789012:role/sagemaker"
        });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        deploy(backend.ports(), "us-east-1", &parse_input(input).unwrap())
            .await
            .unwrap();
        backend.settle();
    }
}

fn evaluate(dir: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = MemoryBackend::new();
    runtime.block_on(bench_endpoint(
        &backend,
        json!({"initialShare": 0.1, "dataCapture": {"destinationS3Uri": "s3://bench/capture", "captureInput": true}}),
    ));
    let store = DirStore {
        root: dir.to_path_buf(),
    };
    let _ = std::fs::remove_dir_all(dir.join("capture/_experiment"));
    let input: EvaluateVariantsInput = parse_input(json!({
        "endpointName": "bench",
        "asOf": "2026-12-03T00:30:00Z",
        "source": {"type": "capture", "groundTruthUri": "s3://bench/ground-truth/", "maxLabelDelayHours": 24,
                   "startAt": "2026-12-01T00:00:00Z", "lookbackHours": 72},
        "policy": {"primaryMetric": "rmse"},
        "dryRun": true
    }))
    .unwrap();
    let before = peak_rss_mib();
    let started = Instant::now();
    let out = runtime
        .block_on(evaluate_variants(&backend, &backend, &store, &backend, &input))
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    let live = out.live.as_ref().unwrap();
    let captured: u64 = live.variants.iter().map(|v| v.captured_requests).sum();
    let labelled: u64 = live.variants.iter().map(|v| v.labelled_rows).sum();
    // Records read: every capture line twice (counted for SRM, then joined) and every label.
    let truth_lines = labelled + live.label_conflicts;
    let records = captured + truth_lines;
    let rmse: serde_json::Map<String, serde_json::Value> = out
        .variants
        .iter()
        .map(|v| {
            (
                v.variant.clone(),
                json!({"rows": v.rows, "rmse": v.metrics.get("rmse")}),
            )
        })
        .collect();
    println!(
        "{}",
        json!({
            "wall_s": wall, "captured": captured, "labelled": labelled, "records": records,
            "records_per_s": records as f64 / wall, "peak_rss_mib": peak_rss_mib(),
            "rss_before_mib": before, "variants": rmse, "srm_flagged": live.srm.flagged,
            "malformed": live.malformed, "action": out.action.as_str()
        })
    );
}

fn generate_test_set(dir: &Path, rows: u64) {
    let started = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    std::fs::create_dir_all(dir.join("ab")).unwrap();
    let per_object = 500_000;
    let mut written = 0;
    let mut n = 0;
    while written < rows {
        n += 1;
        let mut out = BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(dir.join(format!("ab/rows-{n:03}.csv"))).unwrap(),
        );
        for _ in 0..per_object.min(rows - written) {
            let (x0, x1, x2): (f64, f64, f64) = (rng.random::<f64>() * 10.0, rng.random(), rng.random());
            writeln!(out, "{:.6},{x0:.4},{x1:.4}", x0 + (x2 - 0.5)).unwrap();
            written += 1;
        }
        out.flush().unwrap();
    }
    eprintln!(
        "generated {written} test rows in {:.1} s under {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
}

fn evaluate_test_set(dir: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = MemoryBackend::new();
    runtime.block_on(async {
        bench_endpoint(&backend, json!({"initialShare": 0.5})).await;
        let config = backend.endpoint("bench").unwrap().config_name;
        let config = weighbridge_tasks::ports::SageMaker::describe_endpoint_config(&backend, &config)
            .await
            .unwrap();
        for v in config.variants {
            let noise = if v.name == "champion" { 1.0 } else { 0.8 };
            backend.serve(
                &v.model_name,
                weighbridge_local::ResponseStyle::Xgboost,
                move |x| x[0] + noise * (x[1] - 0.5),
            );
        }
    });
    let store = DirStore {
        root: dir.to_path_buf(),
    };
    let _ = std::fs::remove_dir_all(dir.join("ab/_experiment"));
    let input: EvaluateVariantsInput = parse_input(json!({
        "endpointName": "bench", "testBucket": "bench", "testPrefix": "ab/",
        "batchRows": 5000, "maxConcurrency": 4, "policy": {"primaryMetric": "rmse", "champion": "champion"}, "dryRun": true
    }))
    .unwrap();
    let before = peak_rss_mib();
    let started = Instant::now();
    let out = runtime
        .block_on(evaluate_variants(&backend, &backend, &store, &backend, &input))
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "wall_s": wall, "rows": out.new_rows, "rows_per_s": out.new_rows as f64 / wall,
            "peak_rss_mib": peak_rss_mib(), "rss_before_mib": before, "action": out.action.as_str()
        })
    );
}
