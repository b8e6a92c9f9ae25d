//! What the overlap rule reads of an activity, extracted once from its stored data.

use super::text::term_counts;
use crate::activity::{ActivityData, Window};
use crate::organisation::is_placeholder_ref;
use crate::vocab::{ActivityStatus, AssistanceType, InstitutionType, OrgRole, PriorityArea};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// An activity as the overlap rule sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlapFeatures {
    /// Row id (0 for a planned activity in a dry run).
    pub id: i64,
    /// IATI identifier.
    pub identifier: String,
    /// Reporting organisation reference.
    pub reporting_org: String,
    /// Status; CANCELLED activities are never candidates.
    pub status: ActivityStatus,
    /// Recipient countries.
    pub countries: BTreeSet<String>,
    /// Effective window.
    pub window: Option<Window>,
    /// Provisions, canonical form.
    pub provisions: BTreeSet<String>,
    /// Priority areas.
    pub priority_areas: BTreeSet<PriorityArea>,
    /// DAC 5-digit sectors with their shares as fractions (equal shares when none given).
    pub sectors: BTreeMap<String, f64>,
    /// Needs addressed: id → title.
    pub needs: BTreeMap<i64, String>,
    /// Assistance types.
    pub assistance_types: BTreeSet<AssistanceType>,
    /// Beneficiary institutions.
    pub beneficiaries: BTreeSet<InstitutionType>,
    /// Implementing organisations: reference → display name.
    pub implementers: BTreeMap<String, String>,
    /// External ids, including its own IATI identifier.
    pub external_ids: BTreeSet<String>,
    /// Activity identifiers named in its transactions' funding chain.
    pub chain_ids: BTreeSet<String>,
    /// Related activities of types 1–4 (parent, child, sibling, co-funded).
    pub coordination_links: BTreeSet<String>,
    /// Total budget in one currency (commitments when no budget is given).
    pub budget: Option<(Decimal, String)>,
    /// Title and description term counts.
    pub terms: Vec<(String, u32)>,
}

impl OverlapFeatures {
    /// Extracts the features of `data`; `needs` gives the titles of the needs it addresses
    /// and `org_names` display names for organisation references.
    pub fn of(
        id: i64,
        data: &ActivityData,
        needs: BTreeMap<i64, String>,
        org_names: &BTreeMap<String, String>,
    ) -> Self {
        let dac: Vec<_> = data
            .sectors
            .iter()
            .filter(|s| s.vocabulary == "1")
            .collect();
        let mut sectors = BTreeMap::new();
        let given = dac.iter().all(|s| s.percentage.is_some());
        for s in &dac {
            let share = match (given, s.percentage) {
                (true, Some(p)) => decimal_to_f64(p) / 100.0,
                _ => 1.0 / dac.len() as f64,
            };
            *sectors.entry(s.code.clone()).or_insert(0.0) += share;
        }
        // Placeholder references (`N/A`, `0`…) stored before they were refused never match.
        let real = |id: &&String| !is_placeholder_ref(id);
        let mut external_ids: BTreeSet<String> =
            data.external_ids.iter().filter(real).cloned().collect();
        external_ids.insert(data.iati_identifier.clone());
        let chain_ids = data
            .transactions
            .iter()
            .flat_map(|t| [&t.provider_activity_id, &t.receiver_activity_id])
            .flatten()
            .filter(|id| **id != data.iati_identifier)
            .filter(real)
            .cloned()
            .collect();
        let implementers = data
            .participating_orgs
            .iter()
            .filter(|p| p.role == OrgRole::Implementing && !is_placeholder_ref(&p.org_ref))
            .map(|p| {
                let name = org_names
                    .get(&p.org_ref)
                    .cloned()
                    .unwrap_or_else(|| p.org_ref.clone());
                (p.org_ref.clone(), name)
            })
            .collect();
        let coordination_links = data
            .related_activities
            .iter()
            .filter(|r| r.kind.iati_code() <= 4)
            .map(|r| r.iati_identifier.clone())
            .collect();
        let mut text = String::new();
        for n in data.titles.iter().chain(&data.descriptions) {
            text.push_str(&n.text);
            text.push('\n');
        }
        OverlapFeatures {
            id,
            identifier: data.iati_identifier.clone(),
            reporting_org: data.reporting_org.clone(),
            status: data.status,
            countries: data
                .recipient_countries
                .iter()
                .map(|c| c.code.clone())
                .collect(),
            window: data.window(),
            provisions: data.provisions.iter().map(ToString::to_string).collect(),
            priority_areas: data.priority_areas.iter().copied().collect(),
            sectors,
            needs,
            assistance_types: data.assistance_types.iter().copied().collect(),
            beneficiaries: data.beneficiary_institutions.iter().copied().collect(),
            implementers,
            external_ids,
            chain_ids,
            coordination_links,
            budget: budget_total(data),
            terms: term_counts(&text),
        }
    }
}

fn decimal_to_f64(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// The budget, or the sum of commitments (IATI transaction type 2) when all are in one
/// currency.
fn budget_total(data: &ActivityData) -> Option<(Decimal, String)> {
    if let Some(b) = &data.budget {
        return Some((b.amount, b.currency.clone()));
    }
    let commitments: Vec<_> = data.transactions.iter().filter(|t| t.kind == "2").collect();
    let currency = commitments.first()?.value.currency.clone();
    if commitments.iter().any(|t| t.value.currency != currency) {
        return None;
    }
    Some((commitments.iter().map(|t| t.value.amount).sum(), currency))
}

impl OverlapFeatures {
    /// A deterministic digest input of what the score reads (countries, dates, topic, needs,
    /// types, beneficiaries, implementers, identifiers and text), so a review decision sticks
    /// until one of these changes. Status and budget are left out: they decide whether a
    /// pair is compared or double-reported, not how much the two overlap.
    pub fn fingerprint(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = write!(
            s,
            "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.identifier,
            self.countries,
            self.window.map(|w| (w.start, w.end)),
            self.provisions,
            self.priority_areas,
            self.sectors,
            self.needs.keys().collect::<Vec<_>>(),
            self.assistance_types,
            self.beneficiaries,
            self.implementers.keys().collect::<Vec<_>>(),
            self.external_ids,
            self.chain_ids,
            self.coordination_links,
            self.terms,
        );
        s
    }
}
