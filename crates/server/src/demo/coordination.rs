//! The demo's coordination records: a year of exchange rates, missions and analytic work,
//! contributions, evaluations and a coordination mechanism, loaded once.

use super::*;

/// Monthly EUR and GBP rates for 2024–2027, so the demo's budgets convert to US dollars.
pub(super) async fn load_rates(registry: &Registry, admin: &Principal) -> anyhow::Result<usize> {
    let mut csv = String::from("currency,month,units_per_usd\n");
    for year in 2024..=2027 {
        for month in 1..=12 {
            csv.push_str(&format!(
                "EUR,{year}-{month:02},0.92\nGBP,{year}-{month:02},0.79\n"
            ));
        }
    }
    let rows = parse_csv(&csv).map_err(|v| anyhow!("demo rates: {v}"))?;
    Ok(aidgraph_registry::rates::load(registry, admin, &rows).await?)
}

/// A mission, analytic work, contributions, a coordination mechanism and an evaluation — once.
pub(super) async fn load_coordination(
    registry: &Registry,
    admin: &Principal,
) -> anyhow::Result<bool> {
    let store = registry.store();
    let existing = records::list_contributions(
        store.db(),
        &records::ContributionFilter::default(),
        &PageRequest {
            first: 1,
            after: None,
            count: false,
        },
    )
    .await?;
    if !existing.items.is_empty() {
        return Ok(false);
    }
    let coordinator = Principal {
        subject: "demo:coordinator".into(),
        role: Role::Coordinator,
        org: None,
        country: None,
    };
    let works = [
        (
            JointWorkKind::Mission,
            "Joint scoping mission on mutual legal assistance",
            "KE",
            &[UK, UNODC][..],
            None,
            "2026-02-09",
            None,
        ),
        (
            JointWorkKind::Mission,
            "Follow-up mission to the central authority",
            "KE",
            &[GERMANY][..],
            None,
            "2026-06-15",
            None,
        ),
        (
            JointWorkKind::AnalyticWork,
            "Assessment of the migrant smuggling legal framework",
            "TN",
            &[UNODC][..],
            Some(GERMANY),
            "2026-03-01",
            Some("https://example.org/demo/tn-som-assessment"),
        ),
    ];
    for (kind, title, country, orgs, on_behalf_of, start, link) in works {
        let data = JointWorkData::parse(JointWorkSubmission {
            kind,
            title: title.into(),
            country: country.into(),
            organisations: orgs.iter().map(|o| o.to_string()).collect(),
            on_behalf_of: on_behalf_of.map(Into::into),
            start_date: date(start)?,
            end_date: None,
            link: link.map(Into::into),
        })
        .map_err(|v| anyhow!("demo joint work: {v}"))?;
        aidgraph_registry::records::record_joint_work(registry, &coordinator, data).await?;
    }
    let contributions = [
        (
            UK,
            Fund::GeneralPurpose,
            None,
            500_000,
            "USD",
            ContributionStatus::Pledged,
        ),
        (
            UK,
            Fund::GeneralPurpose,
            None,
            300_000,
            "USD",
            ContributionStatus::Paid,
        ),
        (
            GERMANY,
            Fund::SpecialPurpose,
            Some("Smuggling of migrants"),
            200_000,
            "EUR",
            ContributionStatus::Paid,
        ),
    ];
    for (donor, fund, earmark, amount, currency, status) in contributions {
        let data = ContributionData::parse(ContributionSubmission {
            donor: donor.into(),
            fund,
            earmark: earmark.map(Into::into),
            amount: (Decimal::new(amount, 0), currency.into()),
            year: 2026,
            status,
            date: None,
        })
        .map_err(|v| anyhow!("demo contribution: {v}"))?;
        aidgraph_registry::records::record_contribution(registry, &coordinator, data).await?;
    }
    let mechanism = MechanismData::parse(MechanismSubmission {
        name: "Kenya justice sector development partners group".into(),
        level: MechanismLevel::National,
        countries: vec!["KE".into()],
        members: vec![UK.into(), GERMANY.into(), UNODC.into()],
        chair: Some(UNODC.into()),
        description: Some(
            "Donors and UNODC meeting quarterly with the Office of the Attorney General.".into(),
        ),
    })
    .map_err(|v| anyhow!("demo mechanism: {v}"))?;
    let mechanism =
        aidgraph_registry::records::create_mechanism(registry, &coordinator, mechanism).await?;
    let mut linked = Vec::new();
    for identifier in ["GB-GOV-1-DEMO-KE-MLA", "DE-1-DEMO-KE-COOP"] {
        if let Some(a) = activities::by_identifier(store.db(), admin, identifier).await? {
            linked.push(a.id);
        }
    }
    aidgraph_registry::records::change_links(
        registry,
        &coordinator,
        mechanism.id,
        &linked,
        &[],
        true,
    )
    .await?;
    if let Some(evaluated) =
        activities::by_identifier(store.db(), admin, "XM-DAC-41128-DEMO-TN-SOM").await?
    {
        let data = EvaluationData::parse(
            EvaluationSubmission {
                title: "Mid-term evaluation: legislative assistance on smuggling of migrants"
                    .into(),
                evaluator: "Independent evaluation consultants (demo)".into(),
                date: date("2026-09-30")?,
                independent: true,
                ratings: DacRatings {
                    relevance: Some(DacRating::HighlySatisfactory),
                    effectiveness: Some(DacRating::Satisfactory),
                    sustainability: Some(DacRating::Unsatisfactory),
                    ..DacRatings::default()
                },
                what_worked: Some(
                    "Drafting sessions held with the parliamentary committee itself.".into(),
                ),
                what_did_not_work: Some(
                    "No budget for implementing regulations after adoption.".into(),
                ),
                link: None,
            },
            1,
        )
        .map_err(|v| anyhow!("demo evaluation: {v}"))?;
        aidgraph_registry::records::record_evaluation(registry, admin, &[evaluated.id], data)
            .await?;
    }
    Ok(true)
}
