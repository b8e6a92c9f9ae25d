//! The black-box test harness: the real router on a random port, over a fresh database that
//! ran the real migrations — a temporary SQLite file by default, or a new PostgreSQL database
//! when `AIDGRAPH_TEST_DATABASE_URL` names a PostgreSQL server.

use aidgraph::config::Config;
use aidgraph_api::auth::Authenticator;
use aidgraph_domain::vocab::Role;
use aidgraph_persistence::Store;
use aidgraph_registry::Registry;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::OnceCell;

/// The signing secret of every test server.
pub const SECRET: &str = "test-secret-0123456789-0123456789-abcdef";

pub mod proxy;

enum TestDb {
    Sqlite(PathBuf),
    Postgres {
        server_url: String,
        name: String,
    },
    /// Another server's database, left for that server to remove.
    Shared,
}

/// A running aidgraph on a fresh database.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The database, for checks that go under the API.
    pub store: Store,
    /// The registry the server's commands run against (its store, engine and event bus).
    pub registry: Registry,
    auth: Authenticator,
    client: reqwest::Client,
    db: TestDb,
    /// Raised to stop the service as a signal would.
    pub stopping: aidgraph_api::router::Stopping,
    /// The database's URL as created, before any test changed it (for a replica).
    pub direct_url: String,
    config: Config,
}

static STALE_DROPPED: OnceCell<()> = OnceCell::const_new();

/// Which database the suite runs on, for messages.
pub fn backend_name() -> &'static str {
    if std::env::var("AIDGRAPH_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        "postgres"
    } else {
        "sqlite"
    }
}

