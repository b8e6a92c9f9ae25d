//! GraphQL enums mirroring the domain vocabularies; the wire names are the domain's stored
//! names, so the two never drift.
#![allow(
    missing_docs,
    reason = "variants are described by the domain vocabulary they mirror"
)]

use aidgraph_domain::vocab as d;
use async_graphql::Enum;

macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant),+
        }

        impl From<$name> for d::$name {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => d::$name::$variant),+
                }
            }
        }

        impl From<d::$name> for $name {
            fn from(value: d::$name) -> Self {
                match value {
                    $(d::$name::$variant => $name::$variant),+
                }
            }
        }
    };
}

mirror! {
    /// The five priority areas set by the Conference of the Parties (2006–2007).
    PriorityArea {
        ImplementationInformation,
        CriminalJusticeResponse,
        InternationalCooperation,
        DataCollectionCapacity,
        ProtocolsImplementation,
    }
}

mirror! {
    /// Kinds of technical assistance. {LEGAL_ADVICE, LEGISLATIVE_DRAFTING,
    /// MODEL_LEGISLATION_OR_AGREEMENTS} and {TRAINING, ON_SITE_EXPERT,
    /// SECONDMENT_EXCHANGE_STUDY_VISIT} are compatible groups.
    AssistanceType {
        LegalAdvice,
        LegislativeDrafting,
        ModelLegislationOrAgreements,
        ActionPlanOrPolicy,
        InstitutionBuilding,
        Training,
        OnSiteExpert,
        SecondmentExchangeStudyVisit,
        GoodPracticeSharing,
        ResearchDataAnalysis,
        InternationalCooperationFacilitation,
        EquipmentMaterial,
        AwarenessPrevention,
        VictimWitnessSupport,
        Other,
    }
}

mirror! {
    /// Institutions that benefit from assistance.
    InstitutionType {
        CentralAuthority,
        MinistryJusticeInterior,
        Legislature,
        Prosecution,
        Judiciary,
        Police,
        BorderCustoms,
        Fiu,
        AssetRecovery,
        Forensics,
        Corrections,
        VictimServices,
        StatisticsOffice,
        CivilSociety,
        Other,
    }
}

mirror! {
    /// IATI organisation roles: 1 funding, 2 accountable, 3 extending, 4 implementing.
    OrgRole { Funding, Accountable, Extending, Implementing }
}

mirror! {
    /// IATI activity status, codes 1–6.
    ActivityStatus { Pipeline, Implementation, Finalisation, Closed, Cancelled, Suspended }
}

mirror! {
    /// IATI related-activity types, codes 1–5.
    RelatedActivityType { Parent, Child, Sibling, CoFunded, ThirdParty }
}

mirror! {
    /// DRAFT records are visible to their owner and coordinators only.
    Publication { Draft, Published }
}

mirror! {
    /// What kind of body an organisation is.
    OrganisationKind {
        DonorState,
        Unodc,
        OtherUn,
        RegionalOrg,
        OtherIgo,
        Ngo,
        Academic,
        PrivateSector,
        RecipientState,
    }
}

mirror! {
    /// Where a needs analysis comes from.
    NeedSource {
        SelfAssessmentQuestionnaire,
        ReviewMechanism,
        NationalStrategy,
        UnodcNeedsAssessment,
        Other,
    }
}

mirror! {
    /// The life of a needs analysis.
    NeedsAnalysisStatus { Draft, Published, Superseded }
}

mirror! {
    /// The recipient's ranking of a need.
    NeedPriority { High, Medium, Low }
}

mirror! {
    /// RESTRICTED needs are visible to the recipient and coordinators only.
    NeedVisibility { Public, Restricted }
}

mirror! {
    /// The caller's role (DESIGN.md §7).
    Role { Admin, Coordinator, Provider, Recipient, Viewer }
}

/// Orders for activity lists; ties break on creation, so pages are stable.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivityOrder {
    #[default]
    CreatedAsc,
    CreatedDesc,
    PlannedStartAsc,
    PlannedStartDesc,
}

impl From<ActivityOrder> for aidgraph_persistence::activities::ActivityOrder {
    fn from(value: ActivityOrder) -> Self {
        use aidgraph_persistence::activities::ActivityOrder as P;
        match value {
            ActivityOrder::CreatedAsc => P::CreatedAsc,
            ActivityOrder::CreatedDesc => P::CreatedDesc,
            ActivityOrder::PlannedStartAsc => P::PlannedStartAsc,
            ActivityOrder::PlannedStartDesc => P::PlannedStartDesc,
        }
    }
}

/// Converts a list of GraphQL enum values to domain values.
pub fn to_domain<G: Copy + Into<D>, D>(values: &[G]) -> Vec<D> {
    values.iter().map(|v| (*v).into()).collect()
}

mirror! {
    /// A rating on one OECD DAC evaluation criterion.
    DacRating {
        HighlySatisfactory,
        Satisfactory,
        Unsatisfactory,
        HighlyUnsatisfactory,
    }
}

mirror! {
    /// The coordinator's funds: general-purpose, special-purpose (earmarked), other.
    Fund {
        GeneralPurpose,
        SpecialPurpose,
        Other,
    }
}

mirror! {
    /// Whether a contribution is promised or received.
    ContributionStatus {
        Pledged,
        Paid,
    }
}

mirror! {
    /// The level a coordination mechanism works at.
    MechanismLevel {
        Local,
        National,
        Regional,
        Multilateral,
    }
}

/// Converts a list of domain values to GraphQL enum values.
pub fn from_domain<D: Copy + Into<G>, G>(values: &[D]) -> Vec<G> {
    values.iter().map(|v| (*v).into()).collect()
}
