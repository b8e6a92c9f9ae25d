//! Uploads over HTTP: providers kept to their own activities, malformed files, and
//! organisations registered only with the activity that names them.

use super::*;

const SMALL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<iati-activities version="2.03">
 <iati-activity default-currency="EUR">
  <iati-identifier>DE-1-IMPORT-1</iati-identifier>
  <reporting-org ref="DE-1" type="10"><narrative>Germany</narrative></reporting-org>
  <title><narrative>Border management training</narrative></title>
  <description><narrative>Training of border officers.</narrative></description>
  <participating-org ref="DE-1" role="1"/>
  <participating-org ref="XM-DAC-41128" role="4"><narrative>UNODC</narrative></participating-org>
  <activity-status code="2"/>
  <activity-date type="1" iso-date="2026-01-01"/>
  <activity-date type="3" iso-date="2026-12-31"/>
  <recipient-country code="KE" percentage="100"/>
  <sector vocabulary="1" code="15210" percentage="100"/>
  <transaction><transaction-type code="3"/><transaction-date iso-date="2026-02-01"/><value currency="EUR" value-date="2026-02-01">-500</value></transaction>
 </iati-activity>
 <iati-activity>
  <iati-identifier>GB-GOV-1-IMPORT-2</iati-identifier>
  <reporting-org ref="GB-GOV-1" type="10"><narrative>United Kingdom</narrative></reporting-org>
  <title><narrative>Prosecutor mentoring</narrative></title>
  <participating-org ref="GB-GOV-1" role="1"/>
  <activity-status code="2"/>
  <activity-date type="1" iso-date="2026-01-01"/>
  <recipient-country code="KE"/>
 </iati-activity>
</iati-activities>
"#;

async fn upload(app: &TestApp, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url("/iati/import"))
        .header("content-type", "application/xml")
        .body(body.to_owned());
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn uploads_keep_providers_to_their_own_activities_and_report_malformed_files() {
    let app = TestApp::spawn().await;
    let (status, body) = upload(&app, None, SMALL).await;
    assert_eq!((status, error_code(&body)), (401, Some("UNAUTHENTICATED")));
    let (status, body) = upload(&app, Some(&app.token(Role::Viewer, None, None)), SMALL).await;
    assert_eq!((status, error_code(&body)), (403, Some("FORBIDDEN")));

    // Germany imports its own activity; the UK's is skipped with a reason.
    let (status, summary) = upload(&app, Some(&app.provider("DE-1")), SMALL).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (summary["read"].clone(), summary["created"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(summary["skipped"][0]["identifier"], "GB-GOV-1-IMPORT-2");
    assert!(
        summary["skipped"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("own activities")
    );
    assert_eq!(
        summary["organisationsCreated"], 2,
        "Germany and UNODC, on first sight"
    );

    // A coordinator imports any; the second time nothing changes.
    let coordinator = app.token(Role::Coordinator, None, None);
    let (_, summary) = upload(&app, Some(&coordinator), SMALL).await;
    assert_eq!(
        (summary["created"].clone(), summary["unchanged"].clone()),
        (json!(1), json!(1))
    );
    let (_, summary) = upload(&app, Some(&coordinator), SMALL).await;
    assert_eq!(summary["unchanged"], 2);

    // The imported activity reads back, negative disbursement included.
    let read = app
        .ok(
            &app.token(Role::Viewer, None, None),
            "{ activity(iatiIdentifier: \"DE-1-IMPORT-1\") { publication participatingOrgs { role organisation { name } }
                transactions { type value { amount currency } } } }",
            json!({}),
        )
        .await;
    assert_eq!(read["activity"]["publication"], "PUBLISHED");
    assert_eq!(
        read["activity"]["participatingOrgs"][1]["organisation"]["name"],
        "UNODC"
    );
    assert_eq!(
        read["activity"]["transactions"][0]["value"],
        json!({ "amount": "-500", "currency": "EUR" })
    );

    // A file cut off mid-activity stores nothing, not even the activities before the cut.
    let cut = SMALL
        .replace(" </iati-activity>\n</iati-activities>\n", "")
        .replace("DE-1-IMPORT-1", "DE-1-IMPORT-3");
    let (status, body) = upload(&app, Some(&coordinator), &cut).await;
    assert_eq!(status, 400, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("malformed XML at line") && message.contains("nothing was stored"),
        "{message}"
    );
    let count = app
        .ok(&coordinator, "{ activities { totalCount } }", json!({}))
        .await;
    assert_eq!(count["activities"]["totalCount"], 2);

    // Exports: IATI XML and CSV for a country.
    let client = reqwest::Client::new();
    let xml = client
        .get(app.url("/iati/activities.xml?country=KE"))
        .bearer_auth(&coordinator)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        xml.starts_with("<?xml") && xml.matches("<iati-identifier>").count() == 2,
        "{xml}"
    );
    let csv = client
        .get(app.url("/export/activities.csv?provider=DE-1"))
        .bearer_auth(&coordinator)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    // Whole answers, as partners' systems read them; the times of this run are masked.
    insta::with_settings!({ filters => vec![
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "[datetime]"),
    ]}, {
        insta::assert_snapshot!("iati_export_kenya", xml);
        insta::assert_snapshot!("csv_export_germany", csv);
    });
    app.cleanup().await;
}

