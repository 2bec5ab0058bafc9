//! The execution history, with the event names the Step Functions service uses
//! (`ExecutionStarted`, `TaskStateEntered`, `TaskScheduled`, `MapIterationStarted`, …),
//! like `GetExecutionHistory` and the Data Science SDK's `execution.list_events()`.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// 1-based, in the order the events happened.
    pub id: u64,
    /// When it happened (on the run's clock).
    pub timestamp: DateTime<Utc>,
    /// The service's event type name, e.g. `TaskStateEntered`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The state the event belongs to, when it belongs to one.
    pub state: Option<String>,
    /// Input, output, error and cause, resource, … as the event carries them.
    pub details: Value,
}

/// The history being written; shared by concurrent Map iterations and branches.
#[derive(Debug, Default)]
pub struct History {
    events: Mutex<Vec<HistoryEvent>>,
}

impl History {
    /// Appends an event with the next id.
    pub fn push(&self, timestamp: DateTime<Utc>, kind: &str, state: Option<&str>, details: Value) {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = events.len() as u64 + 1;
        events.push(HistoryEvent {
            id,
            timestamp,
            kind: kind.to_string(),
            state: state.map(String::from),
            details,
        });
    }

    /// How many events so far.
    pub fn len(&self) -> usize {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether there are none yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
