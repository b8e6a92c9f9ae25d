//! IATI 2.03 writer: activities out as an `iati-activities` document that validates against
//! the IATI activity schema. Elements come in the schema's order; where the schema requires
//! what the registry does not hold, the writer says the least it can (an empty description
//! narrative, the reporting organisation as accountable participant).

use crate::reader::Element;
use aidgraph_domain::activity::{ActivityData, Narrative, PeriodValue};
use aidgraph_domain::money::Money;
use quick_xml::escape::escape;
use std::collections::HashMap;
use std::io::{self, Write};

/// Organisation names and IATI types by reference, for `narrative` and `type` attributes.
pub type OrgLabels = HashMap<String, (String, Option<String>)>;

/// Writes the document header.
pub fn begin(out: &mut impl Write, generated: &str) -> io::Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<iati-activities version=\"2.03\" generated-datetime=\"{}\">",
        escape(generated)
    )
}

/// Writes the document footer.
pub fn end(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "</iati-activities>")
}

/// Whether an activity can be written: the schema needs at least one activity date.
pub fn exportable(data: &ActivityData) -> bool {
    data.planned_start.is_some()
        || data.actual_start.is_some()
        || data.planned_end.is_some()
        || data.actual_end.is_some()
}

fn narratives(out: &mut impl Write, indent: &str, list: &[Narrative]) -> io::Result<()> {
    for n in list {
        writeln!(
            out,
            "{indent}<narrative xml:lang=\"{}\">{}</narrative>",
            escape(n.lang.as_str()),
            escape(n.text.as_str())
        )?;
    }
    Ok(())
}

fn name_narrative(out: &mut impl Write, indent: &str, name: Option<&str>) -> io::Result<()> {
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        writeln!(out, "{indent}<narrative>{}</narrative>", escape(name))?;
    }
    Ok(())
}

fn value(
    out: &mut impl Write,
    indent: &str,
    money: &Money,
    date: chrono::NaiveDate,
) -> io::Result<()> {
    writeln!(
        out,
        "{indent}<value currency=\"{}\" value-date=\"{date}\">{}</value>",
        escape(money.currency.as_str()),
        money.amount.normalize()
    )
}

fn period(out: &mut impl Write, element: &str, p: &PeriodValue) -> io::Result<()> {
    let mut attrs = String::new();
    if let Some(kind) = &p.kind {
        attrs.push_str(&format!(" type=\"{}\"", escape(kind.as_str())));
    }
    if let Some(status) = &p.status.as_ref().filter(|_| element == "budget") {
        attrs.push_str(&format!(" status=\"{}\"", escape(status.as_str())));
    }
    writeln!(out, "  <{element}{attrs}>")?;
    writeln!(out, "   <period-start iso-date=\"{}\"/>", p.period_start)?;
    writeln!(out, "   <period-end iso-date=\"{}\"/>", p.period_end)?;
    value(out, "   ", &p.value, p.value_date.unwrap_or(p.period_start))?;
    writeln!(out, "  </{element}>")
}

fn percentage(p: Option<rust_decimal::Decimal>) -> String {
    p.map(|p| format!(" percentage=\"{}\"", p.normalize()))
        .unwrap_or_default()
}

/// The children of `iati-activity` in the order of the IATI 2.03 schema.
pub const SCHEMA_ORDER: [&str; 34] = [
    "iati-identifier",
    "reporting-org",
    "title",
    "description",
    "participating-org",
    "other-identifier",
    "activity-status",
    "activity-date",
    "contact-info",
    "activity-scope",
    "recipient-country",
    "recipient-region",
    "location",
    "sector",
    "tag",
    "country-budget-items",
    "humanitarian-scope",
    "policy-marker",
    "collaboration-type",
    "default-flow-type",
    "default-finance-type",
    "default-aid-type",
    "default-tied-status",
    "budget",
    "planned-disbursement",
    "capital-spend",
    "transaction",
    "document-link",
    "related-activity",
    "legacy-data",
    "conditions",
    "result",
    "crs-add",
    "fss",
];

/// Children the schema requires at least once.
const REQUIRED: [&str; 3] = ["description", "participating-org", "activity-date"];

