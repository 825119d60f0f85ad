//! SQL behind the pipeline pages. Every statement runs in a tenant-scoped transaction.
use super::{
    db::{self, Changes, Move, MoveError},
    instructions::AiInstructions,
    report::QualityReport,
    rules::Decision,
    state::{Actor, TaskState},
    views::{
        AttemptView, Board, BoardFilter, BoardRow, CustomerOption, DiffLine, ExampleUsed,
        FeedbackView, QueueItem, QueuePage, TaskDetail, TransitionView, Verdict, BOARD_PAGE_SIZE,
        QUEUE_PAGE_SIZE,
    },
};
use crate::{
    error::AppError,
    ssr::tenancy::{Scope, Tx},
};
use serde_json::Value;
use uuid::Uuid;

/// Changes whenever a task of the workspace changes (or one is added or removed), and with the
/// filters; cheap: one index-only aggregate.
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
    })
}

pub async fn customers(tx: &mut Tx) -> Result<Vec<CustomerOption>, sqlx::Error> {
    sqlx::query_as!(
        CustomerOption,
        "select id, name from customers order by name limit 1000"
    )
    .fetch_all(&mut **tx)
    .await
}

/// The new task's id; None when the customer is not the workspace's.
pub async fn create_task(
    tx: &mut Tx,
    scope: Scope,
    customer_id: Uuid,
    project: &str,
    title: &str,
    max_attempts: i16,
    instructions: &AiInstructions,
) -> Result<Option<Uuid>, sqlx::Error> {
    let exists = sqlx::query_scalar!(
        "select exists(select 1 from customers where id = $1) as \"e!\"",
        customer_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if !exists {
        return Ok(None);
    }
    let project_id = match sqlx::query_scalar!(
        "select id from projects where customer_id = $1 and lower(name) = lower($2) order by created_at limit 1",
        customer_id,
        project
    )
    .fetch_optional(&mut **tx)
    .await?
    {
        Some(id) => id,
        None => {
            sqlx::query_scalar!(
                "insert into projects (tenant_id, customer_id, name) values ($1, $2, $3) returning id",
                scope.tenant_id,
                customer_id,
                project
            )
            .fetch_one(&mut **tx)
            .await?
        }
    };
    let id = sqlx::query_scalar!(
        "insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, max_attempts, created_by)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
        scope.tenant_id,
        project_id,
        customer_id,
        title,
        serde_json::to_value(instructions).unwrap_or(Value::Null),
        max_attempts,
        scope.user_id,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Some(id))
}

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
        r#"select d.id, d.attempt, d.content, d.edited_content, d.model, d.provider, ct.name as "template?",
                  d.examples_used, d.content_quality, d.decision_trace, d.delivered_at, d.created_at
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
        examples: serde_json::from_value::<Vec<ExampleUsed>>(d.examples_used).unwrap_or_default(),
        quality: d.content_quality.and_then(|q| serde_json::from_value::<QualityReport>(q).ok()),
        decision: d.decision_trace.and_then(|q| serde_json::from_value::<Decision>(q).ok()),
        delivered_at: d.delivered_at,
        created_at: d.created_at,
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
    }))
}

pub async fn queue(tx: &mut Tx, after: Option<Uuid>) -> Result<QueuePage, sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from project_tasks where execution_state in ('escalated', 'awaiting_review')"#
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
            where t.execution_state in ('escalated', 'awaiting_review')
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
    })
}

