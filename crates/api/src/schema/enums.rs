//! GraphQL enums mirroring the domain vocabularies; the wire names are the domain's stored
//! names, so the two never drift.

use aidgraph_domain::vocab as d;
use async_graphql::Enum;

macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
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
        /// Information on how the Convention is being implemented.
        ImplementationInformation,
        /// The criminal justice response to organized crime.
        CriminalJusticeResponse,
        /// International cooperation: central authorities, mutual legal assistance and extradition.
        InternationalCooperation,
        /// Capacity to collect and analyse data.
        DataCollectionCapacity,
        /// Implementing the Protocols: trafficking in persons, smuggling of migrants, firearms.
        ProtocolsImplementation,
    }
}

mirror! {
    /// Kinds of technical assistance. {LEGAL_ADVICE, LEGISLATIVE_DRAFTING,
    /// MODEL_LEGISLATION_OR_AGREEMENTS} and {TRAINING, ON_SITE_EXPERT,
    /// SECONDMENT_EXCHANGE_STUDY_VISIT} are compatible groups.
    AssistanceType {
        /// Legal advice.
        LegalAdvice,
        /// Drafting of legislation.
        LegislativeDrafting,
        /// Model legislation or model agreements.
        ModelLegislationOrAgreements,
        /// Action plans or policies.
        ActionPlanOrPolicy,
        /// Building up institutions.
        InstitutionBuilding,
        /// Training.
        Training,
        /// An expert placed on site.
        OnSiteExpert,
        /// Secondments, exchanges and study visits.
        SecondmentExchangeStudyVisit,
        /// Sharing of good practice.
        GoodPracticeSharing,
        /// Research and data analysis.
        ResearchDataAnalysis,
        /// Facilitation of international cooperation.
        InternationalCooperationFacilitation,
        /// Equipment and material.
        EquipmentMaterial,
        /// Awareness raising and prevention.
        AwarenessPrevention,
        /// Support to victims and witnesses.
        VictimWitnessSupport,
        /// Any other kind of assistance.
        Other,
    }
}

mirror! {
    /// Institutions that benefit from assistance.
    InstitutionType {
        /// The central authority for mutual legal assistance.
        CentralAuthority,
        /// A ministry of justice or of the interior.
        MinistryJusticeInterior,
        /// The legislature.
        Legislature,
        /// The prosecution service.
        Prosecution,
        /// The judiciary.
        Judiciary,
        /// The police.
        Police,
        /// Border and customs services.
        BorderCustoms,
        /// The financial intelligence unit.
        Fiu,
        /// An asset recovery office.
        AssetRecovery,
        /// Forensic services.
        Forensics,
        /// Prisons and corrections.
        Corrections,
        /// Services for victims.
        VictimServices,
        /// The national statistics office.
        StatisticsOffice,
        /// Civil society.
        CivilSociety,
        /// Any other institution.
        Other,
    }
}

mirror! {
    /// IATI organisation roles: 1 funding, 2 accountable, 3 extending, 4 implementing.
    OrgRole {
        /// IATI role 1: the organisation provides the money.
        Funding,
        /// IATI role 2: the organisation is accountable for the activity.
        Accountable,
        /// IATI role 3: the organisation manages the budget on the funder's behalf.
        Extending,
        /// IATI role 4: the organisation carries the activity out.
        Implementing,
    }
}

mirror! {
    /// IATI activity status, codes 1–6.
    ActivityStatus {
        /// IATI status 1: the activity is being scoped or planned.
        Pipeline,
        /// IATI status 2: the activity is under way.
        Implementation,
        /// IATI status 3: the activity's work is complete and its finances are being closed.
        Finalisation,
        /// IATI status 4: the activity is finished; it covers needs for 12 months after it ends.
        Closed,
        /// IATI status 5: the activity was cancelled; overlap checks and coverage leave it out.
        Cancelled,
        /// IATI status 6: the activity is suspended; it covers no need meanwhile.
        Suspended,
    }
}

mirror! {
    /// IATI related-activity types, codes 1–5.
    RelatedActivityType {
        /// IATI type 1: the related activity is this one's parent; the two count as coordinated.
        Parent,
        /// IATI type 2: the related activity is this one's child; the two count as coordinated.
        Child,
        /// IATI type 3: the two share a parent and count as coordinated.
        Sibling,
        /// IATI type 4: the two are co-funded and count as coordinated.
        CoFunded,
        /// IATI type 5: a third party's report of this activity; it does not make them coordinated.
        ThirdParty,
    }
}