/// Whether what the registry stores for the children called `name` is what `source` says,
/// so that the source's elements (with everything the registry does not model) may be
/// written instead of the registry's. `None` when the registry writes no such element.
fn unchanged(name: &str, data: &ActivityData, source: &ActivityData) -> Option<bool> {
    let (a, b) = (&data.iati, &source.iati);
    Some(match name {
        "iati-identifier" => data.iati_identifier == source.iati_identifier,
        "reporting-org" => {
            data.reporting_org == source.reporting_org
                && a.reporting_org_type == b.reporting_org_type
        }
        "title" => data.titles == source.titles,
        "description" => {
            data.descriptions == source.descriptions && a.other_descriptions == b.other_descriptions
        }
        "participating-org" => {
            data.participating_orgs == source.participating_orgs
                && a.named_participants == b.named_participants
        }
        "other-identifier" => data.external_ids == source.external_ids,
        "activity-status" => data.status == source.status,
        "activity-date" => {
            (
                data.planned_start,
                data.actual_start,
                data.planned_end,
                data.actual_end,
            ) == (
                source.planned_start,
                source.actual_start,
                source.planned_end,
                source.actual_end,
            )
        }
        "recipient-country" => data.recipient_countries == source.recipient_countries,
        "recipient-region" => data.recipient_regions == source.recipient_regions,
        "sector" => data.sectors == source.sectors,
        "collaboration-type" => a.collaboration_type == b.collaboration_type,
        "default-flow-type" => a.default_flow_type == b.default_flow_type,
        "default-finance-type" => a.default_finance_type == b.default_finance_type,
        "default-aid-type" => a.default_aid_types == b.default_aid_types,
        "default-tied-status" => data.paris.tied_status == source.paris.tied_status,
        "budget" => a.budgets == b.budgets && data.budget == source.budget,
        "planned-disbursement" => a.planned_disbursements == b.planned_disbursements,
        "transaction" => data.transactions == source.transactions,
        "document-link" => a.document_links == b.document_links,
        "related-activity" => data.related_activities == source.related_activities,
        _ => return None,
    })
}

fn activity_attrs(data: &ActivityData) -> String {
    let iati = &data.iati;
    let mut attrs = String::new();
    if let Some(t) = &iati.last_updated {
        attrs.push_str(&format!(
            " last-updated-datetime=\"{}\"",
            escape(t.as_str())
        ));
    }
    if let Some(c) = &iati.default_currency {
        attrs.push_str(&format!(" default-currency=\"{}\"", escape(c.as_str())));
    }
    if let Some(h) = iati.humanitarian {
        attrs.push_str(&format!(" humanitarian=\"{}\"", if h { "1" } else { "0" }));
    }
    if let Some(h) = &iati.hierarchy {
        attrs.push_str(&format!(" hierarchy=\"{}\"", escape(h.as_str())));
    }
    attrs
}

/// Writes one activity from what the registry stores.
pub fn activity(out: &mut impl Write, data: &ActivityData, orgs: &OrgLabels) -> io::Result<()> {
    writeln!(out, " <iati-activity{}>", activity_attrs(data))?;
    for name in SCHEMA_ORDER {
        section(out, name, data, orgs)?;
    }
    writeln!(out, " </iati-activity>")
}

/// Writes one activity imported from `source` (its `iati-activity` element as read, from an
/// IATI 2.0x file): where the registry still holds what the source says, the source's
/// elements are written as they came — with the results, locations, contacts, policy
/// markers, publishers' own elements and attributes the registry does not model — and the
/// registry's own elsewhere, all in schema order.
pub fn activity_from_source(
    out: &mut impl Write,
    data: &ActivityData,
    orgs: &OrgLabels,
    source: &Element,
) -> io::Result<()> {
    let Ok(original) = crate::map::map_activity(source) else {
        return activity(out, data, orgs);
    };
    let original = original.data;
    let registry_attrs = [
        "last-updated-datetime",
        "default-currency",
        "humanitarian",
        "hierarchy",
    ];
    let same_attrs = (
        &data.iati.last_updated,
        &data.iati.default_currency,
        data.iati.humanitarian,
        &data.iati.hierarchy,
    ) == (
        &original.iati.last_updated,
        &original.iati.default_currency,
        original.iati.humanitarian,
        &original.iati.hierarchy,
    );
    let mut attrs = if same_attrs {
        String::new()
    } else {
        activity_attrs(data)
    };
    for (k, v) in &source.attrs {
        if same_attrs || !registry_attrs.contains(&k.as_str()) {
            attrs.push_str(&format!(" {k}=\"{}\"", escape(v.as_str())));
        }
    }
    writeln!(out, " <iati-activity{attrs}>")?;
    for name in SCHEMA_ORDER {
        let kept: Vec<&Element> = source.children(name).collect();
        let verbatim = unchanged(name, data, &original).unwrap_or(true)
            && !(kept.is_empty() && REQUIRED.contains(&name));
        if verbatim {
            for e in kept {
                writeln!(out, "  {}", e.to_xml())?;
            }
        } else {
            section(out, name, data, orgs)?;
        }
    }
    for e in source.children.iter().filter(|e| e.is_foreign()) {
        writeln!(out, "  {}", e.to_xml())?;
    }
    writeln!(out, " </iati-activity>")
}

