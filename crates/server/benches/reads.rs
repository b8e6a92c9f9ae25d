//! Read benchmark: builds a synthetic registry with `aidgraph bench-data`, starts `aidgraph
//! serve` on it, and loads it over HTTP with the questions partners and dashboards ask, with
//! several connections at once. For each it prints requests per second and the median and 99th
//! percentile latency, twice: with answers kept by registry version (the default) and with
//! `AIDGRAPH_RESPONSE_CACHE_MIB=0`, which computes every answer afresh (what the first request
//! after a write costs). It ends with the service's resident memory before and after a long
//! run of requests.
//!
//! ```text
//! cargo bench -p aidgraph --bench reads -- --activities 20000,100000 \
//!     [--postgres postgres://postgres@localhost/postgres?host=/var/run/postgresql] \
//!     [--no-sqlite] [--seconds 10] [--connections 16] [--rss-requests 100000] [--only NAME]
//! cargo bench -p aidgraph --bench reads -- --database URL [--only NAME] …
//! ```
//!
//! `--database` measures a registry `aidgraph bench-data` already filled, as it is, instead of
//! generating one per size (`--activities` then only labels the lines); the service's log level
//! is `AIDGRAPH_BENCH_RUST_LOG` (default `warn`), its log on the benchmark's standard error.
//!
//! `checkOverlap` asks about a different planned activity each time, so its answers are never
//! kept: both of its lines measure the engine, one request at a time, after 600 other planned
//! activities were asked once (a running service's caches). The "kept" line then finds needs'
//! coverage computed at the registry's version, as between two writes; the "afresh" line
//! computes it each time, as the first dry run after a write does. Answers computed afresh
//! are timed with two callers at once (what the first callers after a write wait for), kept
//! ones with `--connections`.

mod common;
mod service;

use aidgraph::bench_data::{self, Generator};
use aidgraph::config::Config;
use aidgraph_domain::vocab::Role;
use common::{FreshDatabase, percentile};
use serde_json::{Value, json};
use service::{SECRET, aidgraph, rss_mib, serve};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Args {
    sizes: Vec<usize>,
    postgres: Option<String>,
    sqlite: bool,
    seconds: u64,
    connections: usize,
    rss_requests: usize,
    only: Option<String>,
    database: Option<String>,
}

fn args() -> Args {
    let mut out = Args {
        sizes: vec![20_000],
        postgres: std::env::var("AIDGRAPH_BENCH_POSTGRES_URL").ok(),
        sqlite: true,
        seconds: 10,
        connections: 16,
        rss_requests: 100_000,
        only: None,
        database: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || it.next().and_then(|s| s.parse::<u64>().ok());
        match arg.as_str() {
            "--activities" => out.sizes = common::sizes(it.next()),
            "--postgres" => out.postgres = it.next(),
            "--no-sqlite" => out.sqlite = false,
            "--seconds" => out.seconds = number().unwrap_or(10),
            "--connections" => out.connections = number().unwrap_or(16) as usize,
            "--rss-requests" => out.rss_requests = number().unwrap_or(100_000) as usize,
            "--only" => out.only = it.next(),
            "--database" => out.database = it.next(),
            _ => {}
        }
    }
    out
}

