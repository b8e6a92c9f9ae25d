//! IATI in and out, shared by the HTTP endpoints and the command line: a streamed import that
//! upserts each activity by identifier (so a second import changes nothing) and reports what
//! it read, stored and skipped; an IATI 2.03 export and a CSV export of a filtered set.

use aidgraph_domain::access::Principal;
use aidgraph_domain::codes::{ACTIVITY_STATUS, COUNTRY, SECTOR, SECTOR_CATEGORY};
use aidgraph_iati::reader::{IatiReader, ReadError};
use aidgraph_iati::{map_activity, upgrade, writer};
use aidgraph_persistence::activities::{self, ActivityFilter, ActivityOrder, UpsertOutcome};
use aidgraph_persistence::iati_sources::{self, Source};
use aidgraph_persistence::organisations::{self, Sighting};
use aidgraph_persistence::{PageRequest, Store, StoreError};
use aidgraph_registry::Registry;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use tokio::io::AsyncBufRead;

/// An activity that was not stored, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Its IATI identifier, when it has one.
    pub identifier: String,
    /// The line of its `<iati-activity>` tag.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// The file's IATI version.
    pub version: String,
    /// Activities read.
    pub read: u64,
    /// Activities registered for the first time.
    pub created: u64,
    /// Activities changed.
    pub updated: u64,
    /// Activities already stored as read.
    pub unchanged: u64,
    /// Organisations registered on first sight.
    pub organisations_created: u64,
    /// Activities skipped, with reasons.
    pub skipped: Vec<Skipped>,
    /// What the import changed, left out or doubted, as `identifier: detail` (first 100).
    pub warnings: Vec<String>,
    /// Every warning counted by reason (`placeholder-reference`, `repeated-code`…).
    pub warnings_by_reason: std::collections::BTreeMap<&'static str, u64>,
    /// The warnings of the activity read last, for callers that list them all.
    #[serde(skip)]
    pub latest_warnings: Vec<String>,
    /// Set when the file could not be read to its end; what was stored before stays.
    pub error: Option<String>,
}

/// Why an import could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The caller may not import.
    #[error("{0}")]
    Forbidden(String),
    /// The document is not well-formed, or not IATI; nothing was stored.
    #[error("{0}; nothing was stored")]
    Unreadable(ReadError),
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a whole document without storing anything: how many activities it holds, or why it
/// is not a well-formed IATI document (with the line).
pub async fn check<R: AsyncBufRead + Unpin>(source: R) -> Result<u64, ReadError> {
    let mut reader = IatiReader::new(source);
    let mut activities = 0;
    while reader.next_activity().await?.is_some() {
        activities += 1;
    }
    Ok(activities)
}

/// Imports an IATI file: first read whole, so that a document that is not well-formed (or not
/// IATI) stores nothing; then imported as [`import`] does.
pub async fn import_file(
    registry: &Registry,
    who: &Principal,
    path: &std::path::Path,
    progress: impl FnMut(&ImportSummary),
) -> Result<ImportSummary, ImportError> {
    let open = || async {
        tokio::fs::File::open(path)
            .await
            .map(|f| tokio::io::BufReader::with_capacity(64 * 1024, f))
            .map_err(|e| ImportError::Io(format!("cannot read {}: {e}", path.display())))
    };
    if !who.may_import() {
        return Err(forbidden());
    }
    let imported = match check(open().await?).await {
        Ok(_) => import(registry, who, open().await?, progress).await,
        Err(e) => Err(ImportError::Unreadable(e)),
    };
    let outcome = match &imported {
        Ok(_) => "imported",
        Err(ImportError::Unreadable(_)) => "unreadable",
        Err(_) => "failed",
    };
    metrics::counter!("aidgraph_iati_imports_total", "outcome" => outcome).increment(1);
    imported
}

fn forbidden() -> ImportError {
    ImportError::Forbidden(
        "only providers, coordinators and administrators import IATI data".into(),
    )
}

