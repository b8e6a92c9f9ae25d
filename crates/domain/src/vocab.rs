//! The registry's closed vocabularies: UNTOC priority areas, assistance types and beneficiary
//! institutions, IATI enumerations, and the registry's own states. Each is stored as its
//! upper-case name and parsed back with [`std::str::FromStr`].

use serde::{Deserialize, Serialize};

/// Declares a closed vocabulary stored as its SCREAMING_SNAKE_CASE name.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire form, e.g. `TRAINING`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::UnknownValue { vocabulary: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// The five priority areas the Conference of the Parties set in 2006–2007.
    PriorityArea {
        /// Information on implementation of the Convention.
        ImplementationInformation => "IMPLEMENTATION_INFORMATION",
        /// Criminal justice response to organized crime.
        CriminalJusticeResponse => "CRIMINAL_JUSTICE_RESPONSE",
        /// Central authorities, mutual legal assistance, extradition.
        InternationalCooperation => "INTERNATIONAL_COOPERATION",
        /// Capacity to collect and analyse data.
        DataCollectionCapacity => "DATA_COLLECTION_CAPACITY",
        /// Implementation of the Protocols.
        ProtocolsImplementation => "PROTOCOLS_IMPLEMENTATION",
    }
}

vocabulary! {
    /// Kinds of technical assistance.
    AssistanceType {
        /// Legal advice.
        LegalAdvice => "LEGAL_ADVICE",
        /// Drafting of legislation.
        LegislativeDrafting => "LEGISLATIVE_DRAFTING",
        /// Model legislation or agreements.
        ModelLegislationOrAgreements => "MODEL_LEGISLATION_OR_AGREEMENTS",
        /// Action plans or policies.
        ActionPlanOrPolicy => "ACTION_PLAN_OR_POLICY",
        /// Institution building.
        InstitutionBuilding => "INSTITUTION_BUILDING",
        /// Training.
        Training => "TRAINING",
        /// An expert on site.
        OnSiteExpert => "ON_SITE_EXPERT",
        /// Secondments, exchanges and study visits.
        SecondmentExchangeStudyVisit => "SECONDMENT_EXCHANGE_STUDY_VISIT",
        /// Sharing of good practice.
        GoodPracticeSharing => "GOOD_PRACTICE_SHARING",
        /// Research and data analysis.
        ResearchDataAnalysis => "RESEARCH_DATA_ANALYSIS",
        /// Facilitation of international cooperation.
        InternationalCooperationFacilitation => "INTERNATIONAL_COOPERATION_FACILITATION",
        /// Equipment and material.
        EquipmentMaterial => "EQUIPMENT_MATERIAL",
        /// Awareness raising and prevention.
        AwarenessPrevention => "AWARENESS_PREVENTION",
        /// Support to victims and witnesses.
        VictimWitnessSupport => "VICTIM_WITNESS_SUPPORT",
        /// Anything else.
        Other => "OTHER",
    }
}

vocabulary! {
    /// Institutions that benefit from assistance.
    InstitutionType {
        /// Central authority for mutual legal assistance.
        CentralAuthority => "CENTRAL_AUTHORITY",
        /// Ministry of justice or interior.
        MinistryJusticeInterior => "MINISTRY_JUSTICE_INTERIOR",
        /// Legislature.
        Legislature => "LEGISLATURE",
        /// Prosecution service.
        Prosecution => "PROSECUTION",
        /// Judiciary.
        Judiciary => "JUDICIARY",
        /// Police.
        Police => "POLICE",
        /// Border and customs services.
        BorderCustoms => "BORDER_CUSTOMS",
        /// Financial intelligence unit.
        Fiu => "FIU",
        /// Asset recovery office.
        AssetRecovery => "ASSET_RECOVERY",
        /// Forensic services.
        Forensics => "FORENSICS",
        /// Prisons and corrections.
        Corrections => "CORRECTIONS",
        /// Victim services.
        VictimServices => "VICTIM_SERVICES",
        /// National statistics office.
        StatisticsOffice => "STATISTICS_OFFICE",
        /// Civil society.
        CivilSociety => "CIVIL_SOCIETY",
        /// Anything else.
        Other => "OTHER",
    }
}

