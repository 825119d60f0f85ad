//! The pipeline's server functions: the board (polled with an etag), task detail, the create
//! form, the escalation queue and reviewers' verdicts. Managers and admins act; QA may look.
use super::{
    instructions::AiInstructions,
    views::{BoardFilter, BoardResponse, CustomerOption, QueuePage, TaskDetail},
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::domain::Role;

#[cfg(feature = "ssr")]
const VIEWERS: [Role; 3] = [Role::Admin, Role::Manager, Role::Qa];
#[cfg(feature = "ssr")]
const ACTORS: [Role; 2] = [Role::Admin, Role::Manager];

/// The board under `filter`; `Unchanged` when nothing changed since `etag`.
#[server(endpoint = "pipeline_board", input = Json)]
pub async fn pipeline_board(
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
            let tag = super::queries::etag(&mut auth.tx, &filter).await?;
            if etag.as_deref() == Some(tag.as_str()) {
                auth.tx.commit().await?;
                return Ok(BoardResponse::Unchanged);
            }
            let board: super::views::Board =
                super::queries::board(&mut auth.tx, &filter, tag).await?;
            auth.tx.commit().await?;
            Ok(BoardResponse::Changed(board))
        }
        .await,
    )
}

/// Customers to choose from, by name.
#[server(endpoint = "pipeline_customers")]
pub async fn pipeline_customers() -> Result<Vec<CustomerOption>, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let rows = super::queries::customers(&mut auth.tx).await?;
            auth.tx.commit().await?;
            Ok(rows)
        }
        .await,
    )
}

/// Creates a task (and its project when new) from the form's instructions.
#[server(endpoint = "create_task", input = Json)]
pub async fn create_task(
    customer_id: Uuid,
    project: String,
    title: String,
    max_attempts: i16,
    instructions: AiInstructions,
) -> Result<Uuid, AppError> {
    use crate::{audit, auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&ACTORS).await?;
            let instructions = instructions.normalized();
            if let Some(e) = instructions.validate().into_iter().next() {
                return Err(AppError::validation(
                    &e.field,
                    format!("{}: {}", e.field, e.message),
                ));
            }
            let project = project.trim();
            if project.is_empty() || project.chars().count() > 200 {
                return Err(AppError::validation(
                    "project",
                    "Name the project (up to 200 characters).",
                ));
            }
            let title = title.trim();
            if title.is_empty() || title.chars().count() > 200 {
                return Err(AppError::validation(
                    "title",
                    "Give the task a title (up to 200 characters).",
                ));
            }
            if !(1..=super::instructions::MAX_ATTEMPTS_LIMIT as i16).contains(&max_attempts) {
                return Err(AppError::validation(
                    "max_attempts",
                    "Allow between 1 and 10 attempts.",
                ));
            }
            let scope = auth.scope();
            let id = super::queries::create_task(
                &mut auth.tx,
                scope,
                customer_id,
                project,
                title,
                max_attempts,
                &instructions,
            )
            .await?
            .ok_or_else(|| AppError::validation("customer_id", "Choose one of your customers."))?;
            audit::db::record(
                &mut auth.tx,
                scope.tenant_id,
                Some(scope.user_id),
                "task.created",
                Some(title),
            )
            .await?;
            auth.tx.commit().await?;
            Ok(id)
        }
        .await,
    )
}

#[server(endpoint = "task_detail")]
pub async fn load_task_detail(id: Uuid) -> Result<TaskDetail, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let detail = super::queries::detail(&mut auth.tx, id)
                .await?
                .ok_or(AppError::NotFound)?;
            auth.tx.commit().await?;
            Ok(detail)
        }
        .await,
    )
}

/// Escalated and awaiting-review tasks, oldest first.
#[server(endpoint = "escalation_queue")]
pub async fn escalation_queue(after: Option<Uuid>) -> Result<QueuePage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let page = super::queries::queue(&mut auth.tx, after).await?;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// A manager settles a task from the queue. `version` is the one the manager saw: if the task
/// moved meanwhile the verdict is refused rather than applied to something else.
#[server(endpoint = "review_task")]
pub async fn review_task(
    id: Uuid,
    version: i32,
    verdict: String,
    content: Option<String>,
    reason: Option<String>,
    guidance: Option<String>,
) -> Result<(), AppError> {
    use crate::{audit, auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&ACTORS).await?;
            use super::views::Verdict;
            let verdict = Verdict::parse(&verdict).ok_or_else(|| {
                AppError::validation(
                    "verdict",
                    "Choose approve, edit and approve, reject or send back.",
                )
            })?;
            let reason = reason.unwrap_or_default().trim().to_owned();
            let guidance = guidance.unwrap_or_default().trim().to_owned();
            let content = content.map(|c| c.trim().to_owned());
            match verdict {
                Verdict::Reject if reason.is_empty() => {
                    return Err(AppError::validation(
                        "reason",
                        "Say why the draft is rejected.",
                    ));
                }
                Verdict::SendBack if guidance.is_empty() => {
                    return Err(AppError::validation(
                        "guidance",
                        "Tell the AI what to change.",
                    ));
                }
                Verdict::EditAndApprove if content.as_deref().is_none_or(str::is_empty) => {
                    return Err(AppError::validation(
                        "content",
                        "The edited draft is empty.",
                    ));
                }
                _ => {}
            }
            if reason.chars().count() > 2_000 || guidance.chars().count() > 2_000 {
                return Err(AppError::validation(
                    "reason",
                    "Keep the reason and guidance under 2,000 characters.",
                ));
            }
            if content.as_ref().is_some_and(|c| c.chars().count() > 50_000) {
                return Err(AppError::validation(
                    "content",
                    "The edited draft is longer than 50,000 characters.",
                ));
            }
            let scope = auth.scope();
            super::queries::review(
                &mut auth.tx,
                scope,
                id,
                version,
                verdict,
                content.as_deref(),
                &reason,
                &guidance,
            )
            .await?;
            audit::db::record(
                &mut auth.tx,
                scope.tenant_id,
                Some(scope.user_id),
                &format!("task.{}", verdict.as_str()),
                Some(&id.to_string()),
            )
            .await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}
