//! All of the pipeline's SQL. This file holds the state machine's side: `transition` is the only
//! code that changes a task's state. It asks `state::check`, applies the move only at the
//! version it was decided on, writes the history row, and, for a move to `delivered`, marks the
//! latest draft delivered, all in one statement. `tasks` has what the pages read and write;
//! `work` has the worker's statements.
pub mod tasks;
pub mod work;

use super::state::{self, Actor, TaskState, TransitionError};
use crate::ssr::tenancy::Tx;
use uuid::Uuid;

/// One move of one task.
#[derive(Debug, Clone)]
pub struct Move<'a> {
    pub task_id: Uuid,
    /// The version the move was decided on; another move in between makes this one fail.
    pub version: i32,
    pub from: TaskState,
    pub to: TaskState,
    pub actor: Actor,
    pub user_id: Option<Uuid>,
    pub worker: Option<&'a str>,
    pub reason: &'a str,
}

impl<'a> Move<'a> {
    /// A move the pipeline makes by itself (a worker, or delivery on approval).
    pub fn system(
        task_id: Uuid,
        version: i32,
        from: TaskState,
        to: TaskState,
        worker: Option<&'a str>,
        reason: &'a str,
    ) -> Self {
        Self::by(Actor::System, task_id, version, from, to, worker, reason)
    }

    pub fn by(
        actor: Actor,
        task_id: Uuid,
        version: i32,
        from: TaskState,
        to: TaskState,
        worker: Option<&'a str>,
        reason: &'a str,
    ) -> Self {
        Self {
            task_id,
            version,
            from,
            to,
            actor,
            user_id: None,
            worker,
            reason,
        }
    }
}

/// Fields that change together with the state.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub attempts: Option<i16>,
    /// Some(None) clears it.
    pub retry_guidance: Option<Option<String>>,
    pub status_reason: Option<Option<String>>,
    /// Not claimed again for this many seconds.
    pub run_after_secs: Option<f64>,
    /// The worker lets go of the task (it waits for a person or is done).
    pub release_lease: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(transparent)]
    Illegal(#[from] TransitionError),
    /// Someone else moved the task first (another worker or a person).
    #[error("the task changed meanwhile (it is no longer {from} at version {version})")]
    Conflict { from: TaskState, version: i32 },
    /// A move to `delivered` also marks the draft delivered, so it goes through `deliver`.
    #[error("a task reaches delivered only through db::deliver")]
    DeliverOnly,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Changes {
    /// The task waits for a person (or is done): the worker lets go of it, saying why.
    pub fn waiting(reason: String) -> Self {
        Self {
            status_reason: Some(Some(reason)),
            release_lease: true,
            ..Default::default()
        }
    }

    /// The worker lets go of the task and nothing else changes.
    pub fn released() -> Self {
        Self {
            release_lease: true,
            ..Default::default()
        }
    }
}

/// Applies `m` (with `changes`) and records it; returns the task's new version.
#[tracing::instrument(skip_all, fields(task_id = %m.task_id, from = %m.from, to = %m.to))]
pub async fn transition(tx: &mut Tx, m: &Move<'_>, changes: &Changes) -> Result<i32, MoveError> {
    state::check(m.from, m.to, m.actor)?;
    if m.to == TaskState::Delivered {
        // Delivery also marks the draft delivered: only `deliver` does that.
        return Err(MoveError::DeliverOnly);
    }
    // One round trip: the move and its history row, or nothing when the version moved on.
    let new_version = sqlx::query_scalar!(
        r#"with moved as (
             update project_tasks set
                execution_state = $3,
                state_entered_at = now(),
                updated_at = now(),
                version = version + 1,
                attempts = coalesce($4, attempts),
                retry_guidance = case when $5 then $6 else retry_guidance end,
                status_reason = case when $7 then $8 else status_reason end,
                run_after = case when $9::float8 is null then run_after else now() + make_interval(secs => $9) end,
                lease_owner = case when $10 then null else lease_owner end,
                lease_expires_at = case when $10 then null else lease_expires_at end
             where id = $1 and version = $2 and execution_state = $11
             returning tenant_id, id, version
           ), logged as (
             insert into task_state_transitions (tenant_id, task_id, from_state, to_state, actor, actor_user_id, worker, reason)
             select tenant_id, id, $11, $3, $12, $13, $14, $15 from moved
           )
           select version as "version!" from moved"#,
        m.task_id,
        m.version,
        m.to.as_str(),
        changes.attempts,
        changes.retry_guidance.is_some(),
        changes.retry_guidance.clone().flatten(),
        changes.status_reason.is_some(),
        changes.status_reason.clone().flatten(),
        changes.run_after_secs,
        changes.release_lease,
        m.from.as_str(),
        m.actor.as_str(),
        m.user_id,
        m.worker,
        m.reason,
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(MoveError::Conflict { from: m.from, version: m.version })?;
    Ok(new_version)
}

/// A task's state and version as the database has them now.
#[tracing::instrument(skip_all)]
pub async fn current(tx: &mut Tx, task_id: Uuid) -> Result<Option<(TaskState, i32)>, sqlx::Error> {
    let row = sqlx::query!(
        "select execution_state, version from project_tasks where id = $1",
        task_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|r| TaskState::parse(&r.execution_state).map(|s| (s, r.version))))
}

/// Delivers an approved task, the one way a task reaches `delivered`: the move, its history row
/// and the latest draft marked delivered, in one statement (a unique index allows one delivered
/// draft per task).
#[tracing::instrument(skip_all, fields(%task_id))]
pub async fn deliver(
    tx: &mut Tx,
    task_id: Uuid,
    version: i32,
    worker: Option<&str>,
    reason: &str,
) -> Result<i32, MoveError> {
    let (from, to, actor) = (TaskState::Approved, TaskState::Delivered, Actor::System);
    state::check(from, to, actor)?;
    let new_version = sqlx::query_scalar!(
        r#"with moved as (
             update project_tasks set
                execution_state = 'delivered',
                state_entered_at = now(),
                updated_at = now(),
                version = version + 1,
                lease_owner = null,
                lease_expires_at = null
             where id = $1 and version = $2 and execution_state = 'approved'
             returning tenant_id, id, version
           ), logged as (
             insert into task_state_transitions (tenant_id, task_id, from_state, to_state, actor, worker, reason)
             select tenant_id, id, 'approved', 'delivered', 'system', $3, $4 from moved
           ), delivered as (
             update project_deliverables set delivered_at = now()
              where id = (select d.id from project_deliverables d join moved on d.task_id = moved.id
                           order by d.attempt desc limit 1)
           )
           select version as "version!" from moved"#,
        task_id,
        version,
        worker,
        reason,
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(MoveError::Conflict { from, version })?;
    Ok(new_version)
}

/// Gives up on a task: it moves to `failed` with `why` as its status, and the worker lets go.
#[tracing::instrument(skip_all)]
pub async fn fail(
    tx: &mut Tx,
    task_id: Uuid,
    version: i32,
    from: TaskState,
    worker: &str,
    why: &str,
) -> Result<i32, MoveError> {
    let m = Move::system(task_id, version, from, TaskState::Failed, Some(worker), why);
    transition(tx, &m, &Changes::waiting(why.to_owned())).await
}
