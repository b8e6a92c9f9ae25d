//! The record rules: what a submitted evaluation, mission, contribution or mechanism must be.

use super::*;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

fn fields(v: &Violations) -> Vec<&str> {
    v.0.iter().map(|x| x.field.as_str()).collect()
}

fn mission(orgs: &[&str], on_behalf_of: Option<&str>) -> JointWorkSubmission {
    JointWorkSubmission {
        kind: JointWorkKind::Mission,
        title: "Scoping mission".into(),
        country: "ke".into(),
        organisations: orgs.iter().map(|s| s.to_string()).collect(),
        on_behalf_of: on_behalf_of.map(Into::into),
        start_date: date("2026-03-01"),
        end_date: Some(date("2026-03-05")),
        link: None,
    }
}

#[test]
fn joint_means_two_organisations_or_acting_for_another() {
    let one = JointWorkData::parse(mission(&["XM-DAC-41114"], None));
    assert_eq!(one.as_ref().map(JointWorkData::joint), Ok(false));
    assert_eq!(one.map(|m| m.country.clone()), Ok("KE".to_owned()));
    let two = JointWorkData::parse(mission(&["XM-DAC-41114", "GB-GOV-1", "GB-GOV-1"], None));
    assert_eq!(two.as_ref().map(|m| m.organisations.len()), Ok(2));
    assert_eq!(two.map(|m| m.joint()), Ok(true));
    let for_another = JointWorkData::parse(mission(&["XM-DAC-41114"], Some("GB-GOV-1")));
    assert_eq!(for_another.map(|m| m.joint()), Ok(true));
    let for_itself = JointWorkData::parse(mission(&["GB-GOV-1"], Some("GB-GOV-1")));
    assert_eq!(
        for_itself.map_err(|v| fields(&v).join(",")),
        Err("onBehalfOf".into())
    );
}

#[test]
fn contributions_need_an_earmark_exactly_when_special_purpose() {
    let base = ContributionSubmission {
        donor: "GB-GOV-1".into(),
        fund: Fund::SpecialPurpose,
        earmark: None,
        amount: (Decimal::new(1000, 0), "USD".into()),
        year: 2026,
        status: ContributionStatus::Pledged,
        date: None,
    };
    let err = ContributionData::parse(base.clone()).err();
    assert_eq!(err.as_ref().map(fields), Some(vec!["earmark"]));
    let general = ContributionSubmission {
        fund: Fund::GeneralPurpose,
        earmark: Some("TIP".into()),
        amount: (Decimal::ZERO, "ZZZ".into()),
        year: 1700,
        ..base.clone()
    };
    let err = ContributionData::parse(general).err();
    assert_eq!(
        err.as_ref().map(fields),
        Some(vec!["earmark", "amount.currency", "year"])
    );
    let ok = ContributionData::parse(ContributionSubmission {
        earmark: Some(" TIP ".into()),
        ..base
    });
    assert_eq!(ok.map(|c| c.earmark.clone()), Ok(Some("TIP".into())));
}

#[test]
fn mechanisms_check_their_level_and_chair() {
    let base = MechanismSubmission {
        name: "Justice sector working group".into(),
        level: MechanismLevel::National,
        countries: vec!["KE".into(), "TZ".into()],
        members: vec!["GB-GOV-1".into()],
        chair: Some("DE-1".into()),
        description: None,
    };
    let err = MechanismData::parse(base.clone()).err();
    assert_eq!(err.as_ref().map(fields), Some(vec!["countries", "chair"]));
    let global = MechanismData::parse(MechanismSubmission {
        level: MechanismLevel::Multilateral,
        countries: vec![],
        chair: Some("GB-GOV-1".into()),
        ..base
    });
    assert_eq!(global.map(|m| m.covers_country("KE")), Ok(true));
}

#[test]
fn evaluations_name_bad_fields() {
    let err = EvaluationData::parse(
        EvaluationSubmission {
            title: " ".into(),
            evaluator: "IES".into(),
            date: date("2026-01-01"),
            independent: true,
            ratings: DacRatings::default(),
            what_worked: None,
            what_did_not_work: None,
            link: Some("ftp://example.org/report".into()),
        },
        0,
    )
    .err();
    assert_eq!(
        err.as_ref().map(fields),
        Some(vec!["activityIds", "title", "link"])
    );
}
