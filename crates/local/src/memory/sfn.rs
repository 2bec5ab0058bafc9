//! Step Functions: `StartExecution` with its idempotency rule (same name and input → the
//! same execution), and the queue of started executions the workflow runner takes.

use super::*;

impl MemoryBackend {
    /// Executions started since the last call: (name, ARN, input), in start order.
    pub fn take_started_executions(&self) -> Vec<(String, String, String)> {
        self.with(|s| {
            let new: Vec<String> = s.world.started[s.world.taken..].to_vec();
            s.world.taken = s.world.started.len();
            new.into_iter()
                .map(|n| {
                    let (arn, input) = s.world.executions[&n].clone();
                    (n, arn, input)
                })
                .collect()
        })
    }

    /// Records how an execution ended (DescribeExecution's status).
    pub fn finish_execution(&self, arn: &str, status: weighbridge_asl::interpreter::Status) {
        let status = status.service_name();
        self.with(|s| s.world.finished.insert(arn.to_string(), status.to_string()));
    }

    /// Executions started: name → (ARN, input).
    pub fn executions(&self) -> BTreeMap<String, (String, String)> {
        self.with(|s| s.world.executions.clone())
    }
}

#[async_trait]
impl Workflows for MemoryBackend {
    async fn start_execution(&self, state_machine_arn: &str, name: &str, input: &str) -> PortResult<String> {
        self.call("StartExecution")?;
        self.with(|s| {
            let arn = execution_arn(state_machine_arn, name);
            match s.world.executions.get(name) {
                Some((a, i)) if i == input => Ok(a.clone()),
                Some(_) => Err(PortError::AlreadyExists(format!(
                    "Execution Already Exists: '{arn}'"
                ))),
                None => {
                    s.world
                        .executions
                        .insert(name.into(), (arn.clone(), input.into()));
                    s.world.started.push(name.into());
                    Ok(arn)
                }
            }
        })
    }

    async fn execution_status(&self, execution_arn: &str) -> PortResult<Option<String>> {
        self.call("DescribeExecution")?;
        self.with(|s| {
            Ok(s.world
                .executions
                .values()
                .any(|(a, _)| a == execution_arn)
                .then(|| {
                    s.world
                        .finished
                        .get(execution_arn)
                        .cloned()
                        .unwrap_or_else(|| "RUNNING".to_string())
                }))
        })
    }
}
