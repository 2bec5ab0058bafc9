//! Ground truth held compactly for the join: a look may join millions of labels, so a
//! label is 16 bytes (the join key's 64-bit hash and the value) in one sorted vector
//! rather than a map of strings; requests with several rows keep their labels aside.
//!
//! **Hash collisions.** Two different keys with the same 64-bit hash would share a
//! label. For n keys the chance that any two collide is about n²/2⁶⁵ (3·10⁻⁶ for ten
//! million labels in one look), and a collision between a labelled and an unlabelled
//! request would mislabel one row; that is the price of fitting a large look in a
//! Lambda's memory.
//!
//! **A key labelled twice** with the same labels counts once; with different labels it
//! is ambiguous and dropped (counted as a conflict).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// The join key's hash (SipHash with fixed keys: the same in every look of a process).
pub(super) fn key_hash(key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// Labels by join key, built by [`LabelIndex::insert`] then [`LabelIndex::finish`].
#[derive(Debug, Default)]
pub(super) struct LabelIndex {
    single: Vec<(u64, f64)>,
    /// Where each run of keys with the same top `bits` bits starts in `single` (the hashes
    /// are uniform, so a run holds a handful: a lookup touches two cache lines, not the
    /// twenty a binary search over millions would).
    starts: Vec<u32>,
    bits: u32,
    many: HashMap<u64, Vec<f64>>,
    /// Keys dropped because they were labelled twice with different labels.
    pub(super) conflicts: u64,
}

impl LabelIndex {
    /// Adds a record's labels (one per request row).
    pub(super) fn insert(&mut self, key: &str, labels: Vec<f64>) {
        let hash = key_hash(key);
        match labels.as_slice() {
            [one] => self.single.push((hash, *one)),
            _ => {
                if let Some(previous) = self.many.insert(hash, labels.clone()) {
                    if previous != labels {
                        self.conflicts += 1;
                        self.many.remove(&hash);
                    }
                }
            }
        }
    }

    /// Adds the labels another part of the look read (before [`LabelIndex::finish`]).
    pub(super) fn absorb(&mut self, other: LabelIndex) {
        self.single.extend(other.single);
        self.conflicts += other.conflicts;
        for (hash, labels) in other.many {
            match self.many.get(&hash) {
                Some(previous) if *previous != labels => {
                    self.conflicts += 1;
                    self.many.remove(&hash);
                }
                _ => {
                    self.many.insert(hash, labels);
                }
            }
        }
    }

    /// Sorts the index and resolves keys labelled more than once.
    pub(super) fn finish(&mut self) {
        self.single
            .sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut kept = 0;
        let mut i = 0;
        while i < self.single.len() {
            let (hash, value) = self.single[i];
            let mut j = i + 1;
            let mut agree = true;
            while j < self.single.len() && self.single[j].0 == hash {
                agree &= self.single[j].1.to_bits() == value.to_bits();
                j += 1;
            }
            if agree {
                self.single[kept] = (hash, value);
                kept += 1;
            } else {
                self.conflicts += 1;
            }
            i = j;
        }
        self.single.truncate(kept);
        self.single.shrink_to_fit();
        self.build_starts();
    }

    /// The run table: about eight keys per run, at most 2²⁴ runs.
    fn build_starts(&mut self) {
        let n = self.single.len();
        self.bits = (usize::BITS - (n / 8).leading_zeros()).min(24);
        let runs = 1usize << self.bits;
        self.starts = Vec::with_capacity(runs + 1);
        let mut i = 0;
        for run in 0..runs {
            while i < n && self.run_of(self.single[i].0) < run {
                i += 1;
            }
            self.starts.push(u32::try_from(i).unwrap_or(u32::MAX));
        }
        self.starts.push(u32::try_from(n).unwrap_or(u32::MAX));
    }

    fn run_of(&self, hash: u64) -> usize {
        if self.bits == 0 {
            0
        } else {
            (hash >> (64 - self.bits)) as usize
        }
    }

    /// The labels of a key, in its request's row order.
    pub(super) fn get(&self, key: &str) -> Option<&[f64]> {
        let hash = key_hash(key);
        let run = self.run_of(hash);
        let (from, to) = match (self.starts.get(run), self.starts.get(run + 1)) {
            (Some(&from), Some(&to)) => (from as usize, to as usize),
            _ => (0, self.single.len()),
        };
        if let Some(run) = self.single.get(from..to) {
            if let Ok(i) = run.binary_search_by(|e| e.0.cmp(&hash)) {
                return run.get(i).map(|e| std::slice::from_ref(&e.1));
            }
        }
        self.many.get(&hash).map(Vec::as_slice)
    }

    /// Labels held.
    pub(super) fn len(&self) -> usize {
        self.single.len() + self.many.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_every_key_of_a_large_index() {
        let mut index = LabelIndex::default();
        for i in 0..50_000 {
            index.insert(&format!("req-{i}"), vec![f64::from(i)]);
        }
        index.finish();
        assert!(index.bits > 0);
        for i in (0..50_000).step_by(7) {
            assert_eq!(index.get(&format!("req-{i}")), Some(&[f64::from(i)][..]));
        }
        assert_eq!(index.get("req-50000"), None);
    }

    #[test]
    fn singles_many_and_conflicts() {
        let mut index = LabelIndex::default();
        index.insert("a", vec![1.0]);
        index.insert("b", vec![2.0]);
        index.insert("b", vec![2.0]);
        index.insert("c", vec![3.0]);
        index.insert("c", vec![4.0]);
        index.insert("d", vec![0.0, 1.0]);
        index.finish();
        assert_eq!(index.get("a"), Some(&[1.0][..]));
        assert_eq!(
            index.get("b"),
            Some(&[2.0][..]),
            "the same label twice counts once"
        );
        assert_eq!(index.get("c"), None, "different labels for one key are dropped");
        assert_eq!(index.get("d"), Some(&[0.0, 1.0][..]));
        assert_eq!(index.get("e"), None);
        assert_eq!((index.conflicts, index.len()), (1, 3));
    }
}
