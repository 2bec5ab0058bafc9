//! The Distributed Map's own parts, over S3 actions the caller's `Resources` answer
//! (`arn:aws:states:::s3:getObject` → `{"Body": text}`, `…:s3:listObjectsV2` →
//! `{"Contents": [...]}`, `…:s3:putObject`): `ItemReader` (a JSON array, JSON Lines, CSV
//! with a header row or given headers — every CSV value a string, as on AWS — or the
//! objects under a prefix), `ReaderConfig.MaxItems`, `ItemBatcher` (`MaxItemsPerBatch`,
//! `BatchInput`) and `ResultWriter` (`manifest.json`, `SUCCEEDED_0.json`, `FAILED_0.json`).

use serde::{Deserialize, Serialize};

use super::*;

const GET_OBJECT: &str = "arn:aws:states:::s3:getObject";
const LIST_OBJECTS: &str = "arn:aws:states:::s3:listObjectsV2";
const PUT_OBJECT: &str = "arn:aws:states:::s3:putObject";

/// A Distributed Map's Map Run: the Map state, its id, its ARN and the ARN its child
/// executions run under (`stateMachine:<machine>/<label>`).
#[derive(Debug, Clone)]
pub(super) struct MapRun {
    pub(super) state: String,
    pub(super) id: String,
    pub(super) arn: String,
    pub(super) state_machine_arn: String,
}

/// One child execution of a Distributed Map, with its own history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildExecution {
    /// Its name (`<map run id>-<item index>`).
    pub name: String,
    /// `…:execution:<machine>/<label>:<name>`.
    pub execution_arn: String,
    /// The Map Run it belongs to.
    pub map_run_arn: String,
    /// The item (or batch) it ran.
    pub index: usize,
    /// How it ended.
    pub status: Status,
    /// Its events.
    pub history: Vec<HistoryEvent>,
}

/// FNV-1a over the parts (a stable id: the same on every run and every build).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.join("\n").bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn reader_error(why: impl Into<String>) -> Failure {
    Failure::new("States.ItemReaderFailed", why.into())
}

