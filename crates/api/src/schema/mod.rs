//! The GraphQL schema: types, inputs, the query and mutation roots, and [`build_schema`].

pub mod activity;
pub mod analytics;
pub mod connection;
pub mod context;
pub mod enums;
pub mod guard;
pub mod inputs;
pub mod mutation;
pub mod need;
pub mod organisation;
pub mod overlap;
pub mod query;
pub mod records;
pub mod scalars;
pub mod subscription;

use aidgraph_registry::Registry;
use async_graphql::Schema;

/// The aidgraph schema.
pub type AppSchema =
    Schema<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

/// Query limits, checked by [`guard::Guard`]; introspection counts too, and GraphiQL's needs
/// a depth of about 15.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest selection allowed.
    pub max_depth: usize,
    /// Largest complexity allowed; list fields count `first` times their children.
    pub max_complexity: usize,
    /// Most recursion while parsing.
    pub max_recursive_depth: usize,
    /// Most fields one operation selects, fragments expanded.
    pub max_fields: usize,
    /// Most aliases in one operation.
    pub max_aliases: usize,
    /// Most fields at the root of one operation.
    pub max_root_fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 16,
            max_complexity: 20_000,
            max_recursive_depth: 32,
            max_fields: 1_000,
            max_aliases: 50,
            max_root_fields: 20,
        }
    }
}

/// Builds the schema over `registry`. Without one it can still print its SDL.
pub fn build_schema(registry: Option<Registry>, limits: Limits) -> AppSchema {
    let mut builder = Schema::build(
        query::QueryRoot::default(),
        mutation::MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    .extension(guard::Guard(limits))
    .limit_recursive_depth(limits.max_recursive_depth);
    if let Some(registry) = registry {
        builder = builder.data(registry.store().clone()).data(registry);
    }
    builder.finish()
}

/// The schema's SDL, as checked in to `schema.graphql`.
pub fn sdl() -> String {
    sdl_of(&build_schema(None, Limits::default()))
}

/// A schema's SDL with fields, arguments and enum values in alphabetical order, as schema
/// linters and readers of a long contract expect.
pub fn sdl_of(schema: &AppSchema) -> String {
    schema.sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
