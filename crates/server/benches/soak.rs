//! Soak run: `aidgraph serve` on a registry built by `aidgraph bench-data`, under mixed work
//! from many connections for minutes, on loopback. Readers ask the partners' and dashboards'
//! questions, writers register and publish activities, subscribers hold WebSocket
//! subscriptions. It prints the errors by code, the throughput and latency of reads and
//! writes, the events subscribers received, the service's resident memory at the start and the
//! end, and a final check that every write the service acknowledged is stored.
//!
//! ```text
//! cargo bench -p aidgraph --bench soak -- [--seconds 300] [--connections 50] \
//!     [--activities 2000] [--postgres postgres://postgres@localhost/postgres?host=/var/run/postgresql] \
//!     [--no-sqlite]
//! ```

mod common;
mod service;

use aidgraph::bench_data::{self, Generator};
use aidgraph::config::Config;
use aidgraph_domain::vocab::Role;
use common::{FreshDatabase, percentile};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use service::{SECRET, aidgraph, rss_mib, serve};
use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Args {
    seconds: u64,
    connections: usize,
    activities: usize,
    postgres: Option<String>,
    sqlite: bool,
}

fn args() -> Args {
    let mut out = Args {
        seconds: 300,
        connections: 50,
        activities: 2_000,
        postgres: std::env::var("AIDGRAPH_BENCH_POSTGRES_URL").ok(),
        sqlite: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || it.next().and_then(|s| s.parse::<u64>().ok());
        match arg.as_str() {
            "--seconds" => out.seconds = number().unwrap_or(out.seconds),
            "--connections" => out.connections = number().map_or(out.connections, |n| n as usize),
            "--activities" => {
                out.activities = common::sizes(it.next())
                    .first()
                    .copied()
                    .unwrap_or(out.activities);
            }
            "--postgres" => out.postgres = it.next(),
            "--no-sqlite" => out.sqlite = false,
            _ => {}
        }
    }
    out
}

/// What the workers saw, shared.
#[derive(Default)]
struct Tally {
    errors: BTreeMap<String, usize>,
    reads: Vec<Duration>,
    writes: Vec<Duration>,
    acknowledged: Vec<String>,
    events: usize,
}

type Shared = Arc<Mutex<Tally>>;

fn note(tally: &Shared, apply: impl FnOnce(&mut Tally)) {
    if let Ok(mut t) = tally.lock() {
        apply(&mut t);
    }
}

/// The code of a failed answer: `extensions.code`, else the HTTP status.
fn failure(status: u16, body: &Value) -> Option<String> {
    match body["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => Some(code.to_owned()),
        None if status >= 400 => Some(format!("HTTP {status}")),
        None => None,
    }
}

const READS: [&str; 6] = [
    "{ activities(first: 100, filter: { recipientCountry: \"KE\" }) { nodes { id iatiIdentifier title status } } }",
    "{ activities(first: 20) { totalCount nodes { id reportingOrg { name } recipientCountries { code } overlaps(first: 5) { totalCount nodes { score class } } } } }",
    "{ needs(filter: { coverage: [UNMET] }) { totalCount nodes { id title } } }",
    "{ overlapFlags(first: 50) { nodes { id score class } } }",
    "{ coverageMatrix { rows { code cells { column needs { unmet covered duplicated } } } } }",
    "{ parisIndicators(year: 2026) { indicator value } }",
];

async fn reader(endpoint: String, token: String, deadline: Instant, tally: Shared, seed: usize) {
    let client = reqwest::Client::new();
    let mut i = seed;
    while Instant::now() < deadline {
        i += 1;
        let query = READS[i % READS.len()];
        let started = Instant::now();
        let sent = client
            .post(&endpoint)
            .bearer_auth(&token)
            .json(&json!({ "query": query }))
            .send()
            .await;
        let outcome = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or_default();
                failure(status, &body)
            }
            Err(e) => Some(format!("transport: {}", e.without_url())),
        };
        let elapsed = started.elapsed();
        note(&tally, |t| match outcome {
            Some(code) => *t.errors.entry(code).or_default() += 1,
            None => t.reads.push(elapsed),
        });
    }
}

