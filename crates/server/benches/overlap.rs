//! Overlap engine benchmark: builds a synthetic registry, times a full recompute, then drives
//! the running service over HTTP with `checkOverlap` dry runs and activity creates (which
//! maintain flags in their transaction), and prints medians and 99th percentiles.
//!
//! ```text
//! cargo bench -p aidgraph --bench overlap -- --activities 10000,100000 \
//!     [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--requests 300] \
//!     [--no-sqlite] [--no-recompute] [--tail]
//! ```
//!
//! `--tail` repeats the five slowest checks and names their countries, windows and flags: a
//! check that is slow again is a slow input, one that is not was a slow moment.

mod common;

use aidgraph::bench_data;
use aidgraph::config::Config;
use aidgraph_domain::vocab::Role;
use common::{FreshDatabase, percentile};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

struct Args {
    sizes: Vec<usize>,
    postgres: Option<String>,
    requests: usize,
    sqlite: bool,
    recompute: bool,
    /// Repeat the slowest checks and say what they were: a slow input or a slow moment.
    tail: bool,
}

fn args() -> Args {
    let mut out = Args {
        sizes: vec![10_000],
        postgres: std::env::var("AIDGRAPH_BENCH_POSTGRES_URL").ok(),
        requests: 300,
        sqlite: true,
        recompute: true,
        tail: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--activities" => out.sizes = common::sizes(it.next()),
            "--postgres" => out.postgres = it.next(),
            "--requests" => out.requests = it.next().and_then(|s| s.parse().ok()).unwrap_or(300),
            "--no-sqlite" => out.sqlite = false,
            "--no-recompute" => out.recompute = false,
            "--tail" => out.tail = true,
            _ => {}
        }
    }
    out
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn countries_of(data: &aidgraph_domain::activity::ActivityData) -> Vec<&str> {
    data.recipient_countries
        .iter()
        .map(|c| c.code.as_str())
        .collect()
}