vocabulary! {
    /// IATI organisation roles in an activity (OrganisationRole 1–4).
    OrgRole {
        /// 1: provides the money.
        Funding => "FUNDING",
        /// 2: accountable for the activity.
        Accountable => "ACCOUNTABLE",
        /// 3: manages the budget on the funder's behalf.
        Extending => "EXTENDING",
        /// 4: carries the activity out.
        Implementing => "IMPLEMENTING",
    }
}

impl OrgRole {
    /// The IATI OrganisationRole code.
    pub fn iati_code(self) -> u8 {
        match self {
            OrgRole::Funding => 1,
            OrgRole::Accountable => 2,
            OrgRole::Extending => 3,
            OrgRole::Implementing => 4,
        }
    }
}

vocabulary! {
    /// IATI activity status (ActivityStatus 1–6).
    ActivityStatus {
        /// 1: being scoped or planned.
        Pipeline => "PIPELINE",
        /// 2: under way.
        Implementation => "IMPLEMENTATION",
        /// 3: physical activity complete, finances being closed.
        Finalisation => "FINALISATION",
        /// 4: finished.
        Closed => "CLOSED",
        /// 5: cancelled.
        Cancelled => "CANCELLED",
        /// 6: suspended.
        Suspended => "SUSPENDED",
    }
}

impl ActivityStatus {
    /// The IATI ActivityStatus code.
    pub fn iati_code(self) -> u8 {
        match self {
            ActivityStatus::Pipeline => 1,
            ActivityStatus::Implementation => 2,
            ActivityStatus::Finalisation => 3,
            ActivityStatus::Closed => 4,
            ActivityStatus::Cancelled => 5,
            ActivityStatus::Suspended => 6,
        }
    }
}

vocabulary! {
    /// IATI related-activity types (RelatedActivityType 1–5).
    RelatedActivityType {
        /// 1: the related activity is this one's parent.
        Parent => "PARENT",
        /// 2: the related activity is this one's child.
        Child => "CHILD",
        /// 3: a sibling under the same parent.
        Sibling => "SIBLING",
        /// 4: co-funded with this one.
        CoFunded => "CO_FUNDED",
        /// 5: a third-party report of the same activity.
        ThirdParty => "THIRD_PARTY",
    }
}

impl RelatedActivityType {
    /// The IATI RelatedActivityType code.
    pub fn iati_code(self) -> u8 {
        match self {
            RelatedActivityType::Parent => 1,
            RelatedActivityType::Child => 2,
            RelatedActivityType::Sibling => 3,
            RelatedActivityType::CoFunded => 4,
            RelatedActivityType::ThirdParty => 5,
        }
    }
}

vocabulary! {
    /// Whether a record is visible beyond its owner and coordinators.
    Publication {
        /// Visible to the owner and coordinators only.
        Draft => "DRAFT",
        /// Visible to every reader.
        Published => "PUBLISHED",
    }
}

vocabulary! {
    /// What kind of body an organisation is.
    OrganisationKind {
        /// A donor state's ministry or agency.
        DonorState => "DONOR_STATE",
        /// The United Nations Office on Drugs and Crime.
        Unodc => "UNODC",
        /// Another United Nations body.
        OtherUn => "OTHER_UN",
        /// A regional organisation.
        RegionalOrg => "REGIONAL_ORG",
        /// Another intergovernmental organisation.
        OtherIgo => "OTHER_IGO",
        /// A non-governmental organisation.
        Ngo => "NGO",
        /// A university or research institute.
        Academic => "ACADEMIC",
        /// A private company.
        PrivateSector => "PRIVATE_SECTOR",
        /// A recipient state's government.
        RecipientState => "RECIPIENT_STATE",
    }
}

vocabulary! {
    /// Where a needs analysis comes from.
    NeedSource {
        /// The UNTOC self-assessment questionnaires.
        SelfAssessmentQuestionnaire => "SELF_ASSESSMENT_QUESTIONNAIRE",
        /// The review mechanism.
        ReviewMechanism => "REVIEW_MECHANISM",
        /// A national strategy.
        NationalStrategy => "NATIONAL_STRATEGY",
        /// A UNODC needs assessment.
        UnodcNeedsAssessment => "UNODC_NEEDS_ASSESSMENT",
        /// Any other source.
        Other => "OTHER",
    }
}

