//! The worker's statements: claiming, reading what a draft is made from, keeping the draft and
//! its scores, and renewing the lease. State changes go through `db::transition`.
use crate::{
    crm::{db::customer_from_row, Customer},
    pipeline::{
        prompt::{Example, ExampleSource, Template},
        rules::{DecisionRule, RuleAction, RuleCategory},
        state::TaskState,
    },
    ssr::tenancy::Tx,
};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// A task a worker has leased.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Claimed {
    pub tenant_id: Uuid,
    pub task_id: Uuid,
    pub state: TaskState,
    pub version: i32,
}

/// The task as a draft needs it, with its customer.
pub struct TaskRow {
    pub title: String,
    pub instructions: Value,
    pub attempts: i16,
    pub max_attempts: i16,
    pub retry_guidance: Option<String>,
    pub age_hours: f64,
    pub customer: Customer,
}

/// Leases up to `limit` claimable tasks of any workspace (`pipeline_claim`: `FOR UPDATE SKIP
/// LOCKED`, a lease, a version bump). Runs outside any tenant: the function is the one door.
#[tracing::instrument(skip_all, fields(%worker, limit = limit))]
pub async fn claim(
    tx: &mut Tx,
    worker: &str,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", task_id as "task_id!", execution_state as "state!", version as "version!"
           from pipeline_claim($1, $2, $3)"#,
        worker,
        i32::try_from(lease.as_secs()).unwrap_or(3600).max(1),
        i32::try_from(limit).unwrap_or(100),
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            TaskState::parse(&r.state).map(|state| Claimed {
                tenant_id: r.tenant_id,
                task_id: r.task_id,
                state,
                version: r.version,
            })
        })
        .collect())
}

/// The task and its customer in one round trip. A customer column that does not decode fails
/// with `sqlx::Error::ColumnDecode` naming the column.
#[tracing::instrument(skip_all, fields(%task_id))]
pub async fn load_task(tx: &mut Tx, task_id: Uuid) -> Result<TaskRow, sqlx::Error> {
    let r = sqlx::query!(
        r#"select t.title, t.ai_instructions, t.attempts, t.max_attempts, t.retry_guidance,
                  extract(epoch from now() - t.created_at)::float8 / 3600 as "age_hours!",
                  c.id, c.name, c.website, c.industry_category, c.industry_subcategory,
                  c.business_description, c.unique_selling_points,
                  c.products_services, c.target_audience, c.business_hours, c.brand_voice,
                  c.content_preferences,
                  c.competitors, c.compliance, c.is_vip, c.updated_at
             from project_tasks t join customers c on c.id = t.customer_id
            where t.id = $1"#,
        task_id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(TaskRow {
        title: r.title,
        instructions: r.ai_instructions,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        retry_guidance: r.retry_guidance,
        age_hours: r.age_hours,
        customer: customer_from_row!(r)?,
    })
}

/// The template for this content type: the workspace's own before built-ins, the customer's
/// industry before any-industry ones.
#[tracing::instrument(skip_all, fields(%output_type))]
pub async fn best_template(
    tx: &mut Tx,
    output_type: &str,
    industry: &str,
) -> Result<Option<Template>, sqlx::Error> {
    let row = sqlx::query!(
        "select id, name, body, guidelines, active_version as \"version!\" from content_templates
          where active and output_type = $1 and (industry = '' or industry = $2)
          order by (industry = $2) desc, (tenant_id is not null) desc, created_at, name, id
          limit 1",
        output_type,
        industry
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| Template {
        id: r.id,
        version: r.version,
        name: r.name,
        body: r.body,
        guidelines: r.guidelines,
    }))
}

/// Good and bad examples a draft is given.
pub const POSITIVE_EXAMPLES: i64 = 3;
pub const NEGATIVE_EXAMPLES: i64 = 2;

/// The examples a draft of `output_type` is written with: the nearest positive and negative
/// ones, and a note when there are none. The worker and the template preview both use this.
pub async fn draft_examples(
    tx: &mut Tx,
    vector: &pgvector::Vector,
    model: &str,
    output_type: &str,
    prefer: ExampleScope<'_>,
) -> Result<(Vec<Example>, Option<String>), sqlx::Error> {
    let mut found = nearest_examples(
        tx,
        vector,
        model,
        "positive",
        output_type,
        prefer,
        POSITIVE_EXAMPLES,
    )
    .await?;
    found.extend(
        nearest_examples(
            tx,
            vector,
            model,
            "negative",
            output_type,
            prefer,
            NEGATIVE_EXAMPLES,
        )
        .await?,
    );
    let note = found
        .is_empty()
        .then(|| format!("No {output_type} examples embedded with {model} yet."));
    Ok((found, note))
}