async fn run(
    backend: &str,
    url: String,
    size: usize,
    requests: usize,
    recompute: bool,
    tail: bool,
) -> anyhow::Result<()> {
    let config = Config {
        database_url: url,
        jwt_secret: Some("benchmark-secret-0123456789-0123456789-xyz".into()),
        db_max_connections: 10,
        // One benchmark client is not a crowd of callers.
        rate_limit_per_second: 1_000_000,
        rate_limit_burst: 1_000_000,
        ..Config::default()
    };
    let store = aidgraph::app::connect_and_migrate(&config).await?;
    let registry = aidgraph_registry::Registry::of(store.clone());
    registry.events().start(&store).await?;
    let started = Instant::now();
    let mut generator = bench_data::generate(&store, size, size / 10, 11, |_, _| {}).await?;
    let generated = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let summary = if recompute {
        aidgraph::app::recompute(&store, None).await?
    } else {
        // Latency only: the corpus is needed for text similarity; flags are not computed.
        aidgraph_registry::recompute::rebuild_corpus(&store).await?;
        "full recompute skipped (--no-recompute); corpus rebuilt".to_owned()
    };
    let recompute = started.elapsed().as_secs_f64();

    // As `serve` does at start-up.
    let started = Instant::now();
    let warmed = aidgraph_registry::overlap::warm_cache(&registry).await?;
    let warm = started.elapsed().as_secs_f64();
    let auth = aidgraph::app::authenticator(&config)?;
    let router = aidgraph::app::build_router(
        &config,
        registry.clone(),
        auth.clone(),
        aidgraph_api::router::Stopping::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = reqwest::Client::new();
    let endpoint = format!("http://{addr}/graphql");
    let post = |token: String, body: Value| {
        let client = client.clone();
        let endpoint = endpoint.clone();
        async move {
            let response = client
                .post(&endpoint)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            let value: Value = response.json().await?;
            if value.get("errors").is_some() {
                anyhow::bail!("request failed: {value}");
            }
            Ok::<Value, anyhow::Error>(value)
        }
    };

    let check =
        "query($input: ActivityInput!) { checkOverlap(input: $input) { flags { score class } } }";
    // What a donor system asks before committing money: the flags, and the needs it could
    // address with their coverage.
    let check_with_needs = "query($input: ActivityInput!) { checkOverlap(input: $input) { \
        flags { score class } addressableNeeds { id coverage { state } } } }";
    let create =
        "mutation($input: ActivityInput!) { createActivity(input: $input, publish: true) { id } }";
    // One request, timed from its start to its parsed answer.
    let timed = |token: &str, query: &str, input: &Value| {
        let request = post(
            token.to_owned(),
            json!({ "query": query, "variables": { "input": input } }),
        );
        async move {
            let t = Instant::now();
            let answer = request.await?;
            Ok::<(Duration, Value), anyhow::Error>((t.elapsed(), answer))
        }
    };
    let mut with_needs_times = Vec::with_capacity(requests);
    let mut check_times = Vec::with_capacity(requests);
    let mut create_times = Vec::with_capacity(requests);
    let mut flags_seen = 0usize;
    let mut checked = Vec::with_capacity(requests);
    for i in 0..requests + 20 {
        let data = generator.activity(&format!("XM-BENCH-NEW-{backend}-{size}-{i}"), &[])?;
        let token = auth.issue(
            "bench",
            Role::Provider,
            Some(&data.reporting_org),
            None,
            3600,
        )?;
        let input = bench_data::activity_input(&data);
        let (elapsed, answer) = timed(&token, check, &input).await?;
        flags_seen += answer["data"]["checkOverlap"]["flags"]
            .as_array()
            .map_or(0, Vec::len);
        let (elapsed1, _) = timed(&token, check_with_needs, &input).await?;
        let (elapsed2, _) = timed(&token, create, &input).await?;
        if i >= 20 {
            // The first requests warm the pool and caches.
            check_times.push(elapsed);
            with_needs_times.push(elapsed1);
            create_times.push(elapsed2);
            checked.push((elapsed, elapsed2, data, input, token));
        }
    }
    if tail {
        // A slow input is slow again; a slow moment (a checkpoint, another process) is not.
        checked.sort_by_key(|c| std::cmp::Reverse(c.0));
        for (elapsed, created, data, input, token) in checked.iter().take(5) {
            let (again, answer) = timed(token, check, input).await?;
            let countries = countries_of(data);
            println!(
                "         slow check {:.1} ms, again {:.1} ms (create {:.1} ms): {} flags, countries {countries:?}, window {:?}",
                elapsed.as_secs_f64() * 1000.0,
                again.as_secs_f64() * 1000.0,
                created.as_secs_f64() * 1000.0,
                answer["data"]["checkOverlap"]["flags"]
                    .as_array()
                    .map_or(0, Vec::len),
                data.window(),
            );
        }
        checked.sort_by_key(|c| std::cmp::Reverse(c.1));
        for (elapsed, created, data, _, _) in checked.iter().take(5) {
            let countries = countries_of(data);
            println!(
                "         slow create {:.1} ms (its check {:.1} ms): countries {countries:?}",
                created.as_secs_f64() * 1000.0,
                elapsed.as_secs_f64() * 1000.0,
            );
        }
    }
    check_times.sort();
    with_needs_times.sort();
    create_times.sort();
    let flags = aidgraph_persistence::overlap::list(
        store.db(),
        &Default::default(),
        &aidgraph_persistence::PageRequest::new(0, None),
    )
    .await?
    .total
    .unwrap_or_default();
    println!(
        "{backend:<8} {size:>7} activities | generate {generated:>6.1} s | full recompute {recompute:>6.1} s | flags stored {flags:>8} | \
         checkOverlap p50 {:>6.1} ms p99 {:>6.1} ms ({:.1} flags/check) | create p50 {:>6.1} ms p99 {:>6.1} ms | peak RSS {:>7.0} MiB",
        percentile(&check_times, 50.0),
        percentile(&check_times, 99.0),
        flags_seen as f64 / (requests + 20) as f64,
        percentile(&create_times, 50.0),
        percentile(&create_times, 99.0),
        peak_rss_mib(),
    );
    println!(
        "         checkOverlap with addressable needs and their coverage p50 {:>6.1} ms p99 {:>6.1} ms",
        percentile(&with_needs_times, 50.0),
        percentile(&with_needs_times, 99.0),
    );
    println!("         {summary}");
    println!("         feature cache warmed with {warmed} activities in {warm:.1} s");

    // Dashboards: the analytics queries over the whole registry, as a viewer.
    let viewer = auth.issue("bench", Role::Viewer, None, None, 3600)?;
    let busiest = bench_data::COUNTRIES[0];
    let dashboards = [
        (
            "coverageMatrix",
            "{ coverageMatrix(filter: { year: 2026 }) { rows { code cells { column activeBudget hhi } } } }".to_owned(),
        ),
        (
            "coverageMatrix DAC",
            "{ coverageMatrix(columns: DAC_SECTOR) { rows { code cells { column activeBudget hhi } } } }".to_owned(),
        ),
        (
            "providerSignificance",
            format!("{{ providerSignificance(filter: {{ country: \"{busiest}\" }}) {{ share significant }} }}"),
        ),
        (
            "parisIndicators",
            "{ parisIndicators(year: 2026) { indicator value } }".to_owned(),
        ),
    ];
    let mut line = String::from("         dashboards (p50 of 5 after 1 warm-up):");
    for (name, query) in dashboards {
        let mut times = Vec::new();
        for i in 0..6 {
            let t = Instant::now();
            post(viewer.clone(), json!({ "query": query })).await?;
            if i > 0 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        line.push_str(&format!(" {name} {:.0} ms;", percentile(&times, 50.0)));
    }
    println!("{line}");
    store.close().await?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = args();
    // `RUST_LOG` shows the service's own logs, such as where a dry run's time goes
    // (`aidgraph_persistence::overlap=debug`).
    if std::env::var_os("RUST_LOG").is_some() {
        aidgraph::telemetry::init(aidgraph::config::LogFormat::Human);
    }
    for &size in &args.sizes {
        if args.sqlite {
            let dir = std::env::temp_dir().join(format!("aidgraph-bench-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
            run(
                "sqlite",
                url,
                size,
                args.requests,
                args.recompute,
                args.tail,
            )
            .await?;
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(server) = &args.postgres {
            let db = FreshDatabase::create(server, &format!("aidgraph_bench_{size}")).await?;
            run(
                "postgres",
                db.url.clone(),
                size,
                args.requests,
                args.recompute,
                args.tail,
            )
            .await?;
            db.drop().await?;
        }
    }
    Ok(())
}