/// The questions, by name: a request body each, or a body per request (`checkOverlap`).
fn questions(busiest: &str) -> Vec<(&'static str, Value)> {
    let q = |text: String| json!({ "query": text });
    vec![
        (
            "activities-flat",
            q(format!("{{ activities(first: 100, filter: {{ recipientCountry: \"{busiest}\" }}) {{ nodes {{ id title plannedStart plannedEnd budget {{ amount currency }} recipientCountries {{ code }} sectors {{ code }} }} }} }}")),
        ),
        (
            "activities-nested",
            q("{ activities(first: 50) { nodes { id title plannedStart plannedEnd budget { amount currency } \
               reportingOrg { id name } recipientCountries { code percentage } sectors { code percentage } \
               overlaps(first: 5) { totalCount nodes { score class activityB { id title plannedStart plannedEnd } } } } } }".into()),
        ),
        (
            "coverageMatrix",
            q("{ coverageMatrix { rows { code cells { column needs { unmet covered duplicated } activeProviders activeBudget hhi openFlags { total } overCeiling } } } }".into()),
        ),
        (
            "coverageMatrix DAC",
            q("{ coverageMatrix(columns: DAC_SECTOR) { rows { code cells { column activeProviders activeBudget hhi openFlags { total } } } } }".into()),
        ),
        (
            "providerSignificance",
            q(format!("{{ providerSignificance(filter: {{ country: \"{busiest}\" }}) {{ provider {{ ref }} share globalShare significant }} }}")),
        ),
        (
            "parisIndicators",
            q("{ parisIndicators(year: 2026) { indicator value numerator denominator } }".into()),
        ),
        (
            "contributionSummary",
            q("{ contributionSummary { donor { ref } year currency pledged paid generalPurpose } }".into()),
        ),
        (
            "needs UNMET",
            q("{ needs(filter: { coverage: [UNMET] }) { totalCount nodes { id title } } }".into()),
        ),
        (
            "overlapFlags",
            q("{ overlapFlags(first: 100) { nodes { id score class activityA { id } activityB { id } } } }".into()),
        ),
        ("checkOverlap+needs", Value::Null),
    ]
}

const CHECK: &str = "query($input: ActivityInput!) { checkOverlap(input: $input) { \
    flags { score class } addressableNeeds { id coverage { state } } } }";

/// `count` dry-run requests about planned activities made up from `seed`.
fn dry_runs(seed: u64, prefix: &str, count: usize) -> anyhow::Result<Vec<Value>> {
    let mut generator = Generator::new(seed);
    (0..count)
        .map(|i| {
            let data = generator.activity(&format!("{prefix}-{i}"), &[])?;
            Ok(json!({ "query": CHECK, "variables": { "input": bench_data::activity_input(&data) } }))
        })
        .collect()
}

