//! `aidgraph demo`: a small, realistic registry so a new user sees the registry at work at
//! once — four providers, Kenya and Tunisia with published needs, and activities of which some
//! plainly overlap (two donors training the same Kenyan prosecutors on mutual legal
//! assistance; two drafting Tunisia's law on smuggling of migrants). The organisations'
//! references are real IATI identifiers; the activities are illustrative.

use aidgraph_domain::access::Principal;
use aidgraph_domain::activity::{
    ActivityData, ActivitySubmission, CountryShare, Narrative, ParisFlags, Participation,
    SectorShare,
};
use aidgraph_domain::need::{NeedData, NeedSubmission, NeedsAnalysisData};
use aidgraph_domain::organisation::{OrganisationData, OrganisationSubmission};
use aidgraph_domain::rates::parse_csv;
use aidgraph_domain::records::{
    ContributionData, ContributionSubmission, DacRatings, EvaluationData, EvaluationSubmission,
    JointWorkData, JointWorkSubmission, MechanismData, MechanismSubmission,
};
use aidgraph_domain::vocab::{
    ActivityStatus, AssistanceType as A, InstitutionType as I, NeedPriority, NeedSource,
    NeedVisibility, NeedsAnalysisStatus, OrgRole, OrganisationKind, PriorityArea as P, Role,
};
use aidgraph_domain::vocab::{ContributionStatus, DacRating, Fund, JointWorkKind, MechanismLevel};
use aidgraph_persistence::needs::{self, AnalysisFilter};
use aidgraph_persistence::{PageRequest, Store, activities, organisations, records};
use aidgraph_registry::Registry;
use anyhow::{Context, anyhow};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::HashMap;

mod coordination;

use coordination::{load_coordination, load_rates};

const UNODC: &str = "XM-DAC-41128";
const UK: &str = "GB-GOV-1";
const GERMANY: &str = "DE-1";
const NGO: &str = "XM-DEMO-LEGALAID";

fn admin() -> Principal {
    Principal {
        subject: "demo".into(),
        role: Role::Admin,
        org: None,
        country: None,
    }
}

fn provider(org: &str) -> Principal {
    Principal {
        subject: format!("demo:{org}"),
        role: Role::Provider,
        org: Some(org.into()),
        country: None,
    }
}

fn recipient(country: &str) -> Principal {
    Principal {
        subject: format!("demo:{country}"),
        role: Role::Recipient,
        org: None,
        country: Some(country.into()),
    }
}

fn date(s: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").with_context(|| format!("demo date {s}"))
}

struct NeedSpec {
    key: &'static str,
    title: &'static str,
    area: P,
    provisions: &'static [&'static str],
    types: &'static [A],
    institutions: &'static [I],
    priority: NeedPriority,
}

struct ActivitySpec {
    id: &'static str,
    reporter: &'static str,
    implementer: &'static str,
    title: &'static str,
    description: &'static str,
    country: &'static str,
    sector: &'static str,
    areas: &'static [P],
    provisions: &'static [&'static str],
    types: &'static [A],
    institutions: &'static [I],
    start: &'static str,
    end: &'static str,
    budget: (i64, &'static str),
    needs: &'static [&'static str],
}

const KENYA_NEEDS: &[NeedSpec] = &[
    NeedSpec {
        key: "ke-mla",
        title: "Capacity of the central authority and prosecutors to handle mutual legal assistance requests",
        area: P::InternationalCooperation,
        provisions: &["UNTOC-18"],
        types: &[A::Training, A::InstitutionBuilding],
        institutions: &[I::CentralAuthority, I::Prosecution],
        priority: NeedPriority::High,
    },
    NeedSpec {
        key: "ke-victims",
        title: "Protection and assistance for victims of trafficking in persons",
        area: P::ProtocolsImplementation,
        provisions: &["TIP-6"],
        types: &[A::VictimWitnessSupport],
        institutions: &[I::VictimServices, I::CivilSociety],
        priority: NeedPriority::High,
    },
    NeedSpec {
        key: "ke-firearms",
        title: "Marking and record-keeping of firearms",
        area: P::ProtocolsImplementation,
        provisions: &["FIREARMS-7", "FIREARMS-8"],
        types: &[A::EquipmentMaterial, A::Training],
        institutions: &[I::Police],
        priority: NeedPriority::Medium,
    },
];