#[tokio::test]
async fn an_imported_activity_turned_away_leaves_no_organisation_behind() {
    let app = TestApp::spawn().await;
    let (_, summary) = upload(&app, Some(&app.provider("DE-1")), SMALL).await;
    assert_eq!(summary["created"], 1, "{summary}");

    // The UK reports Germany's identifier as its own, naming an implementer nobody has seen:
    // the activity is skipped, and the implementer is not registered on its account.
    let claimed = SMALL
        .split(" <iati-activity>")
        .next()
        .unwrap_or_default()
        .to_owned()
        + r#" <iati-activity>
  <iati-identifier>DE-1-IMPORT-1</iati-identifier>
  <reporting-org ref="GB-GOV-1" type="10"><narrative>United Kingdom</narrative></reporting-org>
  <title><narrative>Border management training</narrative></title>
  <participating-org ref="GB-GOV-1" role="1"/>
  <participating-org ref="XM-NEW-IMPLEMENTER" role="4"><narrative>A new implementer</narrative></participating-org>
  <activity-status code="2"/>
  <activity-date type="1" iso-date="2026-01-01"/>
  <recipient-country code="KE"/>
 </iati-activity>
</iati-activities>
"#;
    let (status, summary) = upload(&app, Some(&app.provider("GB-GOV-1")), &claimed).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary["skipped"][0]["identifier"], "DE-1-IMPORT-1",
        "{summary}"
    );
    assert_eq!(summary["organisationsCreated"], 0, "{summary}");
    let viewer = app.token(Role::Viewer, None, None);
    let found = app
        .ok(
            &viewer,
            r#"{ new: organisation(ref: "XM-NEW-IMPLEMENTER") { name } uk: organisation(ref: "GB-GOV-1") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(found, json!({ "new": null, "uk": null }));

    // Imported as its own activity, the implementer is registered with it.
    let own = claimed.replace(
        "<iati-identifier>DE-1-IMPORT-1",
        "<iati-identifier>GB-GOV-1-IMPORT-7",
    );
    let (_, summary) = upload(&app, Some(&app.provider("GB-GOV-1")), &own).await;
    assert_eq!(
        (
            summary["created"].clone(),
            summary["organisationsCreated"].clone()
        ),
        (json!(1), json!(2)),
        "{summary}"
    );
    let found = app
        .ok(
            &viewer,
            r#"{ organisation(ref: "XM-NEW-IMPLEMENTER") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(found["organisation"]["name"], "A new implementer");
    app.cleanup().await;
}
