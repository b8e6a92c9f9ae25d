//! Keeping flags current in the transaction that changes an activity, and review
//! decisions.

use super::*;

/// The digest a review decision is kept against: the fingerprints of the pair's lower and
/// higher id (see [`OverlapFeatures::fingerprint`]).
pub fn input_hash_of(first: &str, second: &str) -> String {
    input_hash_after(input_hash_start(first), second)
}

/// [`input_hash_of`] begun with the first fingerprint, to be finished with
/// [`input_hash_after`]: an activity in many flags is hashed once as the first of the pair.
pub fn input_hash_start(first: &str) -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update(first.as_bytes());
    hasher.update(b"\x1f");
    hasher
}

/// Finishes an input hash begun with [`input_hash_start`].
pub fn input_hash_after(mut started: Sha256, second: &str) -> String {
    started.update(second.as_bytes());
    hex::encode(started.finalize())
}

/// The components of a score as a flag stores them (see [`StoredComponent`]).
pub fn components_json(score: &PairScore) -> String {
    let parts: Vec<(&str, f64, f64, &str)> = score
        .components
        .iter()
        .map(|c| {
            (
                c.key,
                (c.value * 1e6).round() / 1e6,
                c.weight,
                c.reason.as_str(),
            )
        })
        .collect();
    serde_json::to_string(&parts).unwrap_or_default()
}

/// The flags activity `id` is in.
pub async fn flags_touching(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<overlap_flag::Model>, StoreError> {
    Ok(overlap_flag::Entity::find()
        .filter(
            Condition::any()
                .add(overlap_flag::Column::ActivityAId.eq(id))
                .add(overlap_flag::Column::ActivityBId.eq(id)),
        )
        .all(conn)
        .await?)
}

/// Deletes a flag with its countries and the coordination edge a review of it made.
pub async fn delete_flag(
    conn: &impl ConnectionTrait,
    flag: &overlap_flag::Model,
) -> Result<(), StoreError> {
    coordination_edge::Entity::delete_many()
        .filter(coordination_edge::Column::Source.eq(EdgeSource::Review(flag.id).to_string()))
        .exec(conn)
        .await?;
    overlap_flag_country::Entity::delete_many()
        .filter(overlap_flag_country::Column::FlagId.eq(flag.id))
        .exec(conn)
        .await?;
    overlap_flag::Entity::delete_by_id(flag.id)
        .exec(conn)
        .await?;
    Ok(())
}