const TUNISIA_NEEDS: &[NeedSpec] = &[
    NeedSpec {
        key: "tn-som-law",
        title: "Legislation criminalising the smuggling of migrants",
        area: P::ProtocolsImplementation,
        provisions: &["SOM-6"],
        types: &[A::LegislativeDrafting, A::LegalAdvice],
        institutions: &[I::Legislature, I::MinistryJusticeInterior],
        priority: NeedPriority::High,
    },
    NeedSpec {
        key: "tn-data",
        title: "Statistics on organized crime cases",
        area: P::DataCollectionCapacity,
        provisions: &["UNTOC-28"],
        types: &[A::ResearchDataAnalysis],
        institutions: &[I::StatisticsOffice],
        priority: NeedPriority::Medium,
    },
];

const ACTIVITIES: &[ActivitySpec] = &[
    ActivitySpec {
        id: "GB-GOV-1-DEMO-KE-MLA",
        reporter: UK,
        implementer: UNODC,
        title: "Strengthening mutual legal assistance in Kenya: training for prosecutors",
        description: "Training of prosecutors and central authority staff on drafting and executing mutual legal assistance requests under article 18 of the Convention.",
        country: "KE",
        sector: "15130",
        areas: &[P::InternationalCooperation],
        provisions: &["UNTOC-18"],
        types: &[A::Training],
        institutions: &[I::Prosecution],
        start: "2026-01-01",
        end: "2027-06-30",
        budget: (450_000, "GBP"),
        needs: &["ke-mla"],
    },
    ActivitySpec {
        id: "DE-1-DEMO-KE-COOP",
        reporter: GERMANY,
        implementer: NGO,
        title: "Training Kenyan prosecutors in international cooperation in criminal matters",
        description: "Workshops for prosecutors on mutual legal assistance and extradition requests, with practical exercises on article 18 of the Convention.",
        country: "KE",
        sector: "15130",
        areas: &[P::InternationalCooperation],
        provisions: &["UNTOC-18"],
        types: &[A::Training],
        institutions: &[I::Prosecution],
        start: "2026-03-01",
        end: "2027-02-28",
        budget: (380_000, "EUR"),
        needs: &["ke-mla"],
    },
    ActivitySpec {
        id: "XM-DEMO-LEGALAID-KE-TIP",
        reporter: NGO,
        implementer: NGO,
        title: "Shelters and legal aid for survivors of trafficking in Kenya",
        description: "Safe accommodation, counselling and legal representation for victims of trafficking in persons.",
        country: "KE",
        sector: "15180",
        areas: &[P::ProtocolsImplementation],
        provisions: &["TIP-6"],
        types: &[A::VictimWitnessSupport],
        institutions: &[I::VictimServices],
        start: "2025-07-01",
        end: "2027-06-30",
        budget: (210_000, "USD"),
        needs: &["ke-victims"],
    },
    ActivitySpec {
        id: "XM-DAC-41128-DEMO-TN-SOM",
        reporter: UNODC,
        implementer: UNODC,
        title: "Legislative assistance to Tunisia on the smuggling of migrants",
        description: "Advice on drafting legislation that criminalises the smuggling of migrants in line with the Protocol.",
        country: "TN",
        sector: "15190",
        areas: &[P::ProtocolsImplementation],
        provisions: &["SOM-6"],
        types: &[A::LegislativeDrafting],
        institutions: &[I::Legislature],
        start: "2026-02-01",
        end: "2026-12-31",
        budget: (160_000, "USD"),
        needs: &["tn-som-law"],
    },
    ActivitySpec {
        id: "DE-1-DEMO-TN-SOM",
        reporter: GERMANY,
        implementer: GERMANY,
        title: "Drafting support for Tunisia's law against migrant smuggling",
        description: "Legal advice to the ministry of justice and parliament on a draft law on the smuggling of migrants.",
        country: "TN",
        sector: "15190",
        areas: &[P::ProtocolsImplementation],
        provisions: &["SOM-6"],
        types: &[A::LegalAdvice],
        institutions: &[I::Legislature, I::MinistryJusticeInterior],
        start: "2026-04-01",
        end: "2027-03-31",
        budget: (240_000, "EUR"),
        needs: &["tn-som-law"],
    },
];