/// Imports every activity of an `iati-activities` stream as it is read. A provider imports
/// only activities it reports (others are skipped); coordinators and admins import any.
/// `progress` is called after each activity. A stream that breaks stops the import with
/// `error` set, keeping what was stored before; [`import_file`] reads a file whole first.
pub async fn import<R: AsyncBufRead + Unpin>(
    registry: &Registry,
    who: &Principal,
    source: R,
    mut progress: impl FnMut(&ImportSummary),
) -> Result<ImportSummary, ImportError> {
    if !who.may_import() {
        return Err(forbidden());
    }
    let mut reader = IatiReader::new(source);
    let mut summary = ImportSummary::default();
    loop {
        let raw = match reader.next_activity().await {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(e @ (ReadError::Malformed { .. } | ReadError::NotIati(_))) => {
                summary.error = Some(e.to_string());
                break;
            }
        };
        summary.version.clone_from(&reader.version);
        summary.read += 1;
        summary.latest_warnings.clear();
        let skip = |summary: &mut ImportSummary, identifier: String, reason: String| {
            summary.skipped.push(Skipped {
                identifier,
                line: raw.line,
                reason,
            });
        };
        // 1.0x activities are read in their 2.03 form; the source is kept as it came.
        let upgraded = upgrade::upgraded(&raw.element, &reader.version);
        let mapped = match map_activity(upgraded.as_ref().unwrap_or(&raw.element)) {
            Ok(m) => m,
            Err(e) => {
                skip(&mut summary, e.identifier, e.reason);
                progress(&summary);
                continue;
            }
        };
        let identifier = mapped.data.iati_identifier.clone();
        if !who.may_import_activity(&mapped.data.reporting_org) {
            skip(
                &mut summary,
                identifier,
                format!(
                    "reported by {}; a provider imports only its own activities",
                    mapped.data.reporting_org
                ),
            );
            progress(&summary);
            continue;
        }
        for w in mapped.warnings {
            *summary
                .warnings_by_reason
                .entry(w.reason.key())
                .or_default() += 1;
            let line = format!("{identifier}: {w}");
            if summary.warnings.len() < 100 {
                summary.warnings.push(line.clone());
            }
            summary.latest_warnings.push(line);
        }
        let seen: Vec<Sighting> = mapped
            .organisations
            .into_iter()
            .map(|o| Sighting {
                org_ref: o.org_ref,
                name: o.name,
                iati_type: o.iati_type,
            })
            .collect();
        let source = source_of(raw.element, &reader);
        let imported =
            aidgraph_registry::activities::import(registry, who, mapped.data, &seen, &source).await;
        match imported {
            Ok((_, outcome, organisations)) => {
                summary.organisations_created += organisations as u64;
                match outcome {
                    UpsertOutcome::Created => summary.created += 1,
                    UpsertOutcome::Updated => summary.updated += 1,
                    UpsertOutcome::Unchanged => summary.unchanged += 1,
                }
            }
            Err(StoreError::Invalid(v)) => skip(&mut summary, identifier, v.to_string()),
            Err(StoreError::Forbidden(m) | StoreError::Conflict(m)) => {
                skip(&mut summary, identifier, m);
            }
            Err(e) => return Err(e.into()),
        }
        progress(&summary);
    }
    for (result, count) in [
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
        ("skipped", summary.skipped.len() as u64),
    ] {
        metrics::counter!("aidgraph_iati_activities_total", "result" => result).increment(count);
    }
    Ok(summary)
}

/// The activity's element as kept with it, carrying the root's namespace declarations so
/// that its publisher's own elements stay readable on their own.
fn source_of<R>(mut element: aidgraph_iati::Element, reader: &IatiReader<R>) -> Source {
    for (k, v) in &reader.namespaces {
        if !element.attrs.iter().any(|(x, _)| x == k) {
            element.attrs.push((k.clone(), v.clone()));
        }
    }
    Source {
        version: upgrade::version_of(&element, &reader.version).to_owned(),
        element: element.to_xml(),
    }
}

/// Which activities to export; only published ones leave the registry.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Recipient country.
    pub country: Option<String>,
    /// Reporting or participating organisation.
    pub provider: Option<String>,
    /// Sector code.
    pub sector: Option<String>,
}

fn query(filter: &ExportFilter) -> ActivityFilter {
    ActivityFilter {
        recipient_country: filter.country.clone(),
        recipient_region: None,
        provider: filter.provider.clone(),
        sector: filter.sector.clone(),
        publication: Some(aidgraph_domain::vocab::Publication::Published),
        ..ActivityFilter::default()
    }
}

/// Calls `each` with every page of published activities matching `filter`.
async fn pages(
    store: &Store,
    who: &Principal,
    filter: &ExportFilter,
    mut each: impl FnMut(
        Vec<activities::ActivityRecord>,
        writer::OrgLabels,
        HashMap<i64, aidgraph_iati::Element>,
    ) -> std::io::Result<()>,
) -> Result<u64, StoreError> {
    let query = query(filter);
    let mut after = None;
    let mut count = 0;
    loop {
        let page = activities::list(
            store.db(),
            who,
            &query,
            ActivityOrder::CreatedAsc,
            &PageRequest::new(500, after),
        )
        .await?;
        let mut refs: Vec<String> = Vec::new();
        for (_, a) in &page.items {
            refs.push(a.data.reporting_org.clone());
            refs.extend(a.data.participating_orgs.iter().map(|p| p.org_ref.clone()));
        }
        refs.sort();
        refs.dedup();
        let labels: writer::OrgLabels = organisations::by_refs(store.db(), &refs)
            .await?
            .into_iter()
            .map(|(r, o)| {
                let org = o.data.into_fields();
                (r, (org.name, org.iati_type))
            })
            .collect();
        after = page.items.last().map(|(c, _)| c.clone());
        count += page.items.len() as u64;
        let has_next = page.has_next;
        let ids: Vec<i64> = page.items.iter().map(|(_, a)| a.id).collect();
        let mut sources = HashMap::new();
        for (id, source) in iati_sources::of_activities(store.db(), &ids).await? {
            // Imported activities come back with what the registry does not model, 1.0x ones
            // upgraded to 2.03; API registrations are written from the registry alone.
            if let Some(element) = parse_source(&source.element).await {
                let element = upgrade::upgrade_if_legacy(element, &source.version);
                sources.insert(id, element);
            }
        }
        each(
            page.items.into_iter().map(|(_, a)| a).collect(),
            labels,
            sources,
        )
        .map_err(|e| StoreError::Corrupt(format!("writing the export: {e}")))?;
        if !has_next {
            return Ok(count);
        }
    }
}

