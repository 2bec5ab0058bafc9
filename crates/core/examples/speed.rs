//! The Rust side of the speed benchmark (`bench/speed.py` runs it and the Python
//! reference on the same files and prints the ratios).
//!
//!     cargo run --release -p weighbridge-core --example speed -- DIR REPEAT
//!
//! DIR holds little-endian f64 files written by the script: `cls_labels`, `cls_a`,
//! `cls_b` (AUC + DeLong) and `reg_labels`, `reg_a`, `reg_b` (paired bootstrap).
//! Prints one JSON object: best-of-REPEAT seconds for each task, the floor (sorting each
//! variant's scores once with the standard library's unstable sort, one thread), and the
//! bootstrap's peak heap measured by a counting allocator.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use weighbridge_core::compare::{delong, paired_bootstrap, BootstrapConfig, LossStatistic};

/// Counts live heap bytes and their peak, so memory is measured rather than guessed.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn read_f64(dir: &Path, name: &str) -> Vec<f64> {
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"));
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

fn best_of<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..repeat {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("repeat ≥ 1"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).expect("usage: speed DIR [REPEAT]"));
    let repeat: usize = args.get(2).map_or(3, |r| r.parse().expect("REPEAT is a number"));

    let (labels, a, b) = (
        read_f64(dir, "cls_labels"),
        read_f64(dir, "cls_a"),
        read_f64(dir, "cls_b"),
    );
    let (delong_s, d) = best_of(repeat, || {
        delong(&a, &b, &labels, 0.05).expect("valid benchmark data")
    });
    let (floor_s, _) = best_of(repeat, || {
        for scores in [&a, &b] {
            let mut copy = scores.clone();
            copy.sort_unstable_by(f64::total_cmp);
            std::hint::black_box(&copy);
        }
    });
    drop((labels, a, b));

    let (y, pa, pb) = (
        read_f64(dir, "reg_labels"),
        read_f64(dir, "reg_a"),
        read_f64(dir, "reg_b"),
    );
    let input_bytes = 3 * y.len() * std::mem::size_of::<f64>();
    let config = BootstrapConfig {
        replicates: 1000,
        seed: 42,
        alpha: 0.05,
        threads: 0,
    };
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let (boot_s, r) = best_of(repeat, || {
        let sq = |p: &[f64]| -> Vec<f64> { p.iter().zip(&y).map(|(p, y)| (p - y) * (p - y)).collect() };
        let (la, lb) = (sq(&pa), sq(&pb));
        paired_bootstrap(&la, &lb, LossStatistic::RootMean, &config).expect("valid benchmark data")
    });
    let peak = PEAK.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "rows_auc": d.positives + d.negatives,
            "auc_a": d.auc_a, "auc_b": d.auc_b, "delong_se": d.se,
            "delong_seconds": delong_s,
            "floor_seconds": floor_s,
            "rows_bootstrap": y.len(),
            "bootstrap_seconds": boot_s,
            "bootstrap_estimate": r.estimate, "bootstrap_ci": [r.ci_low, r.ci_high],
            "bootstrap_input_bytes": input_bytes,
            "bootstrap_peak_heap_bytes": peak,
            "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    );
}