/// Loads the demo registry; running it again changes nothing. Returns a summary.
pub async fn load(store: &Store) -> anyhow::Result<String> {
    let registry = Registry::of(store.clone());
    let admin = admin();
    let orgs = [
        (
            UNODC,
            "United Nations Office on Drugs and Crime",
            OrganisationKind::Unodc,
            Some("40"),
            None,
        ),
        (
            UK,
            "Foreign, Commonwealth and Development Office",
            OrganisationKind::DonorState,
            Some("10"),
            Some("GB"),
        ),
        (
            GERMANY,
            "Federal Ministry for Economic Cooperation and Development",
            OrganisationKind::DonorState,
            Some("10"),
            Some("DE"),
        ),
        (
            NGO,
            "Legal Aid Network (demo)",
            OrganisationKind::Ngo,
            Some("22"),
            Some("KE"),
        ),
    ];
    let mut created_orgs = 0;
    for (org_ref, name, kind, iati_type, country) in orgs {
        if organisations::by_ref(store.db(), org_ref).await?.is_none() {
            let data = OrganisationData::parse(OrganisationSubmission {
                org_ref: org_ref.into(),
                name: name.into(),
                kind,
                iati_type: iati_type.map(Into::into),
                country: country.map(Into::into),
            })
            .map_err(|v| anyhow!("demo organisation {org_ref}: {v}"))?;
            aidgraph_registry::organisations::create(&registry, &admin, data).await?;
            created_orgs += 1;
        }
    }

    let mut need_ids: HashMap<&str, i64> = HashMap::new();
    let mut created_analyses = 0;
    for (country, source, reference, specs) in [
        (
            "KE",
            NeedSource::SelfAssessmentQuestionnaire,
            "UNTOC self-assessment, demo cycle",
            KENYA_NEEDS,
        ),
        (
            "TN",
            NeedSource::ReviewMechanism,
            "UNTOC review mechanism, demo cycle",
            TUNISIA_NEEDS,
        ),
    ] {
        let who = recipient(country);
        let existing = needs::list_analyses(
            store.db(),
            &who,
            &AnalysisFilter {
                recipient_country: Some(country.into()),
                status: vec![NeedsAnalysisStatus::Published],
                source: Some(source),
            },
            &PageRequest {
                first: 1,
                after: None,
                count: false,
            },
        )
        .await?;
        let analysis_id = match existing.items.first() {
            Some((_, analysis)) => analysis.id,
            None => {
                let header = NeedsAnalysisData::parse(country, source, Some(reference))
                    .map_err(|v| anyhow!("demo analysis {country}: {v}"))?;
                let mut data = Vec::new();
                for spec in specs {
                    data.push(need_data(spec)?);
                }
                let (analysis, _) =
                    aidgraph_registry::needs::create_analysis(&registry, &who, header, data)
                        .await?;
                aidgraph_registry::needs::publish_analysis(&registry, &who, analysis.id).await?;
                created_analyses += 1;
                analysis.id
            }
        };
        let stored = needs::needs_of_analyses(store.db(), &[analysis_id]).await?;
        for need in stored.get(&analysis_id).into_iter().flatten() {
            if let Some(spec) = specs.iter().find(|s| s.title == need.data.title) {
                need_ids.insert(spec.key, need.id);
            }
        }
    }

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for spec in ACTIVITIES {
        let data = activity_data(spec)?;
        let links: Vec<i64> = spec
            .needs
            .iter()
            .filter_map(|k| need_ids.get(k).copied())
            .collect();
        let (_, outcome) = aidgraph_registry::activities::upsert(
            &registry,
            &provider(spec.reporter),
            data,
            Some(&links),
            true,
        )
        .await?;
        let key = match outcome {
            activities::UpsertOutcome::Created => "created",
            activities::UpsertOutcome::Updated => "updated",
            activities::UpsertOutcome::Unchanged => "unchanged",
        };
        *counts.entry(key).or_default() += 1;
    }
    let rates = load_rates(&registry, &admin).await?;
    let records = if load_coordination(&registry, &admin).await? {
        "added"
    } else {
        "already present"
    };
    Ok(format!(
        "demo registry loaded: {created_orgs} organisations and {created_analyses} published needs analyses added; activities: {} created, {} updated, {} unchanged; {rates} monthly exchange rates; coordination records {records}",
        counts.get("created").unwrap_or(&0),
        counts.get("updated").unwrap_or(&0),
        counts.get("unchanged").unwrap_or(&0),
    ))
}

