//! Start-up: connect, migrate, build the authenticator and schema, serve until a signal.

use crate::config::Config;
use aidgraph_api::auth::{Authenticator, Secret};
use aidgraph_api::response_cache::ResponseCache;
use aidgraph_api::router::HttpLimits;
use aidgraph_api::{AppState, Limits, build_schema, router};
use aidgraph_persistence::Store;
use anyhow::{Context, bail};
use axum::Router;
use jsonwebtoken::Algorithm;
use std::sync::Arc;
use std::time::Duration;

/// Connects to the configured database.
pub async fn connect(config: &Config) -> anyhow::Result<Store> {
    Store::connect(&config.database_url, config.db_max_connections)
        .await
        .with_context(|| "connecting to the database (DATABASE_URL)".to_string())
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

/// The full router over `store`.
pub fn build_router(config: &Config, store: Store, auth: Authenticator) -> Router {
    let limits = Limits {
        max_depth: config.max_depth,
        max_complexity: config.max_complexity,
        ..Limits::default()
    };
    let schema = build_schema(Some(store.clone()), limits);
    router(
        AppState {
            schema,
            store,
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
        },
        HttpLimits {
            max_body_bytes: config.max_body_bytes,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
        },
    )
}

/// Migrates, then serves until Ctrl-C or SIGTERM, draining requests in flight.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let store = connect_and_migrate(&config).await?;
    store
        .start_events()
        .await
        .context("starting the event publisher")?;
    let auth = authenticator(&config)?;
    let app = build_router(&config, store.clone(), auth);
    let warming = store.clone();
    tokio::spawn(async move {
        match aidgraph_persistence::overlap::warm_cache(&warming).await {
            Ok(n) => tracing::info!(activities = n, "overlap feature cache warmed"),
            Err(e) => tracing::warn!(error = %e, "warming the overlap feature cache failed"),
        }
    });
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding AIDGRAPH_BIND {}", config.bind))?;
    tracing::info!(address = %config.bind, "aidgraph is listening; GraphiQL at http://{}/graphql", config.bind);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    store.close().await.ok();
    tracing::info!("aidgraph stopped");
    Ok(())
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
    let summary = aidgraph_persistence::recompute::recompute(
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
    Ok(aidgraph_persistence::rates::load(store, &operator(), &rows).await?)
}

/// `aidgraph import iati`: imports each file with progress on standard error and prints a
/// summary per file.
pub async fn import_iati(
    store: &Store,
    files: &[std::path::PathBuf],
    as_provider: Option<&str>,
) -> anyhow::Result<()> {
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
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        let started = std::time::Instant::now();
        let name = path.display().to_string();
        let summary = aidgraph_api::iati::import(
            store,
            &who,
            tokio::io::BufReader::with_capacity(64 * 1024, file),
            |s| {
                if s.read % 500 == 0 {
                    eprintln!("{name}: {} activities read", s.read);
                }
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
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