/// Writes the registry's elements called `name`.
fn section(
    out: &mut impl Write,
    name: &str,
    data: &ActivityData,
    orgs: &OrgLabels,
) -> io::Result<()> {
    let iati = &data.iati;
    match name {
        "iati-identifier" => {
            writeln!(
                out,
                "  <iati-identifier>{}</iati-identifier>",
                escape(data.iati_identifier.as_str())
            )?;
        }
        "reporting-org" => {
            let (reporting_name, reporting_type) =
                orgs.get(&data.reporting_org).cloned().unwrap_or_default();
            let reporting_type = iati
                .reporting_org_type
                .clone()
                .or(reporting_type)
                .unwrap_or_else(|| "90".to_owned());
            writeln!(
                out,
                "  <reporting-org ref=\"{}\" type=\"{}\">",
                escape(data.reporting_org.as_str()),
                escape(reporting_type.as_str())
            )?;
            name_narrative(out, "   ", Some(&reporting_name))?;
            writeln!(out, "  </reporting-org>")?;
        }
        "title" => {
            writeln!(out, "  <title>")?;
            narratives(out, "   ", &data.titles)?;
            writeln!(out, "  </title>")?;
        }
        "description" => {
            writeln!(out, "  <description type=\"1\">")?;
            if data.descriptions.is_empty() {
                writeln!(out, "   <narrative></narrative>")?;
            }
            narratives(out, "   ", &data.descriptions)?;
            writeln!(out, "  </description>")?;
            for d in &iati.other_descriptions {
                writeln!(out, "  <description type=\"{}\">", escape(d.kind.as_str()))?;
                narratives(out, "   ", &d.narratives)?;
                writeln!(out, "  </description>")?;
            }
        }
        "participating-org" => {
            if data.participating_orgs.is_empty() && iati.named_participants.is_empty() {
                writeln!(
                    out,
                    "  <participating-org ref=\"{}\" role=\"2\"/>",
                    escape(data.reporting_org.as_str())
                )?;
            }
            for p in &data.participating_orgs {
                let (name, kind) = orgs.get(&p.org_ref).cloned().unwrap_or_default();
                let mut attrs = format!(
                    " ref=\"{}\" role=\"{}\"",
                    escape(p.org_ref.as_str()),
                    p.role.iati_code()
                );
                if let Some(kind) = kind {
                    attrs.push_str(&format!(" type=\"{}\"", escape(kind.as_str())));
                }
                if let Some(id) = &p.activity_id {
                    attrs.push_str(&format!(" activity-id=\"{}\"", escape(id.as_str())));
                }
                if name.is_empty() {
                    writeln!(out, "  <participating-org{attrs}/>")?;
                } else {
                    writeln!(out, "  <participating-org{attrs}>")?;
                    name_narrative(out, "   ", Some(&name))?;
                    writeln!(out, "  </participating-org>")?;
                }
            }
            for p in &iati.named_participants {
                let mut attrs = format!(" role=\"{}\"", p.role.iati_code());
                if let Some(kind) = &p.org_type {
                    attrs.push_str(&format!(" type=\"{}\"", escape(kind.as_str())));
                }
                if let Some(id) = &p.activity_id {
                    attrs.push_str(&format!(" activity-id=\"{}\"", escape(id.as_str())));
                }
                if p.names.is_empty() {
                    writeln!(out, "  <participating-org{attrs}/>")?;
                } else {
                    writeln!(out, "  <participating-org{attrs}>")?;
                    narratives(out, "   ", &p.names)?;
                    writeln!(out, "  </participating-org>")?;
                }
            }
        }
        "other-identifier" => {
            for id in data
                .external_ids
                .iter()
                .filter(|id| **id != data.iati_identifier)
            {
                writeln!(
                    out,
                    "  <other-identifier ref=\"{}\" type=\"A9\"/>",
                    escape(id.as_str())
                )?;
            }
        }
        "activity-status" => {
            writeln!(
                out,
                "  <activity-status code=\"{}\"/>",
                data.status.iati_code()
            )?;
        }
        "activity-date" => {
            for (kind, date) in [
                (1, data.planned_start),
                (2, data.actual_start),
                (3, data.planned_end),
                (4, data.actual_end),
            ] {
                if let Some(date) = date {
                    writeln!(
                        out,
                        "  <activity-date type=\"{kind}\" iso-date=\"{date}\"/>"
                    )?;
                }
            }
        }
        "recipient-country" => {
            for c in &data.recipient_countries {
                writeln!(
                    out,
                    "  <recipient-country code=\"{}\"{}/>",
                    escape(c.code.as_str()),
                    percentage(c.percentage)
                )?;
            }
        }
        "recipient-region" => {
            for r in &data.recipient_regions {
                writeln!(
                    out,
                    "  <recipient-region code=\"{}\" vocabulary=\"1\"{}/>",
                    escape(r.code.as_str()),
                    percentage(r.percentage)
                )?;
            }
        }
        "sector" => {
            for s in &data.sectors {
                writeln!(
                    out,
                    "  <sector vocabulary=\"{}\" code=\"{}\"{}/>",
                    escape(s.vocabulary.as_str()),
                    escape(s.code.as_str()),
                    percentage(s.percentage)
                )?;
            }
        }
        "collaboration-type" => {
            if let Some(c) = &iati.collaboration_type {
                writeln!(
                    out,
                    "  <collaboration-type code=\"{}\"/>",
                    escape(c.as_str())
                )?;
            }
        }
        "default-flow-type" => {
            if let Some(c) = &iati.default_flow_type {
                writeln!(
                    out,
                    "  <default-flow-type code=\"{}\"/>",
                    escape(c.as_str())
                )?;
            }
        }
        "default-finance-type" => {
            if let Some(c) = &iati.default_finance_type {
                writeln!(
                    out,
                    "  <default-finance-type code=\"{}\"/>",
                    escape(c.as_str())
                )?;
            }
        }
        "default-aid-type" => {
            for a in &iati.default_aid_types {
                writeln!(
                    out,
                    "  <default-aid-type code=\"{}\" vocabulary=\"{}\"/>",
                    escape(a.code.as_str()),
                    escape(a.vocabulary.as_str())
                )?;
            }
        }
        "default-tied-status" => {
            if let Some(t) = &data.paris.tied_status {
                writeln!(
                    out,
                    "  <default-tied-status code=\"{}\"/>",
                    escape(t.as_str())
                )?;
            }
        }
        "budget" => {
            for b in &iati.budgets {
                period(out, "budget", b)?;
            }
            if iati.budgets.is_empty()
                && let (Some(budget), Some(start), Some(end)) = (
                    &data.budget,
                    data.planned_start.or(data.actual_start),
                    data.planned_end.or(data.actual_end),
                )
                && end >= start
            {
                period(
                    out,
                    "budget",
                    &PeriodValue {
                        kind: Some("1".into()),
                        status: Some("1".into()),
                        period_start: start,
                        period_end: end,
                        value: budget.clone(),
                        value_date: Some(start),
                    },
                )?;
            }
        }
        "planned-disbursement" => {
            for p in &iati.planned_disbursements {
                period(out, "planned-disbursement", p)?;
            }
        }
        "transaction" => {
            for t in &data.transactions {
                writeln!(out, "  <transaction>")?;
                writeln!(
                    out,
                    "   <transaction-type code=\"{}\"/>",
                    escape(t.kind.as_str())
                )?;
                writeln!(out, "   <transaction-date iso-date=\"{}\"/>", t.date)?;
                value(out, "   ", &t.value, t.date)?;
                if let Some(id) = &t.provider_activity_id {
                    writeln!(
                        out,
                        "   <provider-org provider-activity-id=\"{}\"/>",
                        escape(id.as_str())
                    )?;
                }
                if let Some(id) = &t.receiver_activity_id {
                    writeln!(
                        out,
                        "   <receiver-org receiver-activity-id=\"{}\"/>",
                        escape(id.as_str())
                    )?;
                }
                writeln!(out, "  </transaction>")?;
            }
        }
        "document-link" => {
            for d in &iati.document_links {
                writeln!(
                    out,
                    "  <document-link url=\"{}\" format=\"{}\">",
                    escape(d.url.as_str()),
                    escape(d.format.as_deref().unwrap_or("text/html"))
                )?;
                writeln!(out, "   <title>")?;
                writeln!(
                    out,
                    "    <narrative>{}</narrative>",
                    escape(d.title.as_deref().unwrap_or(d.url.as_str()))
                )?;
                writeln!(out, "   </title>")?;
                writeln!(
                    out,
                    "   <category code=\"{}\"/>",
                    escape(d.category.as_deref().unwrap_or("A12"))
                )?;
                writeln!(out, "  </document-link>")?;
            }
        }
        "related-activity" => {
            for r in &data.related_activities {
                writeln!(
                    out,
                    "  <related-activity ref=\"{}\" type=\"{}\"/>",
                    escape(r.iati_identifier.as_str()),
                    r.kind.iati_code()
                )?;
            }
        }
        _ => {}
    }
    Ok(())
}
