//! aidgraph's API: the async-graphql schema, token authentication, per-request loaders, and
//! the axum router that serves them over HTTP and WebSocket.

pub mod auth;
pub mod coverage_memo;
pub mod desk;
pub mod error;
pub mod graphiql;
pub mod iati;
pub mod ids;
pub mod loaders;
pub mod response_cache;
pub mod router;
pub mod schema;
pub mod ws;

pub use router::{AppState, router};
pub use schema::{AppSchema, Limits, build_schema, sdl};
