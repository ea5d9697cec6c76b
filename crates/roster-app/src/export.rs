//! Export of a group's users as CSV, page by page, so memory stays flat at any size:
//! UTF-8 with a BOM (spreadsheets then read accents), every additional field, the
//! membership's source and date, and cells neutralised against formula injection.

use roster_domain::{BranchTree, FieldDef};
use roster_store::memberships::MemberQuery;

use crate::clock::rfc3339;
use crate::reach::Reach;
use crate::{Actor, App, AppResult};

/// Members fetched per chunk.
const CHUNK: usize = 2000;

/// A CSV export under way: call [`MemberExport::next_chunk`] until it returns `None`.
#[derive(Debug)]
pub struct MemberExport {
    app: App,
    group_id: i64,
    branch_ids: Option<Vec<i64>>,
    fields: Vec<FieldDef>,
    tree: BranchTree,
    after: Option<i64>,
    started: bool,
    done: bool,
    /// A file name for the download (`group-12-drivers.csv`).
    pub file_name: String,
}

impl App {
    /// Starts an export of group `id`'s members that the caller may see.
    pub async fn export_members(&self, actor: &Actor, id: &str) -> AppResult<MemberExport> {
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let slug: String = group
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        Ok(MemberExport {
            app: self.clone(),
            group_id: group.id,
            branch_ids: reach.branch_filter(),
            fields: reach.ctx.fields.clone(),
            tree: reach.ctx.tree.clone(),
            after: None,
            started: false,
            done: false,
            file_name: format!("group-{}-{slug}.csv", group.id),
        })
    }
}

impl MemberExport {
    /// The next piece of the file; `None` once it is complete.
    pub async fn next_chunk(&mut self) -> AppResult<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut out = String::new();
        if !self.started {
            self.started = true;
            out.push_str(roster_csv::UTF8_BOM);
            let mut header: Vec<String> =
                ["username", "email", "first_name", "last_name", "status", "language", "timezone", "branch"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect();
            header.extend(self.fields.iter().map(|f| f.name.to_string()));
            header.extend(["membership_source".to_owned(), "member_since".to_owned()]);
            roster_csv::encode_row(&mut out, &header);
        }
        let mut conn = self.app.store.read().await?;
        let query = MemberQuery { q: None, branch_ids: self.branch_ids.clone(), after: self.after, limit: CHUNK };
        let page = roster_store::memberships::page(&mut conn, self.group_id, &query).await?;
        for m in &page.items {
            let u = &m.user;
            let mut row: Vec<String> = vec![
                u.username.as_str().to_owned(),
                u.email.as_str().to_owned(),
                u.first_name.clone().unwrap_or_default(),
                u.last_name.clone().unwrap_or_default(),
                u.status.as_str().to_owned(),
                u.language.clone().unwrap_or_default(),
                u.timezone.clone().unwrap_or_default(),
                u.branch_id.and_then(|b| self.tree.get(b)).map(|b| b.code.clone()).unwrap_or_default(),
            ];
            for f in &self.fields {
                row.push(
                    u.fields
                        .get(f.code.as_str())
                        .and_then(|v| f.from_stored(v))
                        .map(|v| v.display())
                        .unwrap_or_default(),
                );
            }
            row.push(m.membership.source.as_str().to_owned());
            row.push(rfc3339(m.membership.added_at));
            roster_csv::encode_row(&mut out, &row);
        }
        self.after = page.next;
        self.done = page.next.is_none();
        Ok(Some(out.into_bytes()))
    }
}
