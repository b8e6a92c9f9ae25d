//! `aidgraph bench-data`: realistic synthetic registries for benchmarks. Country and sector
//! choices are skewed (a few countries and sectors draw most activities, as in real aid data),
//! some activities span several countries, windows run 1–5 years, and titles come from
//! templates in English, French and Spanish. The same seed gives the same registry.

use aidgraph_domain::access::Principal;
use aidgraph_domain::activity::{
    ActivityData, ActivitySubmission, CountryShare, Narrative, Participation, RelatedActivity,
    SectorShare, TransactionSubmission,
};
use aidgraph_domain::need::{NeedData, NeedSubmission, NeedsAnalysisData};
use aidgraph_domain::organisation::{OrganisationData, OrganisationSubmission};
use aidgraph_domain::vocab::{
    ActivityStatus, AssistanceType as A, InstitutionType as I, NeedPriority, NeedSource,
    NeedVisibility, OrgRole, OrganisationKind, PriorityArea as P, RelatedActivityType, Role,
};
use aidgraph_persistence::{Store, organisations};
use aidgraph_registry::Registry;
use anyhow::{Context, anyhow};
use chrono::{Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Recipient countries, most aided first; draws follow a Zipf-like skew over this order.
pub const COUNTRIES: &[&str] = &[
    "KE", "NG", "PK", "AF", "ET", "TN", "LB", "CO", "MX", "UA", "BD", "ID", "PH", "EG", "MA", "JO",
    "IQ", "SO", "SD", "SS", "CD", "ML", "NE", "BF", "TD", "SN", "GH", "CI", "CM", "UG", "TZ", "MZ",
    "ZA", "ZW", "ZM", "MW", "RW", "BI", "MG", "LY", "DZ", "MR", "GT", "HN", "SV", "NI", "PE", "BO",
    "EC", "VE", "HT", "DO", "JM", "PA", "PY", "BR", "AR", "KG", "TJ", "UZ", "KZ", "TM", "MN", "MM",
    "KH", "LA", "VN", "TH", "NP", "LK", "MV", "YE", "SY", "PS", "AM", "GE", "AZ", "MD", "AL", "BA",
    "RS", "ME", "MK", "XK", "TR", "IR", "SL", "LR", "GN", "GW", "GM", "BJ", "TG", "CF", "CG", "GA",
    "AO", "NA", "BW", "LS", "SZ", "ER", "DJ", "CV", "FJ", "PG", "SB", "VU", "TL", "BT",
];

const SECTORS: &[&str] = &[
    "15130", "15210", "15190", "15220", "15160", "15113", "15180", "15131", "15132", "15134",
    "15136", "15137", "15240", "16063",
];

const PROVISIONS: &[(&str, P)] = &[
    ("UNTOC-18", P::InternationalCooperation),
    ("UNTOC-16", P::InternationalCooperation),
    ("UNTOC-13", P::InternationalCooperation),
    ("UNTOC-27", P::InternationalCooperation),
    ("UNTOC-5", P::CriminalJusticeResponse),
    ("UNTOC-6", P::CriminalJusticeResponse),
    ("UNTOC-8", P::CriminalJusticeResponse),
    ("UNTOC-12", P::CriminalJusticeResponse),
    ("UNTOC-20", P::CriminalJusticeResponse),
    ("UNTOC-24", P::CriminalJusticeResponse),
    ("UNTOC-25", P::CriminalJusticeResponse),
    ("UNTOC-28", P::DataCollectionCapacity),
    ("UNTOC-29", P::CriminalJusticeResponse),
    ("UNTOC-32", P::ImplementationInformation),
    ("TIP-5", P::ProtocolsImplementation),
    ("TIP-6", P::ProtocolsImplementation),
    ("TIP-9", P::ProtocolsImplementation),
    ("SOM-6", P::ProtocolsImplementation),
    ("SOM-16", P::ProtocolsImplementation),
    ("FIREARMS-5", P::ProtocolsImplementation),
    ("FIREARMS-8", P::ProtocolsImplementation),
];

const TYPES: &[A] = &[
    A::Training,
    A::LegalAdvice,
    A::LegislativeDrafting,
    A::InstitutionBuilding,
    A::OnSiteExpert,
    A::ActionPlanOrPolicy,
    A::EquipmentMaterial,
    A::ResearchDataAnalysis,
    A::GoodPracticeSharing,
    A::SecondmentExchangeStudyVisit,
    A::AwarenessPrevention,
    A::VictimWitnessSupport,
    A::InternationalCooperationFacilitation,
];

const INSTITUTIONS: &[I] = &[
    I::Prosecution,
    I::Police,
    I::Judiciary,
    I::CentralAuthority,
    I::BorderCustoms,
    I::MinistryJusticeInterior,
    I::Fiu,
    I::VictimServices,
    I::Legislature,
    I::Corrections,
    I::Forensics,
    I::AssetRecovery,
    I::StatisticsOffice,
    I::CivilSociety,
];

struct Language {
    code: &'static str,
    actions: &'static [&'static str],
    subjects: &'static [&'static str],
    people: &'static [&'static str],
    places: &'static [&'static str],
}

