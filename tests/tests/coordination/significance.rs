//! `providerSignificance` on the hand-worked registry.

use super::*;

/// Checks the figures of the registry `hand_worked` builds.
pub(super) async fn check(app: &TestApp, viewer: &str) {
    // ---- providerSignificance in Kenya, 2026 ----
    // Kenya: UK 1170 (A1), DE 100 × 0.6 = 60 (A3), UNODC 20 (A4); total 1250:
    // shares 0.936, 0.048, 0.016.
    // Everywhere: UK 1170 + 1180 = 2350, DE 100, UNODC 20 + 30 = 50; total 2500:
    // global shares 0.94, 0.04, 0.02.
    // UK: 0.936 < 0.94, but first (nothing before it) → significant by the 90 % rule only.
    // DE: 0.048 ≥ 0.04 → significant by its share only (the UK before it holds 0.936 ≥ 0.9).
    // UNODC: 0.016 < 0.02 and 0.984 before it → not significant.
    let sig = significance(app, viewer, json!({ "country": "KE", "year": 2026 })).await;
    assert_eq!(
        significance_rows(&sig),
        vec![
            (
                UK,
                "1170.00",
                about(0.936),
                about(0.94),
                Some(false),
                Some(true),
                Some(true)
            ),
            (
                DE,
                "60.00",
                about(0.048),
                about(0.04),
                Some(true),
                Some(false),
                Some(true)
            ),
            (
                UNODC,
                "20.00",
                about(0.016),
                about(0.02),
                Some(false),
                Some(false),
                Some(false)
            ),
        ],
        "{sig:#}"
    );
    for r in sig.as_array().into_iter().flatten() {
        assert_eq!(r["country"], "KE");
        assert_eq!(r["shareBasis"], "BUDGET");
    }
    // Narrowed to the CRIMINAL_JUSTICE_RESPONSE cell: DE 30, UNODC 20 in Kenya (0.6, 0.4);
    // everywhere in that area: DE 100 × ½ = 50, UNODC 20 + 30 = 50 (0.5 each).
    // DE: 0.6 ≥ 0.5 and first; UNODC: 0.4 < 0.5, but only 0.6 before it → both significant.
    let sig = significance(
        app,
        viewer,
        json!({ "country": "KE", "year": 2026, "priorityArea": CJR }),
    )
    .await;
    assert_eq!(
        significance_rows(&sig),
        vec![
            (
                DE,
                "30.00",
                about(0.6),
                about(0.5),
                Some(true),
                Some(true),
                Some(true)
            ),
            (
                UNODC,
                "20.00",
                about(0.4),
                about(0.5),
                Some(false),
                Some(true),
                Some(true)
            ),
        ],
        "{sig:#}"
    );
    // The country is required.
    let body = app
        .gql(
            viewer,
            &format!(
                "{{ providerSignificance(filter: {{ year: 2026 }}) {{ {SIGNIFICANCE_FIELDS} }} }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}
