//! Start-up: connect, migrate, build the authenticator and schema, serve until a signal.

use crate::config::Config;
use aidgraph_api::auth::{Authenticator, Secret};
use aidgraph_api::response_cache::ResponseCache;
use aidgraph_api::router::HttpLimits;
use aidgraph_api::{AppState, Limits, build_schema, router};
use aidgraph_persistence::Store;
use aidgraph_registry::Registry;
use anyhow::{Context, bail};
use axum::Router;
use jsonwebtoken::Algorithm;
use std::sync::Arc;
use std::time::Duration;

/// Connects to the configured database; when it cannot be reached, the error says where
/// and why.
pub async fn connect(config: &Config) -> anyhow::Result<Store> {
    if let Err(unreachable) = probe(config).await {
        bail!("{unreachable}");
    }
    open_pool(config).await
}

/// Connects to the configured database, waiting for it as long as it takes: a database that
/// is starting (or not reachable yet) is tried again with backoff from 1 to 30 seconds, and
/// each attempt logs where and why it failed. A database that refuses the credentials or
/// does not exist fails at once.
pub async fn connect_when_ready(config: &Config) -> anyhow::Result<Store> {
    let mut wait = Duration::from_secs(1);
    loop {
        match probe(config).await {
            Ok(()) => return open_pool(config).await,
            Err(unreachable) if !unreachable.lasting => bail!("{unreachable}"),
            Err(unreachable) => tracing::warn!(
                host = %unreachable.host,
                port = unreachable.port,
                cause = %unreachable.cause,
                retry_in_secs = wait.as_secs(),
                "the database cannot be reached; trying again"
            ),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

async fn open_pool(config: &Config) -> anyhow::Result<Store> {
    Store::connect_with(
        &config.database_url,
        config.db_max_connections,
        Duration::from_secs(config.db_acquire_timeout_secs),
    )
    .await
    .with_context(|| "connecting to the database (DATABASE_URL)".to_string())
}

/// Why the database could not be reached.
#[derive(Debug)]
pub struct Unreachable {
    host: String,
    port: u16,
    cause: String,
    /// Whether trying again later may help (not for refused credentials or a missing database).
    lasting: bool,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the database at {}:{} (DATABASE_URL) cannot be reached: {}",
            self.host, self.port, self.cause
        )
    }
}

/// One connection attempt to a PostgreSQL database, for its real cause of failure (a pool
/// says only that it timed out). A SQLite file needs none.
async fn probe(config: &Config) -> Result<(), Unreachable> {
    use aidgraph_persistence::sqlx::{ConnectOptions, Connection};
    if !config.database_url.starts_with("postgres") {
        return Ok(());
    }
    let options =
        crate::config::postgres_options(&config.database_url).map_err(|e| Unreachable {
            host: String::new(),
            port: 0,
            cause: e.to_string(),
            lasting: false,
        })?;
    let unreachable = |cause: String, lasting: bool| Unreachable {
        host: options.get_host().to_owned(),
        port: options.get_port(),
        cause,
        lasting,
    };
    let attempt = tokio::time::timeout(Duration::from_secs(10), options.connect()).await;
    match attempt {
        Ok(Ok(connection)) => {
            drop(connection.close().await);
            Ok(())
        }
        Ok(Err(aidgraph_persistence::sqlx::Error::Database(e))) => {
            // 28: refused credentials; 3D: no such database. Waiting will not help.
            let fatal = e
                .code()
                .is_some_and(|c| c.starts_with("28") || c.starts_with("3D"));
            Err(unreachable(e.message().to_owned(), !fatal))
        }
        Ok(Err(e)) => Err(unreachable(e.to_string(), true)),
        Err(_) => Err(unreachable("no answer within 10 s".into(), true)),
    }
}

/// Connects and applies pending migrations.
pub async fn connect_and_migrate(config: &Config) -> anyhow::Result<Store> {
    let store = connect(config).await?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// The token verifier the configuration asks for.
pub fn authenticator(config: &Config) -> anyhow::Result<Authenticator> {
    if let Some(dir) = &config.jwt_public_keys_dir {
        let algorithm = match config.jwt_algorithm.as_str() {
            "RS256" => Algorithm::RS256,
            "EdDSA" => Algorithm::EdDSA,
            other => bail!("AIDGRAPH_JWT_ALGORITHM must be RS256 or EdDSA, not {other}"),
        };
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("AIDGRAPH_JWT_PUBLIC_KEYS_DIR {}", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "pem")
                && let Some(kid) = path.file_stem().and_then(|s| s.to_str())
            {
                keys.push((kid.to_owned(), std::fs::read(&path)?));
            }
        }
        return Authenticator::public_keys(
            algorithm,
            &keys,
            &config.jwt_issuer,
            &config.jwt_audience,
        )
        .map_err(|e| anyhow::anyhow!("AIDGRAPH_JWT_PUBLIC_KEYS_DIR: {e}"));
    }
    let secret = Secret::new(config.jwt_secret()?);
    Authenticator::shared_secret(&secret, &config.jwt_issuer, &config.jwt_audience)
        .map_err(|e| anyhow::anyhow!("AIDGRAPH_JWT_SECRET: {e}"))
}

/// The full router over `registry`.
pub fn build_router(
    config: &Config,
    registry: Registry,
    auth: Authenticator,
    stopping: aidgraph_api::router::Stopping,
) -> Router {
    let limits = Limits {
        max_depth: config.max_depth,
        max_complexity: config.max_complexity,
        max_fields: config.max_fields,
        max_aliases: config.max_aliases,
        max_root_fields: config.max_root_fields,
        ..Limits::default()
    };
    let schema = build_schema(Some(registry.clone()), limits);
    router(
        AppState {
            schema,
            store: registry.store().clone(),
            registry,
            auth: Arc::new(auth),
            limiter: aidgraph_api::router::limiter(
                config.rate_limit_per_second,
                config.rate_limit_burst,
            ),
            responses: (config.response_cache_mib > 0).then(|| {
                Arc::new(ResponseCache::new(
                    config.response_cache_mib.saturating_mul(1024 * 1024),
                ))
            }),
            coverage: (config.response_cache_mib > 0).then(Arc::default),
            stopping,
            metrics: config.metrics.then(crate::metrics::handle).flatten().map(
                |handle| -> aidgraph_api::router::Render { Arc::new(move || handle.render()) },
            ),
            cors_origins: config.cors_origins(),
        },
        HttpLimits {
            max_body_bytes: config.max_body_bytes,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
        },
    )
}

/// Checks the configuration, waits for the database, migrates, then serves until Ctrl-C or
/// SIGTERM. On the signal it stops accepting connections, lets requests in flight finish,
/// completes open subscriptions and closes their sockets (1001), all within
/// `shutdown_grace_secs`.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Everything that can be checked without the database is, before touching it.
    let auth = authenticator(&config)?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding AIDGRAPH_BIND {}", config.bind))?;
    let store = connect_when_ready(&config).await?;
    store.migrate().await.context("applying migrations")?;
    let registry = Registry::of(store);
    registry
        .events()
        .start(registry.store())
        .await
        .context("starting the event publisher")?;
    let stopping = aidgraph_api::router::Stopping::default();
    let app = build_router(&config, registry.clone(), auth, stopping.clone());
    let warming = registry.clone();
    tokio::spawn(async move {
        match aidgraph_registry::overlap::warm_cache(&warming).await {
            Ok(n) => tracing::info!(activities = n, "overlap feature cache warmed"),
            Err(e) => tracing::warn!(error = %e, "warming the overlap feature cache failed"),
        }
    });
    tracing::info!(address = %config.bind, "aidgraph is listening; GraphiQL at http://{}/graphql", config.bind);
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let signalled = stopping.clone();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            signalled.begin();
        })
        .into_future();
    tokio::select! {
        served = server => served.context("serving")?,
        () = async {
            stopping.begun().await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; stopping anyway"),
    }
    if !stopping.sockets_closed(Duration::from_secs(2)).await {
        tracing::warn!("some sockets did not close in time");
    }
    registry.store().clone().close().await.ok();
    tracing::info!("aidgraph stopped");
    Ok(())
}

