//! SQL behind the pipeline pages and reviewers' verdicts. Every statement runs in a
//! tenant-scoped transaction.
use crate::{
    pipeline::{
        instructions::AiInstructions,
        model::{
            AttemptView, Board, BoardFilter, BoardRow, CustomerOption, DiffLine, ExampleUsed,
            FeedbackView, QueueItem, QueuePage, TaskDetail, TransitionView, BOARD_PAGE_SIZE,
            QUEUE_PAGE_SIZE,
        },
        report::QualityReport,
        rules::Decision,
        state::TaskState,
    },
    ssr::tenancy::{Scope, Tx},
};
use serde_json::Value;
use uuid::Uuid;

/// Changes whenever a task of the workspace changes (or one is added or removed), and with the
/// filters; cheap: one index-only aggregate.
#[tracing::instrument(skip_all)]
pub async fn etag(tx: &mut Tx, f: &BoardFilter) -> Result<String, sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) as "n!", coalesce(max(extract(epoch from updated_at) * 1000000), 0)::bigint as "latest!"
             from project_tasks"#
    )
    .fetch_one(&mut **tx)
    .await?;
    let filters = serde_json::to_string(f).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in filters.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    Ok(format!("{}-{}-{h:x}", row.n, row.latest))
}

#[tracing::instrument(skip_all)]
pub async fn board(tx: &mut Tx, f: &BoardFilter, etag: String) -> Result<Board, sqlx::Error> {
    let counts = sqlx::query!(
        r#"select execution_state, count(*) as "n!"
             from project_tasks
            where ($1::uuid is null or customer_id = $1)
              and ($2::text is null or output_type = $2)
              and ($3::int is null or created_at > now() - make_interval(hours => $3))
            group by execution_state"#,
        f.customer,
        f.output_type,
        f.max_age_hours,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut counts: Vec<(TaskState, i64)> = counts
        .into_iter()
        .filter_map(|r| TaskState::parse(&r.execution_state).map(|s| (s, r.n)))
        .collect();
    counts.sort_by_key(|(s, _)| *s);
    let rows = sqlx::query!(
        r#"select t.id, t.title, c.name as customer_name, t.output_type as "output_type!", t.execution_state,
                  t.attempts, t.max_attempts, t.status_reason, t.created_at,
                  extract(epoch from now() - t.state_entered_at)::bigint as "state_age_secs!",
                  (select d.quality_score from project_deliverables d where d.task_id = t.id order by d.attempt desc limit 1) as quality
             from project_tasks t join customers c on c.id = t.customer_id
            where ($1::uuid is null or t.customer_id = $1)
              and ($2::text is null or t.output_type = $2)
              and ($3::int is null or t.created_at > now() - make_interval(hours => $3))
              and ($4::text is null or t.execution_state = $4)
              and ($5::uuid is null or (t.created_at, t.id) < (select created_at, id from project_tasks where id = $5))
            order by t.created_at desc, t.id desc
            limit $6"#,
        f.customer,
        f.output_type,
        f.max_age_hours,
        f.state,
        f.before,
        BOARD_PAGE_SIZE + 1,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut rows: Vec<BoardRow> = rows
        .into_iter()
        .filter_map(|r| {
            Some(BoardRow {
                id: r.id,
                title: r.title,
                customer_name: r.customer_name,
                output_type: r.output_type,
                state: TaskState::parse(&r.execution_state)?,
                attempts: r.attempts,
                max_attempts: r.max_attempts,
                quality: r.quality,
                status_reason: r.status_reason,
                created_at: r.created_at,
                state_age_secs: r.state_age_secs,
            })
        })
        .collect();
    let next_before = if rows.len() as i64 > BOARD_PAGE_SIZE {
        rows.truncate(BOARD_PAGE_SIZE as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(Board {
        etag,
        counts,
        rows,
        next_before,
        can_act: false,
    })
}

#[tracing::instrument(skip_all)]
pub async fn customers(tx: &mut Tx) -> Result<Vec<CustomerOption>, sqlx::Error> {
    sqlx::query_as!(
        CustomerOption,
        "select id, name from customers order by name limit 1000"
    )
    .fetch_all(&mut **tx)
    .await
}

/// A new task, and its project when the customer has none of that name yet (one statement
/// decides: the unique index on the project name, not a look-up first). A customer that is
/// not the workspace's fails on `projects_customer_fk`.
#[tracing::instrument(skip_all, fields(%customer_id))]
pub async fn create_task(
    tx: &mut Tx,
    scope: Scope,
    customer_id: Uuid,
    project: &str,
    title: &str,
    max_attempts: i16,
    instructions: &AiInstructions,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        r#"with project as (
             insert into projects (tenant_id, customer_id, name) values ($1, $2, $3)
             on conflict (tenant_id, customer_id, lower(name)) do update set name = projects.name
             returning id
           )
           insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, max_attempts, created_by)
           select $1, project.id, $2, $4, $5, $6, $7 from project
           returning id"#,
        scope.tenant_id,
        customer_id,
        project,
        title,
        serde_json::to_value(instructions).unwrap_or(Value::Null),
        max_attempts,
        scope.user_id,
    )
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip_all, fields(%id))]
pub async fn detail(tx: &mut Tx, id: Uuid) -> Result<Option<TaskDetail>, sqlx::Error> {
    let Some(t) = sqlx::query!(
        r#"select t.id, t.title, p.name as project, c.name as customer_name, t.execution_state, t.version, t.attempts,
                  t.max_attempts, t.ai_instructions, t.status_reason, t.retry_guidance, t.created_at
             from project_tasks t join projects p on p.id = t.project_id join customers c on c.id = t.customer_id
            where t.id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let (Some(state), Ok(instructions)) = (
        TaskState::parse(&t.execution_state),
        serde_json::from_value::<AiInstructions>(t.ai_instructions),
    ) else {
        return Ok(None);
    };
    let attempt_views = sqlx::query!(
        r#"select d.id, d.attempt, d.content, d.edited_content, d.model, d.provider,
                  ct.name || coalesce(' v' || d.template_version, '') as "template?", d.template_id,
                  d.examples_used, d.content_quality, d.decision_trace, d.delivered_at, d.created_at,
                  coalesce((select cu.updated_at > d.created_at from project_tasks t join customers cu on cu.id = t.customer_id
                             where t.id = d.task_id), false) as "context_outdated!"
             from project_deliverables d left join content_templates ct on ct.id = d.template_id
            where d.task_id = $1 order by d.attempt"#,
        id
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|d| AttemptView {
        id: d.id,
        attempt: d.attempt,
        content: d.content,
        edited_content: d.edited_content,
        model: d.model,
        provider: d.provider,
        template: d.template,
        template_id: d.template_id,
        examples: serde_json::from_value::<Vec<ExampleUsed>>(d.examples_used).unwrap_or_default(),
        quality: d
            .content_quality
            .and_then(|q| serde_json::from_value::<QualityReport>(q).ok()),
        decision: d
            .decision_trace
            .and_then(|q| serde_json::from_value::<Decision>(q).ok()),
        delivered_at: d.delivered_at,
        created_at: d.created_at,
        context_outdated: d.context_outdated,
    })
    .collect();
    let transitions = sqlx::query!(
        r#"select s.from_state, s.to_state, s.actor, u.display_name as "actor_name?", s.worker, s.reason, s.at
             from task_state_transitions s left join users u on u.id = s.actor_user_id
            where s.task_id = $1 order by s.id"#,
        id
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|s| TransitionView {
        from: s.from_state,
        to: s.to_state,
        actor: s.actor,
        actor_name: s.actor_name,
        worker: s.worker,
        reason: s.reason,
        at: s.at,
    })
    .collect();
    let feedback = sqlx::query!(
        r#"select f.verdict, u.display_name as "reviewer?", f.reason, f.guidance, f.edit_diff, f.created_at
             from ai_content_feedback f left join users u on u.id = f.reviewer_id
            where f.task_id = $1 order by f.created_at"#,
        id
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|f| FeedbackView {
        verdict: f.verdict,
        reviewer: f.reviewer,
        reason: f.reason,
        guidance: f.guidance,
        edit_diff: f.edit_diff.and_then(|d| serde_json::from_value(d).ok()).unwrap_or_default(),
        at: f.created_at,
    })
    .collect();
    Ok(Some(TaskDetail {
        id: t.id,
        title: t.title,
        project: t.project,
        customer_name: t.customer_name,
        state,
        version: t.version,
        attempts: t.attempts,
        max_attempts: t.max_attempts,
        instructions,
        status_reason: t.status_reason,
        retry_guidance: t.retry_guidance,
        created_at: t.created_at,
        attempt_views,
        transitions,
        feedback,
        can_promote: false,
    }))
}

#[tracing::instrument(skip_all)]
pub async fn queue(tx: &mut Tx, after: Option<Uuid>) -> Result<QueuePage, sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from project_tasks where execution_state in ('escalated', 'awaiting_review', 'failed')"#
    )
    .fetch_one(&mut **tx)
    .await?;
    let rows = sqlx::query!(
        r#"select t.id, t.version, t.title, c.name as customer_name, t.execution_state, t.status_reason, t.state_entered_at,
                  extract(epoch from now() - t.state_entered_at)::bigint as "waiting_secs!",
                  t.attempts, t.max_attempts,
                  d.content as "draft?", d.edited_content as "edited?", d.quality_score as "quality?"
             from project_tasks t
             join customers c on c.id = t.customer_id
             left join lateral (select content, edited_content, quality_score from project_deliverables
                                 where task_id = t.id order by attempt desc limit 1) d on true
            where t.execution_state in ('escalated', 'awaiting_review', 'failed')
              and ($1::uuid is null or (t.state_entered_at, t.id) > (select state_entered_at, id from project_tasks where id = $1))
            order by t.state_entered_at, t.id
            limit $2"#,
        after,
        QUEUE_PAGE_SIZE + 1,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut items: Vec<QueueItem> = rows
        .into_iter()
        .filter_map(|r| {
            Some(QueueItem {
                id: r.id,
                version: r.version,
                title: r.title,
                customer_name: r.customer_name,
                state: TaskState::parse(&r.execution_state)?,
                reason: r.status_reason,
                waiting_since: r.state_entered_at,
                waiting_secs: r.waiting_secs,
                attempts: r.attempts,
                max_attempts: r.max_attempts,
                draft: r.edited.or(r.draft),
                quality: r.quality,
            })
        })
        .collect();
    let next_after = if items.len() as i64 > QUEUE_PAGE_SIZE {
        items.truncate(QUEUE_PAGE_SIZE as usize);
        items.last().map(|i| i.id)
    } else {
        None
    };
    Ok(QueuePage {
        items,
        next_after,
        total,
        can_act: false,
    })
}