fn need_data(spec: &NeedSpec) -> anyhow::Result<NeedData> {
    NeedData::parse(
        NeedSubmission {
            title: spec.title.into(),
            description: None,
            priority_area: spec.area,
            provisions: spec.provisions.iter().map(|p| (*p).to_owned()).collect(),
            assistance_types: spec.types.to_vec(),
            beneficiary_institutions: spec.institutions.to_vec(),
            priority: spec.priority,
            estimated_cost: None,
            visibility: NeedVisibility::Public,
        },
        "",
    )
    .map_err(|v| anyhow!("demo need {}: {v}", spec.key))
}

fn activity_data(spec: &ActivitySpec) -> anyhow::Result<ActivityData> {
    let mut participants = vec![Participation {
        org_ref: spec.reporter.into(),
        role: OrgRole::Funding,
        activity_id: None,
    }];
    participants.push(Participation {
        org_ref: spec.implementer.into(),
        role: OrgRole::Implementing,
        activity_id: None,
    });
    ActivityData::parse(ActivitySubmission {
        iati_identifier: spec.id.into(),
        reporting_org: spec.reporter.into(),
        titles: vec![Narrative {
            lang: "en".into(),
            text: spec.title.into(),
        }],
        descriptions: vec![Narrative {
            lang: "en".into(),
            text: spec.description.into(),
        }],
        participating_orgs: participants,
        recipient_countries: vec![CountryShare {
            code: spec.country.into(),
            percentage: Some(Decimal::ONE_HUNDRED),
        }],
        sectors: vec![SectorShare {
            code: spec.sector.into(),
            vocabulary: "1".into(),
            percentage: Some(Decimal::ONE_HUNDRED),
        }],
        priority_areas: spec.areas.to_vec(),
        provisions: spec.provisions.iter().map(|p| (*p).to_owned()).collect(),
        assistance_types: spec.types.to_vec(),
        beneficiary_institutions: spec.institutions.to_vec(),
        status: Some(ActivityStatus::Implementation),
        planned_start: Some(date(spec.start)?),
        planned_end: Some(date(spec.end)?),
        budget: Some((Decimal::new(spec.budget.0, 0), spec.budget.1.into())),
        paris: paris_flags(spec.reporter),
        ..ActivitySubmission::default()
    })
    .map_err(|v| anyhow!("demo activity {}: {v}", spec.id))
}

/// Illustrative Paris Declaration flags per provider, so the indicators have figures; the
/// NGO reports none.
fn paris_flags(reporter: &str) -> ParisFlags {
    let yes = Some(true);
    let no = Some(false);
    match reporter {
        UK => ParisFlags {
            on_budget: yes,
            uses_country_pfm: yes,
            uses_country_procurement: no,
            parallel_piu: no,
            tied_status: Some("5".into()),
            programme_based: yes,
        },
        GERMANY => ParisFlags {
            on_budget: no,
            uses_country_pfm: no,
            uses_country_procurement: no,
            parallel_piu: yes,
            tied_status: Some("5".into()),
            programme_based: no,
        },
        UNODC => ParisFlags {
            on_budget: yes,
            parallel_piu: no,
            tied_status: Some("5".into()),
            ..ParisFlags::default()
        },
        _ => ParisFlags::default(),
    }
}
