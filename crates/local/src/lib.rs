//! The embedded backend: Weighbridge's ports without AWS. [`memory`] behaves like the
//! services where the tasks depend on it — status transitions on a virtual clock,
//! validation errors, conditional puts, idempotent executions, weighted routing — with
//! injectable faults; [`training`] really trains what it hosts; [`functions`] runs the
//! task functions in process and [`workflows`] runs the project's state machines over
//! all of it.
#![warn(missing_docs)]

pub mod artifact;
pub mod demo;
pub mod functions;
pub mod memory;
pub mod mocks;
pub mod records;
pub mod replay;
pub mod store;
pub mod traffic;
pub mod training;
pub mod workflows;
pub mod xgboost_export;

pub use memory::{Fault, MemoryBackend, ResponseStyle, Timing, TransformJob, WaitError};
