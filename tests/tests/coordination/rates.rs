//! Exchange rates: loaded by admins only, a bad file rejected whole.

use super::*;

async fn rates(app: &TestApp, args: &str) -> Value {
    let query = format!(
        "{{ exchangeRates{args} {{ totalCount edges {{ node {{ currency month unitsPerUsd }} }} }} }}"
    );
    app.ok(&app.admin(), &query, json!({})).await["exchangeRates"].clone()
}

/// EUR rates of 2026 as (month, units per USD), by month.
async fn eur_2026(app: &TestApp) -> Vec<(String, Option<f64>)> {
    let list = rates(app, r#"(currency: "EUR", year: 2026)"#).await;
    let mut out: Vec<(String, Option<f64>)> = list["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                id_of(&e["node"]["month"]),
                number(&e["node"]["unitsPerUsd"]),
            )
        })
        .collect();
    assert_eq!(list["totalCount"], out.len(), "{list:#}");
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn exchange_rates_load_only_for_admins_and_reject_bad_files_whole() {
    let app = registry().await;
    let good =
        "currency,month,units_per_usd\nEUR,2026-01,0.80\nEUR,2026-02,0.90\nGBP,2026-01,0.75\n";

    // Not for coordinators or providers.
    for token in [app.token(Role::Coordinator, None, None), app.provider(UK)] {
        let body = app.gql(&token, LOAD_RATES, json!({ "csv": good })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    assert_eq!(rates(&app, "").await["totalCount"], 0);

    // One good line (2) and four bad ones (3–6; the header is line 1): nothing is stored,
    // and each bad line is named.
    let bad = "currency,month,units_per_usd\n\
               EUR,2026-01,0.80\n\
               XXY,2026-01,1.50\n\
               EUR,2026-13,0.80\n\
               GBP,2026-01,-1\n\
               GBP,2026-02,abc\n";
    let body = app
        .gql(&app.admin(), LOAD_RATES, json!({ "csv": bad }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let fields = violation_fields(&body);
    assert!(!fields.is_empty(), "{body}");
    assert!(
        fields.iter().all(|f| f.starts_with("csv")),
        "fields name csv lines: {fields:?}"
    );
    for line in [3, 4, 5, 6] {
        assert!(
            fields.iter().any(|f| names_line(f, line)),
            "line {line} not named in {fields:?}"
        );
    }
    assert!(
        !fields.iter().any(|f| names_line(f, 2)),
        "the good line is not an error: {fields:?}"
    );
    assert_eq!(rates(&app, "").await["totalCount"], 0, "nothing stored");

    // A good file loads every line.
    let loaded = app
        .ok(&app.admin(), LOAD_RATES, json!({ "csv": good }))
        .await;
    assert_eq!(loaded["loadExchangeRates"]["loaded"], 3);
    assert_eq!(
        eur_2026(&app).await,
        [
            ("2026-01".to_owned(), Some(0.80)),
            ("2026-02".to_owned(), Some(0.90))
        ]
    );
    let listed = rates(&app, r#"(currency: "EUR", year: 2026)"#).await;
    assert!(
        listed["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["node"]["currency"] == "EUR"),
        "{listed:#}"
    );
    assert_eq!(rates(&app, "").await["totalCount"], 3);

    // The 2026 EUR rate is the mean of its months: (0.80 + 0.90) / 2 = 0.85, so 51 EUR = 60 USD.
    let coordinator = app.token(Role::Coordinator, None, None);
    app.ok(
        &coordinator,
        RECORD_CONTRIBUTION,
        json!({ "input": contribution(UK, "GENERAL_PURPOSE", None, "51.00", "EUR", 2026, "PAID") }),
    )
    .await;
    let paid = summary(
        &app,
        &coordinator,
        json!({ "donor": UK, "year": 2026 }),
        "USD",
    )
    .await;
    assert_eq!(paid[0]["paid"], "60.00", "{paid:#}");

    // Loading a month again replaces it: still three rates, February now 0.70.
    let loaded = app
        .ok(
            &app.admin(),
            LOAD_RATES,
            json!({ "csv": "currency,month,units_per_usd\nEUR,2026-02,0.70\n" }),
        )
        .await;
    assert_eq!(loaded["loadExchangeRates"]["loaded"], 1);
    assert_eq!(
        eur_2026(&app).await,
        [
            ("2026-01".to_owned(), Some(0.80)),
            ("2026-02".to_owned(), Some(0.70))
        ]
    );
    assert_eq!(rates(&app, "").await["totalCount"], 3);
    // And the analytics use it: (0.80 + 0.70) / 2 = 0.75, so 51 EUR = 68 USD.
    let paid = summary(
        &app,
        &coordinator,
        json!({ "donor": UK, "year": 2026 }),
        "USD",
    )
    .await;
    assert_eq!(paid[0]["paid"], "68.00", "{paid:#}");
    app.cleanup().await;
}