mirror! {
    /// DRAFT records are visible to their owner and coordinators only.
    Publication {
        /// Visible only to its owner and coordinators.
        Draft,
        /// Visible to every reader.
        Published,
    }
}

mirror! {
    /// What kind of body an organisation is.
    OrganisationKind {
        /// A donor state's ministry or agency.
        DonorState,
        /// The United Nations Office on Drugs and Crime, the coordinator.
        Unodc,
        /// Another United Nations body.
        OtherUn,
        /// A regional organisation.
        RegionalOrg,
        /// Another intergovernmental organisation.
        OtherIgo,
        /// A non-governmental organisation.
        Ngo,
        /// A university or research institute.
        Academic,
        /// A private company.
        PrivateSector,
        /// A recipient state's government.
        RecipientState,
    }
}

mirror! {
    /// Where a needs analysis comes from.
    NeedSource {
        /// The UNTOC self-assessment questionnaires.
        SelfAssessmentQuestionnaire,
        /// The UNTOC review mechanism.
        ReviewMechanism,
        /// The recipient state's national strategy.
        NationalStrategy,
        /// A needs assessment by UNODC.
        UnodcNeedsAssessment,
        /// Any other source.
        Other,
    }
}

mirror! {
    /// The life of a needs analysis.
    NeedsAnalysisStatus {
        /// Being prepared; visible only to the recipient and coordinators.
        Draft,
        /// Published: providers can see and address its needs, and coverage is tracked.
        Published,
        /// Replaced by a newer analysis of the same country; its needs can no longer change.
        Superseded,
    }
}

mirror! {
    /// The recipient's ranking of a need.
    NeedPriority {
        /// The recipient ranks the need high.
        High,
        /// The recipient ranks the need medium.
        Medium,
        /// The recipient ranks the need low.
        Low,
    }
}

mirror! {
    /// RESTRICTED needs are visible to the recipient and coordinators only.
    NeedVisibility {
        /// Visible to everyone who may see its analysis.
        Public,
        /// Visible only to the recipient and coordinators.
        Restricted,
    }
}

mirror! {
    /// The caller's role (DESIGN.md §7).
    Role {
        /// May do everything, including managing organisations and loading exchange rates.
        Admin,
        /// Reads all, reviews flags, records coordination work and manages needs for recipients.
        Coordinator,
        /// Manages its organisation's activities, reviews their flags and records evaluations.
        Provider,
        /// Creates, publishes and edits its own country's needs analyses.
        Recipient,
        /// Reads published records only.
        Viewer,
    }
}

/// Orders for activity lists; ties break on creation, so pages are stable.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivityOrder {
    /// Oldest registered first.
    #[default]
    CreatedAsc,
    /// Newest registered first.
    CreatedDesc,
    /// Earliest planned start first (actual start when none is planned); undated activities last.
    PlannedStartAsc,
    /// Latest planned start first (actual start when none is planned); undated activities first.
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
        /// Highly satisfactory on this criterion.
        HighlySatisfactory,
        /// Satisfactory on this criterion.
        Satisfactory,
        /// Unsatisfactory on this criterion.
        Unsatisfactory,
        /// Highly unsatisfactory on this criterion.
        HighlyUnsatisfactory,
    }
}

mirror! {
    /// The coordinator's funds: general-purpose, special-purpose (earmarked), other.
    Fund {
        /// General-purpose funds; contributions to them are not earmarked.
        GeneralPurpose,
        /// Special-purpose funds; contributions to them must name an earmark.
        SpecialPurpose,
        /// Any other fund.
        Other,
    }
}

mirror! {
    /// Whether a contribution is promised or received.
    ContributionStatus {
        /// Promised by the donor but not yet received.
        Pledged,
        /// Received from the donor.
        Paid,
    }
}

mirror! {
    /// The level a coordination mechanism works at.
    MechanismLevel {
        /// Works locally, within one country.
        Local,
        /// Works nationally, for one country.
        National,
        /// Works regionally, across one or more countries.
        Regional,
        /// Works at multilateral level.
        Multilateral,
    }
}

/// Converts a list of domain values to GraphQL enum values.
pub fn from_domain<D: Copy + Into<G>, G>(values: &[D]) -> Vec<G> {
    values.iter().map(|v| (*v).into()).collect()
}
