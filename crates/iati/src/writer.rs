//! IATI 2.03 writer: activities out as an `iati-activities` document that validates against
//! the IATI activity schema. Elements come in the schema's order; where the schema requires
//! what the registry does not hold, the writer says the least it can (an empty description
//! narrative, the reporting organisation as accountable participant).

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

/// Writes one activity.
pub fn activity(out: &mut impl Write, data: &ActivityData, orgs: &OrgLabels) -> io::Result<()> {
    let iati = &data.iati;
    let mut attrs = String::new();
    if let Some(c) = &iati.default_currency {
        attrs.push_str(&format!(" default-currency=\"{}\"", escape(c.as_str())));
    }
    if let Some(h) = iati.humanitarian {
        attrs.push_str(&format!(" humanitarian=\"{}\"", if h { "1" } else { "0" }));
    }
    if let Some(h) = &iati.hierarchy {
        attrs.push_str(&format!(" hierarchy=\"{}\"", escape(h.as_str())));
    }
    writeln!(out, " <iati-activity{attrs}>")?;
    writeln!(
        out,
        "  <iati-identifier>{}</iati-identifier>",
        escape(data.iati_identifier.as_str())
    )?;

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

    writeln!(out, "  <title>")?;
    narratives(out, "   ", &data.titles)?;
    writeln!(out, "  </title>")?;
    writeln!(out, "  <description type=\"1\">")?;
    if data.descriptions.is_empty() {
        writeln!(out, "   <narrative></narrative>")?;
    }
    narratives(out, "   ", &data.descriptions)?;
    writeln!(out, "  </description>")?;

    if data.participating_orgs.is_empty() {
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
    writeln!(
        out,
        "  <activity-status code=\"{}\"/>",
        data.status.iati_code()
    )?;
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
    for c in &data.recipient_countries {
        writeln!(
            out,
            "  <recipient-country code=\"{}\"{}/>",
            escape(c.code.as_str()),
            percentage(c.percentage)
        )?;
    }
    for r in &data.recipient_regions {
        writeln!(
            out,
            "  <recipient-region code=\"{}\" vocabulary=\"1\"{}/>",
            escape(r.code.as_str()),
            percentage(r.percentage)
        )?;
    }
    for s in &data.sectors {
        writeln!(
            out,
            "  <sector vocabulary=\"{}\" code=\"{}\"{}/>",
            escape(s.vocabulary.as_str()),
            escape(s.code.as_str()),
            percentage(s.percentage)
        )?;
    }
    if let Some(c) = &iati.collaboration_type {
        writeln!(
            out,
            "  <collaboration-type code=\"{}\"/>",
            escape(c.as_str())
        )?;
    }
    if let Some(c) = &iati.default_flow_type {
        writeln!(
            out,
            "  <default-flow-type code=\"{}\"/>",
            escape(c.as_str())
        )?;
    }
    if let Some(c) = &iati.default_finance_type {
        writeln!(
            out,
            "  <default-finance-type code=\"{}\"/>",
            escape(c.as_str())
        )?;
    }
    for a in &iati.default_aid_types {
        writeln!(
            out,
            "  <default-aid-type code=\"{}\" vocabulary=\"{}\"/>",
            escape(a.code.as_str()),
            escape(a.vocabulary.as_str())
        )?;
    }
    if let Some(t) = &data.paris.tied_status {
        writeln!(
            out,
            "  <default-tied-status code=\"{}\"/>",
            escape(t.as_str())
        )?;
    }
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
    for p in &iati.planned_disbursements {
        period(out, "planned-disbursement", p)?;
    }
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
    for r in &data.related_activities {
        writeln!(
            out,
            "  <related-activity ref=\"{}\" type=\"{}\"/>",
            escape(r.iati_identifier.as_str()),
            r.kind.iati_code()
        )?;
    }
    writeln!(out, " </iati-activity>")
}
