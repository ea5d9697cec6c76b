//! The admin UI's security over plain HTTP, on SQLite and PostgreSQL: the session
//! cookie's flags, sessions shared by two servers on one database, CSRF on every POST,
//! login throttling, where a login may lead, and a training admin's scope. Also what
//! travels with every page: compression, the icon, and who the history names.

use crate::harness::{Db, Server, ADMIN, TRAINER};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, COOKIE, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;

/// A browser without a browser: keeps cookies, follows no redirect.
pub(crate) struct Agent {
    pub http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
    /// The raw `Set-Cookie` headers of the last answer.
    set_cookies: Vec<String>,
}

/// An answer's status, `Location`, `Content-Encoding` and body (and its size as sent).
pub(crate) struct Answer {
    pub status: u16,
    pub location: String,
    pub encoding: String,
    pub body: String,
    pub len: usize,
}

impl Agent {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, base: base.to_owned(), cookies: BTreeMap::new(), set_cookies: vec![] }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let resp = req.header(COOKIE, cookie).send().await.unwrap();
        self.set_cookies = resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for c in &self.set_cookies {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = resp.status().as_u16();
        let header =
            |name| resp.headers().get(name).map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned());
        let (location, encoding) = (header(LOCATION).unwrap_or_default(), header(CONTENT_ENCODING).unwrap_or_default());
        let bytes = resp.bytes().await.unwrap();
        Answer { status, location, encoding, body: String::from_utf8_lossy(&bytes).into_owned(), len: bytes.len() }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    /// The CSRF token a page prints.
    pub fn csrf(page: &str) -> String {
        let at = page.find("name=\"csrf\" value=\"").or_else(|| page.find("name=\"csrf-token\" content=\"")).unwrap();
        let rest = &page[at..];
        let start = rest.find("=\"").unwrap() + 2;
        let start = start + rest[start..].find('"').unwrap() + 1;
        let start = start + rest[start..].find('"').unwrap() + 1;
        rest[start..start + rest[start..].find('"').unwrap()].to_owned()
    }

    pub async fn log_in(&mut self, (username, password): (&str, &str), next: &str) -> Answer {
        let page = self.get("/admin/login").await;
        let token = Self::csrf(&page.body);
        self.post("/admin/login", &[("csrf", &token), ("username", username), ("password", password), ("next", next)])
            .await
    }
}