/// A line diff from `before` to `after` (the `similar` crate), for the feedback record.
pub fn line_diff(before: &str, after: &str) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    TextDiff::from_lines(before, after)
        .iter_all_changes()
        .map(|c| DiffLine {
            op: match c.tag() {
                ChangeTag::Equal => "keep",
                ChangeTag::Insert => "add",
                ChangeTag::Delete => "remove",
            }
            .into(),
            text: c.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}

/// Applies a reviewer's verdict: moves the task (delivering an approval at once), stores the
/// edit, and records the feedback the learning loop reads.
#[allow(clippy::too_many_arguments)]
pub async fn review(
    tx: &mut Tx,
    scope: Scope,
    id: Uuid,
    version: i32,
    verdict: Verdict,
    content: Option<&str>,
    reason: &str,
    guidance: &str,
) -> Result<(), AppError> {
    let Some((state, current)) = db::current(tx, id).await? else {
        return Err(AppError::NotFound);
    };
    if current != version || !state.needs_a_person() {
        return Err(AppError::validation(
            "",
            format!(
                "This task changed meanwhile (it is now {}). Reload to see it.",
                state.label().to_lowercase()
            ),
        ));
    }
    let Some(d) = sqlx::query!(
        "select id, content from project_deliverables where task_id = $1 order by attempt desc limit 1",
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Err(AppError::validation("", "This task has no draft to review yet."));
    };
    let user = Some(scope.user_id);
    let mv = |to: TaskState, version: i32, reason: String| (to, version, reason);
    let (to, _, why) = match verdict {
        Verdict::Approve => mv(
            TaskState::Approved,
            version,
            "Approved by a reviewer".into(),
        ),
        Verdict::EditAndApprove => mv(
            TaskState::Approved,
            version,
            "Edited and approved by a reviewer".into(),
        ),
        Verdict::Reject => mv(
            TaskState::Rejected,
            version,
            format!("Rejected by a reviewer: {reason}"),
        ),
        Verdict::SendBack => mv(
            TaskState::RetryScheduled,
            version,
            format!("Sent back by a reviewer: {guidance}"),
        ),
    };
    let changes = match verdict {
        Verdict::Approve | Verdict::EditAndApprove => Changes {
            status_reason: Some(None),
            ..Default::default()
        },
        Verdict::Reject => Changes {
            status_reason: Some(Some(reason.to_owned())),
            ..Default::default()
        },
        Verdict::SendBack => Changes {
            retry_guidance: Some(Some(guidance.to_owned())),
            status_reason: Some(Some(format!("Sent back: {guidance}"))),
            run_after_secs: Some(0.0),
            ..Default::default()
        },
    };
    let m = Move {
        task_id: id,
        version,
        from: state,
        to,
        actor: Actor::User,
        user_id: user,
        worker: None,
        reason: &why,
    };
    let mut v = db::transition(tx, &m, &changes).await.map_err(move_error)?;
    if verdict == Verdict::SendBack {
        // One more attempt than already made, so the rules do not escalate it again at once.
        sqlx::query!("update project_tasks set max_attempts = greatest(max_attempts, attempts + 1) where id = $1", id)
            .execute(&mut **tx)
            .await?;
    }
    let edited = match (verdict, content) {
        (Verdict::EditAndApprove, Some(c)) if c != d.content.trim() => Some(c),
        _ => None,
    };
    if let Some(c) = edited {
        sqlx::query!(
            "update project_deliverables set edited_content = $2 where id = $1",
            d.id,
            c
        )
        .execute(&mut **tx)
        .await?;
    }
    if to == TaskState::Approved {
        let m = Move {
            task_id: id,
            version: v,
            from: TaskState::Approved,
            to: TaskState::Delivered,
            actor: Actor::System,
            user_id: None,
            worker: None,
            reason: "Delivered on approval",
        };
        v = db::transition(
            tx,
            &m,
            &Changes {
                release_lease: true,
                ..Default::default()
            },
        )
        .await
        .map_err(move_error)?;
        sqlx::query!(
            "update project_deliverables set delivered_at = now() where id = $1",
            d.id
        )
        .execute(&mut **tx)
        .await?;
    }
    let _ = v;
    let feedback_verdict = match (verdict, edited.is_some()) {
        (Verdict::Approve, _) | (Verdict::EditAndApprove, false) => "approved",
        (Verdict::EditAndApprove, true) => "edited_and_approved",
        (Verdict::Reject, _) => "rejected",
        (Verdict::SendBack, _) => "sent_back",
    };
    let diff =
        edited.map(|c| serde_json::to_value(line_diff(&d.content, c)).unwrap_or(Value::Null));
    sqlx::query!(
        "insert into ai_content_feedback (tenant_id, task_id, deliverable_id, verdict, reviewer_id, reason, guidance, original_content, edited_content, edit_diff)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        scope.tenant_id,
        id,
        d.id,
        feedback_verdict,
        scope.user_id,
        reason,
        guidance,
        d.content,
        edited,
        diff,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn move_error(e: MoveError) -> AppError {
    match e {
        MoveError::Db(e) => AppError::from(e),
        other => AppError::validation("", format!("{other}. Reload to see the task as it is now.")),
    }
}

#[cfg(test)]
mod tests {
    use super::line_diff;

    #[test]
    fn the_diff_keeps_what_stayed_and_names_what_changed() {
        let d = line_diff(
            "Hi Sam,\nBuy now!\nThanks",
            "Hi Sam,\nBook your visit today.\nThanks",
        );
        let ops: Vec<(&str, &str)> = d.iter().map(|l| (l.op.as_str(), l.text.as_str())).collect();
        assert_eq!(
            ops,
            [
                ("keep", "Hi Sam,"),
                ("remove", "Buy now!"),
                ("add", "Book your visit today."),
                ("keep", "Thanks")
            ]
        );
    }
}
