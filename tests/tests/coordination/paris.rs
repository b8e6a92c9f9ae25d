//! `parisIndicators` on the hand-worked registry: everything, narrowed, one donor, one country
//! and an earlier year.

use super::*;

/// Checks the figures of the registry `hand_worked` builds.
pub(super) async fn check(app: &TestApp, viewer: &str) {
    // ---- parisIndicators, 2026: A1–A5 (A6 starts in 2027), missions M1–M4 and M6,
    // analytic work W1, W2, W5, W6 ----
    let all: [Indicator; 10] = [
        // 3: on budget A1, A2, A4 of the four that report it (A5 does not) → 3 / 4.
        ("3", "3", "4", 5, 4, Some(75.0)),
        // 4: A1, A3, A4 address a published need; A2 is co-funded with UNODC's A4; A5 is
        //    alone → 4 / 5.
        ("4", "4", "5", 5, 5, Some(80.0)),
        // 5a: A1 uses country PFM, A2 does not, the rest do not say → 1 / 2.
        ("5a", "1", "2", 5, 2, Some(50.0)),
        // 5b: only A1 reports, and does not use country procurement → 0 / 1.
        ("5b", "0", "1", 5, 1, Some(0.0)),
        // 6: A2 and A4 run a parallel PIU, A1 does not → the count 2, of 3 reporting.
        ("6", "2", "3", 5, 3, Some(2.0)),
        // 7: A1 and A2 schedule 2026 disbursements: S = (400 + 400) / 0.80 + 250 = 1250;
        //    D = 320 / 0.80 (A1's disbursement) + 100 (A2's expenditure) = 500 — not A1's
        //    commitment, not A2's 2027 disbursement, not A3 (no schedule);
        //    min / max = 500 / 1250 = 40 %.
        ("7", "500.00", "1250.00", 5, 2, Some(40.0)),
        // 8: untied (5) A1, A3; tied (4) A2; partially tied (3) A4 → 2 / 4.
        ("8", "2", "4", 5, 4, Some(50.0)),
        // 9: programme-based A1, A3, A4; not A2, A5 → 3 / 5.
        ("9", "3", "5", 5, 5, Some(60.0)),
        // 10a: M1, M2 joint; M3, M4, M6 not (M5 is 2025) → 2 / 5.
        ("10a", "2", "5", 5, 5, Some(40.0)),
        // 10b: W1, W5 joint; W2, W6 not (W4 is 2025) → 2 / 4.
        ("10b", "2", "4", 4, 4, Some(50.0)),
    ];
    assert_indicators(&paris(app, viewer, 2026, None, None).await, &all, "2026");

    // Narrowed to CRIMINAL_JUSTICE_RESPONSE: A3, A4, A5; missions and analytic work follow
    // country and provider only, so 10a and 10b stay as above.
    let cjr: [Indicator; 10] = [
        // 3: A3 not on budget, A4 on budget, A5 silent → 1 / 2.
        ("3", "1", "2", 3, 2, Some(50.0)),
        // 4: A3 and A4 address N2; A5 neither needs nor group → 2 / 3.
        ("4", "2", "3", 3, 3, Some(200.0 / 3.0)),
        ("5a", "0", "0", 3, 0, None),
        ("5b", "0", "0", 3, 0, None),
        // 6: only A4 reports, with a parallel PIU → the count 1.
        ("6", "1", "1", 3, 1, Some(1.0)),
        ("7", "0.00", "0.00", 3, 0, None),
        // 8: A3 untied, A4 partially tied → 1 / 2.
        ("8", "1", "2", 3, 2, Some(50.0)),
        // 9: A3, A4 programme-based, A5 not → 2 / 3.
        ("9", "2", "3", 3, 3, Some(200.0 / 3.0)),
        ("10a", "2", "5", 5, 5, Some(40.0)),
        ("10b", "2", "4", 4, 4, Some(50.0)),
    ];
    let narrowed = app
        .ok(
            viewer,
            &format!(
                "{{ parisIndicators(year: 2026, filter: {{ priorityArea: CRIMINAL_JUSTICE_RESPONSE }}) {{ {PARIS_FIELDS} }} }}"
            ),
            json!({}),
        )
        .await;
    assert_indicators(&narrowed["parisIndicators"], &cjr, "2026 CJR");
    let body = app
        .gql(
            viewer,
            "{ parisIndicators(year: 2026, filter: { year: 2025 }) { indicator } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(violation_fields(&body), ["filter.year"], "{body}");

    // The UK's: A1 and A2; missions with the UK: M1, M3; analytic work: W1, W5.
    let uk: [Indicator; 10] = [
        ("3", "2", "2", 2, 2, Some(100.0)),
        ("4", "2", "2", 2, 2, Some(100.0)),
        // 5a: A1 yes, A2 no.
        ("5a", "1", "2", 2, 2, Some(50.0)),
        // 5b: A1 no; A2 does not say.
        ("5b", "0", "1", 2, 1, Some(0.0)),
        // 6: A2 yes, A1 no → count 1.
        ("6", "1", "2", 2, 2, Some(1.0)),
        // 7: both schedule: S = 1000 + 250 = 1250, D = 400 + 100 = 500.
        ("7", "500.00", "1250.00", 2, 2, Some(40.0)),
        // 8: A1 untied, A2 tied.
        ("8", "1", "2", 2, 2, Some(50.0)),
        // 9: A1 yes, A2 no.
        ("9", "1", "2", 2, 2, Some(50.0)),
        // 10a: M1 joint, M3 not.
        ("10a", "1", "2", 2, 2, Some(50.0)),
        // 10b: W1 and W5 both joint.
        ("10b", "2", "2", 2, 2, Some(100.0)),
    ];
    assert_indicators(
        &paris(app, viewer, 2026, Some(UK), None).await,
        &uk,
        "2026 UK",
    );

    // Kenya's: A1, A3, A4; missions M1–M4; analytic work W1, W2.
    let kenya: [Indicator; 10] = [
        // 3: A1 yes, A3 no, A4 yes → 2 / 3.
        ("3", "2", "3", 3, 3, Some(200.0 / 3.0)),
        // 4: all three address N1 or N2.
        ("4", "3", "3", 3, 3, Some(100.0)),
        // 5a: only A1 reports, and uses country PFM.
        ("5a", "1", "1", 3, 1, Some(100.0)),
        // 5b: only A1 reports, and does not.
        ("5b", "0", "1", 3, 1, Some(0.0)),
        // 6: A4 yes, A1 no; A3 does not say → count 1.
        ("6", "1", "2", 3, 2, Some(1.0)),
        // 7: only A1 schedules: S = 800 / 0.80 = 1000, D = 320 / 0.80 = 400.
        ("7", "400.00", "1000.00", 3, 1, Some(40.0)),
        // 8: A1 and A3 untied, A4 partially tied → 2 / 3.
        ("8", "2", "3", 3, 3, Some(200.0 / 3.0)),
        // 9: A1, A3, A4 all programme-based.
        ("9", "3", "3", 3, 3, Some(100.0)),
        // 10a: M1, M2 joint; M3, M4 not.
        ("10a", "2", "4", 4, 4, Some(50.0)),
        // 10b: W1 joint, W2 not.
        ("10b", "1", "2", 2, 2, Some(50.0)),
    ];
    assert_indicators(
        &paris(app, viewer, 2026, None, Some("KE")).await,
        &kenya,
        "2026 KE",
    );

    // 2025: no activity ran (value null where nothing reports); only M5 and W4, both joint.
    let earlier: [Indicator; 10] = [
        ("3", "0", "0", 0, 0, None),
        ("4", "0", "0", 0, 0, None),
        ("5a", "0", "0", 0, 0, None),
        ("5b", "0", "0", 0, 0, None),
        ("6", "0", "0", 0, 0, None),
        ("7", "0.00", "0.00", 0, 0, None),
        ("8", "0", "0", 0, 0, None),
        ("9", "0", "0", 0, 0, None),
        ("10a", "1", "1", 1, 1, Some(100.0)),
        ("10b", "1", "1", 1, 1, Some(100.0)),
    ];
    assert_indicators(
        &paris(app, viewer, 2025, None, None).await,
        &earlier,
        "2025",
    );
}
