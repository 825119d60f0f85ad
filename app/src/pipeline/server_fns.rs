//! The pipeline's server functions: the board (polled with an etag), task detail, the create
//! form, the escalation queue and reviewers' verdicts. Managers and admins act; QA may look.
//! Each one authorises, parses its input and calls `db` or a service in one transaction.
use super::{
    instructions::NewTaskForm,
    model::{BoardFilter, BoardResponse, CustomerOption, QueuePage, TaskDetail, Verdict},
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::domain::Role;

#[cfg(feature = "ssr")]
const VIEWERS: [Role; 3] = [Role::Admin, Role::Manager, Role::Qa];
/// Who may create tasks and settle them; the pages show those buttons only to them.
pub const ACTORS: [crate::domain::Role; 2] =
    [crate::domain::Role::Admin, crate::domain::Role::Manager];

/// The board under `filter`; `Unchanged` when nothing changed since `etag`.
#[server(endpoint = "load_board", input = Json)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_board(
    filter: BoardFilter,
    etag: Option<String>,
) -> Result<BoardResponse, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            if let Some(s) = filter.state.as_deref() {
                if super::state::TaskState::parse(s).is_none() {
                    return Err(AppError::validation(
                        "state",
                        format!("Unknown state \"{s}\"."),
                    ));
                }
            }
            if filter
                .max_age_hours
                .is_some_and(|h| !(1..=24 * 365).contains(&h))
            {
                return Err(AppError::validation(
                    "age",
                    "Choose an age between 1 hour and a year.",
                ));
            }
            let tag = super::db::tasks::etag(&mut auth.tx, &filter).await?;
            if etag.as_deref() == Some(tag.as_str()) {
                auth.tx.commit().await?;
                return Ok(BoardResponse::Unchanged);
            }
            let mut board = super::db::tasks::board(&mut auth.tx, &filter, tag).await?;
            board.can_act = ACTORS.contains(&auth.user.role);
            auth.tx.commit().await?;
            Ok(BoardResponse::Changed(board))
        }
        .await,
    )
}

/// Customers to choose from, by name.
#[server(endpoint = "list_customers")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn list_customers() -> Result<Vec<CustomerOption>, AppError> {
    crate::ssr::respond(customers_for(&VIEWERS).await)
}

/// What the new-task form offers (the customers), for those who may create tasks: anyone else
/// is refused before the form is shown.
#[server(endpoint = "new_task_options")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn new_task_options() -> Result<Vec<CustomerOption>, AppError> {
    crate::ssr::respond(customers_for(&ACTORS).await)
}

/// The workspace's customers, for a member with one of `roles`.
#[cfg(feature = "ssr")]
async fn customers_for(roles: &[Role]) -> Result<Vec<CustomerOption>, AppError> {
    let mut auth = crate::auth::guard::authorize(roles).await?;
    let rows = super::db::tasks::customers(&mut auth.tx).await?;
    auth.tx.commit().await?;
    Ok(rows)
}

/// Creates a task (and its project when new) from the new-task form, then goes to its page.
/// Posted by an `ActionForm`, so it works before the page is hydrated too.
#[server(endpoint = "create_task")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn create_task(form: NewTaskForm) -> Result<Uuid, AppError> {
    use crate::{
        auth::guard::authorize,
        error::OnConstraint,
        ssr::{audit, respond},
    };
    respond(
        async move {
            let mut auth = authorize(&ACTORS).await?;
            let task = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let scope = auth.scope();
            let id = super::db::tasks::create_task(
                &mut auth.tx,
                scope,
                task.customer_id,
                &task.project,
                &task.title,
                task.max_attempts,
                &task.instructions,
            )
            .await
            .on_constraint(|c| match c {
                "projects_customer_fk" => Some(AppError::validation(
                    "customer_id",
                    "Choose one of your customers.",
                )),
                _ => None,
            })?;
            let target = audit::Target {
                kind: "task",
                id,
                label: &task.title,
            };
            audit::record_about(
                &mut auth.tx,
                scope.tenant_id,
                Some(scope.user_id),
                "task.created",
                target,
                &[],
            )
            .await?;
            auth.tx.commit().await?;
            leptos_axum::redirect(&format!("/pipeline/tasks/{id}"));
            Ok(id)
        }
        .await,
    )
}

#[server(endpoint = "load_task_detail")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn load_task_detail(id: Uuid) -> Result<TaskDetail, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let mut detail = super::db::tasks::detail(&mut auth.tx, id)
                .await?
                .ok_or(AppError::NotFound)?;
            detail.can_promote = ACTORS.contains(&auth.user.role);
            auth.tx.commit().await?;
            Ok(detail)
        }
        .await,
    )
}

/// Escalated and awaiting-review tasks, oldest first.
#[server(endpoint = "load_queue")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_queue(after: Option<Uuid>) -> Result<QueuePage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let mut page = super::db::tasks::queue(&mut auth.tx, after).await?;
            page.can_act = ACTORS.contains(&auth.user.role);
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// A manager settles a task from the queue. `version` is the one the manager saw: if the task
/// moved meanwhile the verdict is refused rather than applied to something else.
#[server(endpoint = "review_task")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id, verdict = %verdict)))]
pub async fn review_task(
    id: Uuid,
    version: i32,
    verdict: String,
    content: Option<String>,
    reason: Option<String>,
    guidance: Option<String>,
) -> Result<Verdict, AppError> {
    use crate::{
        auth::guard::authorize,
        ssr::{audit, respond},
    };
    respond(
        async move {
            let mut auth = authorize(&ACTORS).await?;
            let review = super::review::Review::parse(&verdict, content, reason, guidance)?;
            let scope = auth.scope();
            super::review::apply(&mut auth.tx, scope, id, version, &review).await?;
            let title = super::db::tasks::title(&mut auth.tx, id)
                .await?
                .unwrap_or_else(|| id.to_string());
            let target = audit::Target {
                kind: "task",
                id,
                label: &title,
            };
            audit::record_about(
                &mut auth.tx,
                scope.tenant_id,
                Some(scope.user_id),
                &format!("task.{}", review.verdict.as_str()),
                target,
                &[],
            )
            .await?;
            auth.tx.commit().await?;
            Ok(review.verdict)
        }
        .await,
    )
}