const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        actions: &[
            "Training of",
            "Support to",
            "Strengthening the capacity of",
            "Technical assistance to",
            "Mentoring programme for",
            "Regional workshop for",
        ],
        subjects: &[
            "mutual legal assistance",
            "extradition",
            "trafficking in persons",
            "smuggling of migrants",
            "firearms control",
            "money laundering investigations",
            "witness protection",
            "asset recovery",
            "cybercrime investigations",
            "border management",
            "organized crime statistics",
            "special investigative techniques",
        ],
        people: &[
            "prosecutors",
            "judges",
            "police investigators",
            "central authority staff",
            "border officers",
            "financial intelligence analysts",
            "prison officials",
            "legislators",
        ],
        places: &[
            "in the capital",
            "in border provinces",
            "nationwide",
            "in coastal regions",
            "with neighbouring states",
        ],
    },
    Language {
        code: "fr",
        actions: &[
            "Formation des",
            "Appui aux",
            "Renforcement des capacités des",
            "Assistance technique aux",
            "Atelier régional pour les",
        ],
        subjects: &[
            "entraide judiciaire",
            "extradition",
            "traite des personnes",
            "trafic illicite de migrants",
            "contrôle des armes à feu",
            "enquêtes sur le blanchiment",
            "protection des témoins",
            "recouvrement des avoirs",
            "statistiques de la criminalité organisée",
        ],
        people: &[
            "procureurs",
            "magistrats",
            "enquêteurs de police",
            "agents des frontières",
            "analystes financiers",
            "législateurs",
        ],
        places: &[
            "dans la capitale",
            "dans les régions frontalières",
            "au niveau national",
            "avec les États voisins",
        ],
    },
    Language {
        code: "es",
        actions: &[
            "Capacitación de",
            "Apoyo a",
            "Fortalecimiento de las capacidades de",
            "Asistencia técnica a",
            "Taller regional para",
        ],
        subjects: &[
            "asistencia judicial recíproca",
            "extradición",
            "trata de personas",
            "tráfico ilícito de migrantes",
            "control de armas de fuego",
            "investigaciones de lavado de activos",
            "protección de testigos",
            "recuperación de activos",
            "estadísticas sobre delincuencia organizada",
        ],
        people: &[
            "fiscales",
            "jueces",
            "investigadores policiales",
            "funcionarios de fronteras",
            "analistas financieros",
            "legisladores",
        ],
        places: &[
            "en la capital",
            "en las provincias fronterizas",
            "a nivel nacional",
            "con los Estados vecinos",
        ],
    },
];

/// Zipf exponent of country draws: the most aided country gets about 8 % of activities, close
/// to what OECD CRS data show for project counts.
const COUNTRY_SKEW: f64 = 0.8;

