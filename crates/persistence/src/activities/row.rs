//! An activity's row: the columns that follow from its data, built in one place for every
//! write (a registration, a change, a bulk load).

use super::*;

/// The key activities ordered by start page on: the planned or actual start as `YYYY-MM-DD`,
/// [`NO_START_KEY`] when undated.
pub fn start_key(data: &ActivityData) -> String {
    data.planned_start
        .or(data.actual_start)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| NO_START_KEY.to_owned())
}

/// The columns of an activity's row that its data, reporting organisation and publication
/// decide: the document and everything lists filter, search and sort on. The caller adds the
/// version and timestamps.
pub fn row_of(
    data: &ActivityData,
    reporting_org_id: i64,
    publication: Publication,
) -> Result<activity::ActiveModel, StoreError> {
    let window = data.window();
    Ok(activity::ActiveModel {
        iati_identifier: Set(data.iati_identifier.clone()),
        reporting_org_id: Set(reporting_org_id),
        status: Set(data.status.as_str().to_owned()),
        publication: Set(publication.as_str().to_owned()),
        title: Set(data.title(None).to_owned()),
        search_text: Set(data.search_text()),
        planned_start: Set(data.planned_start),
        window_start: Set(window.map(|w| w.start)),
        window_end: Set(window.map(|w| w.end)),
        start_key: Set(start_key(data)),
        document: Set(serde_json::to_string(data)?),
        ..Default::default()
    })
}
