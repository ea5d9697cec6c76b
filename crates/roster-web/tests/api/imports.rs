//! User import from CSV: real files in every encoding and delimiter, header mapping,
//! modes, per-cell checks with a report, all or nothing, automatic groups evaluated
//! once, a group's export re-imported unchanged, and jobs whose process stopped.

use serde_json::{json, Value};
use std::time::{Duration, Instant};

use crate::helpers::{spawn_server_with, Reply, TestServer};
use crate::users::{create_user, seed};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");

fn file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{name}")).unwrap()
}

async fn post(s: &TestServer, query: &str, bytes: Vec<u8>) -> Reply {
    s.send_raw("POST", &format!("/api/v1/imports/users{query}"), "text/csv", bytes).await
}

/// Polls a job until it is over.
async fn wait(s: &TestServer, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let r = s.call("GET", &format!("/api/v1/imports/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if ["succeeded", "failed", "interrupted"].contains(&r.body["state"].as_str().unwrap()) {
            return r.body;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the import never ended: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts an import, checks it was accepted, and waits for its end.
pub(crate) async fn import(s: &TestServer, query: &str, bytes: Vec<u8>) -> Value {
    let r = post(s, query, bytes).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.headers["location"], format!("/api/v1/imports/{}", r.body["id"].as_str().unwrap()));
    wait(s, r.body["id"].as_str().unwrap()).await
}

fn counts(job: &Value) -> (u64, u64, u64, u64) {
    let c = &job["counts"];
    let n = |k: &str| c[k].as_u64().unwrap();
    (n("created"), n("updated"), n("unchanged"), n("errors"))
}

async fn user(s: &TestServer, username: &str) -> Value {
    let page = s.call("GET", &format!("/api/v1/users?username={username}"), None).await.body;
    page["items"][0].clone()
}

async fn user_count(s: &TestServer) -> usize {
    s.call("GET", "/api/v1/users?limit=1000", None).await.body["items"].as_array().unwrap().len()
}

async fn report_csv(s: &TestServer, id: &str) -> String {
    let resp =
        s.http.get(format!("{}/api/v1/imports/{id}/report.csv", s.base)).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    resp.text().await.unwrap().trim_start_matches('\u{feff}').to_owned()
}

/// (row, column, message) of each issue of a job's report.
fn issues(job: &Value) -> Vec<(u64, String, String)> {
    job["report"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["row"].as_u64().unwrap(),
                i["column"].as_str().unwrap_or("").to_owned(),
                i["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn the_template_lists_every_field_and_imports_as_is(s: TestServer) {
    seed(&s).await;
    let resp =
        s.http.get(format!("{}/api/v1/imports/users/template.csv", s.base)).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let template = resp.text().await.unwrap();
    let header = template.trim_start_matches('\u{feff}').trim_end();
    assert_eq!(
        header,
        "username,email,first_name,last_name,status,language,timezone,branch,password,Department,Hire Date,Job Title,Years,Supervisor"
    );
    let filled = format!(
        "{template}max.weber,max@acme.com,Max,Weber,active,de,Europe/Berlin,FR,correct horse,Operations,2020-05-04,Driver,7,no\r\n"
    );
    let job = import(&s, "", filled.into_bytes()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert!(job["unmapped"].as_array().unwrap().is_empty(), "{job}");
    let max = user(&s, "max.weber").await;
    assert_eq!((max["language"].as_str(), max["timezone"].as_str()), (Some("de"), Some("Europe/Berlin")));
    assert_eq!(
        max["fields"],
        json!({"department": "Operations", "hire_date": "2020-05-04", "job_title": "Driver", "years": 7, "supervisor": false})
    );
    let mut conn = s.app.store().read().await.unwrap();
    let id: i64 = max["id"].as_str().unwrap().parse().unwrap();
    let hash = roster_store::users::password_hash(&mut conn, id).await.unwrap().unwrap();
    assert!(hash.starts_with("$argon2"), "stored hashed: {hash}");
    assert!(roster_app::auth::verify_password("correct horse", &hash).await);
}

async fn files_in_every_encoding_and_delimiter_create_users(s: TestServer) {
    seed(&s).await;
    let job = import(&s, "", file("import_utf8_bom_comma.csv")).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!((counts(&job), job["counts"]["rows"].as_u64()), ((3, 0, 0, 0), Some(3)));
    assert_eq!((job["applied"].as_bool(), job["percent"].as_u64()), (Some(true), Some(100)));
    let zoe = user(&s, "zoe.muller").await;
    assert_eq!((zoe["first_name"].as_str(), zoe["branch"].as_str()), (Some("Zoë"), Some("FR")));
    assert_eq!(zoe["fields"]["job_title"], "Team lead\r\n(night shift)", "a quoted line break stays in its cell");
    assert_eq!(zoe["fields"]["hire_date"], "2023-01-31", "31/01/2023 can only be day/month");
    assert_eq!(zoe["fields"]["years"], 3.5);
    assert_eq!(zoe["fields"]["department"], "Marketing");
    let ann = user(&s, "ann.lee").await;
    assert_eq!(ann["fields"]["job_title"], "Driver, Senior");
    assert_eq!(ann["fields"]["department"], "Sales", "dropdowns take any case, stored in the option's spelling");
    assert_eq!(ann["fields"]["supervisor"], true);
    let bob = user(&s, "bob.martin").await;
    assert_eq!(
        (bob["fields"]["years"].as_f64(), bob["fields"]["hire_date"].as_str()),
        (Some(1234.5), Some("2022-03-15"))
    );
    assert_eq!(bob["fields"]["department"], "Operations");

    let job =
        import(&s, "?map=Pr%C3%A9nom%3Dfirst_name&map=Nom+de+famille%3Dlast_name", file("import_utf8_semicolon.csv"))
            .await;
    assert_eq!((job["state"].as_str(), counts(&job)), (Some("succeeded"), (2, 0, 0, 0)), "{job}");
    let jose = user(&s, "jose.garcia").await;
    assert_eq!((jose["first_name"].as_str(), jose["last_name"].as_str()), (Some("José"), Some("García")));
    assert_eq!(
        (jose["fields"]["years"].as_f64(), jose["fields"]["hire_date"].as_str()),
        (Some(3.5), Some("2024-01-31"))
    );

    let job = import(&s, "", file("import_utf16le_tab.txt")).await;
    assert_eq!((job["state"].as_str(), counts(&job)), (Some("succeeded"), (2, 0, 0, 0)), "{job}");
    let yuki = user(&s, "yuki.sato").await;
    assert_eq!((yuki["last_name"].as_str(), yuki["branch"].as_str()), (Some("Satō"), Some("US")));

    let job = import(&s, "", file("import_utf16be_comma.csv")).await;
    assert_eq!((job["state"].as_str(), counts(&job)), (Some("succeeded"), (1, 0, 0, 0)), "{job}");
    assert_eq!(user(&s, "ines.costa").await["status"], "suspended");

    let job = import(&s, "", file("import_cp1252_semicolon.csv")).await;
    assert_eq!((job["state"].as_str(), counts(&job)), (Some("succeeded"), (2, 0, 0, 0)), "{job}");
    let rene = user(&s, "rene.lefevre").await;
    assert_eq!(
        (rene["last_name"].as_str(), rene["fields"]["job_title"].as_str()),
        (Some("Lefèvre"), Some("Responsable €uro"))
    );
    assert_eq!(user_count(&s).await, 10);
}

async fn headers_map_automatically_or_as_told(s: TestServer) {
    seed(&s).await;
    let body = b"Login,Mail,Notes,Hire Date,Dept\nann.lee,ann@acme.com,likes trains,2024-01-31,Sales\n".to_vec();
    let r = post(&s, "?dry_run=true&map=Dept%3Ddepartment", body.clone()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let mapping: Vec<(u64, &str, &str, &str)> = r.body["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["column"].as_u64().unwrap(),
                m["header"].as_str().unwrap(),
                m["target"].as_str().unwrap(),
                m["by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        mapping,
        vec![
            (1, "Login", "username", "header"),
            (2, "Mail", "email", "header"),
            (4, "Hire Date", "hire_date", "header"),
            (5, "Dept", "department", "explicit"),
        ]
    );
    assert_eq!(r.body["unmapped"], json!(["Notes"]));
    // A file this small may be checked before the answer is written: any state of a job
    // that has not failed is right here; the end is checked below.
    let state = r.body["state"].as_str().unwrap_or_default();
    assert!(["queued", "running", "succeeded"].contains(&state), "{}", r.body);
    let job = wait(&s, r.body["id"].as_str().unwrap()).await;
    assert_eq!(
        (job["state"].as_str(), job["applied"].as_bool(), counts(&job)),
        (Some("succeeded"), Some(false), (1, 0, 0, 0))
    );
    assert_eq!(user_count(&s).await, 0, "a dry run applies nothing");

    let job = import(&s, "?map=Notes%3Djob_title&map=Hire+Date%3Dignore&map=Dept%3DDepartment", body.clone()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let ann = user(&s, "ann.lee").await;
    assert_eq!(ann["fields"], json!({"job_title": "likes trains", "department": "Sales"}));

    let r = post(&s, "?map=Dept%3Ddepartmnet", body.clone()).await;
    assert_eq!((r.status, r.field()), (422, "map"), "{}", r.body);
    assert!(r.message().contains("\"departmnet\"") && r.message().contains("department"), "{}", r.message());
    let r = post(&s, "?map=Division%3Ddepartment", body.clone()).await;
    assert_eq!((r.status, r.field()), (422, "map"));
    assert!(r.message().contains("no column \"Division\""), "{}", r.message());
    let r = post(&s, "?map=Dept", body.clone()).await;
    assert_eq!((r.status, r.field()), (400, "map"));
    let r = post(&s, "?mode=replace", body.clone()).await;
    assert_eq!((r.status, r.field()), (400, "mode"));
    let r = post(&s, "?dryrun=true", body.clone()).await;
    assert_eq!((r.status, r.field()), (400, "dryrun"));
    let r = post(&s, "", b"user,Mail,E-mail address\nann.lee,a@acme.com,b@acme.com\n".to_vec()).await;
    assert_eq!((r.status, r.field()), (422, "map"));
    assert!(r.message().contains("could each be email"), "{}", r.message());
    assert_eq!(s.call("GET", "/api/v1/imports/999999", None).await.status, 404);
}

async fn modes_create_update_or_both(s: TestServer) {
    seed(&s).await;
    let job = import(
        &s,
        "?mode=create",
        b"username,email,first_name,Years\nann.lee,ann@acme.com,Ann,4\nbob.martin,bob@acme.com,Bob,\n".to_vec(),
    )
    .await;
    assert_eq!(counts(&job), (2, 0, 0, 0), "{job}");

    let job =
        import(&s, "?mode=create", b"username,email\nzoe.muller,zoe@acme.com\nANN.LEE,ann@acme.com\n".to_vec()).await;
    assert_eq!(
        (job["state"].as_str(), job["error"]["code"].as_str()),
        (Some("failed"), Some("rows_rejected")),
        "{job}"
    );
    assert_eq!(
        issues(&job),
        vec![(3, "username".into(), "a user \"ANN.LEE\" already exists (this import only creates users)".into())]
    );
    assert!(user(&s, "zoe.muller").await.is_null(), "all or nothing: the good row is not applied either");

    let job = import(&s, "?mode=update", b"username,last_name\nann.lee,Lee\nzoe.muller,Muller\n".to_vec()).await;
    assert_eq!(job["state"], "failed");
    assert_eq!(
        issues(&job),
        vec![(3, "username".into(), "no user \"zoe.muller\" (this import only updates users)".into())]
    );
    assert!(user(&s, "ann.lee").await["last_name"].is_null());

    // Both: new users are created, existing ones updated or left unchanged; an empty
    // cell keeps the value unless the import says empty=clear.
    let ann_before = user(&s, "ann.lee").await;
    s.clock.advance(60_000);
    let both = b"username,email,first_name,Years\nann.lee,,Annie,\nbob.martin,bob@acme.com,Bob,\nzoe.muller,zoe@acme.com,Zoe,2\n".to_vec();
    let job = import(&s, "", both.clone()).await;
    assert_eq!(counts(&job), (1, 1, 1, 0), "{job}");
    let ann = user(&s, "ann.lee").await;
    assert_eq!(
        (ann["first_name"].as_str(), ann["email"].as_str(), ann["fields"]["years"].as_i64()),
        (Some("Annie"), Some("ann@acme.com"), Some(4))
    );
    assert_ne!(ann["updated_at"], ann_before["updated_at"]);
    assert_eq!(
        user(&s, "bob.martin").await["updated_at"],
        user(&s, "bob.martin").await["created_at"],
        "unchanged users are not written"
    );
    let job = import(&s, "?empty=clear&mode=update", b"username,first_name,Years\nann.lee,,\n".to_vec()).await;
    assert_eq!(counts(&job), (0, 1, 0, 0), "{job}");
    let ann = user(&s, "ann.lee").await;
    assert_eq!((ann["first_name"].as_str(), ann["fields"].get("years")), (None, None));
}

async fn usernames_differing_only_in_case_keep_their_stored_spelling(s: TestServer) {
    let mut ids = Vec::new();
    for (username, email) in [("jose", "jose@acme.com"), ("rené", "rene@acme.com")] {
        let body = s.post_ok("/api/v1/users", json!({"username": username, "email": email})).await;
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    s.clock.advance(60_000);
    // `RENE` + combining acute: another case and another Unicode form of "rené".
    let file = "username,first_name\nJOSE,\nRENE\u{301},René\n";
    let job = import(&s, "?mode=update", file.as_bytes().to_vec()).await;
    assert_eq!(counts(&job), (0, 1, 1, 0), "only rené's first name changes: {job}");
    let jose = s.call("GET", &format!("/api/v1/users/{}", ids[0]), None).await.body;
    assert_eq!(jose["username"], "jose");
    assert_eq!(jose["updated_at"], jose["created_at"], "an unchanged user is not written");
    let rene = s.call("GET", &format!("/api/v1/users/{}", ids[1]), None).await.body;
    assert_eq!((rene["username"].as_str(), rene["first_name"].as_str()), (Some("rené"), Some("René")));
}

async fn cells_are_checked_against_their_fields(s: TestServer) {
    seed(&s).await;
    let job = import(&s, "", file("import_invalid_values.csv")).await;
    assert_eq!((job["state"].as_str(), job["applied"].as_bool()), (Some("failed"), Some(false)), "{job}");
    assert_eq!(job["error"]["code"], "rows_rejected");
    assert_eq!(job["error"]["message"], "4 of 4 rows have errors; nothing was imported (see the report)");
    assert_eq!((job["counts"]["errors"].as_u64(), job["issues_total"].as_u64()), (Some(4), Some(11)));
    let found = issues(&job);
    let expect = [
        (2, "email", "\"ann.lee@acme\" is not a valid email address"),
        (3, "username", "the username must not contain spaces"),
        (3, "status", "\"sometimes\" is not one of: active, suspended"),
        (3, "branch", "no branch has the code \"NOPE\""),
        (3, "Department", "\"Legal\" is not one of the options: Sales, Marketing, Operations"),
        (3, "Hire Date", "ambiguous"),
        (3, "Years", "\"four\" is not a number"),
        (3, "Supervisor", "\"maybe\" is not yes or no"),
        (4, "Hire Date", "\"2023-02-30\""),
        (4, "Years", "\"1,234\" is ambiguous"),
        (5, "email", "\"not an email\" is not a valid email address"),
    ];
    assert_eq!(found.len(), expect.len(), "{found:?}");
    for ((row, column, message), (r, c, m)) in found.iter().zip(expect) {
        assert_eq!((*row, column.as_str()), (r, c), "{message}");
        assert!(message.contains(m), "row {r} {c}: {message}");
    }
    assert_eq!(job["report"][5]["value"], "02/03/2024");
    assert_eq!(user_count(&s).await, 0, "nothing imported");
    let csv = report_csv(&s, job["id"].as_str().unwrap()).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,column,value,message");
    assert_eq!(lines.len(), 12, "{csv}");
    assert_eq!(lines[1], r#"2,email,ann.lee@acme,"""ann.lee@acme"" is not a valid email address""#);

    // The same file checked as a dry run gives the same report, and the same end.
    let dry = import(&s, "?dry_run=true", file("import_invalid_values.csv")).await;
    assert_eq!((dry["state"].as_str(), dry["dry_run"].as_bool()), (Some("failed"), Some(true)));
    assert_eq!((dry["counts"]["errors"].as_u64(), dry["error"]["code"].as_str()), (Some(4), Some("rows_rejected")));
    assert_eq!(issues(&dry), found);

    let job = import(&s, "", file("import_duplicates.csv")).await;
    assert_eq!(
        issues(&job),
        vec![
            (4, "username".into(), "the username \"Ann.Lee\" is also on row 2".into()),
            (5, "email".into(), "the email \"BOB@acme.com\" is also on row 3".into()),
        ]
    );

    let job = import(&s, "", file("import_ambiguous_dates.csv")).await;
    assert_eq!(job["state"], "failed");
    assert_eq!(issues(&job).len(), 1);
    assert!(issues(&job)[0].2.contains("date_order=dmy"), "{job}");
    let job = import(&s, "?date_order=dmy", file("import_ambiguous_dates.csv")).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(user(&s, "ann.lee").await["fields"]["hire_date"], "2024-03-02");
    assert_eq!(user(&s, "bob.martin").await["fields"]["hire_date"], "2023-12-31");
    let mixed = b"username,email,Hire Date\ncarl,carl@acme.com,31/01/2024\ndora,dora@acme.com,01/31/2024\n".to_vec();
    let job = import(&s, "", mixed).await;
    assert_eq!(issues(&job).len(), 1, "{job}");
    assert!(issues(&job)[0].2.contains("row 2 of this column can only be day/month/year"), "{job}");
}

/// A file of `size` random bytes (deterministic).
fn noise(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Posts a file over a raw connection, declaring `length` bytes and sending `body` while
/// reading the answer: (status, body, bytes sent when the answer came).
async fn raw_post(s: &TestServer, length: usize, body: Vec<u8>) -> (u16, String, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(s.base.trim_start_matches("http://")).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /api/v1/imports/users HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nContent-Type: text/csv\r\nContent-Length: {length}\r\n\r\n",
        s.token
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        for chunk in body.chunks(64 * 1024) {
            if write.write_all(chunk).await.is_err() {
                return;
            }
            counter.fetch_add(chunk.len(), std::sync::atomic::Ordering::SeqCst);
        }
        let _ = write.flush().await;
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the whole answer is in: the server closes the connection after it.
    while let Ok(n) = read.read(&mut buf).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let at_answer = sent.load(std::sync::atomic::Ordering::SeqCst);
    writer.abort();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text, at_answer)
}

async fn bad_files_are_refused_naming_row_and_column(s: TestServer) {
    seed(&s).await;
    let r = post(&s, "", file("import_no_username.csv")).await;
    assert_eq!((r.status, r.field()), (422, "file"), "{}", r.body);
    assert!(r.message().contains("row 1 (the header) has no username column"), "{}", r.message());
    let r = post(&s, "", file("import_duplicate_headers.csv")).await;
    assert_eq!((r.status, r.field()), (422, "file"));
    assert!(
        r.message().contains("column 2 (\"Email\") and column 3 (\"E-mail\") of the header row have the same name"),
        "{}",
        r.message()
    );
    let r = post(&s, "", Vec::new()).await;
    assert_eq!((r.status, r.field()), (422, "file"));
    let job = import(&s, "", b"username,email\n\n".to_vec()).await;
    assert_eq!((job["state"].as_str(), job["error"]["code"].as_str()), (Some("failed"), Some("empty")));

    let job = import(&s, "", file("import_ragged.csv")).await;
    assert_eq!(job["state"], "failed");
    assert_eq!(
        issues(&job),
        vec![
            (3, "first_name".into(), "row 3 has 2 cells but the header has 3 columns".into()),
            (4, "column 4".into(), "row 4 has 4 cells but the header has 3 columns".into()),
        ]
    );
    let job = import(&s, "", b"username,email\nann.lee,\"ann@acme.com\n".to_vec()).await;
    assert_eq!(
        issues(&job),
        vec![(2, "email".into(), "row 2, column 2 (\"email\"): a quoted cell has no closing quote (\")".into())]
    );
    assert_eq!(user_count(&s).await, 0);

    // 100 MB of random bytes: refused from its first 64 KiB, long before the rest.
    let started = Instant::now();
    let (status, body, sent) = raw_post(&s, 100 * 1024 * 1024, noise(100 * 1024 * 1024)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("file: the file is not a CSV text file"), "{body}");
    assert!(sent < 50 * 1024 * 1024, "the server stopped reading early ({sent} bytes sent)");
    assert!(started.elapsed() < Duration::from_secs(10), "binary input fails fast");
    // Over the limit (100 MB): refused from the declared length, before any byte.
    let (status, body, _) = raw_post(&s, 100 * 1024 * 1024 + 1, Vec::new()).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("the limit is 100 MB"), "{body}");
    assert_eq!(user_count(&s).await, 0);
}

async fn an_import_moves_automatic_groups_in_one_evaluation(s: TestServer) {
    seed(&s).await;
    let mut groups = Vec::new();
    for (name, rule) in [
        ("Sales EMEA", r#"field("department") = "Sales" and branch under "EMEA""#),
        ("Supervisors", r#"field("supervisor") = yes"#),
        ("Veterans", r#"field("years") >= 10"#),
    ] {
        let g = s.post_ok("/api/v1/groups", json!({"name": name, "policy": "automatic"})).await;
        let id = g["id"].as_str().unwrap().to_owned();
        let r = s.call("PUT", &format!("/api/v1/groups/{id}/rule"), Some(json!({"text": rule}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        groups.push(id);
    }
    let existing = create_user(&s, "old.timer", Some("FR")).await;
    let file = "username,email,branch,Department,Supervisor,Years\n\
                ann.lee,ann@acme.com,PAR,Sales,yes,2\n\
                bob.martin,bob@acme.com,US,Sales,no,11\n\
                zoe.muller,zoe@acme.com,FR,Sales,yes,12\n\
                old.timer,,,Sales,,30\n";
    // The dry run says what each group would gain, computed by the engine, and
    // applies nothing.
    let dry = import(&s, "?dry_run=true", file.as_bytes().to_vec()).await;
    assert_eq!((counts(&dry), dry["counts"]["joined"].as_u64()), ((3, 1, 0, 0), Some(8)));
    assert_eq!(
        group_effects(&dry),
        vec![("Sales EMEA".into(), 3, 0), ("Supervisors".into(), 2, 0), ("Veterans".into(), 3, 0)]
    );
    assert_eq!(dry["groups"][0]["id"], groups[0].as_str());
    for g in &groups {
        assert_eq!(s.call("GET", &format!("/api/v1/groups/{g}"), None).await.body["member_count"], 0);
    }
    assert_eq!(user_count(&s).await, 1, "the rehearsal created nobody");
    let job = import(&s, "", file.as_bytes().to_vec()).await;
    assert_eq!(counts(&job), (3, 1, 0, 0), "{job}");
    assert_eq!(group_effects(&job), group_effects(&dry), "the import did what its dry run said");
    assert_eq!(members(&s, &groups[0]).await, vec!["ann.lee", "old.timer", "zoe.muller"]);
    assert_eq!(members(&s, &groups[1]).await, vec!["ann.lee", "zoe.muller"]);
    assert_eq!(members(&s, &groups[2]).await, vec!["bob.martin", "old.timer", "zoe.muller"]);
    assert_eq!(job["counts"]["joined"], 8);
    let cause = format!("user import {}", job["id"].as_str().unwrap());
    let mut events = 0;
    for g in &groups {
        let page = s.call("GET", &format!("/api/v1/groups/{g}/events?limit=100"), None).await.body;
        for e in page["items"].as_array().unwrap() {
            assert_eq!((e["cause"].as_str(), e["change"].as_str()), (Some(cause.as_str()), Some("joined")));
            events += 1;
        }
    }
    assert_eq!(events, 8, "one event per join, each caused by the import");
    let history = s.call("GET", &format!("/api/v1/users/{existing}/events"), None).await.body;
    assert_eq!(history["items"].as_array().unwrap().len(), 2);

    // Reconcile finds nothing to repair: the import left memberships true.
    let drift = s.app.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");

    // A file that moves users out: the dry run counts who would leave.
    let leaving = "username,Supervisor\nann.lee,no\nzoe.muller,no\n";
    let dry = import(&s, "?dry_run=true&mode=update", leaving.as_bytes().to_vec()).await;
    assert_eq!(group_effects(&dry), vec![("Supervisors".into(), 0, 2)]);
    assert_eq!(members(&s, &groups[1]).await, vec!["ann.lee", "zoe.muller"], "still members");
}

async fn a_check_over_the_rehearsal_limit_says_it_did_not_work_groups_out(s: TestServer) {
    seed(&s).await;
    let g = s.post_ok("/api/v1/groups", json!({"name": "Supervisors", "policy": "automatic"})).await;
    let r = s
        .call(
            "PUT",
            &format!("/api/v1/groups/{}/rule", g["id"].as_str().unwrap()),
            Some(json!({"text": r#"field("supervisor") = yes"#})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for name in ["ann", "bob", "cleo"] {
        create_user(&s, name, Some("PAR")).await;
    }
    let file = b"username,email,Supervisor\nzoe.muller,zoe@acme.com,yes\n".to_vec();
    let dry = import(&s, "?dry_run=true", file.clone()).await;
    assert_eq!(group_effects(&dry), vec![("Supervisors".into(), 1, 0)]);
    assert!(dry.get("groups_not_computed").is_none(), "{dry}");

    // A platform over the limit (three users, the limit lowered to two for the test).
    let settings = roster_app::Settings { rehearse_imports_up_to: 2, ..roster_app::Settings::default() };
    let large = spawn_server_with(&s.url, None, Some(s.token.clone()), settings).await;
    let dry = import(&large, "?dry_run=true", file.clone()).await;
    assert_eq!((dry["state"].as_str(), counts(&dry)), (Some("succeeded"), (1, 0, 0, 0)), "{dry}");
    assert_eq!(group_effects(&dry), vec![], "no group listed...");
    let not = &dry["groups_not_computed"];
    assert_eq!(
        (not["code"].as_str(), not["limit"].as_u64(), not["users"].as_u64()),
        (Some("too_many_users"), Some(2), Some(3))
    );
    let message = not["message"].as_str().unwrap();
    assert!(
        message.starts_with("Group effects are not worked out on platforms of more than 2 users (this one has 3)"),
        "...and it says why: {message}"
    );

    // A training admin is told the limit, not how many users the platform has.
    let trainer = large.training_admin("trainer", &["EMEA"]).await;
    let file = b"username,email,branch,Supervisor\nyan,yan@acme.com,PAR,yes\n".to_vec();
    let r = large
        .http
        .post(format!("{}/api/v1/imports/users?dry_run=true", large.base))
        .bearer_auth(&trainer)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let job = loop {
        let job: Value = large
            .http
            .get(format!("{}/api/v1/imports/{id}", large.base))
            .bearer_auth(&trainer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["state"] != "running" && job["state"] != "queued" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let not = &job["groups_not_computed"];
    assert_eq!((not["code"].as_str(), not.get("users")), (Some("too_many_users"), None), "{job}");
    assert!(!not["message"].as_str().unwrap().contains("this one has"), "{not}");
}

/// Each group a job reports: name, joins, leaves.
fn group_effects(job: &Value) -> Vec<(String, u64, u64)> {
    job["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("no groups in {job}"))
        .iter()
        .map(|g| (g["name"].as_str().unwrap().to_owned(), g["joins"].as_u64().unwrap(), g["leaves"].as_u64().unwrap()))
        .collect()
}

async fn a_training_admins_dry_run_counts_only_its_users(s: TestServer) {
    seed(&s).await;
    let g = s.post_ok("/api/v1/groups", json!({"name": "Sales", "policy": "automatic"})).await;
    let id = g["id"].as_str().unwrap().to_owned();
    let r = s
        .call("PUT", &format!("/api/v1/groups/{id}/rule"), Some(json!({"text": r#"field("department") = "Sales""#})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    create_user(&s, "bob.martin", Some("US")).await;
    let ta = s.training_admin("fr-admin", &["FR"]).await;
    let sent: Value = s
        .http
        .post(format!("{}/api/v1/imports/users?dry_run=true", s.base))
        .bearer_auth(&ta)
        .header("content-type", "text/csv")
        .body(
            "username,email,branch,Department\nann.lee,ann@acme.com,PAR,Sales\nzoe.muller,zoe@acme.com,FR,Marketing\n",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = loop {
        let r = s.call_as(&ta, "GET", &format!("/api/v1/imports/{}", sent["id"].as_str().unwrap()), None).await;
        if ["succeeded", "failed"].contains(&r.body["state"].as_str().unwrap()) {
            break r.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(group_effects(&job), vec![("Sales".into(), 1, 0)]);
    assert_eq!(job["counts"]["joined"], 1);
    assert_eq!(user_count(&s).await, 1, "nothing applied");

    // Bob, outside its branches, moves into Sales by a superadmin's file; the training
    // admin's rehearsal of its own file still counts only its own user.
    let both = "username,Department\nbob.martin,Sales\n";
    let dry = import(&s, "?dry_run=true&mode=update", both.as_bytes().to_vec()).await;
    assert_eq!(group_effects(&dry), vec![("Sales".into(), 1, 0)], "a superadmin counts everyone");
}

async fn a_group_export_reimported_for_update_changes_nothing(s: TestServer) {
    seed(&s).await;
    let created = s
        .post_ok(
            "/api/v1/users",
            json!({"username": "Zoe.Muller", "email": "zoe@acme.com", "first_name": "=cmd|' /C calc'!A0", "last_name": "Müller",
                   "branch": "PAR", "status": "suspended", "language": "fr-CA", "timezone": "America/Montreal",
                   "fields": {"department": "Marketing", "hire_date": "2024-01-31", "years": -5, "supervisor": true,
                              "job_title": "+33 Driver, \"night\"\nshift"}}),
        )
        .await;
    let mut ids = vec![created["id"].as_str().unwrap().to_owned()];
    for (u, b) in [("ann.lee", Some("FR")), ("bob.martin", None), ("jose.garcia", Some("US"))] {
        ids.push(create_user(&s, u, b).await);
    }
    s.call("PATCH", &format!("/api/v1/users/{}", ids[1]), Some(json!({"fields": {"years": 3.25}}))).await;
    // Values that begin with a quote, or with a quote before a formula trigger.
    let quoted = json!({"first_name": "'quoted", "last_name": "'-5", "fields": {"job_title": "''"}});
    assert_eq!(s.call("PATCH", &format!("/api/v1/users/{}", ids[2]), Some(quoted)).await.status, 200);
    ids.push(create_user(&s, "-dash", Some("PAR")).await);
    let manual = s.post_ok("/api/v1/groups", json!({"name": "Everyone"})).await["id"].as_str().unwrap().to_owned();
    s.post_ok(&format!("/api/v1/groups/{manual}/members"), json!({"users": ids})).await;
    let auto = s.post_ok("/api/v1/groups", json!({"name": "Marketing", "policy": "automatic"})).await;
    let auto = auto["id"].as_str().unwrap().to_owned();
    s.call(
        "PUT",
        &format!("/api/v1/groups/{auto}/rule"),
        Some(json!({"text": r#"field("department") = "Marketing""#})),
    )
    .await;
    s.call("PATCH", &format!("/api/v1/groups/{auto}"), Some(json!({"allow_suspended": true}))).await;
    let before: Vec<Value> = group_events(&s, &[&manual, &auto]).await;
    let users_before = s.call("GET", "/api/v1/users?limit=1000", None).await.body;

    let export = s
        .http
        .get(format!("{}/api/v1/groups/{manual}/members.csv", s.base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let text = String::from_utf8_lossy(&export).into_owned();
    assert!(text.contains(",suspended,fr-CA,America/Montreal,PAR,"), "every user field goes out: {text}");
    let job = import(&s, "?mode=update", export).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job), (0, 0, 5, 0), "every row unchanged: {job}");
    assert_eq!(job["unmapped"], json!(["membership_source", "member_since"]));
    assert_eq!((job["counts"]["joined"].as_u64(), job["counts"]["left"].as_u64()), (Some(0), Some(0)));
    assert_eq!(group_events(&s, &[&manual, &auto]).await, before, "no membership events");
    assert_eq!(s.call("GET", "/api/v1/users?limit=1000", None).await.body, users_before, "no user written");
}

async fn members(s: &TestServer, group: &str) -> Vec<String> {
    let page = s.call("GET", &format!("/api/v1/groups/{group}/members?limit=100"), None).await.body;
    let mut names: Vec<String> =
        page["items"].as_array().unwrap().iter().map(|m| m["user"]["username"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

/// Every event of these groups, newest first.
async fn group_events(s: &TestServer, groups: &[&str]) -> Vec<Value> {
    let mut all = Vec::new();
    for g in groups {
        let page = s.call("GET", &format!("/api/v1/groups/{g}/events?limit=1000"), None).await.body;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
    }
    all
}

async fn training_admins_import_into_their_branches_only(s: TestServer) {
    seed(&s).await;
    create_user(&s, "bob.martin", Some("US")).await;
    let ta = s.training_admin("fr-admin", &["FR"]).await;
    let send = |query: &'static str, body: &'static str| {
        let req = s
            .http
            .post(format!("{}/api/v1/imports/users{query}", s.base))
            .bearer_auth(&ta)
            .header("content-type", "text/csv")
            .body(body);
        async move {
            let r: Value = req.send().await.unwrap().json().await.unwrap();
            r["id"].as_str().unwrap().to_owned()
        }
    };
    let id = send("", "username,email,branch\nann.lee,ann@acme.com,PAR\nbob.martin,bob@acme.com,FR\ncarl,carl@acme.com,US\ndora,dora@acme.com,\n").await;
    let job = wait(&s, &id).await;
    assert_eq!(
        issues(&job),
        vec![
            (3, "username".into(), "the username \"bob.martin\" belongs to a user outside your branches".into()),
            (4, "branch".into(), "branch \"US\" is outside your branches".into()),
            (5, "branch".into(), "a training admin must place new users in one of its branches".into()),
        ]
    );
    let id = send("", "username,email,branch\nann.lee,ann@acme.com,PAR\n").await;
    assert_eq!(wait(&s, &id).await["state"], "succeeded");
    let other = s.call_as(&ta, "GET", &format!("/api/v1/imports/{}", job["id"].as_str().unwrap()), None).await;
    assert_eq!(other.status, 200, "a training admin sees its own imports");
    let mine = import(&s, "?dry_run=true", b"username,email\nx,x@acme.com\n".to_vec()).await;
    let r = s.call_as(&ta, "GET", &format!("/api/v1/imports/{}", mine["id"].as_str().unwrap()), None).await;
    assert_eq!(r.status, 404, "but not a superadmin's");
}

async fn a_job_whose_process_stopped_shows_as_interrupted(s: TestServer) {
    let mut conn = s.app.store().read().await.unwrap();
    let options =
        json!({"options": {"mode": "create", "mapping": [], "dry_run": false, "date_order": null, "empty": "keep"},
                         "mapping": [], "unmapped": []})
        .to_string();
    let new = roster_store::imports::NewImport {
        actor: "token:test-admin",
        options: &options,
        file_bytes: 1000,
        owner: "a-process-long-gone",
        at: crate::helpers::NOW_MS - 60_000,
    };
    let id = roster_store::imports::insert(&mut conn, &new).await.unwrap();
    let beat = roster_store::imports::Heartbeat {
        state: roster_store::imports::ImportState::Running,
        phase: "applying",
        rows_read: 10,
        bytes_read: 500,
        at: crate::helpers::NOW_MS - 1_000,
    };
    roster_store::imports::heartbeat(&mut conn, id, &beat).await.unwrap();
    drop(conn);
    let job = s.call("GET", &format!("/api/v1/imports/{id}"), None).await.body;
    assert_eq!(
        (job["state"].as_str(), job["percent"].as_u64()),
        (Some("running"), Some(67)),
        "a fresh heartbeat: alive"
    );
    s.clock.advance(60_000);
    let job = s.call("GET", &format!("/api/v1/imports/{id}"), None).await.body;
    assert_eq!(
        (job["state"].as_str(), job["error"]["code"].as_str()),
        (Some("interrupted"), Some("interrupted")),
        "{job}"
    );
    assert_eq!(s.app.recover_imports().await.unwrap(), 0, "already marked");
}

async fn an_excel_sep_line_names_the_delimiter(s: TestServer) {
    seed(&s).await;
    let file = b"sep=;\r\nusername;email;Job Title\r\nann.lee;ann@acme.com;Driver, night\r\n".to_vec();
    let job = import(&s, "?mode=create", file).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job).0, 1, "{job}");
    assert_eq!(user(&s, "ann.lee").await["fields"]["job_title"], "Driver, night");
}

/// An import writes a batch of users while the image takes the batch before: over
/// several batches, new and changed users alike, every user must reach the image, or
/// the evaluation after the import misses them.
async fn an_import_of_several_batches_leaves_every_group_true(s: TestServer) {
    seed(&s).await;
    let mut groups = Vec::new();
    for (name, rule) in [("Veterans", r#"field("years") >= 10"#), ("Sales", r#"field("department") = "Sales""#)] {
        let g = s.post_ok("/api/v1/groups", json!({"name": name, "policy": "automatic"})).await;
        let id = g["id"].as_str().unwrap().to_owned();
        let r = s.call("PUT", &format!("/api/v1/groups/{id}/rule"), Some(json!({"text": rule}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        groups.push(id);
    }
    let file = |rows: std::ops::Range<usize>, years: fn(usize) -> usize, sales: fn(usize) -> bool| {
        let mut file = String::from("username,email,Years,Department\n");
        for i in rows {
            let department = if sales(i) { "Sales" } else { "Marketing" };
            file.push_str(&format!("user{i:05},user{i:05}@acme.com,{},{department}\n", years(i)));
        }
        file.into_bytes()
    };
    let count = |rows: std::ops::Range<usize>, keep: &dyn Fn(usize) -> bool| rows.filter(|i| keep(*i)).count();
    let member_counts = || async {
        let mut counts = Vec::new();
        for g in &groups {
            counts
                .push(s.call("GET", &format!("/api/v1/groups/{g}"), None).await.body["member_count"].as_u64().unwrap());
        }
        counts
    };

    // 1,500 new users: two batches.
    let years: fn(usize) -> usize = |i| i % 20;
    let sales: fn(usize) -> bool = |i| i % 3 == 0;
    let job = import(&s, "?mode=create", file(0..1500, years, sales)).await;
    assert_eq!(counts(&job), (1500, 0, 0, 0), "{job}");
    let expected = [count(0..1500, &|i| years(i) >= 10) as u64, count(0..1500, &|i| sales(i)) as u64];
    assert_eq!(member_counts().await, expected);

    // 2,600 rows, three batches: the 1,500 changed, 1,100 new.
    let years: fn(usize) -> usize = |i| (i + 5) % 20;
    let sales: fn(usize) -> bool = |i| i % 2 == 0;
    let job = import(&s, "", file(0..2600, years, sales)).await;
    assert_eq!(counts(&job), (1100, 1500, 0, 0), "{job}");
    let expected = [count(0..2600, &|i| years(i) >= 10) as u64, count(0..2600, &|i| sales(i)) as u64];
    assert_eq!(member_counts().await, expected);
    let drift = s.app.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");
}

crate::on_both_databases!(
    an_excel_sep_line_names_the_delimiter,
    the_template_lists_every_field_and_imports_as_is,
    files_in_every_encoding_and_delimiter_create_users,
    headers_map_automatically_or_as_told,
    modes_create_update_or_both,
    usernames_differing_only_in_case_keep_their_stored_spelling,
    cells_are_checked_against_their_fields,
    bad_files_are_refused_naming_row_and_column,
    an_import_moves_automatic_groups_in_one_evaluation,
    an_import_of_several_batches_leaves_every_group_true,
    a_group_export_reimported_for_update_changes_nothing,
    training_admins_import_into_their_branches_only,
    a_training_admins_dry_run_counts_only_its_users,
    a_check_over_the_rehearsal_limit_says_it_did_not_work_groups_out,
    a_job_whose_process_stopped_shows_as_interrupted,
);
