//! The `aidgraph` service: configuration, start-up (migrate, then serve), and the command-line
//! tools (tokens, schema, demo data). The binary in `main.rs` is a thin shell over this.

pub mod app;
pub mod bench_data;
pub mod config;
pub mod demo;
pub mod telemetry;
pub mod token;
