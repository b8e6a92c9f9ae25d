//! The service as the load benchmarks drive it: `aidgraph serve` in a child process on a
//! database of the benchmark's, and its resident memory.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The signing secret of every benchmark's service.
pub const SECRET: &str = "benchmark-secret-0123456789-0123456789-xyz";

/// The resident memory of process `pid`, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `aidgraph serve` on `url`, killed when dropped.
pub struct Service {
    /// The process.
    pub child: Child,
    /// Its `/graphql` address.
    pub endpoint: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `aidgraph` command on database `url`, with the benchmarks' secret, logging at
/// `AIDGRAPH_BENCH_RUST_LOG` (default `warn`).
pub fn aidgraph(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aidgraph"));
    command
        .env("DATABASE_URL", url)
        .env("AIDGRAPH_JWT_SECRET", SECRET)
        .env(
            "RUST_LOG",
            std::env::var("AIDGRAPH_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null());
    command
}

/// Starts `aidgraph serve` on `url`, keeping `cache_mib` of answers, without rate limits.
pub async fn serve(url: &str, cache_mib: usize) -> anyhow::Result<Service> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = aidgraph(url)
        .arg("serve")
        .env("AIDGRAPH_BIND", format!("127.0.0.1:{port}"))
        .env("AIDGRAPH_RATE_LIMIT_PER_SECOND", "1000000")
        .env("AIDGRAPH_RATE_LIMIT_BURST", "1000000")
        .env("AIDGRAPH_RESPONSE_CACHE_MIB", cache_mib.to_string())
        .spawn()?;
    let service = Service {
        child,
        endpoint: format!("http://127.0.0.1:{port}/graphql"),
    };
    let health = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..300 {
        if reqwest::get(&health)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(service);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("aidgraph serve did not answer on {health}")
}