pub(crate) async fn each_database(test: impl AsyncFn(Server)) {
    for db in [Db::Sqlite, Db::Postgres] {
        match Server::start_on(db).await {
            Some(server) => test(server).await,
            None => eprintln!("PostgreSQL tests are off: set ROSTER_TEST_POSTGRES_URL"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_a_hardened_cookie_that_every_server_knows_until_logout() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        assert_eq!(a.get("/admin/users").await.location, "/admin/login?next=%2Fadmin%2Fusers");
        let json = a.get("/admin/json/users?q=a").await;
        assert_eq!(json.status, 401, "a script is told, not redirected");

        let login = a.log_in(ADMIN, "/admin/users").await;
        assert_eq!((login.status, login.location.as_str()), (303, "/admin/users"));
        let cookie = a.set_cookies.iter().find(|c| c.starts_with("roster_session=")).unwrap().clone();
        for flag in ["HttpOnly", "SameSite=Lax", "Path=/admin", "Max-Age=43200"] {
            assert!(cookie.contains(flag), "{flag} in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain http: not Secure");
        assert_eq!(a.get("/admin/users").await.status, 200);

        // Another process on the same database knows the session.
        let mut b = Agent::new(&server.another().await);
        b.cookies = a.cookies.clone();
        let page = b.get("/admin/groups").await;
        assert_eq!(page.status, 200);
        let token = Agent::csrf(&page.body);
        assert_eq!(b.post("/admin/logout", &[("csrf", &token)]).await.location, "/admin/login");
        assert_eq!(a.get("/admin/users").await.status, 303, "logged out everywhere");

        // Behind a TLS-terminating proxy the cookie is Secure.
        let login = Agent::new(&server.base).get("/admin/login").await;
        assert_eq!(login.status, 200);
        let mut c = Agent::new(&server.base);
        let page =
            c.send(c.http.get(format!("{}/admin/login", server.base)).header("x-forwarded-proto", "https")).await;
        let token = Agent::csrf(&page.body);
        let form = [("csrf", token.as_str()), ("username", ADMIN.0), ("password", ADMIN.1), ("next", "/admin")];
        let req = c.http.post(format!("{}/admin/login", server.base)).header("x-forwarded-proto", "https").form(&form);
        c.send(req).await;
        assert!(
            c.set_cookies.iter().any(|s| s.starts_with("roster_session=") && s.contains("; Secure")),
            "{:?}",
            c.set_cookies
        );
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_needs_the_sessions_csrf_token() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let page = a.get("/admin/groups").await;
        let token = Agent::csrf(&page.body);
        for csrf in ["", "forged", token.get(..10).unwrap()] {
            let refused = a.post("/admin/groups", &[("csrf", csrf), ("name", "Forged"), ("policy", "manual")]).await;
            assert_eq!(refused.status, 403, "token {csrf:?}");
        }
        let refused = a.post("/admin/groups", &[("name", "Forged")]).await;
        assert_eq!(refused.status, 403, "no token");
        let preview = a.http.post(format!("{}/admin/json/rules/preview", server.base)).body("{}");
        assert_eq!(a.send(preview).await.status, 403, "scripts send it in a header");
        let created = a.post("/admin/groups", &[("csrf", &token), ("name", "Real"), ("policy", "manual")]).await;
        assert_eq!(created.status, 303);
        let all = server
            .app
            .list_groups(&roster_app::Actor::system("t"), &Default::default(), &Default::default())
            .await
            .unwrap();
        let names: Vec<&str> = all.items.iter().map(|g| g.name.as_str()).collect();
        assert!(names.contains(&"Real") && !names.contains(&"Forged"), "{names:?}");

        // The login form has a token of its own.
        let mut b = Agent::new(&server.base);
        let refused = b.post("/admin/login", &[("username", ADMIN.0), ("password", ADMIN.1)]).await;
        assert_eq!(refused.status, 403);
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_throttled_and_logins_lead_only_inside_the_admin() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        for _ in 0..5 {
            assert_eq!(a.log_in((ADMIN.0, "guess"), "/admin").await.status, 401);
        }
        let throttled = a.log_in(ADMIN, "/admin").await;
        assert_eq!(throttled.status, 429);
        assert!(throttled.body.contains("Too many failed attempts"));
        // Another username from the same address is not locked out.
        assert_eq!(a.log_in(TRAINER, "/admin").await.status, 303);

        for next in ["//evil.example/admin", "https://evil.example/", "/admin/json/users", "/elsewhere"] {
            let mut b = Agent::new(&server.base);
            assert_eq!(b.log_in(TRAINER, next).await.location, "/admin/groups", "{next}");
        }
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_admin_reaches_only_the_users_of_its_branches() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        a.log_in(TRAINER, "/admin").await;
        let outside = &server.users["grace.lee"];
        assert_eq!(a.get(&format!("/admin/users/{outside}")).await.status, 404);
        assert_eq!(a.get(&format!("/admin/users/{outside}/history")).await.status, 404);
        assert_eq!(a.get("/admin/json/users?q=grace").await.body, "[]");
        let inside = a.get(&format!("/admin/users/{}", server.users["alice.martin"])).await;
        assert_eq!(inside.status, 200);
        let token = Agent::csrf(&inside.body);
        let moved = a
            .post(
                &format!("/admin/users/{}/enrollments", outside),
                &[("csrf", &token), ("course", "DRV-101"), ("status", "failed")],
            )
            .await;
        assert_eq!(moved.status, 404, "nor changed");
        // Superadmin-only screens refuse it.
        let branch = a.post("/admin/branches", &[("csrf", &token), ("code", "XX"), ("name", "X")]).await;
        assert_eq!(branch.status, 403);
        assert!(branch.body.contains("superadmin"));
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_over_the_limit_is_refused_with_the_limit_stated() {
    let server = Server::start().await;
    let mut a = Agent::new(&server.base);
    a.log_in(ADMIN, "/admin").await;
    let group = server.app.find_group(&roster_app::Actor::system("t"), "Warehouse team").await.unwrap();
    let page = a.get(&format!("/admin/groups/{}", group.id)).await;
    assert!(page.body.contains("Maximum file size: 3 MB"));
    let token = Agent::csrf(&page.body);
    let big = vec![b'a'; 3 * 1024 * 1024 + 100];
    let form = reqwest::multipart::Form::new()
        .text("csrf", token)
        .part("file", reqwest::multipart::Part::bytes(big).file_name("all.csv"));
    let req =
        a.http.post(format!("{}/admin/groups/{}/csv", server.base, group.id)).multipart(form).header("x-fragment", "1");
    let refused = a.send(req).await;
    assert_eq!(refused.status, 413);
    assert!(refused.body.contains("the limit is 3 MB"), "{}", refused.body);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_text_is_refused_by_the_server_not_only_the_browser() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let group = server.app.find_group(&roster_app::Actor::system("t"), "Warehouse team").await.unwrap();
        let page = a.get(&format!("/admin/groups/{}", group.id)).await;
        let token = Agent::csrf(&page.body);
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10".to_vec();

        // A group's CSV upload: refused, saying what to do, nobody added.
        let form = reqwest::multipart::Form::new()
            .text("csrf", token.clone())
            .part("file", reqwest::multipart::Part::bytes(png.clone()).file_name("badge.png"));
        let req = a.http.post(format!("{}/admin/groups/{}/csv", server.base, group.id)).multipart(form);
        let refused = a.send(req).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(
            refused.body.contains("not a CSV text file") && refused.body.contains("save it as CSV"),
            "{}",
            refused.body
        );
        let after = server.app.get_group(&roster_app::Actor::system("t"), &group.id).await.unwrap();
        assert_eq!(after.member_count, 3, "nobody added");

        // The user import: refused before any job starts.
        let req = a
            .http
            .post(format!("{}/admin/json/imports?dry_run=true", server.base))
            .header("x-csrf-token", &token)
            .header("content-type", "text/csv")
            .body(png);
        let refused = a.send(req).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        let body: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("not a CSV text file") && message.contains("save it as CSV"), "{message}");
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_styles_and_scripts_are_compressed_for_a_client_that_accepts_it() {
    let server = Server::start().await;
    let mut a = Agent::new(&server.base);
    a.log_in(ADMIN, "/admin").await;
    let group = server.app.find_group(&roster_app::Actor::system("t"), "Warehouse team").await.unwrap();
    let export = format!("/admin/groups/{}/members.csv", group.id);
    for path in ["/admin/users", "/admin/static/admin.css", "/admin/static/admin.js", &export] {
        let plain = a.get(path).await;
        assert_eq!((plain.status, plain.encoding.as_str()), (200, ""), "{path} asked for nothing");
        for coding in ["gzip", "br"] {
            let url = format!("{}{path}", server.base);
            let packed = a.send(a.http.get(url).header(ACCEPT_ENCODING, coding)).await;
            assert_eq!((packed.status, packed.encoding.as_str()), (200, coding), "{path}");
            assert!(packed.len < plain.len, "{path} {coding}: {} of {}", packed.len, plain.len);
        }
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_has_an_icon_of_its_own() {
    let server = Server::start().await;
    let mut a = Agent::new(&server.base);
    let login = a.get("/admin/login").await;
    assert!(login.body.contains(r#"<link rel="icon" href="/admin/static/favicon.svg"#), "the login page links it");
    a.log_in(ADMIN, "/admin").await;
    assert!(a.get("/admin/groups").await.body.contains(r#"<link rel="icon" href="/admin/static/favicon.svg"#));
    let resp = a.http.get(format!("{}/favicon.ico", server.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/x-icon");
    let ico = resp.bytes().await.unwrap();
    assert_eq!(ico.get(..4), Some(&[0u8, 0, 1, 0][..]), "an ICO file");
    assert_eq!(ico.get(22..26), Some(&b"\x89PNG"[..]), "holding a PNG");
    let svg = a.get("/admin/static/favicon.svg").await;
    assert_eq!(svg.status, 200);
    assert!(svg.body.starts_with("<svg"));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_names_who_made_each_change_as_a_person_reads_it() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let group = server.app.find_group(&roster_app::Actor::system("t"), "Warehouse team").await.unwrap();
        let page = a.get(&format!("/admin/groups/{}", group.id)).await;
        let token = Agent::csrf(&page.body);
        let alice = &server.users["alice.martin"];
        let added = a
            .post(
                &format!("/admin/groups/{}/members", group.id),
                &[("csrf", &token), ("way", "users"), ("users", alice)],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        for path in [format!("/admin/groups/{}/history", group.id), format!("/admin/users/{alice}/history")] {
            let history = a.get(&path).await;
            assert_eq!(history.status, 200);
            assert!(history.body.contains(r#"<td class="hide-sm muted">admin</td>"#), "{path}: {}", history.body);
            assert!(!history.body.contains("admin:admin"), "{path}");
        }
        server.finish().await;
    })
    .await;
}
