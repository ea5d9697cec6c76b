//! Changing who is in a group, inside the caller's write transaction: membership rows,
//! the group's member count and one membership event per join or leave, together.

use roster_domain::{Group, GroupPolicy, MembershipChange, MembershipSource};
use roster_store::events::{Moved, Said};
use roster_store::groups::ListKind;
use roster_store::AnyConnection;

use crate::live::LiveTx;
use crate::{AppError, AppResult};

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
    join_new(conn, group_id, &new, source, cause).await?;
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
    leave_known(conn, group_id, &existing, cause).await?;
    Ok(existing)
}

/// Makes `users` members of `group_id`; none of them is one yet (the engine's diff
/// says so: a stale image would hit the primary key and roll the change back).
pub(crate) async fn join_new(
    conn: &mut AnyConnection,
    group_id: i64,
    users: &[i64],
    source: MembershipSource,
    cause: &Cause,
) -> AppResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    roster_store::memberships::insert_many(conn, group_id, users, source, cause.at, Some(&cause.actor)).await?;
    roster_store::groups::add_to_counts(conn, &[group_id], users.len() as i64).await?;
    let moved = Moved::Users { group_id, users };
    roster_store::events::record(conn, moved, said(MembershipChange::Joined, cause)).await?;
    Ok(())
}

/// Ends the membership of `users` in `group_id`; all of them are members.
pub(crate) async fn leave_known(
    conn: &mut AnyConnection,
    group_id: i64,
    users: &[i64],
    cause: &Cause,
) -> AppResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let deleted = roster_store::memberships::delete_many(conn, group_id, users).await?;
    expect_rows(deleted, users.len())?;
    roster_store::groups::add_to_counts(conn, &[group_id], -(users.len() as i64)).await?;
    let moved = Moved::Users { group_id, users };
    roster_store::events::record(conn, moved, said(MembershipChange::Left, cause)).await?;
    Ok(())
}

/// One user's memberships as the engine moved them: the groups joined (by rule, by
/// include list) and left, each set in one statement whatever its size.
#[derive(Debug, Default)]
pub(crate) struct UserMoves {
    pub by_rule: Vec<i64>,
    pub by_list: Vec<i64>,
    pub left: Vec<i64>,
}

/// Writes one user's moves: memberships, member counts and events.
pub(crate) async fn move_user(
    conn: &mut AnyConnection,
    user_id: i64,
    moves: &UserMoves,
    cause: &Cause,
) -> AppResult<()> {
    let by = Some(cause.actor.as_str());
    roster_store::memberships::insert_of_user(conn, user_id, &moves.by_rule, MembershipSource::Rule, cause.at, by)
        .await?;
    roster_store::memberships::insert_of_user(conn, user_id, &moves.by_list, MembershipSource::Include, cause.at, by)
        .await?;
    let deleted = roster_store::memberships::delete_of_user(conn, user_id, &moves.left).await?;
    expect_rows(deleted, moves.left.len())?;
    let joined: Vec<i64> = moves.by_rule.iter().chain(&moves.by_list).copied().collect();
    roster_store::groups::add_to_counts(conn, &joined, 1).await?;
    roster_store::groups::add_to_counts(conn, &moves.left, -1).await?;
    let moved = Moved::Groups { user_id, groups: &joined };
    roster_store::events::record(conn, moved, said(MembershipChange::Joined, cause)).await?;
    let moved = Moved::Groups { user_id, groups: &moves.left };
    roster_store::events::record(conn, moved, said(MembershipChange::Left, cause)).await?;
    Ok(())
}

/// Many users' memberships as the engine moved them, as `(user_id, group_id)` pairs
/// sorted by user: the joins by rule, by include list, and the leaves.
#[derive(Debug, Default)]
pub(crate) struct PairMoves {
    pub by_rule: Vec<(i64, i64)>,
    pub by_list: Vec<(i64, i64)>,
    pub left: Vec<(i64, i64)>,
}

impl PairMoves {
    pub(crate) fn len(&self) -> usize {
        self.by_rule.len() + self.by_list.len() + self.left.len()
    }

    /// Sorts every list by user, then group.
    pub(crate) fn sort(&mut self) {
        self.by_rule.sort_unstable();
        self.by_list.sort_unstable();
        self.left.sort_unstable();
    }

    pub(crate) fn clear(&mut self) {
        self.by_rule.clear();
        self.by_list.clear();
        self.left.clear();
    }
}

/// Writes many users' moves: memberships and events (member counts are the caller's).
pub(crate) async fn move_pairs(conn: &mut AnyConnection, moves: &PairMoves, cause: &Cause) -> AppResult<()> {
    let deleted = roster_store::memberships::delete_pairs(conn, &moves.left).await?;
    expect_rows(deleted, moves.left.len())?;
    let by = Some(cause.actor.as_str());
    roster_store::memberships::insert_pairs(conn, &moves.by_rule, MembershipSource::Rule, cause.at, by).await?;
    roster_store::memberships::insert_pairs(conn, &moves.by_list, MembershipSource::Include, cause.at, by).await?;
    let mut joined: Vec<(i64, i64)> = moves.by_rule.iter().chain(&moves.by_list).copied().collect();
    joined.sort_unstable();
    roster_store::events::record(conn, Moved::Pairs(&joined), said(MembershipChange::Joined, cause)).await?;
    roster_store::events::record(conn, Moved::Pairs(&moves.left), said(MembershipChange::Left, cause)).await?;
    Ok(())
}

fn said(change: MembershipChange, cause: &Cause) -> Said<'_> {
    Said { change, at: cause.at, actor: &cause.actor, cause: &cause.why }
}

/// Memberships the engine knew of were not all there: the image is out of step with
/// the database, and the change must not commit (its counts would be wrong).
fn expect_rows(deleted: u64, expected: usize) -> AppResult<()> {
    if deleted == expected as u64 {
        Ok(())
    } else {
        Err(AppError::Internal(roster_store::StoreError::Corrupt(format!(
            "the membership image expected {expected} memberships to end, the database had {deleted}"
        ))))
    }
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