/// `aidgraph healthcheck`: asks the service at `bind` (on loopback when it listens on every
/// address) for `/readyz`, within three seconds. Plain HTTP/1.0 over a socket, so the image
/// needs no other tool.
pub fn healthcheck(config: &Config) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut address = config.bind;
    if address.ip().is_unspecified() {
        address.set_ip(if address.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let timeout = Duration::from_secs(3);
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)
        .with_context(|| format!("aidgraph is not listening on {address}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET /readyz HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        bail!("not ready: {status}")
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining requests in flight");
}

/// Recomputes overlap flags with progress on standard error; returns a one-line summary.
pub async fn recompute(store: &Store, country: Option<&str>) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let mut last_phase = String::new();
    let mut last_report = std::time::Instant::now();
    let summary = aidgraph_registry::recompute::recompute(
        store,
        country,
        |phase: &str, done: u64, total: u64| {
            if phase != last_phase || done == total || last_report.elapsed().as_millis() > 500 {
                eprintln!("{phase}: {done}/{total}");
                last_phase = phase.to_owned();
                last_report = std::time::Instant::now();
            }
        },
    )
    .await
    .context("recomputing overlap flags")?;
    Ok(format!(
        "recomputed {} activities in {:.1} s (load {:.1} s; scoring {:.1} s and writing alongside, {:.1} s in all): {} pairs scored, {} of them compared on text, {} flags ({} added, {} changed, {} removed)",
        summary.activities,
        started.elapsed().as_secs_f64(),
        summary.seconds.0,
        summary.seconds.1,
        summary.seconds.2,
        summary.pairs_scored,
        summary.pairs_past_bound,
        summary.flags,
        summary.added,
        summary.changed,
        summary.removed
    ))
}

/// The operator running a command-line tool: an administrator.
fn operator() -> aidgraph_domain::access::Principal {
    aidgraph_domain::access::Principal {
        subject: "cli".into(),
        role: aidgraph_domain::vocab::Role::Admin,
        org: None,
        country: None,
    }
}

/// Loads exchange rates from a CSV file as the operator; bad lines are listed and nothing is
/// stored.
pub async fn load_rates(store: &Store, file: &std::path::Path) -> anyhow::Result<usize> {
    let registry = aidgraph_registry::Registry::of(store.clone());
    let text = tokio::fs::read_to_string(file)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let rows = aidgraph_domain::rates::parse_csv(&text).map_err(|v| {
        let lines: Vec<String> =
            v.0.iter()
                .map(|x| format!("  {}: {}", x.field, x.message))
                .collect();
        anyhow::anyhow!(
            "{} holds bad lines; nothing was loaded:\n{}",
            file.display(),
            lines.join("\n")
        )
    })?;
    Ok(aidgraph_registry::rates::load(&registry, &operator(), &rows).await?)
}

/// `aidgraph import iati`: imports each file with progress on standard error and prints a
/// summary per file.
pub async fn import_iati(
    store: &Store,
    files: &[std::path::PathBuf],
    as_provider: Option<&str>,
    verbose: bool,
) -> anyhow::Result<()> {
    let registry = Registry::of(store.clone());
    let who = match as_provider {
        Some(org) => aidgraph_domain::access::Principal {
            subject: format!("cli:{org}"),
            role: aidgraph_domain::vocab::Role::Provider,
            org: Some(org.to_owned()),
            country: None,
        },
        None => operator(),
    };
    let mut failed = false;
    for path in files {
        let started = std::time::Instant::now();
        let name = path.display().to_string();
        let imported = aidgraph_api::iati::import_file(&registry, &who, path, |s| {
            if verbose {
                for w in &s.latest_warnings {
                    println!("  warning {w}");
                }
            }
            if s.read % 500 == 0 {
                eprintln!("{name}: {} activities read", s.read);
            }
        })
        .await;
        let summary = match imported {
            Ok(summary) => summary,
            Err(aidgraph_api::iati::ImportError::Unreadable(e)) => {
                println!("{name}: {e}; nothing was stored");
                failed = true;
                continue;
            }
            Err(e) => return Err(anyhow::anyhow!("{name}: {e}")),
        };
        println!(
            "{name} (IATI {}): read {}, created {}, updated {}, unchanged {}, skipped {}; {} organisations registered; {:.1} s",
            if summary.version.is_empty() {
                "?"
            } else {
                &summary.version
            },
            summary.read,
            summary.created,
            summary.updated,
            summary.unchanged,
            summary.skipped.len(),
            summary.organisations_created,
            started.elapsed().as_secs_f64()
        );
        if !summary.warnings_by_reason.is_empty() {
            let counts: Vec<String> = summary
                .warnings_by_reason
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            println!(
                "  warnings: {} ({}){}",
                summary.warnings_by_reason.values().sum::<u64>(),
                counts.join(", "),
                if verbose {
                    ""
                } else {
                    "; --verbose lists them"
                }
            );
        }
        for s in &summary.skipped {
            println!(
                "  skipped line {} {}: {}",
                s.line,
                if s.identifier.is_empty() {
                    "(no identifier)"
                } else {
                    &s.identifier
                },
                s.reason
            );
        }
        if let Some(error) = &summary.error {
            println!("  stopped: {error}");
            failed = true;
        }
    }
    if failed {
        anyhow::bail!("some files could not be read to the end");
    }
    Ok(())
}

/// `aidgraph export iati|csv`: published activities to standard output.
pub async fn export(
    store: &Store,
    filter: &aidgraph_api::iati::ExportFilter,
    csv: bool,
) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = if csv {
        aidgraph_api::iati::export_csv(store, &operator(), filter, &mut out).await?
    } else {
        aidgraph_api::iati::export_iati(store, &operator(), filter, &mut out).await?
    };
    std::io::Write::flush(&mut out)?;
    eprintln!("{written} activities exported");
    Ok(())
}
