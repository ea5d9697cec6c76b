//! The catalog that users are described by: additional fields, branches, courses.
//! Everyone reads it; only a superadmin changes fields and branches.

use roster_domain::{BranchTree, Code, FieldDef, FieldType, Name};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::views::{BranchView, CourseView, FieldView, List};
use crate::{Actor, App, AppError, AppResult, Context, ListParams, Superadmin};

/// A new additional field.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewField {
    /// Stable slug (`hire_date`).
    pub code: String,
    /// Label (`Hire Date`).
    pub name: String,
    /// `text`, `number`, `date`, `dropdown` or `yes_no`.
    #[serde(rename = "type")]
    pub field_type: String,
    /// A dropdown's options.
    #[serde(default)]
    pub options: Vec<String>,
}

/// A change to a field: its label or its options (its code and type are fixed).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldPatch {
    /// New label.
    pub name: Option<String>,
    /// New options of a dropdown; values in use must stay among them.
    pub options: Option<Vec<String>>,
    /// Moves the field to this place in the order of fields: 1 is first, the number
    /// of fields last; the others keep their order around it.
    pub position: Option<i64>,
}

/// A new branch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBranch {
    /// Stable code.
    pub code: String,
    /// Label.
    pub name: String,
    /// The parent's code; absent for a root.
    #[serde(default)]
    pub parent: Option<String>,
}

/// A change to a branch: rename or move.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchPatch {
    /// New label.
    pub name: Option<String>,
    /// New parent's code; `null` makes it a root.
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
}

/// A new course.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCourse {
    /// Stable code (`DRV-101`).
    pub code: String,
    /// Label.
    pub name: String,
}

/// A change to a course.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoursePatch {
    /// New label.
    pub name: Option<String>,
}

/// The place (0-based) of a field moved to `position` among `count` fields.
fn placed(position: i64, count: usize) -> AppResult<usize> {
    usize::try_from(position).ok().filter(|p| (1..=count).contains(p)).map(|p| p - 1).ok_or_else(|| {
        let among = match count {
            1 => "there is one field, so 1 is the only position".to_owned(),
            n => format!("a position is a number from 1 (first) to {n} (the number of fields)"),
        };
        AppError::invalid("position", format!("there is no position {position}: {among}"))
    })
}

/// The field `code` of `fields` (in their order), with its position.
fn field_view(fields: &[FieldDef], code: &str) -> Option<FieldView> {
    let at = fields.iter().position(|f| f.code.as_str().eq_ignore_ascii_case(code))?;
    Some(FieldView::new(fields[at].clone(), at + 1))
}

fn field_not_found(code: &str) -> AppError {
    AppError::NotFound(format!("field \"{code}\""))
}

impl App {
    /// Every additional field.
    pub async fn list_fields(&self, _actor: &Actor) -> AppResult<Vec<FieldView>> {
        let mut conn = self.store.read().await?;
        Ok(FieldView::in_order(roster_store::fields::all(&mut conn).await?))
    }

    /// One additional field by code.
    pub async fn get_field(&self, _actor: &Actor, code: &str) -> AppResult<FieldView> {
        let mut conn = self.store.read().await?;
        let ctx = Context::load(&mut conn).await?;
        field_view(&ctx.fields, code).ok_or_else(|| field_not_found(code))
    }

    /// Creates an additional field (superadmin).
    pub async fn create_field(&self, admin: &Superadmin, input: NewField) -> AppResult<FieldView> {
        let actor = admin.actor();
        let def = FieldDef {
            code: Code::parse("code", &input.code)?,
            name: Name::parse("name", &input.name)?,
            field_type: FieldType::parse("type", &input.field_type)?,
            options: input.options.iter().map(|o| o.trim().to_owned()).collect(),
        };
        def.validate()?;
        let mut tx = self.begin().await?;
        let ctx = Context::load(tx.read()).await?;
        if ctx.field(def.code.as_str()).is_some() {
            return Err(AppError::conflict("code", format!("a field with the code \"{}\" exists", def.code)));
        }
        if ctx.fields.iter().any(|f| f.name.as_str().eq_ignore_ascii_case(def.name.as_str())) {
            return Err(AppError::conflict("name", format!("a field named \"{}\" exists", def.name)));
        }
        tx.insert_field(&def, &self.cause(actor, format!("field \"{}\" created", def.code))).await?;
        tx.commit().await?;
        Ok(FieldView::new(def, ctx.fields.len() + 1))
    }

