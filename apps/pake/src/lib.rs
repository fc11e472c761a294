//! The PAKE server as a library: configuration, telemetry and the composition root, so the binary
//! and the integration tests build the very same application.

pub mod config;
pub mod startup;
pub mod telemetry;