/// A kept source element read back; `None` (the registry's own data is written) if it no
/// longer reads.
async fn parse_source(xml: &str) -> Option<aidgraph_iati::Element> {
    let wrapped = format!("<iati-activities>{xml}</iati-activities>");
    let mut reader = IatiReader::new(wrapped.as_bytes());
    match reader.next_activity().await {
        Ok(Some(raw)) => Some(raw.element),
        _ => {
            tracing::warn!("a kept IATI source no longer reads; exported from the registry");
            None
        }
    }
}

/// Writes the published activities matching `filter` as an IATI 2.03 document; returns how
/// many were written. Activities without any date (the schema needs one) are left out, except
/// imported ones, which come back as their publisher wrote them.
pub async fn export_iati(
    store: &Store,
    who: &Principal,
    filter: &ExportFilter,
    out: &mut impl Write,
) -> Result<u64, StoreError> {
    let io = |e: std::io::Error| StoreError::Corrupt(format!("writing the export: {e}"));
    writer::begin(out, &chrono::Utc::now().to_rfc3339()).map_err(io)?;
    let mut written = 0;
    pages(store, who, filter, |page, labels, sources| {
        for a in page
            .iter()
            .filter(|a| writer::exportable(&a.data) || sources.contains_key(&a.id))
        {
            match sources.get(&a.id) {
                Some(element) => writer::activity_from_source(out, &a.data, &labels, element)?,
                None => writer::activity(out, &a.data, &labels)?,
            }
            written += 1;
        }
        Ok(())
    })
    .await?;
    writer::end(out).map_err(io)?;
    Ok(written)
}

fn shares(items: impl Iterator<Item = (String, String, Option<rust_decimal::Decimal>)>) -> String {
    items
        .map(|(code, name, pct)| match pct {
            Some(p) => format!("{code} {name} ({}%)", p.normalize()),
            None => format!("{code} {name}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes the published activities matching `filter` as CSV, one row per activity, codes with
/// their names.
pub async fn export_csv(
    store: &Store,
    who: &Principal,
    filter: &ExportFilter,
    out: &mut impl Write,
) -> Result<u64, StoreError> {
    let mut csv = csv::Writer::from_writer(out);
    let header = [
        "iati_identifier",
        "title",
        "reporting_org",
        "reporting_org_name",
        "status",
        "status_name",
        "planned_start",
        "planned_end",
        "actual_start",
        "actual_end",
        "recipient_countries",
        "sectors",
        "priority_areas",
        "provisions",
        "assistance_types",
        "budget_amount",
        "budget_currency",
    ];
    csv.write_record(header)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let count = pages(store, who, filter, |page, labels, _| {
        for a in page {
            let d = &a.data;
            let date = |x: Option<chrono::NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
            let status = d.status.iati_code().to_string();
            let row = vec![
                d.iati_identifier.clone(),
                d.title(None).to_owned(),
                d.reporting_org.clone(),
                labels
                    .get(&d.reporting_org)
                    .map(|l| l.0.clone())
                    .unwrap_or_default(),
                status.clone(),
                ACTIVITY_STATUS
                    .name_of(&status)
                    .unwrap_or_default()
                    .to_owned(),
                date(d.planned_start),
                date(d.planned_end),
                date(d.actual_start),
                date(d.actual_end),
                shares(d.recipient_countries.iter().map(|c| {
                    (
                        c.code.clone(),
                        COUNTRY.name_of(&c.code).unwrap_or_default().to_owned(),
                        c.percentage,
                    )
                })),
                shares(d.sectors.iter().map(|s| {
                    let name = match s.vocabulary.as_str() {
                        "1" => SECTOR.name_of(&s.code),
                        "2" => SECTOR_CATEGORY.name_of(&s.code),
                        _ => None,
                    };
                    (
                        s.code.clone(),
                        name.unwrap_or_default().to_owned(),
                        s.percentage,
                    )
                })),
                d.priority_areas
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                d.provisions
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                d.assistance_types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                d.budget
                    .as_ref()
                    .map(|b| b.amount.normalize().to_string())
                    .unwrap_or_default(),
                d.budget
                    .as_ref()
                    .map(|b| b.currency.clone())
                    .unwrap_or_default(),
            ];
            csv.write_record(row).map_err(std::io::Error::other)?;
        }
        Ok(())
    })
    .await?;
    csv.flush()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(count)
}
