//! A small mutation fuzzer: a corpus of seeds, random mutations (bit flips, byte runs,
//! inserts, deletes, splices of two corpus entries, interesting values in place of JSON
//! scalars), each input run under `catch_unwind`. Inputs that reach a new outcome class
//! (the first bytes of the error text, a cheap proxy for a new path) join the corpus.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::targets::{builtin_seeds, Target, TARGETS};

/// What one target's run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The target's name.
    pub target: String,
    /// Inputs run.
    pub executions: u64,
    /// Inputs that panicked (saved under `fuzz/crashes/<target>/`).
    pub crashes: u64,
    /// Corpus size at the end.
    pub corpus: usize,
    /// Wall time spent.
    pub elapsed: Duration,
}

/// Inputs are capped at this size, so a run explores structure rather than bulk.
const MAX_INPUT: usize = 64 * 1024;

const INTERESTING: [&str; 16] = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e-320",
    "18446744073709551616",
    "null",
    "true",
    "\"\"",
    "[]",
    "{}",
    "\"../../x\"",
    "\"s3://\"",
    "\"\\u0000\"",
    "\"$$.Execution.Name\"",
    "\"States.Format('{}')\"",
];

fn mutate(rng: &mut StdRng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = out.len();
        match rng.random_range(0..8) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] = *b"{}[]\",:\\$.'0\n\x00\xff"
                    .get(rng.random_range(0..16))
                    .unwrap_or(&b'0');
            }
            2 => {
                let i = rng.random_range(0..=len);
                let byte: u8 = rng.random();
                let n = rng.random_range(1..=8);
                out.splice(i..i, std::iter::repeat_n(byte, n));
            }
            3 if len > 1 => {
                let i = rng.random_range(0..len);
                let j = rng.random_range(i..=len.min(i + 16));
                out.drain(i..j);
            }
            4 if !corpus.is_empty() => {
                let other = &corpus[rng.random_range(0..corpus.len())];
                let i = rng.random_range(0..=len);
                let a = rng.random_range(0..=other.len());
                let b = rng.random_range(a..=other.len());
                out.splice(i..i, other[a..b].iter().copied());
            }
            5 => replace_scalar(rng, &mut out),
            6 if len > 0 => {
                // Duplicate a slice: repetitions find quadratic and recursion limits.
                let i = rng.random_range(0..len);
                let j = rng.random_range(i..=len.min(i + 64));
                let part = out[i..j].to_vec();
                out.splice(j..j, part.iter().copied().chain(part.iter().copied()));
            }
            _ => out.truncate(rng.random_range(0..=len)),
        }
    }
    out.truncate(MAX_INPUT);
    out
}

/// Replaces one JSON-ish scalar (a run of digits, or a quoted string) with an
/// interesting value.
fn replace_scalar(rng: &mut StdRng, out: &mut Vec<u8>) {
    let starts: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_digit() || **b == b'"')
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return;
    }
    let i = starts[rng.random_range(0..starts.len())];
    let end = if out[i] == b'"' {
        out[i + 1..]
            .iter()
            .position(|b| *b == b'"')
            .map_or(out.len(), |p| i + p + 2)
    } else {
        out[i..]
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.'))
            .map_or(out.len(), |p| i + p)
    };
    let value = INTERESTING[rng.random_range(0..INTERESTING.len())].as_bytes();
    out.splice(i..end.min(out.len()), value.iter().copied());
}

/// Files under each seed folder of the repository (at most 200 KiB each).
fn repo_seeds(root: &Path, folders: &[&str]) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let small = entry
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() <= 200 * 1024);
            if small {
                if let Ok(bytes) = std::fs::read(&path) {
                    seeds.push(bytes);
                }
            }
        }
    }
    seeds
}

/// Runs target `name` for `budget` (or `max_executions` inputs, whichever ends first).
/// `root` is the repository (for seeds and for saving crashes).
pub fn fuzz(name: &str, root: &Path, budget: Duration, max_executions: u64, seed: u64) -> Option<Report> {
    let (_, target, folders) = TARGETS.iter().find(|(n, _, _)| *n == name)?;
    let mut corpus = repo_seeds(root, folders);
    corpus.extend(builtin_seeds(name));
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let (mut executions, mut crashes) = (0u64, 0u64);
    let mut outcomes = BTreeSet::new();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    while started.elapsed() < budget && executions < max_executions {
        let base = corpus[rng.random_range(0..corpus.len())].clone();
        let input = if executions < corpus.len() as u64 {
            base
        } else {
            mutate(&mut rng, &base, &corpus)
        };
        executions += 1;
        match run_one(*target, &input) {
            Ok(()) => {
                let class = outcome_class(&input);
                if corpus.len() < 4096 && outcomes.insert(class) {
                    corpus.push(input);
                }
            }
            Err(message) => {
                crashes += 1;
                save_crash(root, name, &input, &message);
            }
        }
    }
    std::panic::set_hook(quiet);
    Some(Report {
        target: name.to_string(),
        executions,
        crashes,
        corpus: corpus.len(),
        elapsed: started.elapsed(),
    })
}

fn run_one(target: Target, input: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| target(input))).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}

/// A cheap signature of an input's shape: its length class and the set of structural
/// bytes it holds, so inputs with new structure are kept.
fn outcome_class(input: &[u8]) -> (usize, u32) {
    let mut mask = 0u32;
    for (bit, b) in b"{}[]\",:\\$.'()@?*-0\n ".iter().enumerate() {
        if input.contains(b) {
            mask |= 1 << bit;
        }
    }
    ((input.len() + 1).ilog2() as usize, mask)
}

fn save_crash(root: &Path, name: &str, input: &[u8], message: &str) {
    let dir = root.join("fuzz/crashes").join(name);
    let _ = std::fs::create_dir_all(&dir);
    let id = input.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    });
    let _ = std::fs::write(dir.join(format!("{id:016x}")), input);
    let _ = std::fs::write(dir.join(format!("{id:016x}.txt")), message);
}