vocabulary! {
    /// The life of a needs analysis.
    NeedsAnalysisStatus {
        /// Being prepared; visible to the recipient and coordinators.
        Draft => "DRAFT",
        /// Published: providers can see and address its needs.
        Published => "PUBLISHED",
        /// Replaced by a newer analysis.
        Superseded => "SUPERSEDED",
    }
}

vocabulary! {
    /// How urgent a need is, as the recipient ranks it.
    NeedPriority {
        /// High.
        High => "HIGH",
        /// Medium.
        Medium => "MEDIUM",
        /// Low.
        Low => "LOW",
    }
}

vocabulary! {
    /// Who may see a need.
    NeedVisibility {
        /// Everyone who may see the analysis.
        Public => "PUBLIC",
        /// The recipient and coordinators only.
        Restricted => "RESTRICTED",
    }
}

vocabulary! {
    /// The roles of DESIGN.md §7.
    Role {
        /// Everything, including organisations.
        Admin => "ADMIN",
        /// Reads everything, reviews flags, publishes needs on a recipient's behalf.
        Coordinator => "COORDINATOR",
        /// Registers and changes its organisation's activities.
        Provider => "PROVIDER",
        /// Publishes its country's needs.
        Recipient => "RECIPIENT",
        /// Reads published records.
        Viewer => "VIEWER",
    }
}

vocabulary! {
    /// How a pair of activities relates, first match wins (DESIGN.md §4).
    OverlapClass {
        /// The same money reported twice; coverage and indicators count the pair once.
        DoubleReporting => "DOUBLE_REPORTING",
        /// In one coordination group; the score is still shown.
        Coordinated => "COORDINATED",
        /// Score of 60 or more.
        LikelyDuplication => "LIKELY_DUPLICATION",
        /// Score from 40 to 59.
        PossibleOverlap => "POSSIBLE_OVERLAP",
        /// Below 40; not stored.
        None => "NONE",
    }
}

vocabulary! {
    /// A reviewer's decision on an overlap flag.
    ReviewStatus {
        /// Not reviewed, or the pair changed since.
        Open => "OPEN",
        /// A real duplication.
        ConfirmedDuplicate => "CONFIRMED_DUPLICATE",
        /// They complement each other; joins the coordination group.
        Complementary => "COMPLEMENTARY",
        /// They are coordinated; joins the coordination group.
        Coordinated => "COORDINATED",
        /// Not a concern.
        Dismissed => "DISMISSED",
    }
}

impl ReviewStatus {
    /// Whether the decision links the pair into one coordination group.
    pub fn coordinates(self) -> bool {
        matches!(
            self,
            ReviewStatus::Complementary | ReviewStatus::Coordinated
        )
    }
}

vocabulary! {
    /// A rating on one OECD DAC evaluation criterion.
    DacRating {
        /// Highly satisfactory.
        HighlySatisfactory => "HIGHLY_SATISFACTORY",
        /// Satisfactory.
        Satisfactory => "SATISFACTORY",
        /// Unsatisfactory.
        Unsatisfactory => "UNSATISFACTORY",
        /// Highly unsatisfactory.
        HighlyUnsatisfactory => "HIGHLY_UNSATISFACTORY",
    }
}

vocabulary! {
    /// Joint work the coordinator records for Paris indicators 10a and 10b.
    JointWorkKind {
        /// A mission to a country (indicator 10a).
        Mission => "MISSION",
        /// Country analytic work (indicator 10b).
        AnalyticWork => "ANALYTIC_WORK",
    }
}

vocabulary! {
    /// The coordinator's funds a contribution goes to.
    Fund {
        /// General-purpose funds.
        GeneralPurpose => "GENERAL_PURPOSE",
        /// Special-purpose funds, earmarked.
        SpecialPurpose => "SPECIAL_PURPOSE",
        /// Anything else.
        Other => "OTHER",
    }
}

vocabulary! {
    /// Whether a contribution is promised or received.
    ContributionStatus {
        /// Promised.
        Pledged => "PLEDGED",
        /// Received.
        Paid => "PAID",
    }
}

vocabulary! {
    /// The level a coordination mechanism works at.
    MechanismLevel {
        /// Local, within one country.
        Local => "LOCAL",
        /// National.
        National => "NATIONAL",
        /// Regional, several countries.
        Regional => "REGIONAL",
        /// Multilateral.
        Multilateral => "MULTILATERAL",
    }
}