/// The latest draft of a task: its id and content.
#[tracing::instrument(skip_all)]
pub async fn latest_draft(
    tx: &mut Tx,
    task_id: Uuid,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "select id, content from project_deliverables where task_id = $1 order by attempt desc limit 1",
        task_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|d| (d.id, d.content)))
}

/// One more attempt than already made, so the rules do not escalate a sent-back task at once.
#[tracing::instrument(skip_all)]
pub async fn allow_another_attempt(tx: &mut Tx, task_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update project_tasks set max_attempts = greatest(max_attempts, attempts + 1) where id = $1",
        task_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps a reviewer's edit beside the draft the AI wrote.
#[tracing::instrument(skip_all)]
pub async fn store_edit(
    tx: &mut Tx,
    deliverable_id: Uuid,
    content: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update project_deliverables set edited_content = $2 where id = $1",
        deliverable_id,
        content
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A reviewer's verdict, as the learning loop reads it.
pub struct Feedback<'a> {
    pub task_id: Uuid,
    pub deliverable_id: Uuid,
    pub verdict: &'a str,
    pub reason: &'a str,
    pub guidance: &'a str,
    pub original: &'a str,
    pub edited: Option<&'a str>,
    pub diff: Option<Vec<DiffLine>>,
}

#[tracing::instrument(skip_all, fields(task_id = %f.task_id, verdict = f.verdict))]
pub async fn insert_feedback(
    tx: &mut Tx,
    scope: Scope,
    f: Feedback<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into ai_content_feedback (tenant_id, task_id, deliverable_id, verdict, reviewer_id, reason, guidance, original_content, edited_content, edit_diff)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        scope.tenant_id,
        f.task_id,
        f.deliverable_id,
        f.verdict,
        scope.user_id,
        f.reason,
        f.guidance,
        f.original,
        f.edited,
        f.diff.map(|d| serde_json::to_value(d).unwrap_or(Value::Null)),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A task's title, to name it in the audit log.
#[tracing::instrument(skip_all)]
pub async fn title(tx: &mut Tx, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("select title from project_tasks where id = $1", id)
        .fetch_optional(&mut **tx)
        .await
}
