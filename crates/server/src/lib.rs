//! The `aidgraph` service: configuration, start-up (migrate, then serve), and the command-line
//! tools (tokens, schema, demo data). The binary in `main.rs` is a thin shell over this.

/// The allocator of every binary built on this crate (the service, its tools and benchmarks).
/// Scoring and writing flags allocate and free small buffers by the million across threads;
/// glibc's allocator spent about an eighth of a full recomputation's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod bench_data;
pub mod config;
pub mod demo;
pub mod metrics;
pub mod telemetry;
pub mod token;
