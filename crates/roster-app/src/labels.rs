//! Names for ids that lists hold: what a screen prints beside a history event, an
//! enrollment or a list entry instead of a bare number. Users are named only when the
//! caller may see them.

use std::collections::HashMap;

use crate::reach::Reach;
use crate::{Actor, App, AppError, AppResult};

/// The most ids one call may name.
pub const MAX_LABELS: usize = 1000;

/// How a user is shown in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLabel {
    /// The user's id.
    pub id: String,
    /// The login name.
    pub username: String,
    /// Given and family name, as far as known.
    pub full_name: String,
    /// The email address.
    pub email: String,
}

fn bounded(ids: &[String]) -> AppResult<Vec<i64>> {
    if ids.len() > MAX_LABELS {
        return Err(AppError::bad_request("ids", format!("name at most {MAX_LABELS} ids at once")));
    }
    let mut parsed: Vec<i64> = ids.iter().filter_map(|i| i.parse().ok()).collect();
    parsed.sort_unstable();
    parsed.dedup();
    Ok(parsed)
}

impl App {
    /// The users among `ids` that the caller may see, by id; the others are left out.
    pub async fn user_labels(&self, actor: &Actor, ids: &[String]) -> AppResult<HashMap<String, UserLabel>> {
        let ids = bounded(ids)?;
        let mut conn = self.store.read().await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            let Some(user) = roster_store::users::get(&mut conn, id).await? else { continue };
            if !reach.reaches(user.branch_id) {
                continue;
            }
            let full_name = [user.first_name.as_deref(), user.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let label = UserLabel {
                id: id.to_string(),
                username: user.username.into_string(),
                full_name,
                email: user.email.into_string(),
            };
            out.insert(id.to_string(), label);
        }
        Ok(out)
    }

    /// The names of the groups among `ids` that exist, by id.
    pub async fn group_labels(&self, _actor: &Actor, ids: &[String]) -> AppResult<HashMap<String, String>> {
        let ids = bounded(ids)?;
        let mut conn = self.store.read().await?;
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(group) = roster_store::groups::get(&mut conn, id).await? {
                out.insert(id.to_string(), group.name);
            }
        }
        Ok(out)
    }
}

/// A count as an administrator reads it: `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(200_000), "200,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