async fn writer(
    endpoint: String,
    auth: Arc<aidgraph_api::auth::Authenticator>,
    deadline: Instant,
    tally: Shared,
    worker: usize,
    backend: String,
) {
    let client = reqwest::Client::new();
    let mut generator = Generator::new(1_000 + worker as u64);
    let create =
        "mutation($input: ActivityInput!) { createActivity(input: $input, publish: true) { id } }";
    let mut i = 0;
    while Instant::now() < deadline {
        i += 1;
        let identifier = format!("XM-SOAK-{backend}-{worker}-{i}");
        let Ok(data) = generator.activity(&identifier, &[]) else {
            continue;
        };
        let Ok(token) = auth.issue(
            &format!("soak-writer-{worker}"),
            Role::Provider,
            Some(&data.reporting_org),
            None,
            3600,
        ) else {
            continue;
        };
        let input = bench_data::activity_input(&data);
        let started = Instant::now();
        let sent = client
            .post(&endpoint)
            .bearer_auth(&token)
            .json(&json!({ "query": create, "variables": { "input": input } }))
            .send()
            .await;
        let outcome = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or_default();
                match failure(status, &body) {
                    Some(code) => Err(code),
                    None if body["data"]["createActivity"]["id"].is_string() => Ok(()),
                    None => Err("no id".to_owned()),
                }
            }
            Err(e) => Err(format!("transport: {}", e.without_url())),
        };
        let elapsed = started.elapsed();
        note(&tally, |t| match outcome {
            Ok(()) => {
                t.writes.push(elapsed);
                t.acknowledged.push(identifier);
            }
            Err(code) => *t.errors.entry(code).or_default() += 1,
        });
    }
}

async fn subscriber(ws: String, token: String, deadline: Instant, tally: Shared, country: String) {
    let Ok(mut request) = ws.into_client_request() else {
        return;
    };
    if let Ok(protocol) = "graphql-transport-ws".parse() {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol);
    }
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
        note(&tally, |t| {
            *t.errors.entry("websocket connect".into()).or_default() += 1;
        });
        return;
    };
    let messages = [
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
        json!({ "id": "flags", "type": "subscribe", "payload": { "query": format!("subscription {{ overlapFlagChanged(country: \"{country}\") {{ id score }} }}") } }),
    ];
    for message in messages {
        if socket
            .send(Message::text(message.to_string()))
            .await
            .is_err()
        {
            return;
        }
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let value: Value = serde_json::from_str(&text).unwrap_or_default();
                match value["type"].as_str() {
                    Some("next") => note(&tally, |t| t.events += 1),
                    Some("error") => note(&tally, |t| {
                        *t.errors.entry("subscription error".into()).or_default() += 1;
                    }),
                    _ => {}
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                let code = frame.map_or(0, |f| u16::from(f.code));
                note(&tally, |t| {
                    *t.errors.entry(format!("socket closed {code}")).or_default() += 1;
                });
                break;
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => {
                note(&tally, |t| {
                    *t.errors.entry("socket dropped".into()).or_default() += 1;
                });
                break;
            }
            Err(_) => break,
        }
    }
}

