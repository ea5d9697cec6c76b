//! What the admin UI says when it refuses something: sentences written for an
//! administrator, and the counts of a refused file as what it would have done.

use crate::harness::{Server, ADMIN};
use crate::http::{each_database, Agent};
use roster_app::Actor;

/// Sends `file` (named `name`) to a group's CSV panel as its script does.
async fn upload(a: &mut Agent, server: &Server, group: &str, token: &str, name: &str, file: &str) -> (u16, String) {
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.to_owned())
        .part("file", reqwest::multipart::Part::bytes(file.as_bytes().to_vec()).file_name(name.to_owned()));
    let req =
        a.http.post(format!("{}/admin/groups/{group}/csv", server.base)).multipart(form).header("x-fragment", "1");
    let answer = a.send(req).await;
    (answer.status, answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_read_as_sentences_and_a_refused_file_says_what_it_would_have_done() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let token = Agent::csrf(&a.get("/admin/groups").await.body);

        let taken = a.post("/admin/groups", &[("csrf", &token), ("name", "warehouse TEAM")]).await;
        assert_eq!(taken.status, 409);
        assert!(taken.body.contains("There is already a group named"), "{}", taken.body);
        assert!(!taken.body.contains("exists"), "no developer phrasing: {}", taken.body);
        let unnamed = a.post("/admin/groups", &[("csrf", &token), ("name", "  ")]).await;
        assert_eq!(unnamed.status, 422);
        assert!(unnamed.body.contains("This cannot be left empty."), "{}", unnamed.body);
        assert!(!unnamed.body.contains("must not be empty"));

        let team = server.app.find_group(&Actor::system("t"), "Warehouse team").await.unwrap().id;
        let (status, body) = upload(&mut a, &server, &team, &token, "empty.csv", "").await;
        assert_eq!(status, 422);
        assert!(body.contains("“empty.csv” is empty: it has no header row and no users."), "{body}");

        // One row removes a member, one names nobody: the file is refused whole.
        let file = "username,action\nkarim.haddad,remove\nnobody.here,add\n";
        let (status, body) = upload(&mut a, &server, &team, &token, "team.csv", file).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("nothing was applied"), "{body}");
        assert!(body.contains("<dt>Would have been removed</dt><dd id=\"csv-removed\">1</dd>"), "{body}");
        assert!(!body.contains("<dt>Removed</dt>"), "not as if applied: {body}");
        let members = server.app.find_group(&Actor::system("t"), "Warehouse team").await.unwrap().member_count;
        assert_eq!(members, 3, "nothing was removed");
        server.finish().await;
    })
    .await;
}
