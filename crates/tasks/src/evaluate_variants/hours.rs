//! Hour partitions: SageMaker writes captures (and Model Monitor expects ground truth)
//! under `…/yyyy/mm/dd/hh/` by UTC hour. A look names each hour it needs and lists
//! exactly that prefix, so no look ever lists a bucket or a whole day.

use chrono::{DateTime, TimeZone, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::error::port;
use crate::ports::{ObjectStore, ObjectSummary};
use crate::TaskError;

/// An hour as whole hours since the Unix epoch (UTC).
pub(crate) type Hour = i64;

/// The hour that contains `t`.
pub(crate) fn hour_of(t: DateTime<Utc>) -> Hour {
    t.timestamp().div_euclid(3600)
}

/// The start of an hour.
pub(crate) fn start_of(hour: Hour) -> DateTime<Utc> {
    Utc.timestamp_opt(hour * 3600, 0).single().unwrap_or_default()
}

/// `yyyy/mm/dd/hh/`, the partition of an hour.
pub(crate) fn partition(hour: Hour) -> String {
    start_of(hour).format("%Y/%m/%d/%H/").to_string()
}

/// Every object under `<prefix>yyyy/mm/dd/hh/` for each hour of `hours`, listed with at
/// most `concurrency` requests in flight, in hour and key order.
pub(crate) async fn list_hours(
    store: &dyn ObjectStore,
    bucket: &str,
    prefix: &str,
    hours: std::ops::Range<Hour>,
    concurrency: usize,
) -> Result<Vec<(Hour, ObjectSummary)>, TaskError> {
    let listed: Vec<Vec<(Hour, ObjectSummary)>> = stream::iter(hours)
        .map(|hour| async move {
            let full = format!("{prefix}{}", partition(hour));
            let objects = store
                .list_objects(bucket, &full)
                .await
                .map_err(port(format!("ListObjectsV2 s3://{bucket}/{full}")))?;
            Ok::<_, TaskError>(
                objects
                    .into_iter()
                    .filter(|o| !o.key.ends_with('/'))
                    .map(|o| (hour, o))
                    .collect(),
            )
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(listed.into_iter().flatten().collect())
}

/// Reads an object as a stream of chunks and hands each complete line (1-based number,
/// text without the newline) to `each`; a final line without a newline counts too.
pub(crate) async fn for_each_line(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    mut each: impl FnMut(usize, &str),
) -> Result<(), TaskError> {
    let what = || format!("GetObject s3://{bucket}/{key}");
    let mut object = store.get_object_chunks(bucket, key).await.map_err(port(what()))?;
    let mut pending: Vec<u8> = Vec::new();
    let mut line_no = 0;
    let mut emit = |bytes: &[u8], line_no: &mut usize| {
        *line_no += 1;
        each(*line_no, &String::from_utf8_lossy(bytes));
    };
    while let Some(chunk) = object.chunks.next().await {
        pending.extend_from_slice(&chunk.map_err(port(what()))?);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            emit(&pending[start..start + end], &mut line_no);
            start += end + 1;
        }
        pending.drain(..start);
    }
    if !pending.is_empty() {
        emit(&pending, &mut line_no);
    }
    Ok(())
}

/// Objects up to this size are read whole and their lines parsed on several threads;
/// larger ones stream through one thread, so a look's memory stays bounded whatever
/// the objects' sizes.
const WHOLE_OBJECT_BYTES: u64 = 64 << 20;

/// Below this size an object's lines are parsed on the calling thread alone.
const PARALLEL_BYTES: usize = 256 << 10;

/// Hands every non-empty line of an object (1-based number, text) to `each`, on up to
/// as many threads as the machine has (at most 4), each with its own state from `init`;
/// returns the states, in line order. Capture files are small (SageMaker starts a new
/// one every few minutes), so reading one whole costs little memory and lets the
/// parsing — the look's main cost — use every core.
pub(crate) async fn lines_of<T: Send>(
    store: &dyn ObjectStore,
    bucket: &str,
    object: &ObjectSummary,
    init: impl Fn() -> T + Sync,
    each: impl Fn(&mut T, usize, &str) + Sync,
) -> Result<Vec<T>, TaskError> {
    if object.size > WHOLE_OBJECT_BYTES {
        let mut state = init();
        for_each_line(store, bucket, &object.key, |n, line| {
            if !line.trim().is_empty() {
                each(&mut state, n, line);
            }
        })
        .await?;
        return Ok(vec![state]);
    }
    let what = || format!("GetObject s3://{bucket}/{}", object.key);
    let mut stream = store
        .get_object_chunks(bucket, &object.key)
        .await
        .map_err(port(what()))?;
    let mut bytes = Vec::with_capacity(usize::try_from(object.size).unwrap_or(0));
    while let Some(chunk) = stream.chunks.next().await {
        bytes.extend_from_slice(&chunk.map_err(port(what()))?);
    }
    let threads = if bytes.len() < PARALLEL_BYTES {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    };
    let parts = split_at_lines(&bytes, threads);
    let run = |(first_line, part): (usize, &[u8])| {
        let mut state = init();
        match std::str::from_utf8(part) {
            // The usual case: one validation for the whole part.
            Ok(text) => {
                for (i, line) in text.split('\n').enumerate() {
                    if !line.trim().is_empty() {
                        each(&mut state, first_line + i, line);
                    }
                }
            }
            Err(_) => {
                for (i, line) in part.split(|&b| b == b'\n').enumerate() {
                    let line = String::from_utf8_lossy(line);
                    if !line.trim().is_empty() {
                        each(&mut state, first_line + i, &line);
                    }
                }
            }
        }
        state
    };
    if parts.len() == 1 {
        return Ok(parts.into_iter().map(run).collect());
    }
    Ok(std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || run(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    }))
}

/// Splits `bytes` into up to `parts` pieces at line ends; each with its first line's
/// 1-based number.
fn split_at_lines(bytes: &[u8], parts: usize) -> Vec<(usize, &[u8])> {
    let mut out = Vec::with_capacity(parts);
    let (mut start, mut line) = (0, 1);
    for k in 1..parts {
        let target = (bytes.len() * k / parts).max(start);
        let Some(end) = bytes[target..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| target + i + 1)
        else {
            break;
        };
        out.push((line, &bytes[start..end]));
        line += bytes[start..end].iter().filter(|&&b| b == b'\n').count();
        start = end;
    }
    out.push((line, &bytes[start..]));
    out
}

/// The non-empty lines of an object, counted by their newlines as the chunks arrive
/// (no line is decoded: the SRM test needs only how many requests each variant got).
pub(crate) async fn count_lines(store: &dyn ObjectStore, bucket: &str, key: &str) -> Result<u64, TaskError> {
    let what = || format!("GetObject s3://{bucket}/{key}");
    let mut object = store.get_object_chunks(bucket, key).await.map_err(port(what()))?;
    let mut counter = LineCounter::default();
    while let Some(chunk) = object.chunks.next().await {
        counter.feed(&chunk.map_err(port(what()))?);
    }
    Ok(counter.finish())
}

/// Counts non-empty lines across chunks: newlines, minus those that end an empty line
/// (a newline right after a newline, or first in the object).
#[derive(Debug)]
struct LineCounter {
    lines: u64,
    /// The last byte seen (a newline before the first byte: an object starting with a
    /// newline starts with an empty line).
    last: u8,
}

impl Default for LineCounter {
    fn default() -> Self {
        Self {
            lines: 0,
            last: b'\n',
        }
    }
}

impl LineCounter {
    fn feed(&mut self, chunk: &[u8]) {
        let Some(&first) = chunk.first() else { return };
        // Simple loops the compiler vectorises: this pass reads every captured byte.
        let newlines = chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        let empty = chunk
            .windows(2)
            .filter(|w| w[0] == b'\n' && w[1] == b'\n')
            .count() as u64
            + u64::from(first == b'\n' && self.last == b'\n');
        self.lines += newlines - empty;
        self.last = chunk[chunk.len() - 1];
    }

    fn finish(self) -> u64 {
        self.lines + u64::from(self.last != b'\n')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_keep_every_line_and_its_number() {
        let text = b"a\nbb\n\nccc\ndddd\ne";
        for parts in 1..6 {
            let split = split_at_lines(text, parts);
            let joined: Vec<u8> = split.iter().flat_map(|(_, p)| p.iter().copied()).collect();
            assert_eq!(joined, text.to_vec());
            for (first, part) in split {
                let numbered = String::from_utf8_lossy(part).lines().next().map(str::to_string);
                let expected = String::from_utf8_lossy(text)
                    .lines()
                    .nth(first - 1)
                    .map(str::to_string);
                assert_eq!(numbered, expected, "parts {parts}");
            }
        }
    }

    #[test]
    fn lines_are_counted_across_chunks_without_the_empty_ones() {
        let text = b"\na\nbb\n\nccc\n\n\ndddd";
        for size in 1..text.len() + 1 {
            let mut counter = LineCounter::default();
            text.chunks(size).for_each(|c| counter.feed(c));
            assert_eq!(counter.finish(), 4, "chunks of {size}");
        }
        let mut ends_with_newline = LineCounter::default();
        ends_with_newline.feed(b"x\ny\n");
        assert_eq!(ends_with_newline.finish(), 2);
        assert_eq!(LineCounter::default().finish(), 0);
    }

    #[test]
    fn hours_and_partitions() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 10, 59, 59).unwrap();
        let h = hour_of(t);
        assert_eq!(partition(h), "2026/12/01/10/");
        assert_eq!(partition(h + 14), "2026/12/02/00/");
        assert_eq!(start_of(h), Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap());
    }
}