fn replace_db_name(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn fresh_database() -> (String, TestDb) {
    match std::env::var("AIDGRAPH_TEST_DATABASE_URL") {
        Ok(server_url) if server_url.starts_with("postgres") => {
            let admin = Database::connect(server_url.as_str())
                .await
                .unwrap_or_else(|e| panic!("cannot reach AIDGRAPH_TEST_DATABASE_URL: {e}"));
            // Databases left by earlier runs can go. Without FORCE: a database still in use
            // belongs to a suite running beside this one, and dropping it fails harmlessly.
            STALE_DROPPED
                .get_or_init(|| async {
                    let rows = admin
                        .query_all_raw(sea_orm::Statement::from_string(
                            sea_orm::DatabaseBackend::Postgres,
                            "SELECT datname FROM pg_database WHERE datname LIKE 'aidgraph_t_%'",
                        ))
                        .await
                        .unwrap_or_default();
                    for row in rows {
                        if let Ok(name) = row.try_get::<String>("", "datname") {
                            let _ = admin
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                                .await;
                        }
                    }
                })
                .await;
            let name = format!("aidgraph_t_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap_or_else(|e| panic!("creating test database: {e}"));
            let _ = admin.close().await;
            (
                replace_db_name(&server_url, &name),
                TestDb::Postgres { server_url, name },
            )
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("aidgraph-test-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
            let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
            (url, TestDb::Sqlite(dir))
        }
    }
}

impl TestApp {
    /// Starts a server on a fresh, migrated database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server with configuration changed by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let (url, db) = fresh_database().await;
        let mut config = Config {
            database_url: url.clone(),
            jwt_secret: Some(SECRET.into()),
            db_max_connections: 5,
            // Tests drive hundreds of requests from one token.
            rate_limit_per_second: 10_000,
            rate_limit_burst: 10_000,
            ..Config::default()
        };
        adjust(&mut config);
        Self::serve(config, db, url).await
    }

    /// A second server over this one's database, as another replica would be, reaching it by
    /// `database_url`.
    pub async fn replica(&self, database_url: &str) -> TestApp {
        let config = Config {
            database_url: database_url.to_owned(),
            ..self.config.clone()
        };
        Self::serve(config, TestDb::Shared, self.direct_url.clone()).await
    }

    async fn serve(config: Config, db: TestDb, direct_url: String) -> TestApp {
        let store = aidgraph::app::connect_and_migrate(&config)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let registry = Registry::of(store.clone());
        registry
            .events()
            .start(&store)
            .await
            .unwrap_or_else(|e| panic!("starting events: {e}"));
        let auth = aidgraph::app::authenticator(&config).unwrap_or_else(|e| panic!("{e:#}"));
        let stopping = aidgraph_api::router::Stopping::default();
        let router =
            aidgraph::app::build_router(&config, registry.clone(), auth.clone(), stopping.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        TestApp {
            addr,
            store,
            registry,
            auth,
            client: reqwest::Client::new(),
            db,
            stopping,
            direct_url,
            config,
        }
    }

    /// The server's base URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A token for `role`, scoped to `org` or `country`, that expires in `ttl_seconds` (or
    /// expired that long ago, when negative).
    pub fn token_for(
        &self,
        role: Role,
        org: Option<&str>,
        country: Option<&str>,
        ttl_seconds: i64,
    ) -> String {
        self.auth
            .issue(
                &format!("tester:{}:short", role.as_str()),
                role,
                org,
                country,
                ttl_seconds,
            )
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A token for `role`, scoped to `org` or `country`.
    pub fn token(&self, role: Role, org: Option<&str>, country: Option<&str>) -> String {
        self.auth
            .issue(
                &format!(
                    "tester:{}:{}:{}",
                    role.as_str(),
                    org.unwrap_or("-"),
                    country.unwrap_or("-")
                ),
                role,
                org,
                country,
                3600,
            )
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// An admin token.
    pub fn admin(&self) -> String {
        self.token(Role::Admin, None, None)
    }

    /// A provider token for `org`.
    pub fn provider(&self, org: &str) -> String {
        self.token(Role::Provider, Some(org), None)
    }

    /// A recipient token for `country`.
    pub fn recipient(&self, country: &str) -> String {
        self.token(Role::Recipient, None, Some(country))
    }

    /// Posts a GraphQL request with an optional bearer token; returns the status and body.
    pub async fn post(&self, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.client.post(self.url("/graphql")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Runs a query; returns the whole response body.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        self.post(
            Some(token),
            json!({ "query": query, "variables": variables }),
        )
        .await
        .1
    }

    /// Runs a query that must succeed; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "unexpected errors: {body:#}\nquery: {query}"
        );
        body["data"].clone()
    }

    /// Registers an organisation as admin.
    pub async fn organisation(&self, org_ref: &str, kind: &str) {
        self.ok(
            &self.admin(),
            "mutation($input: OrganisationInput!) { createOrganisation(input: $input) { id } }",
            json!({ "input": { "ref": org_ref, "name": format!("{org_ref} (test)"), "kind": kind } }),
        )
        .await;
    }

    /// Drops a PostgreSQL test database (SQLite files go with their directory).
    pub async fn cleanup(self) {
        let _ = self.store.close().await;
        match self.db {
            TestDb::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Shared => {}
            TestDb::Postgres { server_url, name } => {
                if let Ok(admin) = Database::connect(server_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            }
        }
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The fields named by a BAD_USER_INPUT error's violations.
pub fn violation_fields(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["violations"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A minimal valid activity input for `org` in `country`.
pub fn activity_input(identifier: &str, org: &str, country: &str) -> Value {
    json!({
        "iatiIdentifier": identifier,
        "reportingOrg": org,
        "titles": [{ "lang": "en", "text": format!("Activity {identifier}") }],
        "recipientCountries": [{ "code": country }],
        "sectors": [{ "code": "15130", "percentage": "100" }],
        "status": "IMPLEMENTATION",
        "plannedStart": "2026-01-01",
        "plannedEnd": "2026-12-31",
        "budget": { "amount": "100000.00", "currency": "USD" }
    })
}

/// Kenya's focal point drafts and publishes a needs analysis with one need (mutual legal
/// assistance for prosecutors: UNTOC-18, INTERNATIONAL_COOPERATION, TRAINING); its id.
pub async fn kenya_need(app: &TestApp) -> String {
    let ke = app.recipient("KE");
    let created = app
        .ok(
            &ke,
            "mutation { createNeedsAnalysis(input: { recipientCountry: \"KE\", source: SELF_ASSESSMENT_QUESTIONNAIRE,
                needs: [{ title: \"Prosecutors trained in mutual legal assistance\", priorityArea: INTERNATIONAL_COOPERATION,
                          provisions: [\"UNTOC-18\"], assistanceTypes: [TRAINING] }] }) { id needs { id } } }",
            json!({}),
        )
        .await;
    let analysis = &created["createNeedsAnalysis"];
    app.ok(
        &ke,
        "mutation($id: ID!) { publishNeedsAnalysis(id: $id) { status } }",
        json!({ "id": analysis["id"] }),
    )
    .await;
    analysis["needs"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A GraphQL subscription over `/graphql/ws` (graphql-transport-ws).
pub struct Subscription {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Subscription {
    /// Connects with `token`, subscribes to `query`; `None` if the server refused.
    pub async fn start(app: &TestApp, token: &str, query: &str) -> Option<Subscription> {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/graphql/ws", app.addr)
            .into_client_request()
            .ok()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().ok()?,
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.ok()?;
        socket
            .send(Message::text(
                json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })
                    .to_string(),
            ))
            .await
            .ok()?;
        let ack = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .ok()??
            .ok()?;
        let ack: Value = serde_json::from_str(ack.to_text().ok()?).ok()?;
        if ack["type"] != "connection_ack" {
            return None;
        }
        socket
            .send(Message::text(
                json!({ "id": "1", "type": "subscribe", "payload": { "query": query } })
                    .to_string(),
            ))
            .await
            .ok()?;
        Some(Subscription { socket })
    }

    /// The next `data` pushed within `within`, if any.
    pub async fn next(&mut self, within: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??
                .ok()?;
            let Ok(text) = message.to_text() else {
                continue;
            };
            let value: Value = serde_json::from_str(text).unwrap_or_default();
            match value["type"].as_str() {
                Some("next") => return Some(value["payload"]["data"].clone()),
                Some("error") => panic!("subscription error: {value}"),
                _ => continue,
            }
        }
    }
}