/// Picks an index with probability ∝ 1 / (rank + 1)^s.
fn zipf(rng: &mut StdRng, n: usize, s: f64) -> usize {
    let total: f64 = (1..=n).map(|k| 1.0 / (k as f64).powf(s)).sum();
    let mut x = rng.random::<f64>() * total;
    for k in 1..=n {
        x -= 1.0 / (k as f64).powf(s);
        if x <= 0.0 {
            return k - 1;
        }
    }
    n - 1
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Reference of synthetic provider `i`.
pub fn provider_ref(i: usize) -> String {
    format!("XM-BENCH-{i:03}")
}

/// How many synthetic providers there are.
pub const PROVIDERS: usize = 60;

/// A generator of synthetic activities.
pub struct Generator {
    rng: StdRng,
    start: NaiveDate,
}

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            start: NaiveDate::from_ymd_opt(2021, 1, 1).unwrap_or_default(),
        }
    }

    fn country(&mut self) -> &'static str {
        COUNTRIES[zipf(&mut self.rng, COUNTRIES.len(), COUNTRY_SKEW)]
    }

    /// A synthetic activity `identifier`, reported by one of the providers. `earlier` are
    /// identifiers already generated, for related-activity and funding-chain links.
    pub fn activity(
        &mut self,
        identifier: &str,
        earlier: &[String],
    ) -> anyhow::Result<ActivityData> {
        let rng = &mut self.rng;
        let reporter = provider_ref(zipf(rng, PROVIDERS, 0.8));
        let implementer = if rng.random_bool(0.4) {
            reporter.clone()
        } else {
            provider_ref(zipf(rng, PROVIDERS, 1.2))
        };
        let mut countries = vec![COUNTRIES[zipf(rng, COUNTRIES.len(), COUNTRY_SKEW)]];
        if rng.random_bool(0.15) {
            for _ in 0..rng.random_range(1..=3) {
                let c = COUNTRIES[zipf(rng, COUNTRIES.len(), COUNTRY_SKEW)];
                if !countries.contains(&c) {
                    countries.push(c);
                }
            }
        }
        let first_sector = SECTORS[zipf(rng, SECTORS.len(), 1.1)];
        let mut sectors = vec![(first_sector, 100)];
        if rng.random_bool(0.3) {
            let second = SECTORS[zipf(rng, SECTORS.len(), 1.1)];
            if second != first_sector {
                sectors = vec![(first_sector, 60), (second, 40)];
            }
        }
        let mut provisions = Vec::new();
        let mut areas = Vec::new();
        for _ in 0..rng.random_range(0..=3) {
            let (p, area) = PROVISIONS[zipf(rng, PROVISIONS.len(), 0.9)];
            provisions.push(p.to_owned());
            areas.push(area);
        }
        let types: Vec<A> = (0..rng.random_range(1..=2))
            .map(|_| TYPES[zipf(rng, TYPES.len(), 0.9)])
            .collect();
        let institutions: Vec<I> = (0..rng.random_range(1..=2))
            .map(|_| INSTITUTIONS[zipf(rng, INSTITUTIONS.len(), 0.9)])
            .collect();
        let start = self.start + Days::new(rng.random_range(0..(365 * 7)));
        let end = start + Days::new(rng.random_range(365..(365 * 5)));
        let status = match rng.random_range(0..100) {
            0..=1 => ActivityStatus::Cancelled,
            2..=11 => ActivityStatus::Pipeline,
            12..=19 => ActivityStatus::Closed,
            20..=24 => ActivityStatus::Finalisation,
            25 => ActivityStatus::Suspended,
            _ => ActivityStatus::Implementation,
        };
        let lang = &LANGUAGES[zipf(rng, LANGUAGES.len(), 1.0)];
        let title = format!(
            "{} {} {} {}",
            pick(rng, lang.actions),
            pick(rng, lang.people),
            pick(rng, lang.subjects),
            pick(rng, lang.places)
        );
        let description = format!(
            "{} {}, {} {}.",
            pick(rng, lang.actions),
            pick(rng, lang.people),
            pick(rng, lang.subjects),
            pick(rng, lang.subjects)
        );
        let currency = *pick(rng, &["USD", "EUR", "GBP"]);
        let amount = Decimal::new(rng.random_range(50_000..5_000_000), 0);
        let mut related = Vec::new();
        let mut transactions = Vec::new();
        if !earlier.is_empty() && rng.random_bool(0.05) {
            related.push(RelatedActivity {
                iati_identifier: pick(rng, earlier).clone(),
                kind: *pick(
                    rng,
                    &[
                        RelatedActivityType::Parent,
                        RelatedActivityType::CoFunded,
                        RelatedActivityType::Sibling,
                    ],
                ),
            });
        }
        if !earlier.is_empty() && rng.random_bool(0.02) {
            transactions.push(TransactionSubmission {
                kind: "1".into(),
                date: start,
                amount,
                currency: currency.into(),
                provider_activity_id: Some(pick(rng, earlier).clone()),
                receiver_activity_id: None,
            });
        }
        ActivityData::parse(ActivitySubmission {
            iati_identifier: identifier.to_owned(),
            reporting_org: reporter.clone(),
            titles: vec![Narrative {
                lang: lang.code.into(),
                text: title,
            }],
            descriptions: vec![Narrative {
                lang: lang.code.into(),
                text: description,
            }],
            participating_orgs: vec![
                Participation {
                    org_ref: reporter,
                    role: OrgRole::Funding,
                    activity_id: None,
                },
                Participation {
                    org_ref: implementer,
                    role: OrgRole::Implementing,
                    activity_id: None,
                },
            ],
            recipient_countries: countries
                .iter()
                .map(|c| CountryShare {
                    code: (*c).into(),
                    percentage: None,
                })
                .collect(),
            sectors: sectors
                .iter()
                .map(|(code, pct)| SectorShare {
                    code: (*code).into(),
                    vocabulary: "1".into(),
                    percentage: Some(Decimal::new(*pct, 0)),
                })
                .collect(),
            priority_areas: areas,
            provisions,
            assistance_types: types,
            beneficiary_institutions: institutions,
            status: Some(status),
            planned_start: Some(start),
            planned_end: Some(end),
            budget: Some((amount, currency.into())),
            transactions,
            related_activities: related,
            ..ActivitySubmission::default()
        })
        .map_err(|v| anyhow!("generated activity {identifier} is invalid: {v}"))
    }
}