/// Sends `body(i)` for request `i` from `connections` workers until `seconds` pass or
/// `limit` requests were sent; the latencies, sorted, and the requests per second.
async fn load(
    endpoint: &str,
    token: &str,
    connections: usize,
    seconds: u64,
    limit: usize,
    body: Arc<dyn Fn(usize) -> Value + Send + Sync>,
) -> anyhow::Result<(Vec<Duration>, f64, usize)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (client, next, body) = (client.clone(), next.clone(), body.clone());
        let failed = failed.clone();
        let (endpoint, token) = (endpoint.to_owned(), token.to_owned());
        workers.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                let response = client
                    .post(&endpoint)
                    .bearer_auth(&token)
                    .json(&body(i))
                    .send()
                    .await?;
                if !response.status().is_success() {
                    // A timeout or an overload (503): counted, not timed.
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let answer: Value = response.json().await?;
                if answer.get("errors").is_some() || answer.get("data").is_none() {
                    anyhow::bail!("request failed: {answer}");
                }
                times.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let mut times = Vec::new();
    for worker in workers {
        times.extend(worker.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort();
    let rps = times.len() as f64 / elapsed;
    Ok((times, rps, failed.load(Ordering::Relaxed)))
}

async fn run(
    args: &Args,
    backend: &str,
    url: &str,
    size: usize,
    generate: bool,
) -> anyhow::Result<()> {
    if generate {
        let started = Instant::now();
        let status = aidgraph(url)
            .args(["bench-data", "--activities", &size.to_string()])
            .args(["--needs", &(size / 10).to_string()])
            .stderr(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "aidgraph bench-data failed");
        println!(
            "{backend:<8} {size:>7} activities | bench-data {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    let config = Config {
        database_url: url.to_owned(),
        jwt_secret: Some(SECRET.into()),
        ..Config::default()
    };
    let auth = aidgraph::app::authenticator(&config)?;
    let viewer = auth.issue("bench-reader", Role::Viewer, None, None, 3600)?;
    let busiest = bench_data::COUNTRIES[0];
    // Planned activities for the dry runs, made up beforehand.
    let planned = Arc::new(dry_runs(97, "XM-BENCH-READ", 2_000)?);
    // Other planned activities, asked once before the dry runs are timed: they reach the
    // same countries' needs, so the timed runs find what a running service holds (activities
    // read, and when kept, those needs' coverage at the registry's version) while none of
    // their own answers was ever kept.
    let rehearsal = Arc::new(dry_runs(98, "XM-BENCH-WARM", 600)?);

    for (mode, cache_mib) in [("kept", 64), ("afresh", 0)] {
        let service = serve(url, cache_mib).await?;
        for (name, body) in questions(busiest) {
            if args
                .only
                .as_deref()
                .is_some_and(|only| !name.contains(only))
            {
                continue;
            }
            // A dry run is one donor system's question, timed alone (as the overlap benchmark
            // does); an answer computed afresh is what the first caller after a write waits
            // for, timed with two callers at once rather than queued behind sixteen.
            let (body, connections): (Arc<dyn Fn(usize) -> Value + Send + Sync>, usize) =
                if body.is_null() {
                    let planned = planned.clone();
                    (Arc::new(move |i| planned[i % planned.len()].clone()), 1)
                } else if cache_mib == 0 {
                    (Arc::new(move |_| body.clone()), args.connections.min(2))
                } else {
                    (Arc::new(move |_| body.clone()), args.connections)
                };
            // Warm-up: the pool, the caches, and (when kept) the answer.
            load(&service.endpoint, &viewer, 2, 60, 4, body.clone()).await?;
            if connections == 1 {
                let asked = rehearsal.clone();
                let warm: Arc<dyn Fn(usize) -> Value + Send + Sync> =
                    Arc::new(move |i| asked[i % asked.len()].clone());
                load(&service.endpoint, &viewer, 2, 120, rehearsal.len(), warm).await?;
            }
            let (times, rps, failed) = load(
                &service.endpoint,
                &viewer,
                connections,
                args.seconds,
                usize::MAX,
                body,
            )
            .await?;
            println!(
                "{backend:<8} {size:>7} activities | {mode:<6} | {name:<21} | c={connections:<2} | {rps:>8.1} req/s | p50 {:>7.2} ms | p99 {:>7.2} ms | {} requests{}",
                percentile(&times, 50.0),
                percentile(&times, 99.0),
                times.len(),
                if failed > 0 {
                    format!(", {failed} failed (timeout)")
                } else {
                    String::new()
                },
            );
        }
        if cache_mib > 0 && args.rss_requests > 0 {
            // Memory over many requests: a page of activities asked again and again, and
            // pages after distinct cursors.
            let pid = service.child.id();
            let before = rss_mib(pid);
            let pages: Arc<dyn Fn(usize) -> Value + Send + Sync> = Arc::new(
                |i| json!({ "query": format!("{{ activities(first: 20, filter: {{ text: \"{}\" }}) {{ nodes {{ id title }} }} }}", i % 500) }),
            );
            let (times, rps, _) = load(
                &service.endpoint,
                &viewer,
                args.connections,
                3_600,
                args.rss_requests,
                pages,
            )
            .await?;
            println!(
                "{backend:<8} {size:>7} activities | RSS {before:.0} MiB before and {:.0} MiB after {} requests ({rps:.0} req/s, 500 distinct questions)",
                rss_mib(pid),
                times.len()
            );
        }
        drop(service);
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = args();
    if let Some(url) = &args.database {
        let backend = if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        let size = args.sizes.first().copied().unwrap_or_default();
        return run(&args, backend, url, size, false).await;
    }
    for &size in &args.sizes {
        if args.sqlite {
            let dir = std::env::temp_dir().join(format!("aidgraph-reads-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
            let outcome = run(&args, "sqlite", &url, size, true).await;
            let _ = std::fs::remove_dir_all(dir);
            outcome?;
        }
        if let Some(server) = &args.postgres {
            let db = FreshDatabase::create(server, &format!("aidgraph_reads_{size}")).await?;
            let outcome = run(&args, "postgres", &db.url, size, true).await;
            db.drop().await?;
            outcome?;
        }
    }
    Ok(())
}
