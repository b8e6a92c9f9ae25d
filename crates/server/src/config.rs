//! One typed configuration, loaded once: defaults, then `aidgraph.toml` (or the file named by
//! `AIDGRAPH_CONFIG`), then `AIDGRAPH_*` variables and `DATABASE_URL`. A bad value fails
//! start-up with the variable's name.

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines, for a terminal.
    Human,
    /// One JSON object per line, for collectors.
    Json,
}

/// A secret from the configuration: read and written as the text it is, never shown by
/// `Debug`, so a logged configuration cannot leak it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(..)")
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        SecretString(secret.to_owned())
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        SecretString(secret)
    }
}

/// aidgraph's settings. Each field is also `AIDGRAPH_<FIELD>` in upper case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// `sqlite://PATH?mode=rwc` (default `sqlite://aidgraph.db?mode=rwc`) or
    /// `postgres://USER@HOST/DB`; also read from `DATABASE_URL`.
    pub database_url: String,
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Database pool size.
    pub db_max_connections: u32,
    /// Longest a request waits for a database connection before it is answered
    /// `SERVICE_UNAVAILABLE`, in seconds.
    pub db_acquire_timeout_secs: u64,
    /// HS256 signing secret (at least 32 bytes). Without it (and without public keys), the
    /// embedded SQLite default generates one beside the database file.
    pub jwt_secret: Option<SecretString>,
    /// A file holding the HS256 secret.
    pub jwt_secret_file: Option<PathBuf>,
    /// A directory of `<kid>.pem` public keys from an identity provider; tokens are then
    /// verified with these and not minted here.
    pub jwt_public_keys_dir: Option<PathBuf>,
    /// Algorithm of the public keys: `RS256` or `EdDSA`.
    pub jwt_algorithm: String,
    /// Expected `iss` claim.
    pub jwt_issuer: String,
    /// Expected `aud` claim.
    pub jwt_audience: String,
    /// `human` or `json`.
    pub log_format: LogFormat,
    /// Deepest query selection allowed.
    pub max_depth: usize,
    /// Largest query complexity allowed.
    pub max_complexity: usize,
    /// Most fields one operation may select, fragments expanded.
    pub max_fields: usize,
    /// Most aliases one operation may use.
    pub max_aliases: usize,
    /// Most fields at the root of one operation.
    pub max_root_fields: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may run, in seconds.
    pub request_timeout_secs: u64,
    /// Requests per second each caller (token subject) may make on average.
    pub rate_limit_per_second: u32,
    /// Requests each caller may make in a burst.
    pub rate_limit_burst: u32,
    /// Memory for answers to read-only operations kept by registry version, in MiB; 0 keeps
    /// none, nor needs' coverage.
    pub response_cache_mib: usize,
    /// On SIGTERM or Ctrl-C, how long requests in flight and open sockets have to finish, in
    /// seconds.
    pub shutdown_grace_secs: u64,
    /// Origins browsers may call from, comma-separated; `*` for any.
    pub cors_allowed_origins: String,
    /// Whether `/metrics` is served.
    pub metrics: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://aidgraph.db?mode=rwc".into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db_max_connections: 10,
            db_acquire_timeout_secs: 3,
            jwt_secret: None,
            jwt_secret_file: None,
            jwt_public_keys_dir: None,
            jwt_algorithm: "RS256".into(),
            jwt_issuer: "aidgraph".into(),
            jwt_audience: "aidgraph".into(),
            log_format: LogFormat::Human,
            max_depth: 16,
            max_complexity: 20_000,
            max_fields: 1_000,
            max_aliases: 50,
            max_root_fields: 20,
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            response_cache_mib: 64,
            shutdown_grace_secs: 20,
            cors_allowed_origins: "*".into(),
            metrics: true,
        }
    }
}

impl Config {
    /// Loads the configuration from the file and the environment.
    pub fn load() -> anyhow::Result<Self> {
        let file = std::env::var_os("AIDGRAPH_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("aidgraph.toml"));
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&file))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(Env::prefixed("AIDGRAPH_").ignore(&["CONFIG"]))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!("DATABASE_URL must start with sqlite: or postgres://");
        }
        if self.database_url.starts_with("postgres") {
            postgres_options(&self.database_url)?;
        }
        if self.db_max_connections == 0 {
            bail!("AIDGRAPH_DB_MAX_CONNECTIONS must be at least 1");
        }
        for origin in self.cors_origins() {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                bail!(
                    "AIDGRAPH_CORS_ALLOWED_ORIGINS: `{origin}` is not an origin (https://host[:port]) or *"
                );
            }
        }
        if self.db_acquire_timeout_secs == 0 {
            bail!("AIDGRAPH_DB_ACQUIRE_TIMEOUT_SECS must be at least 1");
        }
        if self.rate_limit_per_second == 0 || self.rate_limit_burst == 0 {
            bail!(
                "AIDGRAPH_RATE_LIMIT_PER_SECOND and AIDGRAPH_RATE_LIMIT_BURST must be at least 1"
            );
        }
        if self.max_depth < 15 {
            bail!("AIDGRAPH_MAX_DEPTH must be at least 15 (GraphiQL's introspection needs it)");
        }
        Ok(())
    }

    /// The origins of [`Config::cors_allowed_origins`], one by one.
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The SQLite database file, when the database is a SQLite file.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let rest = rest.trim_start_matches("//");
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// The HS256 secret: configured, read from a file, or (for a SQLite file) generated on
    /// first run and kept beside the database as `<db>.secret`.
    pub fn jwt_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(secret.expose().as_bytes().to_vec());
        }
        if let Some(file) = &self.jwt_secret_file {
            return read_secret(file)
                .with_context(|| format!("AIDGRAPH_JWT_SECRET_FILE {}", file.display()));
        }
        let Some(db) = self.sqlite_path() else {
            bail!(
                "set AIDGRAPH_JWT_SECRET (at least 32 bytes), AIDGRAPH_JWT_SECRET_FILE or \
                 AIDGRAPH_JWT_PUBLIC_KEYS_DIR: only the embedded SQLite default generates a secret"
            );
        };
        let file = secret_path(&db);
        if file.exists() {
            return read_secret(&file).with_context(|| format!("reading {}", file.display()));
        }
        let secret = hex::encode(rand::random::<[u8; 32]>());
        write_private(&file, &secret).with_context(|| format!("writing {}", file.display()))?;
        tracing::info!(path = %file.display(), "generated a token signing secret");
        Ok(secret.into_bytes())
    }
}

/// The connection options a PostgreSQL URL gives, or why it cannot be read.
pub fn postgres_options(
    url: &str,
) -> anyhow::Result<aidgraph_persistence::sqlx::postgres::PgConnectOptions> {
    url.parse()
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a PostgreSQL URL that can be used: {e}"))
}

/// Where the generated secret of database `db` lives.
pub fn secret_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".secret");
    PathBuf::from(name)
}

fn read_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.trim().as_bytes().to_vec())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file() {
        let mut c = Config::default();
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("aidgraph.db")));
        c.database_url = "sqlite::memory:".into();
        assert_eq!(c.sqlite_path(), None);
        c.database_url = "postgres://postgres@127.0.0.1/aidgraph".into();
        assert_eq!(c.sqlite_path(), None);
        assert!(c.jwt_secret().is_err());
    }

    #[test]
    fn a_logged_configuration_hides_the_secret() -> anyhow::Result<()> {
        let secret = "a-signing-secret-of-at-least-32-bytes";
        let c = Config {
            jwt_secret: Some(secret.into()),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains(secret));
        assert_eq!(c.jwt_secret()?, secret.as_bytes());
        Ok(())
    }
}
