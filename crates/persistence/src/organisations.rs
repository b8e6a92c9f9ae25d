//! Organisations: registering them and finding them by id or reference.

use crate::entities::organisation;
use crate::error::{OnUnique, StoreError};
use crate::page::{Cursor, Page, PageRequest};
use aidgraph_domain::organisation::{OrganisationData, OrganisationSubmission};
use aidgraph_domain::vocab::OrganisationKind;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, IntoColumnRef, LikeExpr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// A stored organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationRecord {
    /// Row id.
    pub id: i64,
    /// Its validated content.
    pub data: OrganisationData,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<organisation::Model> for OrganisationRecord {
    type Error = StoreError;
    fn try_from(m: organisation::Model) -> Result<Self, StoreError> {
        let kind: OrganisationKind = m
            .kind
            .parse()
            .map_err(|e: aidgraph_domain::UnknownValue| StoreError::Corrupt(e.to_string()))?;
        Ok(OrganisationRecord {
            id: m.id,
            data: OrganisationData::unchecked(OrganisationSubmission {
                org_ref: m.org_ref,
                name: m.name,
                kind,
                iati_type: m.iati_type,
                country: m.country,
            }),
            created_at: m.created_at,
        })
    }
}

/// Filters for listing organisations.
#[derive(Debug, Clone, Default)]
pub struct OrganisationFilter {
    /// Only this kind.
    pub kind: Option<OrganisationKind>,
    /// Only based in this country.
    pub country: Option<String>,
    /// Name or reference contains this text (case-insensitive).
    pub text: Option<String>,
}

/// Inserts an organisation row in the caller's transaction; a taken reference is a conflict.
pub async fn insert(
    conn: &impl ConnectionTrait,
    data: &OrganisationData,
) -> Result<OrganisationRecord, StoreError> {
    let now = Utc::now();
    let model = organisation::ActiveModel {
        org_ref: Set(data.org_ref.clone()),
        name: Set(data.name.clone()),
        kind: Set(data.kind.as_str().to_owned()),
        iati_type: Set(data.iati_type.clone()),
        country: Set(data.country.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
    .on_unique(|| format!("organisation `{}` is already registered", data.org_ref))?;
    model.try_into()
}

/// Finds an organisation by reference.
pub async fn by_ref(
    conn: &impl ConnectionTrait,
    org_ref: &str,
) -> Result<Option<OrganisationRecord>, StoreError> {
    organisation::Entity::find()
        .filter(organisation::Column::OrgRef.eq(org_ref))
        .one(conn)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Loads organisations by id, for loaders.
pub async fn by_ids(
    conn: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, OrganisationRecord>, StoreError> {
    let rows = organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|m| OrganisationRecord::try_from(m).map(|r| (r.id, r)))
        .collect()
}

/// Loads organisations by reference, for loaders.
pub async fn by_refs(
    conn: &impl ConnectionTrait,
    refs: &[String],
) -> Result<HashMap<String, OrganisationRecord>, StoreError> {
    let rows = organisation::Entity::find()
        .filter(organisation::Column::OrgRef.is_in(refs.iter().cloned()))
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|m| OrganisationRecord::try_from(m).map(|r| (r.data.org_ref.clone(), r)))
        .collect()
}

/// Lists organisations by reference order.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &OrganisationFilter,
    page: &PageRequest,
) -> Result<Page<OrganisationRecord>, StoreError> {
    let mut cond = Condition::all();
    if let Some(kind) = filter.kind {
        cond = cond.add(organisation::Column::Kind.eq(kind.as_str()));
    }
    if let Some(country) = &filter.country {
        cond = cond.add(organisation::Column::Country.eq(country.to_ascii_uppercase()));
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        cond = cond.add(
            Condition::any()
                .add(lower_like(organisation::Column::Name, &pattern))
                .add(lower_like(organisation::Column::OrgRef, &pattern)),
        );
    }
    let total = page
        .total(conn, organisation::Entity::find().filter(cond.clone()))
        .await?;
    let mut query = organisation::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        query = query.filter(organisation::Column::Id.gt(after.id));
    }
    let rows = query
        .order_by_asc(organisation::Column::Id)
        .limit(page.first + 1)
        .all(conn)
        .await?
        .into_iter()
        .map(OrganisationRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, total, |r| Cursor {
        key: String::new(),
        id: r.id,
    }))
}

/// `lower(column) LIKE pattern`, with `\` escaping.
pub fn lower_like(column: impl IntoColumnRef, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as escape character.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An organisation named in imported data.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// IATI organisation identifier.
    pub org_ref: String,
    /// Name as given; the reference stands in when empty.
    pub name: String,
    /// IATI OrganisationType code, when given.
    pub iati_type: Option<String>,
}

/// The registry's kind for an organisation known only from IATI data.
pub fn kind_from_iati(org_ref: &str, iati_type: Option<&str>) -> OrganisationKind {
    if org_ref == "XM-DAC-41128" {
        return OrganisationKind::Unodc;
    }
    if org_ref.starts_with("XM-DAC-41") {
        return OrganisationKind::OtherUn;
    }
    match iati_type {
        Some("10" | "11" | "15") => OrganisationKind::DonorState,
        Some("40") => OrganisationKind::OtherIgo,
        Some("30" | "70" | "71" | "72" | "73") => OrganisationKind::PrivateSector,
        Some("80") => OrganisationKind::Academic,
        _ => OrganisationKind::Ngo,
    }
}

/// Registers the organisations an import names that the registry does not know yet ("created
/// on first sight"), in the caller's transaction (an import's, with the activity that names
/// them); returns the organisations created, for the caller to audit.
pub async fn ensure_seen(
    conn: &impl ConnectionTrait,
    seen: &[Sighting],
) -> Result<Vec<OrganisationRecord>, StoreError> {
    let refs: Vec<String> = seen.iter().map(|s| s.org_ref.clone()).collect();
    let known = by_refs(conn, &refs).await?;
    let missing: Vec<&Sighting> = seen
        .iter()
        .filter(|s| !known.contains_key(&s.org_ref))
        .collect();
    let mut created = Vec::new();
    let mut done = std::collections::HashSet::new();
    for s in missing {
        if !done.insert(s.org_ref.as_str()) || by_ref(conn, &s.org_ref).await?.is_some() {
            continue;
        }
        let iati_type = s
            .iati_type
            .clone()
            .filter(|t| aidgraph_domain::codes::ORGANISATION_TYPE.get(t).is_some());
        let name: String = if s.name.trim().is_empty() {
            s.org_ref.clone()
        } else {
            s.name
                .trim()
                .chars()
                .take(aidgraph_domain::organisation::MAX_NAME_LEN)
                .collect()
        };
        let data = OrganisationData::unchecked(OrganisationSubmission {
            org_ref: s.org_ref.clone(),
            name,
            kind: kind_from_iati(&s.org_ref, iati_type.as_deref()),
            iati_type,
            country: None,
        });
        created.push(insert(conn, &data).await?);
    }
    Ok(created)
}
