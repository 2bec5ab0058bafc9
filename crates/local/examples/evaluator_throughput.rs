//! Benchmark: the evaluator's end-to-end throughput against the embedded backend with
//! 20 ms of latency on every InvokeEndpoint call. 100,000 labelled rows, two variants,
//! 500 rows per request: 400 calls. With bounded concurrency c the floor is
//! calls × latency / c; the issue asks for wall ≤ 1.2 × that floor.
//!
//!     cargo run --release -p weighbridge-local --example evaluator_throughput
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::time::{Duration, Instant};

use serde_json::json;
use weighbridge_local::{MemoryBackend, ResponseStyle};
use weighbridge_tasks::deploy::deploy;
use weighbridge_tasks::evaluate_variants::{evaluate_variants, EvaluateVariantsInput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::SageMaker;

const ROWS: usize = 100_000;
const BATCH: usize = 500;
const LATENCY: Duration = Duration::from_millis(20);

async fn endpoint() -> MemoryBackend {
    let b = MemoryBackend::new();
    for (variant, execution) in [("champion", "e1"), ("challenger", "e2")] {
        let input = parse_input(json!({
            "executionName": execution, "endpointName": "bench", "variantName": variant,
            "image": {"kind": "image", "uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"},
            "modelDataUrl": format!("s3://data/{variant}/model.tar.gz"),
            "roleArn": "arn:aws:iam::123456789012:role/sagemaker", "initialShare": 0.5
        }))
        .unwrap();
        deploy(b.ports(), "us-east-1", &input).await.unwrap();
        b.settle();
    }
    let config = b.endpoint("bench").unwrap().config_name;
    for v in b.describe_endpoint_config(&config).await.unwrap().variants {
        let noise = if v.name == "champion" { 1.0 } else { 0.5 };
        b.serve(&v.model_name, ResponseStyle::Xgboost, move |x| {
            x[0] + noise * (x[1] - 0.5)
        });
    }
    let rows: String = (0..ROWS)
        .map(|i| {
            let x0 = (i % 1000) as f64 / 10.0;
            let x1 = ((i * 7919) % 1000) as f64 / 1000.0;
            let x2 = ((i * 104_729) % 1000) as f64 / 1000.0;
            format!("{},{x0},{x1}\n", x0 + (x2 - 0.5))
        })
        .collect();
    b.put("data", "ab/rows.csv", &rows);
    b.set_latency("InvokeEndpoint", LATENCY);
    b
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "rows {ROWS}, 2 variants, {BATCH} rows per request, {} ms latency per call",
        LATENCY.as_millis()
    );
    println!("| concurrency | calls | floor = calls × latency / c | wall | wall / floor | ≤ 1.2 |");
    println!("|---:|---:|---:|---:|---:|:---:|");
    let mut worst: f64 = 0.0;
    // The reference: the same look with no latency (parsing, encoding, the backend's own
    // scoring and the statistics: the cost the latency floor does not include).
    let b = runtime.block_on(endpoint());
    b.set_latency("InvokeEndpoint", Duration::ZERO);
    let input: EvaluateVariantsInput = parse_input(json!({
        "endpointName": "bench", "testBucket": "data", "testPrefix": "ab/",
        "batchRows": BATCH, "maxConcurrency": 8, "dryRun": true
    }))
    .unwrap();
    let start = Instant::now();
    runtime
        .block_on(evaluate_variants(&b, &b, &b, &b, &input))
        .unwrap();
    let overhead = start.elapsed().as_secs_f64();
    println!("without latency (the work itself): {overhead:.3} s");
    for concurrency in [4, 8, 16] {
        let b = runtime.block_on(endpoint());
        let input: EvaluateVariantsInput = parse_input(json!({
            "endpointName": "bench", "testBucket": "data", "testPrefix": "ab/",
            "batchRows": BATCH, "maxConcurrency": concurrency, "dryRun": true
        }))
        .unwrap();
        let start = Instant::now();
        let out = runtime
            .block_on(evaluate_variants(&b, &b, &b, &b, &input))
            .unwrap();
        let wall = start.elapsed().as_secs_f64();
        let calls = b.calls().iter().filter(|c| *c == "InvokeEndpoint").count();
        assert_eq!(out.new_rows as usize, ROWS);
        let floor = calls as f64 * LATENCY.as_secs_f64() / concurrency as f64;
        let ratio = wall / floor;
        worst = worst.max(ratio);
        println!(
            "| {concurrency} | {calls} | {floor:.3} s | {wall:.3} s | {ratio:.3} | {} |",
            if ratio <= 1.2 { "yes" } else { "no" }
        );
    }
    println!("worst ratio {worst:.3} (target ≤ 1.2)");
}
