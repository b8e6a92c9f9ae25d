//! IATI import benchmark: throughput (activities per second) and peak memory for the largest
//! shared IATI file and for a ~200 MB file made by repeating its activities under new
//! identifiers. Each measurement runs in a fresh child process, so peak memory is its own.
//!
//! ```text
//! cargo bench -p aidgraph --bench iati_import [-- --megabytes 200]
//! ```
//!
//! `parse` reads and maps every activity (the streaming reader and the mapping, no storage);
//! `import` also stores them in a fresh SQLite registry, with organisations and overlap flags.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

fn largest_shared_file() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/iati/activities");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
}

/// Writes a file of at least `megabytes` by repeating the activities of `source`, each copy
/// with new identifiers, streaming (never holding the output in memory).
fn make_big_file(source: &Path, megabytes: u64, out: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(source)?;
    let first = text
        .find("<iati-activity")
        .ok_or_else(|| anyhow::anyhow!("no activity"))?;
    let last = text
        .rfind("</iati-activity>")
        .ok_or_else(|| anyhow::anyhow!("no activity"))?
        + "</iati-activity>".len();
    let (head, body, tail) = (&text[..first], &text[first..last], &text[last..]);
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    file.write_all(head.as_bytes())?;
    let mut written = 0u64;
    let mut copies = 0u64;
    while written < megabytes * 1024 * 1024 {
        copies += 1;
        let copy = body.replace(
            "</iati-identifier>",
            &format!("-R{copies}</iati-identifier>"),
        );
        file.write_all(copy.as_bytes())?;
        written += copy.len() as u64;
    }
    file.write_all(tail.as_bytes())?;
    file.flush()?;
    Ok(copies)
}

async fn parse_only(path: &Path) -> anyhow::Result<(u64, u64)> {
    let file = tokio::fs::File::open(path).await?;
    let mut reader = aidgraph_iati::reader::IatiReader::new(tokio::io::BufReader::with_capacity(
        64 * 1024,
        file,
    ));
    let (mut read, mut mapped) = (0, 0);
    while let Some(raw) = reader.next_activity().await? {
        read += 1;
        if aidgraph_iati::map_activity(&raw.element).is_ok() {
            mapped += 1;
        }
    }
    Ok((read, mapped))
}

async fn full_import(path: &Path) -> anyhow::Result<(u64, u64)> {
    let dir = std::env::temp_dir().join(format!("aidgraph-import-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let config = aidgraph::config::Config {
        database_url: format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
        ..aidgraph::config::Config::default()
    };
    let store = aidgraph::app::connect_and_migrate(&config).await?;
    let who = aidgraph_domain::access::Principal {
        subject: "bench".into(),
        role: aidgraph_domain::vocab::Role::Admin,
        org: None,
        country: None,
    };
    let file = tokio::fs::File::open(path).await?;
    let registry = aidgraph_registry::Registry::of(store.clone());
    let summary = aidgraph_api::iati::import(
        &registry,
        &who,
        tokio::io::BufReader::with_capacity(64 * 1024, file),
        |_| {},
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok((
        summary.read,
        summary.created + summary.updated + summary.unchanged,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    // Child mode: `--phase parse|import FILE`.
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        let phase = args.get(i + 1).cloned().unwrap_or_default();
        let path = PathBuf::from(args.get(i + 2).cloned().unwrap_or_default());
        let started = Instant::now();
        let (read, stored) = match phase.as_str() {
            "parse" => parse_only(&path).await?,
            _ => full_import(&path).await?,
        };
        let secs = started.elapsed().as_secs_f64();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
        println!(
            "{phase:<6} {:>8.1} MB {read:>7} activities ({stored} mapped/stored) in {secs:>7.1} s = {:>8.0} activities/s | peak RSS {:>6.0} MiB",
            size,
            read as f64 / secs,
            peak_rss_mib()
        );
        return Ok(());
    }
    let Some(largest) = largest_shared_file() else {
        println!("skipped: ../shared/data/iati/activities is not present");
        return Ok(());
    };
    let megabytes = args
        .iter()
        .position(|a| a == "--megabytes")
        .and_then(|i| args.get(i + 1))
        .and_then(|m| m.parse().ok())
        .unwrap_or(200);
    let big = std::env::temp_dir().join(format!("aidgraph-big-{}.xml", uuid::Uuid::new_v4()));
    let copies = make_big_file(&largest, megabytes, &big)?;
    println!(
        "largest shared file: {} ; generated file: {megabytes} MB, {copies} copies of its activities",
        largest.display()
    );
    let me = std::env::current_exe()?;
    for (phase, file) in [("parse", &largest), ("parse", &big), ("import", &largest)] {
        let status = std::process::Command::new(&me)
            .args(["--phase", phase])
            .arg(file)
            .status()?;
        if !status.success() {
            anyhow::bail!("{phase} of {} failed", file.display());
        }
    }
    if args.iter().any(|a| a == "--import-big") {
        std::process::Command::new(&me)
            .args(["--phase", "import"])
            .arg(&big)
            .status()?;
    }
    let _ = std::fs::remove_file(big);
    Ok(())
}