/// The GraphQL `ActivityInput` for an activity, as a client would send it.
pub fn activity_input(data: &ActivityData) -> Value {
    json!({
        "iatiIdentifier": data.iati_identifier,
        "reportingOrg": data.reporting_org,
        "titles": data.titles.iter().map(|n| json!({ "lang": n.lang, "text": n.text })).collect::<Vec<_>>(),
        "descriptions": data.descriptions.iter().map(|n| json!({ "lang": n.lang, "text": n.text })).collect::<Vec<_>>(),
        "participatingOrgs": data.participating_orgs.iter().map(|p| json!({ "ref": p.org_ref, "role": p.role.as_str() })).collect::<Vec<_>>(),
        "recipientCountries": data.recipient_countries.iter().map(|c| json!({ "code": c.code })).collect::<Vec<_>>(),
        "sectors": data.sectors.iter().map(|s| json!({ "code": s.code, "vocabulary": s.vocabulary, "percentage": s.percentage.map(|p| p.to_string()) })).collect::<Vec<_>>(),
        "priorityAreas": data.priority_areas.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "provisions": data.provisions.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "assistanceTypes": data.assistance_types.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "beneficiaryInstitutions": data.beneficiary_institutions.iter().map(|b| b.as_str()).collect::<Vec<_>>(),
        "status": data.status.as_str(),
        "plannedStart": data.planned_start.map(|d| d.to_string()),
        "plannedEnd": data.planned_end.map(|d| d.to_string()),
        "budget": data.budget.as_ref().map(|b| json!({ "amount": b.amount.to_string(), "currency": b.currency })),
    })
}

/// Registers the synthetic providers (once).
pub async fn ensure_providers(store: &Store) -> anyhow::Result<()> {
    let registry = aidgraph_registry::Registry::of(store.clone());
    let admin = Principal {
        subject: "bench-data".into(),
        role: Role::Admin,
        org: None,
        country: None,
    };
    for i in 0..PROVIDERS {
        let org_ref = provider_ref(i);
        if organisations::by_ref(store.db(), &org_ref).await?.is_some() {
            continue;
        }
        let kind = match i % 6 {
            0 => OrganisationKind::Unodc,
            1 | 2 => OrganisationKind::DonorState,
            3 => OrganisationKind::OtherUn,
            4 => OrganisationKind::RegionalOrg,
            _ => OrganisationKind::Ngo,
        };
        let data = OrganisationData::parse(OrganisationSubmission {
            org_ref: org_ref.clone(),
            name: format!("Benchmark provider {i}"),
            kind,
            iati_type: None,
            country: None,
        })
        .map_err(|v| anyhow!("{v}"))?;
        aidgraph_registry::organisations::create(&registry, &admin, data).await?;
    }
    Ok(())
}

