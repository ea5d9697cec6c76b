//! A server saves its image when it stops, and the next one starts from it: the
//! start-up reads the file instead of every row, and what it then serves and writes is
//! what the database says. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ok, on_both_databases, roster, Server};

#[tokio::test]
async fn a_stopped_server_leaves_its_image_and_the_next_starts_from_it() {
    on_both_databases(|db| async move {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roster.image");
        let image = ["--image-file", file.to_str().unwrap()];
        ok(&roster(&db, &["demo", "--generate-only", "--users", "300"]));
        let token = ok(&roster(&db, &["token", "create", "--name", "ops"])).trim().to_owned();

        let (server, printed) = Server::start_with(&db, &image);
        assert!(printed.contains("was built from the database"), "{printed}");
        let http = reqwest::Client::new();
        let user = |base: String| {
            let http = http.clone();
            let token = token.clone();
            async move {
                let page: serde_json::Value = http
                    .get(format!("{base}/api/v1/users?limit=1&q=a"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                page["items"][0]["id"].as_str().unwrap().to_owned()
            }
        };
        let someone = user(server.1.clone()).await;
        assert!(server.stop(), "the server stops cleanly on SIGTERM");
        assert!(file.exists(), "the image is saved when the server stops");

        // Changes while no server runs: the next start-up replays them on the file.
        let people = dir.path().join("people.csv");
        std::fs::write(&people, "username,email,first_name\nann.lee,ann@acme.com,Ann\n").unwrap();
        let imported = ok(&roster(&db, &["users", "import", people.to_str().unwrap(), "--image-file", "none"]));
        assert!(imported.contains("1 created"), "{imported}");
        let (server, printed) = Server::start_with(&db, &image);
        assert!(printed.contains("was read from its saved file"), "{printed}");
        let suspended = http
            .patch(format!("{}/api/v1/users/{someone}", server.1))
            .bearer_auth(&token)
            .json(&serde_json::json!({"status": "suspended"}))
            .send()
            .await
            .unwrap();
        assert_eq!(suspended.status(), 200);
        assert!(server.stop());

        // The memberships it wrote are what the rules say, checked from the database.
        let drift = ok(&roster(&db, &["reconcile", "--image-file", "none"]));
        assert!(drift.contains(" 0 drifted"), "{drift}");
        let (server, printed) = Server::start_with(&db, &image);
        assert!(printed.contains("was read from its saved file"), "{printed}");
        drop(server);
    })
    .await;
}
