//! The checked-in `schema.graphql` must be what the code prints. Run with `UPDATE_SCHEMA=1` to
//! rewrite it after changing the schema.

use std::path::PathBuf;

#[test]
fn checked_in_schema_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema.graphql");
    let sdl = aidgraph_api::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == sdl,
        "schema.graphql is out of date; run `UPDATE_SCHEMA=1 cargo test -p aidgraph-api --test schema_sdl`"
    );
}
