//! Where a state runs: the Map item it belongs to (if any) and the workflow variables in
//! scope. A Parallel branch or a Map iteration gets a child frame: it reads the outer
//! variables, and what it assigns stays inside it (AWS's variable scoping). A frame also
//! knows its path (`/Fan@1.0#1`: which state, visit and attempt, which branch or item),
//! the key of the calls made in it (see `journal`).

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::history::History;

/// The frame of one scope: the top level, a branch or an iteration.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    item: Option<(usize, Value)>,
    variables: Arc<Mutex<Map<String, Value>>>,
    nested: bool,
    path: String,
    /// The history of the Distributed Map child execution this frame runs in (the
    /// execution's own history when `None`).
    history: Option<Arc<History>>,
}

impl Frame {
    /// The top-level frame with these variables already set (TestState's `variables`).
    pub fn with_variables(variables: Map<String, Value>) -> Frame {
        Frame {
            item: None,
            variables: Arc::new(Mutex::new(variables)),
            nested: false,
            path: String::new(),
            history: None,
        }
    }

    /// This frame, at the work of one attempt of a Task, Parallel or Map state
    /// (`id`: `/Fan@1.0`): the same variables, the calls and children keyed under it.
    pub fn working(&self, id: String) -> Frame {
        Frame {
            path: id,
            ..self.clone()
        }
    }

    /// Where this frame is: the key of a call made at work here.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The frame of a branch (`label` `#1`) or an iteration (`[3]`): the variables as
    /// they are now, copied.
    pub fn child(&self, label: &str, item: Option<(usize, Value)>) -> Frame {
        Frame {
            item,
            variables: Arc::new(Mutex::new(self.variables())),
            nested: true,
            path: format!("{}{label}", self.path),
            history: self.history.clone(),
        }
    }

    /// Whether this is a branch's or an iteration's frame (TestState inspects only the
    /// tested state itself, not the states inside it).
    pub fn is_nested(&self) -> bool {
        self.nested
    }

    /// The frame of a Distributed Map's child execution: no variables (a child workflow
    /// does not see its parent's; pass what it needs through `ItemSelector`), and its
    /// events go to its own `history`.
    pub fn isolated(&self, label: &str, item: Option<(usize, Value)>, history: Arc<History>) -> Frame {
        Frame {
            item,
            variables: Arc::default(),
            nested: true,
            path: format!("{}{label}", self.path),
            history: Some(history),
        }
    }

    /// The child execution's history this frame writes to, if it runs in one.
    pub fn history(&self) -> Option<&History> {
        self.history.as_deref()
    }

    /// The Map item (index and value) this frame runs, if any.
    pub fn item(&self) -> Option<(usize, &Value)> {
        self.item.as_ref().map(|(i, v)| (*i, v))
    }

    /// The variables in scope.
    pub fn variables(&self) -> Map<String, Value> {
        self.variables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sets variables (all of one state's `Assign` at once).
    pub fn assign(&self, values: Map<String, Value>) {
        self.variables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(values);
    }
}
