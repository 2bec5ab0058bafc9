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

/// A Distributed Map's Map Run: its id, its ARN and the ARN its child executions run
/// under (`stateMachine:<machine>/<label>`).
#[derive(Debug, Clone)]
pub(super) struct MapRun {
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
        let task = TaskContext {
            execution_name: self.spec.name.clone(),
            state_name: name.to_string(),
            retry_count: 0,
            call_number: 0,
        };
        let resource = reader["Resource"].as_str().unwrap_or_default();
        let mut items = match resource {
            LIST_OBJECTS => {
                let listed = self.call(LIST_OBJECTS, parameters, &task).await?;
                listed["Contents"].as_array().cloned().unwrap_or_default()
            }
            GET_OBJECT => {
                let object = self.call(GET_OBJECT, parameters, &task).await?;
                let body = object["Body"].as_str().unwrap_or_default();
                parse_object(body, &config)?
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
        let task = TaskContext {
            execution_name: self.spec.name.clone(),
            state_name: run
                .state_machine_arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string(),
            retry_count: 0,
            call_number: 0,
        };
        for (file, body) in files {
            let put = json!({"Bucket": bucket, "Key": format!("{base}/{file}"), "Body": body.to_string()});
            self.call(PUT_OBJECT, put, &task).await?;
        }
        Ok(
            json!({"MapRunArn": map_run, "ResultWriterDetails": {"Bucket": bucket, "Key": format!("{base}/manifest.json")}}),
        )
    }
}

/// An object's items by `ReaderConfig.InputType`: JSON (an array), JSONL, CSV.
fn parse_object(body: &str, config: &Value) -> Result<Vec<Value>, Failure> {
    match config["InputType"].as_str().unwrap_or("JSON") {
        "JSON" => match serde_json::from_str(body) {
            Ok(Value::Array(items)) => Ok(items),
            Ok(_) => Err(reader_error("the JSON object must hold an array of items")),
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
            "ReaderConfig.InputType {other:?} is not JSON, JSONL or CSV"
        ))),
    }
}

/// CSV rows as objects of strings, keyed by the first row (`CSVHeaderLocation`
/// `FIRST_ROW`, the default) or by `CSVHeaders` (`GIVEN`).
fn parse_csv(body: &str, config: &Value) -> Result<Vec<Value>, Failure> {
    let delimiter = match config["CSVDelimiter"].as_str().unwrap_or("COMMA") {
        "SEMICOLON" => ';',
        "TAB" => '\t',
        "SPACE" => ' ',
        "PIPE" => '|',
        _ => ',',
    };
    let mut lines = body.lines().filter(|l| !l.is_empty());
    let headers: Vec<String> = match config["CSVHeaderLocation"].as_str().unwrap_or("FIRST_ROW") {
        "GIVEN" => config["CSVHeaders"]
            .as_array()
            .map(|h| h.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .ok_or_else(|| reader_error("CSVHeaderLocation GIVEN needs CSVHeaders"))?,
        _ => lines
            .next()
            .map(|h| h.split(delimiter).map(|f| f.trim().to_string()).collect())
            .ok_or_else(|| reader_error("the CSV object has no header row"))?,
    };
    lines
        .enumerate()
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(delimiter).collect();
            if fields.len() > headers.len() {
                return Err(reader_error(format!(
                    "CSV row {} has more fields than headers",
                    i + 1
                )));
            }
            let row: Map<String, Value> = headers
                .iter()
                .zip(fields.iter().chain(std::iter::repeat(&"")))
                .map(|(h, f)| (h.clone(), Value::String((*f).to_string())))
                .collect();
            Ok(Value::Object(row))
        })
        .collect()
}

/// `ItemBatcher`: the items in batches of `MaxItemsPerBatch`, each `{"Items": [...]}`
/// with `BatchInput` beside them.
pub(super) fn batches(batcher: &Value, items: Vec<Value>) -> Vec<Value> {
    let size = batcher["MaxItemsPerBatch"]
        .as_u64()
        .map_or(items.len().max(1), |n| n.max(1) as usize);
    items
        .chunks(size)
        .map(|chunk| {
            let mut batch = json!({"Items": chunk});
            if let Some(extra) = batcher.get("BatchInput") {
                batch["BatchInput"] = extra.clone();
            }
            batch
        })
        .collect()
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
        assert!(parse_object("{\"a\":1}", &json!({}))
            .unwrap_err()
            .cause
            .contains("array"));
        assert_eq!(
            batches(
                &json!({"MaxItemsPerBatch": 2, "BatchInput": {"k": 1}}),
                vec![json!(1), json!(2), json!(3)]
            ),
            vec![
                json!({"Items": [1, 2], "BatchInput": {"k": 1}}),
                json!({"Items": [3], "BatchInput": {"k": 1}})
            ]
        );
    }
}
