//! Scoring: the labelled test objects streamed in blocks, each block cut into requests
//! under InvokeEndpoint's 6 MB limit, every arm invoked on every batch with bounded
//! concurrency, and the block added to the record before the next is read.

use super::*;

/// Rows scored per block: a test-set look holds one block's rows (with their features)
/// at a time, whatever the size of the test objects.
pub(super) const BLOCK_ROWS: usize = 50_000;

/// The look's labels and predictions kept whole, only when AUC is compared (DeLong
/// needs every score of the look at once; 24 bytes a row for two variants).
#[derive(Debug, Default)]
struct AucRows {
    labels: Vec<f64>,
    predictions: BTreeMap<String, Vec<f64>>,
}

/// Scores the new test objects block by block and adds each block to the record.
pub(super) struct BlockScorer<'a> {
    pub(super) runtime: &'a dyn Runtime,
    pub(super) input: &'a EvaluateVariantsInput,
    pub(super) plan: &'a Plan,
    pub(super) format: Format,
}

impl BlockScorer<'_> {
    /// Streams every new object (parsing lines as chunks arrive), scores each block of
    /// `BLOCK_ROWS` rows on every arm and adds it to the record; returns the look's rows.
    pub(super) async fn score_objects(
        &self,
        store: &dyn ObjectStore,
        objects: &[ObjectSummary],
        record: &mut ExperimentRecord,
    ) -> Result<u64, TaskError> {
        let mut auc = self
            .plan
            .metrics
            .iter()
            .any(|m| m == "auc")
            .then(AucRows::default);
        let mut scored = 0u64;
        for o in objects {
            let bucket = &self.input.test_bucket;
            let what = || format!("GetObject s3://{bucket}/{}", o.key);
            let bad = |e: weighbridge_core::CoreError| {
                TaskError::InvalidPayload(format!("test object {}: {e}", o.key))
            };
            let mut object = store
                .get_object_chunks(bucket, &o.key)
                .await
                .map_err(port(what()))?;
            let mut reader = LabelledRowReader::default();
            while let Some(chunk) = object.chunks.next().await {
                reader.feed(&chunk.map_err(port(what()))?).map_err(bad)?;
                if reader.buffered() >= BLOCK_ROWS {
                    scored += self
                        .score_block(&reader.take_rows(), scored, record, auc.as_mut())
                        .await?;
                }
            }
            let rest = reader.finish().map_err(bad)?;
            scored += self.score_block(&rest, scored, record, auc.as_mut()).await?;
        }
        if scored > 0 {
            if let Some(a) = &auc {
                accumulate_auc(
                    record,
                    &self.plan.metrics,
                    &a.labels,
                    &a.predictions,
                    self.input.policy.alpha,
                )?;
            }
            record.looks += 1;
            record.rows += scored;
        }
        Ok(scored)
    }

    /// One block: 0/1 labels where a metric needs classes, every arm's predictions, the
    /// record's evidence (and the look's AUC rows).
    async fn score_block(
        &self,
        rows: &[LabelledRow],
        offset: u64,
        record: &mut ExperimentRecord,
        auc: Option<&mut AucRows>,
    ) -> Result<u64, TaskError> {
        if rows.is_empty() {
            return Ok(0);
        }
        if needs_classes(&self.plan.metrics) {
            if let Some((bad, row)) = rows
                .iter()
                .enumerate()
                .find(|(_, r)| r.label != 0.0 && r.label != 1.0)
            {
                return Err(TaskError::InvalidInput(format!(
                    "{} needs 0/1 labels, but new test row {} has label {}",
                    self.input.policy.primary_metric,
                    offset + bad as u64 + 1,
                    row.label
                )));
            }
        }
        let predictions = score(self.runtime, self.input, &self.plan.arms, rows, self.format).await?;
        let labels: Vec<f64> = rows.iter().map(|r| r.label).collect();
        accumulate_rows(record, &self.plan.metrics, &labels, &predictions);
        if let Some(a) = auc {
            a.labels.extend_from_slice(&labels);
            for (arm, p) in predictions {
                a.predictions.entry(arm).or_default().extend(p);
            }
        }
        Ok(rows.len() as u64)
    }
}

/// An upper bound of a row's encoded size: a formatted f64 takes at most 24 characters
/// plus a separator; JSON Lines adds `{"features":[]}` and a newline.
pub(super) fn size_bound(row: &LabelledRow) -> usize {
    row.features.len() * 25 + 18
}

/// Splits rows into request ranges of at most `batch_rows` rows and 6 MB (by the size
/// bound, so the bodies can be encoded later, while earlier requests are in flight).
pub(super) fn batch_ranges(
    rows: &[LabelledRow],
    batch_rows: usize,
    format: Format,
) -> Result<Vec<Range<usize>>, TaskError> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, row) in rows.iter().enumerate() {
        let mut bound = size_bound(row);
        if bound > MAX_PAYLOAD_BYTES {
            // Rare: measure the row exactly before refusing it.
            bound = encode_rows(&[&row.features], format)?.len();
            if bound > MAX_PAYLOAD_BYTES {
                return Err(TaskError::InvalidInput(format!(
                    "test row {} encodes to {bound} bytes, over InvokeEndpoint's 6 MB limit",
                    i + 1
                )));
            }
        }
        if i > start && (i - start == batch_rows || size + bound > MAX_PAYLOAD_BYTES) {
            out.push(start..i);
            start = i;
            size = 0;
        }
        size += bound;
    }
    if start < rows.len() {
        out.push(start..rows.len());
    }
    Ok(out)
}

