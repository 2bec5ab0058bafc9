//! The embedded backend: Weighbridge's ports without AWS. For now an in-memory backend
//! (`memory`) that behaves like the services where the tasks depend on it — status
//! transitions, validation errors, conditional puts, idempotent executions — with
//! injectable faults. A later issue grows it into the on-disk SageMaker emulator.

pub mod memory;
pub mod training;

pub use memory::{Fault, MemoryBackend, ResponseStyle};
