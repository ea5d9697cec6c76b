//! Boots the real server on port 0 against a database of its own: a fresh SQLite file,
//! or a fresh PostgreSQL database (created on `ROSTER_TEST_POSTGRES_URL`'s server and
//! dropped afterwards).

use roster_app::tokens::NewToken;
use roster_app::{Actor, App, ManualClock, Settings};
use roster_store::Store;
use roster_test_support::FreshPostgres;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// 2026-03-02T12:00:00Z: tests run at a fixed "now".
pub const NOW_MS: i64 = 1_772_452_800_000;

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    pub base: String,
    /// The database's URL, for another server on it.
    pub url: String,
    pub app: App,
    pub clock: ManualClock,
    pub token: String,
    pub http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

/// Runs `test` against a fresh server on `db`; on PostgreSQL the database is dropped
/// afterwards. Returns without running when PostgreSQL tests are off.
pub async fn run<F, Fut>(db: Db, test: F)
where
    F: FnOnce(TestServer) -> Fut,
    Fut: Future<Output = ()>,
{
    let (url, dir, postgres) = match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("roster.db").display());
            (url, Some(dir), None)
        }
        Db::Postgres => {
            let Some(pg) = FreshPostgres::create("roster_test").await else {
                eprintln!("PostgreSQL tests are off: set ROSTER_TEST_POSTGRES_URL");
                return;
            };
            (pg.url.clone(), None, Some(pg))
        }
    };
    let server = spawn(&url, dir).await;
    let app = server.app.clone();
    test(server).await;
    app.store().close().await;
    if let Some(pg) = postgres {
        pg.drop_database().await;
    }
}

async fn spawn(url: &str, dir: Option<tempfile::TempDir>) -> TestServer {
    spawn_server(url, dir, None).await
}

/// Another server on the same database, as a second process would be: its own engine,
/// its own in-process gate, the same token.
pub async fn spawn_server(url: &str, dir: Option<tempfile::TempDir>, token: Option<String>) -> TestServer {
    spawn_server_with(url, dir, token, Settings::default()).await
}

/// Another server on the same database with settings of its own.
pub async fn spawn_server_with(
    url: &str,
    dir: Option<tempfile::TempDir>,
    token: Option<String>,
    settings: Settings,
) -> TestServer {
    let store = Store::connect(url).await.expect("database opens");
    store.migrate(NOW_MS).await.expect("migrations apply");
    let clock = ManualClock::new(NOW_MS);
    let app = App::new(store, Arc::new(clock.clone()), settings);
    let system = Actor::system("test");
    let token = match token {
        Some(t) => t,
        None => {
            app.create_token(
                &system.superadmin().expect("superadmin"),
                NewToken { name: "test-admin".into(), role: "superadmin".into(), branches: vec![] },
            )
            .await
            .expect("token")
            .token
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let served = app.clone();
    tokio::spawn(async move {
        let _ = roster_web::serve(served, listener, std::future::pending()).await;
    });
    TestServer { base, url: url.to_owned(), app, clock, token, http: reqwest::Client::new(), _dir: dir }
}

/// A response's status and JSON body (`Value::Null` when there is none).
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The `error.field` of an error body.
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }

    /// The `error.message` of an error body.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl TestServer {
    /// Another server on this one's database, with the same token: a second process,
    /// whose image learns this one's writes from the change log.
    pub async fn twin(&self) -> TestServer {
        spawn_server(&self.url, None, Some(self.token.clone())).await
    }

    /// Sends a request with the superadmin token.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call_as(&self.token.clone(), method, path, body).await
    }

    /// Sends a request with `token`.
    pub async fn call_as(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::reply(req.send().await.expect("request sent")).await
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body);
        Self::reply(req.send().await.expect("request sent")).await
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply { status, body, headers }
    }

    /// Creates a token for a training admin of `branches`.
    pub async fn training_admin(&self, name: &str, branches: &[&str]) -> String {
        let system = Actor::system("test");
        let branches: Vec<String> = branches.iter().map(|b| (*b).to_owned()).collect();
        self.app
            .create_token(
                &system.superadmin().expect("superadmin"),
                NewToken { name: name.into(), role: "training_admin".into(), branches },
            )
            .await
            .expect("token")
            .token
    }

    /// Posts JSON and asserts the status; returns the body.
    pub async fn post_ok(&self, path: &str, body: Value) -> Value {
        let r = self.call("POST", path, Some(body)).await;
        assert!(r.status == 201 || r.status == 200, "POST {path}: {} {}", r.status, r.body);
        r.body
    }
}

/// Declares each listed test once per database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::helpers::run($crate::helpers::Db::Sqlite, super::$name).await;
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::helpers::run($crate::helpers::Db::Postgres, super::$name).await;
            })+
        }
    };
}