/// Whose examples to prefer, and in which order: this customer's own, then its industry's,
/// then any business's.
#[derive(Debug, Clone, Copy)]
pub struct ExampleScope<'a> {
    pub customer_id: Uuid,
    pub industry: &'a str,
}

/// The `k` examples of this polarity and content type closest to `vector`, among those embedded
/// by `model` (vectors of different models are never compared), the customer's own first, then
/// its industry's, then any. Each tier is its own nearest-neighbour search (HNSW, ef_search 100,
/// iterative scan, so the filters still leave `k` rows when there are that many); each example
/// says which tier found it.
#[tracing::instrument(skip_all, fields(%polarity, %output_type, k = k))]
pub async fn nearest_examples(
    tx: &mut Tx,
    vector: &pgvector::Vector,
    model: &str,
    polarity: &str,
    output_type: &str,
    prefer: ExampleScope<'_>,
    k: i64,
) -> Result<Vec<Example>, sqlx::Error> {
    sqlx::query!(
        "select set_config('hnsw.iterative_scan', 'strict_order', true) as a, set_config('hnsw.ef_search', '100', true) as b"
    )
        .fetch_one(&mut **tx)
        .await?;
    let rows = sqlx::query!(
        r#"with candidates as (
             (select id, 0 as tier, embedding <=> $1 as distance from content_examples
               where archived_at is null and embedding_model = $2 and polarity = $3 and output_type = $4 and customer_id = $6
               order by embedding <=> $1 limit $5)
             union all
             (select id, 1, embedding <=> $1 from content_examples
               where archived_at is null and embedding_model = $2 and polarity = $3 and output_type = $4 and $7 <> '' and industry = $7
               order by embedding <=> $1 limit $5)
             union all
             (select id, 2, embedding <=> $1 from content_examples
               where archived_at is null and embedding_model = $2 and polarity = $3 and output_type = $4
               order by embedding <=> $1 limit $5)
           ), best as (
             select distinct on (id) id, tier, distance from candidates order by id, tier
           )
           select e.id, e.polarity, e.content, e.annotation, e.takeaways, b.tier as "tier!",
                  (1 - b.distance)::float4 as "similarity!", e.embedding as "embedding!: pgvector::Vector"
           from best b join content_examples e on e.id = b.id
           order by b.tier, b.distance
           limit $5"#,
        vector as &pgvector::Vector,
        model,
        polarity,
        output_type,
        k,
        prefer.customer_id,
        prefer.industry,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Example {
            id: r.id,
            polarity: r.polarity,
            content: r.content,
            annotation: r.annotation,
            takeaways: r.takeaways,
            similarity: r.similarity,
            source: ExampleSource::from_tier(r.tier),
            embedding: r.embedding.to_vec(),
        })
        .collect())
}

/// The rules in force: the workspace's live ones, and the built-ins it has not replaced (by a
/// live copy, or a live rule of the same name).
#[tracing::instrument(skip_all)]
pub async fn load_rules(tx: &mut Tx, tenant: Uuid) -> Result<Vec<DecisionRule>, sqlx::Error> {
    let rows = sqlx::query!(
        "select r.id, r.name, r.category, r.priority, r.condition, r.action, r.enabled, r.version
           from ai_decision_rules r
          where r.live
            and (r.tenant_id = $1
                 or (r.tenant_id is null
                     and not exists (select 1 from ai_decision_rules w
                                      where w.tenant_id = $1 and w.live and (w.replaces = r.id or w.name = r.name))))
          order by r.priority, r.name
          limit 1000",
        tenant
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let category = RuleCategory::parse(&r.category)?;
            let action = match serde_json::from_value::<RuleAction>(r.action) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(rule = %r.name, error = %e, "skipping a rule whose action cannot be read");
                    return None;
                }
            };
            Some(DecisionRule {
                id: r.id,
                name: r.name,
                category,
                priority: r.priority,
                condition: r.condition,
                action,
                enabled: r.enabled,
                version: r.version,
            })
        })
        .collect())
}

