//! Who may write an activity.

use super::*;

/// Checks the caller may register or change an activity of `reporting_org`.
pub fn authorize(who: &Principal, reporting_org: &str) -> Result<(), StoreError> {
    authorize_as(who, reporting_org, false)
}

/// Checks the caller may write an activity of `reporting_org`; imports let coordinators load
/// any provider's published IATI data.
pub fn authorize_as(who: &Principal, reporting_org: &str, import: bool) -> Result<(), StoreError> {
    let allowed = if import {
        who.may_import_activity(reporting_org)
    } else {
        who.may_manage_activity(reporting_org)
    };
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Forbidden(format!(
            "you may not register or change activities reported by `{reporting_org}`"
        )))
    }
}
