//! One module per subcommand.

pub mod compare;
pub mod demo;
pub mod history;
pub mod invoke;
pub mod local_state;
pub mod run;
pub mod status;
pub mod validate;