    /// Renames a field or changes a dropdown's options (superadmin).
    pub async fn update_field(&self, admin: &Superadmin, code: &str, patch: FieldPatch) -> AppResult<FieldView> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let ctx = Context::load(tx.read()).await?;
        let mut def = ctx.field(code).cloned().ok_or_else(|| field_not_found(code))?;
        if let Some(n) = &patch.name {
            def.name = Name::parse("name", n)?;
            if ctx.fields.iter().any(|f| f.code != def.code && f.name.as_str().eq_ignore_ascii_case(n.trim())) {
                return Err(AppError::conflict("name", format!("a field named \"{}\" exists", def.name)));
            }
        }
        if let Some(options) = &patch.options {
            def.options = options.iter().map(|o| o.trim().to_owned()).collect();
            def.validate()?;
            let removed: Vec<&String> = ctx
                .field(code)
                .map(|old| old.options.iter().filter(|o| !def.options.contains(o)).collect())
                .unwrap_or_default();
            for option in removed {
                if self.field_value_in_use(tx.read(), &def, option).await? {
                    return Err(AppError::conflict(
                        "options",
                        format!("users still have the value \"{option}\"; change their values before removing it"),
                    ));
                }
            }
        }
        let mut order: Vec<&FieldDef> = ctx.fields.iter().filter(|f| f.code != def.code).collect();
        let at = match patch.position {
            Some(p) => placed(p, ctx.fields.len())?,
            None => ctx.fields.iter().position(|f| f.code == def.code).unwrap_or(order.len()),
        };
        order.insert(at, &def);
        let cause = self.cause(actor, format!("field \"{}\" changed", def.code));
        tx.update_field(&def, &cause).await?;
        if patch.position.is_some() {
            let codes: Vec<&str> = order.iter().map(|f| f.code.as_str()).collect();
            tx.order_fields(&codes, &cause).await?;
        }
        tx.commit().await?;
        Ok(FieldView::new(def, at + 1))
    }

    async fn field_value_in_use(
        &self,
        conn: &mut roster_store::AnyConnection,
        def: &FieldDef,
        value: &str,
    ) -> AppResult<bool> {
        let key =
            serde_json::to_string(&serde_json::json!({ def.code.as_str(): value })).map_err(AppError::encoding)?;
        let inner = key.trim_start_matches('{').trim_end_matches('}');
        let n = roster_store::users::count_fields_like(conn, &format!("%{inner}%")).await?;
        Ok(n > 0)
    }

    /// Deletes a field and every value of it (superadmin).
    pub async fn delete_field(&self, admin: &Superadmin, code: &str) -> AppResult<()> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let ctx = Context::load(tx.read()).await?;
        let def = ctx.field(code).cloned().ok_or_else(|| field_not_found(code))?;
        let code_key = def.code.as_str().to_owned();
        crate::rules::refuse_if_used(tx.read(), &format!("field \"{}\"", def.name), |r| {
            r.referenced_fields().iter().any(|f| f.eq_ignore_ascii_case(&code_key))
        })
        .await?;
        tx.delete_field(def.code.as_str(), &self.cause(actor, format!("field \"{}\" deleted", def.code))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The org chart.
    pub async fn list_branches(&self, _actor: &Actor) -> AppResult<Vec<BranchView>> {
        let mut conn = self.store.read().await?;
        let tree = BranchTree::new(roster_store::branches::all(&mut conn).await?);
        let mut out: Vec<BranchView> = tree.iter().filter_map(|b| BranchView::new(&tree, b.id)).collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// One branch by code.
    pub async fn get_branch(&self, _actor: &Actor, code: &str) -> AppResult<BranchView> {
        let mut conn = self.store.read().await?;
        let tree = BranchTree::new(roster_store::branches::all(&mut conn).await?);
        tree.by_code(code)
            .and_then(|b| BranchView::new(&tree, b.id))
            .ok_or_else(|| AppError::NotFound(format!("branch \"{code}\"")))
    }

    /// Creates a branch (superadmin).
    pub async fn create_branch(&self, admin: &Superadmin, input: NewBranch) -> AppResult<BranchView> {
        let actor = admin.actor();
        let code = Code::parse("code", &input.code)?;
        let name = Name::parse("name", &input.name)?;
        let mut tx = self.begin().await?;
        let tree = BranchTree::new(roster_store::branches::all(tx.read()).await?);
        if tree.by_code(code.as_str()).is_some() {
            return Err(AppError::conflict("code", format!("a branch with the code \"{code}\" exists")));
        }
        let parent = match input.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => Some(
                tree.by_code(p)
                    .ok_or_else(|| AppError::invalid("parent", format!("no branch has the code \"{p}\"")))?
                    .id,
            ),
        };
        let cause = self.cause(actor, format!("branch \"{code}\" created"));
        let id = tx.insert_branch(code.as_str(), name.as_str(), parent, &cause).await?;
        let tree = BranchTree::new(roster_store::branches::all(tx.read()).await?);
        tx.commit().await?;
        BranchView::new(&tree, id).ok_or_else(|| AppError::NotFound("branch".into()))
    }

    /// Renames or moves a branch (superadmin); a move under its own subtree is refused.
    pub async fn update_branch(&self, admin: &Superadmin, code: &str, patch: BranchPatch) -> AppResult<BranchView> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let tree = BranchTree::new(roster_store::branches::all(tx.read()).await?);
        let mut branch = tree.by_code(code).cloned().ok_or_else(|| AppError::NotFound(format!("branch \"{code}\"")))?;
        if let Some(n) = &patch.name {
            branch.name = Name::parse("name", n)?.into_string();
        }
        if let Some(parent) = &patch.parent {
            branch.parent_id = match parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                None => None,
                Some(p) => {
                    let target = tree
                        .by_code(p)
                        .ok_or_else(|| AppError::invalid("parent", format!("no branch has the code \"{p}\"")))?;
                    if tree.is_under(target.id, branch.id) {
                        return Err(AppError::invalid(
                            "parent",
                            format!("\"{}\" cannot move under itself or its own sub-branch \"{p}\"", branch.code),
                        ));
                    }
                    Some(target.id)
                }
            };
        }
        let moved = patch.parent.is_some();
        let what = if moved { "moved" } else { "changed" };
        tx.update_branch(&branch, moved, &self.cause(actor, format!("branch \"{}\" {what}", branch.code))).await?;
        let tree = BranchTree::new(roster_store::branches::all(tx.read()).await?);
        tx.commit().await?;
        BranchView::new(&tree, branch.id).ok_or_else(|| AppError::NotFound("branch".into()))
    }

    /// Deletes a branch that has no users and no sub-branches (superadmin).
    pub async fn delete_branch(&self, admin: &Superadmin, code: &str) -> AppResult<()> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let tree = BranchTree::new(roster_store::branches::all(tx.read()).await?);
        let branch = tree.by_code(code).ok_or_else(|| AppError::NotFound(format!("branch \"{code}\"")))?;
        let branch_code = branch.code.clone();
        crate::rules::refuse_if_used(tx.read(), &format!("branch \"{branch_code}\""), |r| {
            r.referenced_branches().iter().any(|b| b.eq_ignore_ascii_case(&branch_code))
        })
        .await?;
        let scoped: Vec<String> = roster_store::groups::all(tx.read())
            .await?
            .into_iter()
            .filter(|g| g.scope.iter().flatten().any(|c| c.eq_ignore_ascii_case(&branch_code)))
            .map(|g| format!("\"{}\"", g.name))
            .collect();
        if !scoped.is_empty() {
            return Err(AppError::conflict(
                "code",
                format!(
                    "branch \"{branch_code}\" is the scope of groups {}; change their branches first",
                    scoped.join(", ")
                ),
            ));
        }
        if !tree.children(branch.id).is_empty() {
            return Err(AppError::conflict(
                "code",
                format!("branch \"{}\" has sub-branches; move or delete them first", branch.code),
            ));
        }
        let users = roster_store::users::count_in_branches(tx.read(), &[branch.id]).await?;
        if users > 0 {
            return Err(AppError::conflict(
                "code",
                format!("branch \"{}\" has {users} users; move them first", branch.code),
            ));
        }
        tx.delete_branch(branch.id, &self.cause(actor, format!("branch \"{}\" deleted", branch.code))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of courses.
    pub async fn list_courses(&self, _actor: &Actor, page: &ListParams) -> AppResult<List<CourseView>> {
        let (after, limit) = page.resolve()?;
        let mut conn = self.store.read().await?;
        Ok(List::from_page(roster_store::courses::list(&mut conn, after, limit).await?, CourseView::from))
    }

    /// At most `limit` courses whose code or name holds `q` (any case), by code: for
    /// the admin UI's course pickers, which search rather than list every course.
    pub async fn search_courses(&self, _actor: &Actor, q: Option<&str>, limit: usize) -> AppResult<Vec<CourseView>> {
        let text = crate::ids::search_text("q", q)?.unwrap_or_default();
        let mut conn = self.store.read().await?;
        Ok(roster_store::courses::search(&mut conn, &text, limit).await?.into_iter().map(CourseView::from).collect())
    }

    /// The courses with these codes (codes of none are left out).
    pub async fn courses_by_codes(&self, _actor: &Actor, codes: &[String]) -> AppResult<Vec<CourseView>> {
        let mut conn = self.store.read().await?;
        Ok(roster_store::courses::by_codes(&mut conn, codes).await?.into_iter().map(CourseView::from).collect())
    }

    /// One course by code.
    pub async fn get_course(&self, _actor: &Actor, code: &str) -> AppResult<CourseView> {
        let mut conn = self.store.read().await?;
        roster_store::courses::by_code(&mut conn, code)
            .await?
            .map(CourseView::from)
            .ok_or_else(|| AppError::NotFound(format!("course \"{code}\"")))
    }

    /// Creates a course (superadmin).
    pub async fn create_course(&self, admin: &Superadmin, input: NewCourse) -> AppResult<CourseView> {
        let actor = admin.actor();
        let code = Code::parse("code", &input.code)?;
        let name = Name::parse("name", &input.name)?;
        let mut tx = self.begin().await?;
        if roster_store::courses::by_code(tx.read(), code.as_str()).await?.is_some() {
            return Err(AppError::conflict("code", format!("a course with the code \"{code}\" exists")));
        }
        tx.insert_course(code.as_str(), name.as_str(), &self.cause(actor, format!("course \"{code}\" created")))
            .await?;
        tx.commit().await?;
        Ok(CourseView { code: code.into_string(), name: name.into_string() })
    }

    /// Renames a course (superadmin).
    pub async fn update_course(&self, admin: &Superadmin, code: &str, patch: CoursePatch) -> AppResult<CourseView> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let mut course = roster_store::courses::by_code(tx.read(), code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("course \"{code}\"")))?;
        if let Some(n) = &patch.name {
            course.name = Name::parse("name", n)?.into_string();
            tx.rename_course(course.id, &course.name, &self.cause(actor, format!("course \"{code}\" renamed"))).await?;
        }
        tx.commit().await?;
        Ok(course.into())
    }

    /// Deletes a course and its enrollments (superadmin).
    pub async fn delete_course(&self, admin: &Superadmin, code: &str) -> AppResult<()> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let course = roster_store::courses::by_code(tx.read(), code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("course \"{code}\"")))?;
        let course_code = course.code.clone();
        crate::rules::refuse_if_used(tx.read(), &format!("course \"{course_code}\""), |r| {
            r.referenced_courses().iter().any(|c| c.eq_ignore_ascii_case(&course_code))
        })
        .await?;
        let enrolling = roster_store::enrollment_rules::groups_of_course(tx.read(), course.id).await?;
        if !enrolling.is_empty() {
            let mut names = Vec::with_capacity(enrolling.len());
            for id in enrolling {
                let group = roster_store::groups::get(tx.read(), id).await?;
                names.push(format!("\"{}\"", group.map_or_else(|| format!("#{id}"), |g| g.name)));
            }
            return Err(AppError::conflict(
                "code",
                format!(
                    "course \"{course_code}\" is used by the enrollment rules of {}; change those first",
                    names.join(", ")
                ),
            ));
        }
        tx.delete_course(course.id, &self.cause(actor, format!("course \"{code}\" deleted"))).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::placed;

    #[test]
    fn a_position_is_one_of_the_fields_places() {
        assert_eq!(placed(1, 3).ok(), Some(0));
        assert_eq!(placed(3, 3).ok(), Some(2));
        for bad in [0, 4, -1, i64::MAX] {
            let message = placed(bad, 3).unwrap_err().to_string();
            assert!(message.contains(&format!("there is no position {bad}")), "{message}");
            assert!(message.contains("from 1 (first) to 3 (the number of fields)"), "{message}");
        }
        assert!(placed(2, 1).unwrap_err().to_string().contains("1 is the only position"));
    }
}