/// Extends the lease while the task is still this worker's (every move that lets go of the
/// task clears the owner); false when it is not.
#[tracing::instrument(skip_all)]
pub async fn renew_lease(
    tx: &mut Tx,
    task_id: Uuid,
    worker: &str,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "update project_tasks set lease_expires_at = now() + make_interval(secs => $3)
         where id = $1 and lease_owner = $2",
        task_id,
        worker,
        lease.as_secs_f64(),
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Ends this worker's lease on a task now (the worker is stopping), so the next claim takes it.
#[tracing::instrument(skip_all, fields(%task_id, %worker))]
pub async fn expire_lease(tx: &mut Tx, task_id: Uuid, worker: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update project_tasks set lease_expires_at = now() where id = $1 and lease_owner = $2",
        task_id,
        worker
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How many attempts a task has made and may make, and what its status says.
pub struct Standing {
    pub attempts: i16,
    pub max_attempts: i16,
    pub status_reason: Option<String>,
}

#[tracing::instrument(skip_all, fields(%task_id))]
pub async fn standing(tx: &mut Tx, task_id: Uuid) -> Result<Standing, sqlx::Error> {
    let r = sqlx::query!(
        "select attempts, max_attempts, status_reason from project_tasks where id = $1",
        task_id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Standing {
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        status_reason: r.status_reason,
    })
}

/// A task this worker holds, as it is now, locked for the rest of the transaction.
pub struct HeldTask {
    pub state: TaskState,
    pub version: i32,
    pub attempts: i16,
    pub max_attempts: i16,
}

#[tracing::instrument(skip_all, fields(%task_id, %worker))]
pub async fn held(
    tx: &mut Tx,
    task_id: Uuid,
    worker: &str,
) -> Result<Option<HeldTask>, sqlx::Error> {
    let row = sqlx::query!(
        "select execution_state, version, attempts, max_attempts from project_tasks
          where id = $1 and lease_owner = $2 for update",
        task_id,
        worker
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|r| {
        Some(HeldTask {
            state: TaskState::parse(&r.execution_state)?,
            version: r.version,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
        })
    }))
}

/// The workspace's other customers whose names occur in `text`, case-insensitively (at most
/// ten; names under three characters are left out). The scorer then checks each as a whole
/// phrase.
#[tracing::instrument(skip_all, fields(%customer_id))]
pub async fn other_customers_named(
    tx: &mut Tx,
    customer_id: Uuid,
    text: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select name from customers
          where id <> $1 and char_length(name) >= 3 and strpos(lower($2), lower(name)) > 0
          order by name limit 10",
        customer_id,
        text
    )
    .fetch_all(&mut **tx)
    .await
}

/// A new draft of a task, as the model wrote it.
pub struct NewDeliverable<'a> {
    pub tenant_id: Uuid,
    pub task_id: Uuid,
    pub attempt: i16,
    pub content: &'a str,
    pub model: &'a str,
    pub provider: &'a str,
    pub prompt_name: &'a str,
    pub prompt_version: i32,
    pub template_id: Option<Uuid>,
    pub template_version: Option<i32>,
    pub context_used: Value,
    pub examples_used: Value,
}

#[tracing::instrument(skip_all, fields(task_id = %d.task_id, attempt = d.attempt))]
pub async fn insert_deliverable(tx: &mut Tx, d: NewDeliverable<'_>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into project_deliverables
           (tenant_id, task_id, attempt, content, model, provider, prompt_name, prompt_version, template_id, template_version, context_used, examples_used)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         returning id",
        d.tenant_id,
        d.task_id,
        d.attempt,
        d.content,
        d.model,
        d.provider,
        d.prompt_name,
        d.prompt_version,
        d.template_id,
        d.template_version,
        d.context_used,
        d.examples_used,
    )
    .fetch_one(&mut **tx)
    .await
}

/// A draft's scores and the decision made on them.
pub struct Scores<'a> {
    pub quality: Value,
    pub overall: i16,
    pub success_evaluation: Value,
    pub decision: &'a str,
    pub decision_trace: Value,
    /// What the rules saw: simulations and the bench replay it.
    pub decision_context: &'a Value,
}

#[tracing::instrument(skip_all, fields(%deliverable_id))]
pub async fn store_scores(
    tx: &mut Tx,
    deliverable_id: Uuid,
    s: Scores<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update project_deliverables
            set content_quality = $2, quality_score = $3, success_evaluation = $4, decision = $5, decision_trace = $6,
                decision_context = $7
          where id = $1",
        deliverable_id,
        s.quality,
        s.overall,
        s.success_evaluation,
        s.decision,
        s.decision_trace,
        s.decision_context,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