impl Run<'_> {
    /// The items an `ItemReader` reads, its parameters evaluated on the state's input.
    pub(super) async fn read_items(
        &self,
        name: &str,
        reader: &Value,
        (effective, ctx, frame): (&Value, &Value, &Frame),
    ) -> Result<Vec<Value>, Failure> {
        let parameters = match (reader.get("Parameters"), reader.get("Arguments")) {
            (Some(p), _) => payload::evaluate(p, effective, ctx)?,
            (None, Some(a)) => super::jsonata_state::item_selection(a, effective, ctx, frame)?,
            (None, None) => json!({}),
        };
        let config = reader.get("ReaderConfig").cloned().unwrap_or(json!({}));
        let task = self.s3_task(name);
        let resource = reader["Resource"].as_str().unwrap_or_default();
        let mut items = match resource {
            LIST_OBJECTS => {
                let listed = self.reader_call(LIST_OBJECTS, parameters.clone(), &task).await?;
                let objects = listed["Contents"].as_array().cloned().unwrap_or_default();
                if config["Transformation"] == "LOAD_AND_FLATTEN" {
                    self.flattened(&parameters, &objects, &config, &task).await?
                } else {
                    objects
                }
            }
            GET_OBJECT if is_manifest(&config) => self.inventory(&parameters, &task).await?,
            GET_OBJECT => {
                let object = self.reader_call(GET_OBJECT, parameters, &task).await?;
                parse_object(&object_text(&object, "")?, &config)?
            }
            other => {
                return Err(reader_error(format!(
                    "ItemReader Resource {other:?} is not s3:getObject or s3:listObjectsV2"
                )))
            }
        };
        if let Some(max) = config.get("MaxItems").and_then(Value::as_u64) {
            items.truncate(usize::try_from(max).unwrap_or(usize::MAX));
        }
        Ok(items)
    }

    /// The Map Run of a Distributed Map state's attempt in `frame`: its id is drawn
    /// from where it runs (the execution, the attempt's path, the state), so a replay
    /// of the execution names it again as it did.
    pub(super) fn map_run(&self, name: &str, s: &State, frame: &Frame) -> MapRun {
        let id = format!("{:016x}", fnv1a(&[&self.spec.name, frame.path(), name]));
        let label = s.label.clone().unwrap_or_else(|| name.to_string());
        let machine = format!("{}/{label}", self.spec.state_machine_arn);
        MapRun {
            state: name.to_string(),
            arn: format!("{}:{id}", machine.replacen(":stateMachine:", ":mapRun:", 1)),
            id,
            state_machine_arn: machine,
        }
    }

    /// One item as a child execution of `run`: its own history (ExecutionStarted, the
    /// processor's states, ExecutionSucceeded or ExecutionFailed), none of the parent's
    /// variables, and kept with the execution's result.
    pub(super) async fn child_execution(
        &self,
        run: &MapRun,
        processor: &StateMachine,
        frame: &Frame,
        item: (usize, Value),
        input: Value,
    ) -> Result<Value, Failure> {
        let index = item.0;
        let name = format!("{}-{index}", run.id);
        let arn = format!(
            "{}:{name}",
            run.state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
        );
        let history = Arc::new(History::default());
        history.push(
            self.clock.now(),
            "ExecutionStarted",
            None,
            json!({"input": input, "roleArn": self.spec.role_arn, "stateMachineArn": run.state_machine_arn}),
        );
        let child = frame.isolated(&format!("[{index}]"), Some(item), history.clone());
        let result = self.scope(processor, input, child).await;
        let (status, kind, details) = match &result {
            Ok(output) => (Status::Succeeded, "ExecutionSucceeded", json!({"output": output})),
            Err(f) => (Status::Failed, "ExecutionFailed", error_details(f)),
        };
        history.push(self.clock.now(), kind, None, details);
        self.children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(ChildExecution {
                name,
                execution_arn: arn,
                map_run_arn: run.arn.clone(),
                index,
                status,
                history: history.events(),
            });
        result
    }

    /// The context of the Map state `name`'s own S3 calls (ItemReader, ResultWriter).
    fn s3_task(&self, name: &str) -> TaskContext {
        TaskContext {
            execution_name: self.spec.name.clone(),
            state_name: name.to_string(),
            retry_count: 0,
            call_number: 0,
        }
    }

    /// An S3 call of the ItemReader; its failure is the Map Run's `States.ItemReaderFailed`
    /// (the S3 error named in the cause, as the service does).
    async fn reader_call(
        &self,
        resource: &str,
        parameters: Value,
        task: &TaskContext,
    ) -> Result<Value, Failure> {
        self.call(resource, parameters, task)
            .await
            .map_err(|f| reader_error(format!("{}: {}", f.error, f.cause)))
    }

    /// `Transformation: LOAD_AND_FLATTEN`: every listed object read (by `InputType`) and
    /// their items one after another.
    async fn flattened(
        &self,
        listing: &Value,
        objects: &[Value],
        config: &Value,
        task: &TaskContext,
    ) -> Result<Vec<Value>, Failure> {
        let mut items = Vec::new();
        for o in objects {
            let key = o["Key"].as_str().unwrap_or_default();
            let get = json!({"Bucket": listing["Bucket"], "Key": key});
            let object = self.reader_call(GET_OBJECT, get, task).await?;
            items.extend(parse_object(&object_text(&object, key)?, config)?);
        }
        Ok(items)
    }

    /// An S3 inventory (`InputType: MANIFEST`, or `ManifestType: S3_INVENTORY`): the
    /// manifest's CSV files (gzipped or not) in the destination bucket, each row an
    /// object of strings keyed by the manifest's `fileSchema`.
    async fn inventory(&self, parameters: &Value, task: &TaskContext) -> Result<Vec<Value>, Failure> {
        let object = self.reader_call(GET_OBJECT, parameters.clone(), task).await?;
        let manifest: Value = serde_json::from_str(&object_text(&object, "")?)
            .map_err(|e| reader_error(format!("the inventory manifest is not JSON: {e}")))?;
        if manifest["fileFormat"] != "CSV" {
            return Err(reader_error(format!(
                "the inventory's fileFormat is {}; only CSV inventories can be read",
                manifest["fileFormat"]
            )));
        }
        let headers: Vec<Value> = manifest["fileSchema"]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .map(|h| json!(h.trim()))
            .collect();
        let bucket = manifest["destinationBucket"]
            .as_str()
            .map(|b| b.trim_start_matches("arn:aws:s3:::").to_string())
            .unwrap_or_else(|| parameters["Bucket"].as_str().unwrap_or_default().to_string());
        let rows = json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": headers});
        let mut items = Vec::new();
        for file in manifest["files"].as_array().into_iter().flatten() {
            let key = file["key"].as_str().unwrap_or_default();
            let object = self
                .reader_call(GET_OBJECT, json!({"Bucket": bucket, "Key": key}), task)
                .await?;
            items.extend(parse_csv(&object_text(&object, key)?, &rows)?);
        }
        Ok(items)
    }

    /// The child executions so far: Map Run by Map Run (in the order they started
    /// finishing), each in item order.
    pub(super) fn children(&self) -> Vec<ChildExecution> {
        let mut children = self
            .children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut runs: Vec<String> = Vec::new();
        for c in &children {
            if !runs.contains(&c.map_run_arn) {
                runs.push(c.map_run_arn.clone());
            }
        }
        children.sort_by_key(|c| (runs.iter().position(|r| *r == c.map_run_arn), c.index));
        children
    }

    /// Writes the results as AWS's ResultWriter does and answers what the Map outputs
    /// then: the Map Run's ARN and where the manifest is.
    pub(super) async fn write_results(
        &self,
        run: &MapRun,
        writer: &Value,
        results: &[(Value, Result<Value, Failure>)],
    ) -> Result<Value, Failure> {
        let bucket = writer["Parameters"]["Bucket"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let prefix = writer["Parameters"]["Prefix"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let base = if prefix.is_empty() {
            run.id.clone()
        } else {
            format!("{prefix}/{}", run.id)
        };
        let map_run = &run.arn;
        let entry = |(input, result): &(Value, Result<Value, Failure>), status: &str| {
            let mut e = json!({"Input": input.to_string(), "Status": status, "StateMachineArn": map_run});
            match result {
                Ok(out) => e["Output"] = json!(out.to_string()),
                Err(f) => {
                    e["Error"] = json!(f.error);
                    e["Cause"] = json!(f.cause);
                }
            }
            e
        };
        let succeeded: Vec<Value> = results
            .iter()
            .filter(|r| r.1.is_ok())
            .map(|r| entry(r, "SUCCEEDED"))
            .collect();
        let failed: Vec<Value> = results
            .iter()
            .filter(|r| r.1.is_err())
            .map(|r| entry(r, "FAILED"))
            .collect();
        let mut files = vec![("SUCCEEDED_0.json", Value::Array(succeeded))];
        if !failed.is_empty() {
            files.push(("FAILED_0.json", Value::Array(failed)));
        }
        let manifest = json!({
            "DestinationBucket": bucket,
            "MapRunArn": map_run,
            "ResultFiles": files.iter().map(|(f, v)| json!({"Key": format!("{base}/{f}"), "Size": v.to_string().len()})).collect::<Vec<_>>(),
        });
        files.push(("manifest.json", manifest));
        let task = self.s3_task(&run.state);
        for (file, body) in files {
            let put = json!({"Bucket": bucket, "Key": format!("{base}/{file}"), "Body": body.to_string()});
            self.call(PUT_OBJECT, put, &task).await?;
        }
        Ok(
            json!({"MapRunArn": map_run, "ResultWriterDetails": {"Bucket": bucket, "Key": format!("{base}/manifest.json")}}),
        )
    }
}

/// Whether the reader reads an S3 inventory's manifest.
fn is_manifest(config: &Value) -> bool {
    config["InputType"] == "MANIFEST" || config["ManifestType"] == "S3_INVENTORY"
}

/// An object's text: its `Body`, or for a gzipped object (`.gz`, or gzip's magic bytes)
/// the unzipped bytes of `BodyBase64` (what the local S3 adds for a body that is not text).
fn object_text(object: &Value, key: &str) -> Result<String, Failure> {
    use base64::Engine as _;
    use std::io::Read as _;
    let Some(encoded) = object["BodyBase64"].as_str() else {
        return Ok(object["Body"].as_str().unwrap_or_default().to_string());
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| reader_error(format!("{key}: the body is not base64: {e}")))?;
    let gzipped = key.ends_with(".gz") || bytes.starts_with(&[0x1f, 0x8b]);
    if !gzipped {
        return String::from_utf8(bytes).map_err(|_| reader_error(format!("{key} is not UTF-8 text")));
    }
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(MAX_INVENTORY_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| reader_error(format!("{key} is not gzipped UTF-8 text: {e}")))?;
    Ok(text)
}

/// The most one gzipped object may unzip to here (a bound against a zip bomb).
const MAX_INVENTORY_BYTES: u64 = 256 << 20;

/// An object's items by `ReaderConfig.InputType`: JSON (an array), JSONL, CSV.
fn parse_object(body: &str, config: &Value) -> Result<Vec<Value>, Failure> {
    match config["InputType"].as_str().unwrap_or("JSON") {
        "JSON" => match serde_json::from_str(body) {
            Ok(Value::Array(items)) => Ok(items),
            // The service's words (recorded, localstack test_map_item_reader_json_no_json_list_object).
            Ok(_) => Err(reader_error("Attempting to map over non-iterable node.")),
            Err(e) => Err(reader_error(format!("the object is not JSON: {e}"))),
        },
        "JSONL" => body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| reader_error(format!("line {}: {e}", i + 1))))
            .collect(),
        "CSV" => parse_csv(body, config),
        other => Err(reader_error(format!(
            "ReaderConfig.InputType {other:?} is not JSON, JSONL, CSV or MANIFEST (PARQUET is not read here)"
        ))),
    }
}

