//! The `aidgraph` binary as a new user runs it: demo data, a token, the server, and a first
//! query — on the embedded SQLite default, in a fresh directory.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn workdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aidgraph-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn aidgraph(dir: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aidgraph"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("running aidgraph: {e}"))
}

/// `aidgraph serve` in `dir` on a free loopback port, once `/readyz` answers; the process and
/// its address.
async fn serving(dir: &PathBuf) -> (std::process::Child, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let bind = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_aidgraph"))
        .arg("serve")
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("AIDGRAPH_BIND", &bind)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("http://{bind}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return (server, bind);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    panic!("the server did not become ready on {bind}");
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn demo_token_serve_and_query_work_out_of_the_box() {
    let dir = workdir();
    let demo = aidgraph(&dir, &["demo"], &[]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    assert!(stdout(&demo).contains("5 created"), "{}", stdout(&demo));
    let again = aidgraph(&dir, &["demo"], &[]);
    assert!(stdout(&again).contains("5 unchanged"), "{}", stdout(&again));
    assert!(
        stdout(&demo).contains("coordination records added"),
        "{}",
        stdout(&demo)
    );
    assert!(
        stdout(&again).contains("coordination records already present"),
        "{}",
        stdout(&again)
    );

    let refused = aidgraph(&dir, &["token", "issue", "--role", "provider"], &[]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--org"), "{}", stderr(&refused));
    let token = stdout(&aidgraph(
        &dir,
        &["token", "issue", "--role", "viewer", "--ttl", "1h"],
        &[],
    ));
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert!(
        dir.join("aidgraph.db.secret").exists(),
        "the secret is kept beside the database"
    );

    let (mut server, bind) = serving(&dir).await;
    let health = aidgraph(&dir, &["healthcheck"], &[("AIDGRAPH_BIND", &bind)]);
    assert!(health.status.success(), "{}", stderr(&health));
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{bind}/graphql"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "query": "{ activities(filter: { recipientCountry: \"KE\" }) { totalCount } }"
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(body["data"]["activities"]["totalCount"], 3, "{body}");
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    let status = server.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.success(),
        "graceful shutdown exits cleanly: {status}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_setting_fails_start_up_naming_the_variable() {
    let dir = workdir();
    let output = aidgraph(&dir, &["migrate"], &[("AIDGRAPH_MAX_DEPTH", "deep")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("MAX_DEPTH"), "{}", stderr(&output));
    let output = aidgraph(
        &dir,
        &["token", "issue", "--role", "viewer"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("AIDGRAPH_JWT_SECRET"),
        "{}",
        stderr(&output)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn rates_load_from_csv_and_a_bad_line_loads_nothing() {
    let dir = workdir();
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "currency,month,units_per_usd\nEUR,2026-01,0.92\nEUR,2026-13,0.93\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = aidgraph(&dir, &["rates", "load", "bad.csv"], &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("csv line 3"),
        "{}",
        stderr(&output)
    );

    let good = dir.join("rates.csv");
    std::fs::write(
        &good,
        "currency,month,units_per_usd\nEUR,2026-01,0.92\nGBP,2026-01,0.79\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = aidgraph(&dir, &["rates", "load", "rates.csv"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("2 monthly rates loaded"),
        "{}",
        stdout(&output)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_checks_its_configuration_before_touching_the_database() {
    let dir = workdir();
    // Nothing listens on port 1: had it connected first, it would wait there.
    let started = std::time::Instant::now();
    let output = aidgraph(
        &dir,
        &["serve"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/elsewhere")],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("AIDGRAPH_JWT_SECRET"),
        "{}",
        stderr(&output)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_waits_for_an_unreachable_database_saying_where_and_why() {
    let dir = workdir();
    let mut server = Command::new(env!("CARGO_BIN_EXE_aidgraph"))
        .arg("serve")
        .current_dir(&dir)
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/elsewhere")
        .env(
            "AIDGRAPH_JWT_SECRET",
            "a-secret-of-at-least-32-bytes-0123456789",
        )
        .env("AIDGRAPH_BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Two attempts (at once, then after a second) are logged before this returns.
    std::thread::sleep(Duration::from_millis(2500));
    let still_waiting = server.try_wait().ok().flatten().is_none();
    let _ = server.kill();
    let output = server.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let log = without_colours(&stderr(&output));
    assert!(still_waiting, "serve gave up at once: {log}");
    assert!(log.contains("127.0.0.1"), "{log}");
    assert!(log.contains("port=1"), "{log}");
    assert!(log.to_lowercase().contains("refused"), "{log}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_iati_file_imports_nothing_and_fails() {
    let dir = workdir();
    let broken = dir.join("broken.xml");
    std::fs::write(
        &broken,
        "<iati-activities version=\"2.03\">\n<iati-activity><iati-identifier>XM-T-1</iati-identifier>\
         <reporting-org ref=\"XM-T\" type=\"10\"><narrative>M</narrative></reporting-org>\
         <title><narrative>Border</narrative></title><activity-status code=\"2\"/>\
         <recipient-country code=\"KE\"/><sector vocabulary=\"1\" code=\"15210\"/></iati-activity>\n\
         <iati-activity><title>\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = aidgraph(&dir, &["import", "iati", "broken.xml"], &[]);
    assert!(!output.status.success());
    assert!(
        stdout(&output).contains("nothing was stored") && stdout(&output).contains("line"),
        "{}",
        stdout(&output)
    );
    let export = aidgraph(&dir, &["export", "csv"], &[]);
    assert!(
        stderr(&export).contains("0 activities exported"),
        "{}",
        stderr(&export)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `text` without terminal colour codes.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn a_request_in_flight_at_sigterm_is_finished() {
    use std::io::{Read, Write};
    let dir = workdir();
    let token = stdout(&aidgraph(
        &dir,
        &["token", "issue", "--role", "admin", "--ttl", "1h"],
        &[],
    ));
    let (mut server, bind) = serving(&dir).await;
    let body = "<iati-activities version=\"2.03\">\n<iati-activity><iati-identifier>XM-T-SIG-1</iati-identifier>\
        <reporting-org ref=\"XM-T-SIG\" type=\"10\"><narrative>Ministry</narrative></reporting-org>\
        <title><narrative>Border management</narrative></title><activity-status code=\"2\"/>\
        <activity-date type=\"1\" iso-date=\"2026-01-01\"/><activity-date type=\"3\" iso-date=\"2027-12-31\"/>\
        <recipient-country code=\"KE\"/><sector vocabulary=\"1\" code=\"15210\"/></iati-activity>\n</iati-activities>\n";
    let (first, rest) = body.split_at(body.len() / 2);
    let mut upload = std::net::TcpStream::connect(&bind).unwrap_or_else(|e| panic!("{e}"));
    write!(
        upload,
        "POST /iati/import HTTP/1.1\r\nHost: {bind}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap_or_else(|e| panic!("{e}"));
    upload.flush().unwrap_or_else(|e| panic!("{e}"));
    // And a subscription open.
    let mut socket = subscribed(&bind, &token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    // The subscription is completed, then its socket closed as the service goes away.
    assert_eq!(
        closing(&mut socket).await,
        (vec!["complete".to_owned()], Some(1001))
    );
    // The rest of the body arrives after the signal.
    tokio::time::sleep(Duration::from_millis(300)).await;
    upload
        .write_all(rest.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    upload
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"created\":1"), "{answer}");
    let status = server.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
    // A new connection is no longer accepted, and the health check says so.
    assert!(std::net::TcpStream::connect(&bind).is_err());
    let health = aidgraph(&dir, &["healthcheck"], &[("AIDGRAPH_BIND", &bind)]);
    assert!(!health.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket to the service at `bind` with one subscription open.
async fn subscribed(bind: &str, token: &str) -> Socket {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{bind}/graphql/ws")
        .into_client_request()
        .unwrap_or_else(|e| panic!("{e}"));
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for message in [
        serde_json::json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
        serde_json::json!({ "id": "s1", "type": "subscribe", "payload": { "query": "subscription { needPublished(country: \"KE\") { id } }" } }),
    ] {
        socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let ack = tokio::time::timeout(Duration::from_secs(5), socket.next()).await;
    assert!(
        matches!(ack, Ok(Some(Ok(Message::Text(ref t)))) if t.contains("connection_ack")),
        "{ack:?}"
    );
    socket
}

/// The types of the messages a socket receives until it closes, and the close code.
async fn closing(socket: &mut Socket) -> (Vec<String>, Option<u16>) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut kinds = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                kinds.push(value["type"].as_str().unwrap_or_default().to_owned());
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return (kinds, frame.map(|f| u16::from(f.code)));
            }
            Ok(Some(Ok(_))) => {}
            _ => return (kinds, None),
        }
    }
}

#[test]
fn an_iati_import_counts_its_warnings_by_reason_and_lists_them_when_asked() {
    let dir = workdir();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../iati/tests/fixtures/v202.xml");
    let path = fixture.to_string_lossy().into_owned();
    let output = aidgraph(&dir, &["import", "iati", &path], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("warnings: 4 (")
            && out.contains("placeholder-reference 2")
            && out.contains("named-without-reference 1")
            && out.contains("repeated-code 1")
            && out.contains("--verbose lists them"),
        "{out}"
    );
    assert!(!out.contains("Harbour Rights Foundation"), "{out}");
    let verbose = aidgraph(&dir, &["import", "iati", "--verbose", &path], &[]);
    let out = stdout(&verbose);
    assert!(
        out.contains(
            "warning XI-TEST-202-1: participating-org `Harbour Rights Foundation` has the placeholder ref `N/A`"
        ) && out.contains("sector `15190` listed 2 times; merged, percentages summed to 100"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
