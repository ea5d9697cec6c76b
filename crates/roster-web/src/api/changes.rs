//! `/changes`: the change feed.

use axum::extract::State;
use axum::Json;
use roster_app::feed::{ChangePage, ChangesQuery};
use roster_app::App;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Authenticated};

/// Every committed change, oldest first, after a cursor: membership joins and leaves
/// (a bulk move is one item listing its users), users, enrollments and groups. A
/// training admin sees only what concerns users in its branches, and groups.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", params(ChangesQuery),
    responses((status = 200, body = ChangePage), (status = 400, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn changes(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<ChangePage>> {
    Ok(Json(app.changes(&actor, &query).await?))
}