/// CSV rows as objects of strings, keyed by the first row (`CSVHeaderLocation`
/// `FIRST_ROW`, the default) or by `CSVHeaders` (`GIVEN`). Fields are read as RFC 4180
/// has them (quoted, with the delimiter or line breaks inside quotes); blank lines are
/// skipped; a short row's missing fields are empty strings.
fn parse_csv(body: &str, config: &Value) -> Result<Vec<Value>, Failure> {
    let delimiter = match config["CSVDelimiter"].as_str().unwrap_or("COMMA") {
        "SEMICOLON" => b';',
        "TAB" => b'\t',
        "SPACE" => b' ',
        "PIPE" => b'|',
        _ => b',',
    };
    let mut rows = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes())
        .into_records()
        .filter(|r| !r.as_ref().is_ok_and(|r| r.iter().all(str::is_empty)));
    let mut next_row = || -> Result<Option<Vec<String>>, Failure> {
        rows.next()
            .transpose()
            .map(|r| r.map(|r| r.iter().map(String::from).collect()))
            .map_err(|e| reader_error(format!("the CSV object is not CSV: {e}")))
    };
    let headers: Vec<String> = match config["CSVHeaderLocation"].as_str().unwrap_or("FIRST_ROW") {
        "GIVEN" => config["CSVHeaders"]
            .as_array()
            .map(|h| h.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .ok_or_else(|| reader_error("CSVHeaderLocation GIVEN needs CSVHeaders"))?,
        _ => next_row()?
            .map(|h| h.iter().map(|f| f.trim().to_string()).collect())
            .ok_or_else(|| reader_error("the CSV object has no header row"))?,
    };
    let distinct: std::collections::BTreeSet<&String> = headers.iter().collect();
    if distinct.len() < headers.len() {
        // The service's words (recorded, localstack test_map_item_reader_csv_headers_decl_duplicate_headers).
        return Err(reader_error("CSV headers cannot contain duplicates."));
    }
    let mut items = Vec::new();
    while let Some(fields) = next_row()? {
        if fields.len() > headers.len() {
            return Err(reader_error(format!(
                "CSV row {} has more fields than headers",
                items.len() + 1
            )));
        }
        let row: Map<String, Value> = headers
            .iter()
            .zip(fields.into_iter().chain(std::iter::repeat(String::new())))
            .map(|(h, f)| (h.clone(), Value::String(f)))
            .collect();
        items.push(Value::Object(row));
    }
    Ok(items)
}

