//! What resolvers take from the request context: the caller, the registry and its store, and
//! the loaders.

use crate::error::{ApiError, ApiResult};
use crate::loaders::Loaders;
use aidgraph_domain::access::Principal;
use aidgraph_persistence::Store;
use aidgraph_registry::Registry;
use async_graphql::Context;

/// The authenticated caller; every request carries one (the HTTP layer refuses others).
pub fn principal<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    ctx.data_opt::<Principal>()
        .ok_or_else(|| ApiError::Unauthenticated("a bearer token is required".into()))
}

/// The database.
pub fn store<'a>(ctx: &Context<'a>) -> ApiResult<&'a Store> {
    ctx.data_opt::<Store>().ok_or_else(|| {
        tracing::error!("the schema was built without a store");
        ApiError::Internal
    })
}

/// The registry commands run against: the store, the overlap engine and the event bus.
pub fn registry<'a>(ctx: &Context<'a>) -> ApiResult<&'a Registry> {
    ctx.data_opt::<Registry>().ok_or_else(|| {
        tracing::error!("the schema was built without a registry");
        ApiError::Internal
    })
}

/// This request's loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> ApiResult<&'a Loaders> {
    ctx.data_opt::<Loaders>().ok_or_else(|| {
        tracing::error!("the request carries no loaders");
        ApiError::Internal
    })
}