/// Scores every row with every arm; returns arm → predictions in row order. Calls go
/// batch by batch (every arm on batch 0, then batch 1, …); each body is encoded once,
/// by the first call that needs it, so encoding overlaps the requests in flight.
pub(super) async fn score(
    runtime: &dyn Runtime,
    input: &EvaluateVariantsInput,
    arms: &Arms,
    rows: &[LabelledRow],
    format: Format,
) -> Result<BTreeMap<String, Vec<f64>>, TaskError> {
    let ranges = batch_ranges(rows, input.batch_rows, format)?;
    let bodies: Vec<OnceLock<Result<Vec<u8>, TaskError>>> = ranges.iter().map(|_| OnceLock::new()).collect();
    let calls: Vec<(usize, String)> = (0..ranges.len())
        .flat_map(|b| arms.names().iter().map(move |arm| (b, arm.clone())))
        .collect();
    let results: Vec<(String, usize, Vec<f64>)> = stream::iter(calls)
        .map(|(batch, arm)| {
            let (range, bodies) = (ranges[batch].clone(), &bodies);
            async move {
                let (start, count) = (range.start, range.len());
                let body = bodies[batch]
                    .get_or_init(|| {
                        let features: Vec<&[f64]> = rows[range.clone()]
                            .iter()
                            .map(|r| r.features.as_slice())
                            .collect();
                        encode_rows(&features, format)
                            .map(String::into_bytes)
                            .map_err(TaskError::from)
                    })
                    .as_ref()
                    .map_err(Clone::clone)?;
                let (target_variant, target_model) = match arms {
                    Arms::Variants(_) => (Some(arm.clone()), None),
                    Arms::Models(_) => (None, Some(arm.clone())),
                };
                let request = InvokeRequest {
                    endpoint: input.endpoint_name.clone(),
                    body: body.clone(),
                    content_type: format.content_type().into(),
                    accept: Some(format.content_type().into()),
                    target_variant,
                    target_model,
                    inference_id: None,
                };
                let response = runtime
                    .invoke_endpoint(&request)
                    .await
                    .map_err(port(format!("InvokeEndpoint {} ({arm})", input.endpoint_name)))?;
                let answer_format = response
                    .content_type
                    .as_deref()
                    .and_then(|c| Format::from_content_type(c).ok())
                    .unwrap_or_else(|| Format::sniff(&String::from_utf8_lossy(&response.body)));
                let text = String::from_utf8(response.body).map_err(|_| {
                    TaskError::InvalidPayload(format!("{arm} answered with a body that is not UTF-8"))
                })?;
                let predictions = decode_predictions(&text, answer_format).map_err(|e| {
                    TaskError::InvalidPayload(format!("{arm} rows {}..{}: {e}", start + 1, start + count))
                })?;
                if predictions.len() != count {
                    return Err(TaskError::InvalidPayload(format!(
                        "{arm} returned {} predictions for {count} rows (rows {}..{})",
                        predictions.len(),
                        start + 1,
                        start + count
                    )));
                }
                Ok::<_, TaskError>((arm, start, predictions))
            }
        })
        .buffer_unordered(input.max_concurrency)
        .try_collect()
        .await?;
    let mut out: BTreeMap<String, Vec<f64>> = arms
        .names()
        .iter()
        .map(|a| (a.clone(), vec![f64::NAN; rows.len()]))
        .collect();
    for (arm, start, predictions) in results {
        if let Some(slot) = out
            .get_mut(&arm)
            .and_then(|v| v.get_mut(start..start + predictions.len()))
        {
            slot.copy_from_slice(&predictions);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_rows_and_cover_every_row() {
        let rows: Vec<LabelledRow> = (0..1001)
            .map(|i| LabelledRow {
                label: 0.0,
                features: vec![i as f64, 1.5],
            })
            .collect();
        let b = batch_ranges(&rows, 250, Format::Csv).unwrap();
        assert_eq!(
            b.iter().map(|r| r.start).collect::<Vec<_>>(),
            vec![0, 250, 500, 750, 1000]
        );
        assert_eq!(b.iter().map(|r| r.len()).sum::<usize>(), 1001);
    }

    #[test]
    fn batches_stay_under_six_megabytes() {
        let wide = LabelledRow {
            label: 1.0,
            features: vec![0.123_456_789; 100_000],
        };
        let rows = vec![wide; 8];
        let b = batch_ranges(&rows, 500, Format::Csv).unwrap();
        assert!(b.len() > 1);
        for r in b {
            let features: Vec<&[f64]> = rows[r].iter().map(|x| x.features.as_slice()).collect();
            assert!(encode_rows(&features, Format::Csv).unwrap().len() <= MAX_PAYLOAD_BYTES);
        }
    }
}