/// A batcher limit: the number, or what its `…Path` selects on the state's input (a
/// positive integer, else `States.Runtime`); `None` when neither is given.
fn batch_limit(
    batcher: &Value,
    field: &str,
    (effective, ctx): (&Value, &Value),
) -> Result<Option<usize>, Failure> {
    if let Some(n) = batcher.get(field).and_then(Value::as_u64) {
        return Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)));
    }
    let Some(path) = batcher.get(format!("{field}Path")).and_then(Value::as_str) else {
        return Ok(None);
    };
    let value = paths::read(path, effective, ctx)?;
    match value.as_u64().filter(|n| *n > 0) {
        Some(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        None => Err(Failure::runtime(format!(
            "The {field}Path field refers to value {value} which is not a valid positive integer: {path}"
        ))),
    }
}

/// `ItemBatcher`: the items in order, in batches `{"Items": [...]}` with `BatchInput`
/// beside them, each of at most `MaxItemsPerBatch` items and at most
/// `MaxInputBytesPerBatch` bytes as JSON (never over the 256 KiB payload quota); an item
/// too big for the byte limit on its own goes alone (its child's input is then checked
/// against the quota like any state's).
pub(super) fn batches(
    batcher: &Value,
    items: Vec<Value>,
    data: (&Value, &Value),
) -> Result<Vec<Value>, Failure> {
    let max_items = batch_limit(batcher, "MaxItemsPerBatch", data)?
        .unwrap_or(usize::MAX)
        .max(1);
    let max_bytes = batch_limit(batcher, "MaxInputBytesPerBatch", data)?
        .map_or(MAX_PAYLOAD_BYTES, |b| b.min(MAX_PAYLOAD_BYTES));
    let extra = batcher.get("BatchInput");
    let batch = |items: Vec<Value>| {
        let mut batch = json!({"Items": items});
        if let Some(extra) = extra {
            batch["BatchInput"] = extra.clone();
        }
        batch
    };
    // `{"Items":[a,b],"BatchInput":…}` as JSON is the empty batch plus each item and a comma between.
    let empty = batch(Vec::new()).to_string().len();
    let mut out = Vec::new();
    let (mut current, mut bytes) = (Vec::new(), empty);
    for item in items {
        let len = item.to_string().len();
        let full = current.len() == max_items || bytes + 1 + len > max_bytes;
        if !current.is_empty() && full {
            out.push(batch(std::mem::take(&mut current)));
            bytes = empty;
        }
        bytes += len + usize::from(!current.is_empty());
        current.push(item);
    }
    if !current.is_empty() {
        out.push(batch(current));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse_by_input_type() {
        let csv = parse_object("id,qty\na,1\nb,2\n", &json!({"InputType": "CSV"})).unwrap();
        assert_eq!(
            csv,
            vec![json!({"id": "a", "qty": "1"}), json!({"id": "b", "qty": "2"})]
        );
        let given = json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x"]});
        assert_eq!(
            parse_object("1\n2", &given).unwrap(),
            vec![json!({"x": "1"}), json!({"x": "2"})]
        );
        let jsonl = parse_object("{\"a\":1}\n\n{\"a\":2}\n", &json!({"InputType": "JSONL"})).unwrap();
        assert_eq!(jsonl.len(), 2);
        let quoted = parse_object(
            "name,note\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\"\n",
            &json!({"InputType": "CSV"}),
        )
        .unwrap();
        assert_eq!(
            quoted,
            vec![json!({"name": "Smith, J", "note": "said \"hi\"\nthen left"})]
        );
        assert_eq!(
            parse_object("{\"a\":1}", &json!({})).unwrap_err().cause,
            "Attempting to map over non-iterable node."
        );
        let twice = json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x", "x"]});
        assert_eq!(
            parse_object("1,2", &twice).unwrap_err().cause,
            "CSV headers cannot contain duplicates."
        );
        let none = (&json!({}), &json!({}));
        assert_eq!(
            batches(
                &json!({"MaxItemsPerBatch": 2, "BatchInput": {"k": 1}}),
                vec![json!(1), json!(2), json!(3)],
                none
            )
            .unwrap(),
            vec![
                json!({"Items": [1, 2], "BatchInput": {"k": 1}}),
                json!({"Items": [3], "BatchInput": {"k": 1}})
            ]
        );
    }

    #[test]
    fn batches_stay_within_their_bytes() {
        let none = (&json!({}), &json!({}));
        let items = || vec![json!("aaaa"), json!("bbbb"), json!("cccc")];
        // {"Items":["aaaa","bbbb"]} is 25 bytes; a third item makes 32.
        let by_bytes = batches(&json!({"MaxInputBytesPerBatch": 25}), items(), none).unwrap();
        assert_eq!(
            by_bytes,
            vec![json!({"Items": ["aaaa", "bbbb"]}), json!({"Items": ["cccc"]})]
        );
        assert!(by_bytes.iter().all(|b| b.to_string().len() <= 25));
        let tight = batches(&json!({"MaxInputBytesPerBatch": 24}), items(), none).unwrap();
        assert_eq!(tight.len(), 3);
        // One item bigger than the limit still goes, alone.
        let big = batches(&json!({"MaxInputBytesPerBatch": 5}), items(), none).unwrap();
        assert_eq!(big.len(), 3);
        let input = json!({"size": 2, "bad": "two"});
        let by_path = batches(
            &json!({"MaxItemsPerBatchPath": "$.size"}),
            items(),
            (&input, &json!({})),
        );
        assert_eq!(by_path.unwrap().len(), 2);
        let bad = batches(
            &json!({"MaxItemsPerBatchPath": "$.bad"}),
            items(),
            (&input, &json!({})),
        );
        assert_eq!(bad.unwrap_err().error, "States.Runtime");
    }
}
