//! What mapping an activity gives: the activity, the organisations it names, and warnings by
//! reason; or why it was skipped.

use super::*;

/// An organisation named in an activity, for creating it on first sight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenOrganisation {
    /// IATI organisation identifier.
    pub org_ref: String,
    /// Name as given (may be empty).
    pub name: String,
    /// IATI OrganisationType code, when given.
    pub iati_type: Option<String>,
}

/// Why the import warns about an activity; summaries count warnings by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// A participating organisation's role is not an IATI OrganisationRole; it is left out.
    UnknownRole,
    /// A reference such as `N/A` or `0` stands where an organisation identifier belongs; the
    /// organisation is kept by name, the reference is not.
    PlaceholderReference,
    /// A participating organisation has no reference (or one that is not an identifier); it is
    /// kept by name.
    NamedWithoutReference,
    /// No activity status; taken as implementation.
    NoStatus,
    /// An activity date of a type no version of the standard defines, or without a readable
    /// date; left out.
    UnreadableDate,
    /// An end date before its start; the end is left out.
    EndBeforeStart,
    /// A country, region or sector code that is not in its code list; left out.
    UnknownCode,
    /// The same country, region or sector listed more than once; merged, percentages summed.
    RepeatedCode,
    /// Country and region percentages that do not sum to 100.
    PercentageSum,
    /// Countries, regions or sectors given on transactions only; taken for the activity,
    /// weighted by transaction value.
    FromTransactions,
    /// A budget or planned disbursement without period or value, or with unusable money;
    /// left out.
    IncompleteBudget,
    /// A transaction without type, value, date or currency; left out.
    IncompleteTransaction,
    /// A related activity of an unknown type; left out.
    UnknownRelation,
    /// The IATI identifier breaks an IATI rule; kept as published.
    IdentifierRule,
}

impl Reason {
    /// Every reason, in the order summaries list them.
    pub const ALL: [Reason; 14] = [
        Reason::UnknownRole,
        Reason::PlaceholderReference,
        Reason::NamedWithoutReference,
        Reason::NoStatus,
        Reason::UnreadableDate,
        Reason::EndBeforeStart,
        Reason::UnknownCode,
        Reason::RepeatedCode,
        Reason::PercentageSum,
        Reason::FromTransactions,
        Reason::IncompleteBudget,
        Reason::IncompleteTransaction,
        Reason::UnknownRelation,
        Reason::IdentifierRule,
    ];

    /// A stable key, for counts in JSON and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Reason::UnknownRole => "unknown-role",
            Reason::PlaceholderReference => "placeholder-reference",
            Reason::NamedWithoutReference => "named-without-reference",
            Reason::NoStatus => "no-status",
            Reason::UnreadableDate => "unreadable-date",
            Reason::EndBeforeStart => "end-before-start",
            Reason::UnknownCode => "unknown-code",
            Reason::RepeatedCode => "repeated-code",
            Reason::PercentageSum => "percentage-sum",
            Reason::FromTransactions => "from-transactions",
            Reason::IncompleteBudget => "incomplete-budget",
            Reason::IncompleteTransaction => "incomplete-transaction",
            Reason::UnknownRelation => "unknown-relation",
            Reason::IdentifierRule => "identifier-rule",
        }
    }
}

/// Something the import changed, left out or doubts about one activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Why, for counting.
    pub reason: Reason,
    /// What, in words.
    pub detail: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// Warnings of one activity as they are found.
#[derive(Debug, Default)]
pub(super) struct Warnings(pub(super) Vec<Warning>);

impl Warnings {
    pub(super) fn push(&mut self, reason: Reason, detail: impl Into<String>) {
        self.0.push(Warning {
            reason,
            detail: detail.into(),
        });
    }
}

/// An activity mapped into the domain, with what the import should know about it.
#[derive(Debug, Clone)]
pub struct MappedActivity {
    /// The validated activity.
    pub data: ActivityData,
    /// Organisations it names (reporting and participating) with references.
    pub organisations: Vec<SeenOrganisation>,
    /// Things changed, dropped or doubtful, for the import report.
    pub warnings: Vec<Warning>,
}

/// Why an activity was skipped; `identifier` is empty when it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError {
    /// The activity's IATI identifier, if it has one.
    pub identifier: String,
    /// What is wrong.
    pub reason: String,
}
