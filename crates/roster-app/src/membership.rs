//! Changing who is in a group, inside the caller's write transaction: membership rows,
//! the group's member count and one membership event per join or leave, together.

use roster_domain::{Group, GroupPolicy, MembershipChange, MembershipSource};
use roster_store::events::NewEvent;
use roster_store::groups::ListKind;
use roster_store::AnyConnection;

use crate::live::LiveTx;
use crate::AppResult;

/// Who and why, recorded on every event a change makes.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The actor's name.
    pub actor: String,
    /// Why, in words.
    pub why: String,
    /// When, epoch milliseconds.
    pub at: i64,
}

/// What a change did: the users who joined and who left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Users who became members.
    pub joined: Vec<i64>,
    /// Users who stopped being members.
    pub left: Vec<i64>,
}

/// Makes `users` members of `group_id` (those already members stay as they are).
pub(crate) async fn join(
    conn: &mut AnyConnection,
    group_id: i64,
    users: &[i64],
    source: MembershipSource,
    cause: &Cause,
) -> AppResult<Vec<i64>> {
    let existing = roster_store::memberships::which_are_members(conn, group_id, users).await?;
    let mut new: Vec<i64> = users.iter().copied().filter(|u| existing.binary_search(u).is_err()).collect();
    new.sort_unstable();
    new.dedup();
    roster_store::memberships::insert_many(conn, group_id, &new, source, cause.at, Some(&cause.actor)).await?;
    roster_store::groups::add_to_count(conn, group_id, new.len() as i64).await?;
    record(conn, group_id, &new, MembershipChange::Joined, cause).await?;
    Ok(new)
}

/// Ends the membership of `users` in `group_id` (non-members are ignored).
pub(crate) async fn leave(
    conn: &mut AnyConnection,
    group_id: i64,
    users: &[i64],
    cause: &Cause,
) -> AppResult<Vec<i64>> {
    let existing = roster_store::memberships::which_are_members(conn, group_id, users).await?;
    roster_store::memberships::delete_many(conn, group_id, &existing).await?;
    roster_store::groups::add_to_count(conn, group_id, -(existing.len() as i64)).await?;
    record(conn, group_id, &existing, MembershipChange::Left, cause).await?;
    Ok(existing)
}

async fn record(
    conn: &mut AnyConnection,
    group_id: i64,
    users: &[i64],
    change: MembershipChange,
    cause: &Cause,
) -> AppResult<()> {
    let events: Vec<NewEvent<'_>> = users
        .iter()
        .map(|u| NewEvent { group_id, user_id: *u, change, at: cause.at, actor: &cause.actor, cause: &cause.why })
        .collect();
    roster_store::events::insert_many(conn, &events).await?;
    Ok(())
}

/// Adds users to a group as an administrator asks: a manual group gains them as
/// members; an automatic group puts them on its include list (and off its exclude list),
/// which makes them members. Automatic groups that depend on it follow.
pub(crate) async fn add(
    ltx: &mut LiveTx,
    group: &Group,
    users: &[i64],
    source: MembershipSource,
    cause: &Cause,
) -> AppResult<Applied> {
    match group.policy {
        GroupPolicy::Manual => {
            let joined = join(ltx, group.id, users, source, cause).await?;
            ltx.manual_members_changed(group.id, &joined, &[], cause).await?;
            Ok(Applied { joined, left: vec![] })
        }
        GroupPolicy::Automatic => {
            let before = roster_store::memberships::which_are_members(ltx, group.id, users).await?;
            roster_store::groups::remove_from_list(ltx, group.id, ListKind::Exclude, users).await?;
            roster_store::groups::add_to_list(ltx, group.id, ListKind::Include, users, cause.at, &cause.actor).await?;
            ltx.automatic_group_changed(group.id, cause).await?;
            let after = roster_store::memberships::which_are_members(ltx, group.id, users).await?;
            Ok(Applied { joined: minus(&after, &before), left: vec![] })
        }
    }
}

/// Removes users from a group as an administrator asks: a manual group loses them; an
/// automatic group puts them on its exclude list (and off its include list).
pub(crate) async fn remove(ltx: &mut LiveTx, group: &Group, users: &[i64], cause: &Cause) -> AppResult<Applied> {
    match group.policy {
        GroupPolicy::Manual => {
            let left = leave(ltx, group.id, users, cause).await?;
            ltx.manual_members_changed(group.id, &[], &left, cause).await?;
            Ok(Applied { joined: vec![], left })
        }
        GroupPolicy::Automatic => {
            let before = roster_store::memberships::which_are_members(ltx, group.id, users).await?;
            roster_store::groups::remove_from_list(ltx, group.id, ListKind::Include, users).await?;
            roster_store::groups::add_to_list(ltx, group.id, ListKind::Exclude, users, cause.at, &cause.actor).await?;
            ltx.automatic_group_changed(group.id, cause).await?;
            let after = roster_store::memberships::which_are_members(ltx, group.id, users).await?;
            Ok(Applied { joined: vec![], left: minus(&before, &after) })
        }
    }
}

/// The sorted `a` without the sorted `b`.
fn minus(a: &[i64], b: &[i64]) -> Vec<i64> {
    a.iter().copied().filter(|x| b.binary_search(x).is_err()).collect()
}