async fn run(args: &Args, backend: &str, url: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let status = aidgraph(url)
        .args(["bench-data", "--activities", &args.activities.to_string()])
        .args(["--needs", &(args.activities / 10).to_string()])
        .stderr(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "aidgraph bench-data failed");
    println!(
        "{backend:<8} {} activities | bench-data {:.0} s",
        args.activities,
        started.elapsed().as_secs_f64()
    );
    let config = Config {
        database_url: url.to_owned(),
        jwt_secret: Some(SECRET.into()),
        ..Config::default()
    };
    let auth = Arc::new(aidgraph::app::authenticator(&config)?);
    let service = serve(url, 64).await?;
    let pid = service.child.id();
    let ws = service.endpoint.replace("http://", "ws://") + "/ws";
    let rss_start = rss_mib(pid);

    let subscribers = (args.connections / 10).max(1);
    let writers = (args.connections / 5).max(1);
    let readers = args
        .connections
        .saturating_sub(subscribers + writers)
        .max(1);
    let tally: Shared = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut workers = Vec::new();
    for i in 0..subscribers {
        let token = auth.issue(&format!("soak-sub-{i}"), Role::Viewer, None, None, 86_400)?;
        let country = bench_data::COUNTRIES[i % 3].to_owned();
        workers.push(tokio::spawn(subscriber(
            ws.clone(),
            token,
            deadline,
            tally.clone(),
            country,
        )));
    }
    for i in 0..writers {
        workers.push(tokio::spawn(writer(
            service.endpoint.clone(),
            auth.clone(),
            deadline,
            tally.clone(),
            i,
            backend.to_owned(),
        )));
    }
    for i in 0..readers {
        let token = auth.issue(
            &format!("soak-reader-{i}"),
            Role::Viewer,
            None,
            None,
            86_400,
        )?;
        workers.push(tokio::spawn(reader(
            service.endpoint.clone(),
            token,
            deadline,
            tally.clone(),
            i,
        )));
    }
    let mut last_report = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if last_report.elapsed() >= Duration::from_secs(60) {
            last_report = Instant::now();
            if let Ok(t) = tally.lock() {
                eprintln!(
                    "{backend}: {} reads, {} writes, {} events, {} errors so far; RSS {:.0} MiB",
                    t.reads.len(),
                    t.writes.len(),
                    t.events,
                    t.errors.values().sum::<usize>(),
                    rss_mib(pid)
                );
            }
        }
    }
    for worker in workers {
        worker.await?;
    }
    let rss_end = rss_mib(pid);
    drop(service);

    let mut tally = std::mem::take(&mut *tally.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    tally.reads.sort();
    tally.writes.sort();
    let seconds = args.seconds as f64;
    println!(
        "{backend:<8} {} connections ({readers} readers, {writers} writers, {subscribers} subscribers) for {} s",
        args.connections, args.seconds
    );
    println!(
        "{backend:<8} reads  {:>8} | {:>7.1} req/s | p50 {:>7.2} ms | p99 {:>8.2} ms",
        tally.reads.len(),
        tally.reads.len() as f64 / seconds,
        percentile(&tally.reads, 50.0),
        percentile(&tally.reads, 99.0)
    );
    println!(
        "{backend:<8} writes {:>8} | {:>7.1} req/s | p50 {:>7.2} ms | p99 {:>8.2} ms",
        tally.writes.len(),
        tally.writes.len() as f64 / seconds,
        percentile(&tally.writes, 50.0),
        percentile(&tally.writes, 99.0)
    );
    println!(
        "{backend:<8} events received by subscribers: {}",
        tally.events
    );
    if tally.errors.is_empty() {
        println!("{backend:<8} errors: none");
    }
    for (code, count) in &tally.errors {
        println!("{backend:<8} errors: {code} × {count}");
    }
    println!("{backend:<8} RSS {rss_start:.0} MiB at the start, {rss_end:.0} MiB at the end");

    // Every acknowledged write is stored.
    let db = Database::connect(url).await?;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT iati_identifier FROM activities WHERE iati_identifier LIKE 'XM-SOAK-%'",
        ))
        .await?;
    let stored: HashSet<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String>("", "iati_identifier").ok())
        .collect();
    let lost = tally
        .acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .count();
    println!(
        "{backend:<8} acknowledged writes {}, stored {}, lost {lost}",
        tally.acknowledged.len(),
        stored.len()
    );
    db.close().await?;
    anyhow::ensure!(lost == 0, "{lost} acknowledged writes were lost");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    if args.sqlite {
        let dir = std::env::temp_dir().join(format!("aidgraph-soak-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("soak.db").display());
        let result = run(&args, "sqlite", &url).await;
        let _ = std::fs::remove_dir_all(&dir);
        result?;
    }
    if let Some(server) = &args.postgres {
        let fresh = FreshDatabase::create(server, "aidgraph_soak").await?;
        let result = run(&args, "postgres", &fresh.url).await;
        fresh.drop().await?;
        result?;
    }
    Ok(())
}