/// Generates `activities` published activities and `needs` published needs, then returns the
/// generator for further synthetic input. Flags are not computed: recompute afterwards.
pub async fn generate(
    store: &Store,
    activities_count: usize,
    needs_count: usize,
    seed: u64,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<Generator> {
    let registry = Registry::of(store.clone());
    ensure_providers(store).await?;
    let mut generator = Generator::new(seed);

    // Needs: one published analysis per country drawn, needs spread with the same skew.
    let mut need_ids: HashMap<&'static str, Vec<i64>> = HashMap::new();
    let mut per_country: HashMap<&'static str, Vec<NeedData>> = HashMap::new();
    for i in 0..needs_count {
        let country = generator.country();
        let rng = &mut generator.rng;
        let (provision, area) = PROVISIONS[zipf(rng, PROVISIONS.len(), 0.9)];
        let data = NeedData::parse(
            NeedSubmission {
                title: format!("Need {i}: {provision} capacity"),
                description: None,
                priority_area: area,
                provisions: vec![provision.to_owned()],
                assistance_types: vec![TYPES[zipf(rng, TYPES.len(), 0.9)]],
                beneficiary_institutions: vec![INSTITUTIONS[zipf(rng, INSTITUTIONS.len(), 0.9)]],
                priority: *pick(
                    rng,
                    &[NeedPriority::High, NeedPriority::Medium, NeedPriority::Low],
                ),
                estimated_cost: None,
                visibility: NeedVisibility::Public,
            },
            "",
        )
        .map_err(|v| anyhow!("{v}"))?;
        per_country.entry(country).or_default().push(data);
    }
    for (country, needs_data) in per_country {
        let who = Principal {
            subject: "bench-data".into(),
            role: Role::Coordinator,
            org: None,
            country: None,
        };
        let header = NeedsAnalysisData::parse(
            country,
            NeedSource::SelfAssessmentQuestionnaire,
            Some("benchmark"),
        )
        .map_err(|v| anyhow!("{v}"))?;
        let (analysis, records) =
            aidgraph_registry::needs::create_analysis(&registry, &who, header, needs_data).await?;
        aidgraph_registry::needs::publish_analysis(&registry, &who, analysis.id).await?;
        need_ids.insert(country, records.iter().map(|r| r.id).collect());
    }

    let mut identifiers: Vec<String> = Vec::with_capacity(activities_count);
    let mut batch = Vec::new();
    for i in 0..activities_count {
        let identifier = format!("XM-BENCH-ACT-{seed}-{i:07}");
        let data = generator.activity(&identifier, &identifiers)?;
        let links: Vec<i64> = if generator.rng.random_bool(0.3) {
            data.recipient_countries
                .iter()
                .filter_map(|c| need_ids.get(c.code.as_str()))
                .flat_map(|ids| ids.first().copied())
                .take(1)
                .collect()
        } else {
            Vec::new()
        };
        identifiers.push(identifier);
        batch.push((data, links));
        if batch.len() == 5000 || i + 1 == activities_count {
            bulk(&registry, std::mem::take(&mut batch)).await?;
            progress(i + 1, activities_count);
        }
    }
    // The registry is written whether or not the statistics can be refreshed.
    if let Err(e) = store.refresh_statistics(&[], true).await {
        tracing::warn!(error = %e, "refreshing the planner's statistics failed");
    }
    Ok(generator)
}

async fn bulk(registry: &Registry, batch: Vec<(ActivityData, Vec<i64>)>) -> anyhow::Result<()> {
    // Each provider loads its own activities, as a syncing system would.
    let mut by_reporter: HashMap<String, Vec<(ActivityData, Vec<i64>)>> = HashMap::new();
    for item in batch {
        by_reporter
            .entry(item.0.reporting_org.clone())
            .or_default()
            .push(item);
    }
    for (reporter, items) in by_reporter {
        let who = Principal {
            subject: format!("bench-data:{reporter}"),
            role: Role::Provider,
            org: Some(reporter),
            country: None,
        };
        aidgraph_registry::activities::bulk_insert(registry, &who, items, true)
            .await
            .context("loading generated activities")?;
    }
    Ok(())
}
