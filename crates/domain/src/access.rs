//! Who may do what (DESIGN.md §7), as plain functions of the caller and the record.

use crate::vocab::{NeedVisibility, NeedsAnalysisStatus, Publication, Role};

/// The authenticated caller, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's subject.
    pub subject: String,
    /// The caller's role.
    pub role: Role,
    /// A provider's organisation reference.
    pub org: Option<String>,
    /// A recipient's country, ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

impl Principal {
    /// Admins and coordinators read everything, drafts included.
    pub fn reads_everything(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator)
    }

    /// Whether the caller may create or change organisations.
    pub fn may_manage_organisations(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller may record missions, analytic work, contributions and coordination
    /// mechanisms: coordinators and admins.
    pub fn may_record_coordination(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator)
    }

    /// Whether the caller may record an evaluation of activities reported by these
    /// organisations: an admin any, a provider only when it reports every one of them.
    pub fn may_record_evaluation<'a>(
        &self,
        reporting_orgs: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Provider => reporting_orgs
                .into_iter()
                .all(|r| self.org.as_deref() == Some(r)),
            _ => false,
        }
    }

    /// Whether the caller may load exchange rates: admins.
    pub fn may_load_rates(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller may create or change activities reported by `reporting_org`.
    pub fn may_manage_activity(&self, reporting_org: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Provider => self.org.as_deref() == Some(reporting_org),
            _ => false,
        }
    }

    /// Whether the caller may import (from IATI files) activities reported by `reporting_org`:
    /// a provider its own, a coordinator or admin any.
    pub fn may_import_activity(&self, reporting_org: &str) -> bool {
        match self.role {
            Role::Admin | Role::Coordinator => true,
            Role::Provider => self.org.as_deref() == Some(reporting_org),
            _ => false,
        }
    }

    /// Whether the caller may create, publish, supersede or edit needs analyses for `country`.
    /// Coordinators may, on the recipient's behalf; the audit trail records it.
    pub fn may_manage_needs(&self, country: &str) -> bool {
        match self.role {
            Role::Admin | Role::Coordinator => true,
            Role::Recipient => self.country.as_deref() == Some(country),
            _ => false,
        }
    }

    /// Whether the caller may import IATI files at all: providers (their own activities only,
    /// see [`Principal::may_import_activity`]), coordinators and admins.
    pub fn may_import(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator | Role::Provider)
    }

    /// Whether the caller may review overlap flags at all: coordinators, admins, and providers
    /// (on flags of their own activities, see [`Principal::may_review_flag`]).
    pub fn may_review_flags(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator | Role::Provider)
    }

    /// Whether the caller may review the flag between activities reported by `reporting_a`
    /// and `reporting_b`: a coordinator or admin any, a provider one on its own activity.
    pub fn may_review_flag(&self, reporting_a: &str, reporting_b: &str) -> bool {
        match self.role {
            Role::Admin | Role::Coordinator => true,
            Role::Provider => {
                self.may_manage_activity(reporting_a) || self.may_manage_activity(reporting_b)
            }
            _ => false,
        }
    }

    /// Whether the caller may link a coordination record to a need of `country`: coordinators
    /// and admins any, a recipient its own country's.
    pub fn may_link_need(&self, country: &str) -> bool {
        self.reads_everything() || (self.role == Role::Recipient && self.may_manage_needs(country))
    }

    /// A recipient's own country, whose draft analyses and restricted needs it sees; `None`
    /// for every other role.
    pub fn own_country(&self) -> Option<&str> {
        match self.role {
            Role::Recipient => self.country.as_deref(),
            _ => None,
        }
    }

    /// A provider's own organisation, whose drafts it sees; `None` for every other role.
    pub fn own_org(&self) -> Option<&str> {
        match self.role {
            Role::Provider => self.org.as_deref(),
            _ => None,
        }
    }

    /// Whether the caller acts for `country` on someone else's behalf (a coordinator or admin
    /// publishing a recipient's needs).
    pub fn acts_on_behalf_of(&self, country: &str) -> bool {
        self.role != Role::Recipient && self.may_manage_needs(country)
    }

    /// Whether the caller sees an activity: published ones, or drafts of its own organisation.
    pub fn sees_activity(&self, publication: Publication, reporting_org: &str) -> bool {
        publication == Publication::Published
            || self.reads_everything()
            || (self.role == Role::Provider && self.org.as_deref() == Some(reporting_org))
    }

    /// Whether the caller sees a needs analysis: published or superseded ones, or drafts of its
    /// own country.
    pub fn sees_analysis(&self, status: NeedsAnalysisStatus, country: &str) -> bool {
        status != NeedsAnalysisStatus::Draft || self.may_manage_needs(country)
    }

    /// Whether the caller sees a need: it must see the analysis, and restricted needs are for
    /// the recipient and coordinators only.
    pub fn sees_need(
        &self,
        status: NeedsAnalysisStatus,
        visibility: NeedVisibility,
        country: &str,
    ) -> bool {
        self.sees_analysis(status, country)
            && (visibility == NeedVisibility::Public || self.may_manage_needs(country))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, org: Option<&str>, country: Option<&str>) -> Principal {
        Principal {
            subject: "t".into(),
            role,
            org: org.map(Into::into),
            country: country.map(Into::into),
        }
    }

    #[test]
    fn providers_manage_only_their_own_activities() {
        let p = principal(Role::Provider, Some("GB-GOV-1"), None);
        assert!(p.may_manage_activity("GB-GOV-1"));
        assert!(!p.may_manage_activity("DE-1"));
        assert!(!principal(Role::Coordinator, None, None).may_manage_activity("GB-GOV-1"));
        assert!(!principal(Role::Viewer, None, None).may_manage_activity("GB-GOV-1"));
    }

    #[test]
    fn recipients_manage_only_their_own_country() {
        let r = principal(Role::Recipient, None, Some("KE"));
        assert!(r.may_manage_needs("KE"));
        assert!(!r.may_manage_needs("TZ"));
        assert!(!r.acts_on_behalf_of("KE"));
        assert!(principal(Role::Coordinator, None, None).acts_on_behalf_of("KE"));
        assert!(!principal(Role::Provider, Some("X"), None).may_manage_needs("KE"));
    }

    #[test]
    fn evaluations_and_coordination_records_follow_roles() {
        let p = principal(Role::Provider, Some("GB-GOV-1"), None);
        assert!(p.may_record_evaluation(["GB-GOV-1", "GB-GOV-1"]));
        assert!(!p.may_record_evaluation(["GB-GOV-1", "DE-1"]));
        assert!(!principal(Role::Coordinator, None, None).may_record_evaluation(["GB-GOV-1"]));
        assert!(principal(Role::Coordinator, None, None).may_record_coordination());
        assert!(!p.may_record_coordination());
        assert!(!principal(Role::Coordinator, None, None).may_load_rates());
        assert!(principal(Role::Admin, None, None).may_load_rates());
    }

    #[test]
    fn flags_are_reviewed_by_coordinators_and_the_providers_involved() {
        let p = principal(Role::Provider, Some("GB-GOV-1"), None);
        assert!(p.may_review_flags());
        assert!(p.may_review_flag("DE-1", "GB-GOV-1"));
        assert!(!p.may_review_flag("DE-1", "FR-3"));
        assert!(principal(Role::Coordinator, None, None).may_review_flag("DE-1", "FR-3"));
        let recipient = principal(Role::Recipient, None, Some("KE"));
        assert!(!recipient.may_review_flags());
        assert!(!recipient.may_review_flag("DE-1", "FR-3"));
        assert!(!principal(Role::Viewer, None, None).may_import());
        assert!(p.may_import());
    }

    #[test]
    fn own_scope_belongs_to_the_role_that_carries_it() {
        let recipient = principal(Role::Recipient, None, Some("KE"));
        assert_eq!(recipient.own_country(), Some("KE"));
        assert!(recipient.may_link_need("KE"));
        assert!(!recipient.may_link_need("TZ"));
        assert!(principal(Role::Coordinator, None, None).may_link_need("TZ"));
        // A scope in a token of another role grants nothing.
        let viewer = principal(Role::Viewer, Some("GB-GOV-1"), Some("KE"));
        assert_eq!(viewer.own_country(), None);
        assert_eq!(viewer.own_org(), None);
        assert!(!viewer.may_link_need("KE"));
        let provider = principal(Role::Provider, Some("GB-GOV-1"), None);
        assert_eq!(provider.own_org(), Some("GB-GOV-1"));
    }

    #[test]
    fn drafts_are_hidden_from_others() {
        let viewer = principal(Role::Viewer, None, None);
        assert!(!viewer.sees_activity(Publication::Draft, "GB-GOV-1"));
        assert!(viewer.sees_activity(Publication::Published, "GB-GOV-1"));
        let owner = principal(Role::Provider, Some("GB-GOV-1"), None);
        assert!(owner.sees_activity(Publication::Draft, "GB-GOV-1"));
        assert!(!viewer.sees_analysis(NeedsAnalysisStatus::Draft, "KE"));
        assert!(!viewer.sees_need(
            NeedsAnalysisStatus::Published,
            NeedVisibility::Restricted,
            "KE"
        ));
    }
}
