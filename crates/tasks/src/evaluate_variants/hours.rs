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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_partitions() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 10, 59, 59).unwrap();
        let h = hour_of(t);
        assert_eq!(partition(h), "2026/12/01/10/");
        assert_eq!(partition(h + 14), "2026/12/02/00/");
        assert_eq!(start_of(h), Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap());
    }
}
