//! A/B rollout of a model on one prompt: an experiment sends `percent` of the prompt's calls to
//! a candidate model, sticky by a hash of the workspace, the contact or the user (the gateway
//! assigns each call, `ai::routing::in_candidate`, and records the arm). Metrics per arm come
//! from `ai_calls` (tagged with the experiment) and, for the pipeline's prompt, from the drafts
//! each model wrote while it ran. Promote makes the candidate the prompt's model (a new version
//! in production); stop ends it. Both are audited.
use super::{
    experiment_stats::{self, Arm},
    prompts::{active_model, lock, model_options},
    reassign::{self, Source},
    ExperimentView,
};
use crate::{
    error::AppError,
    ssr::{audit, tenancy::Tx},
};
use serde_json::json;
use uuid::Uuid;

pub const STICKY: [&str; 3] = ["workspace", "contact", "user"];

struct Head {
    id: Uuid,
    prompt_name: String,
    candidate_model: String,
    percent: i16,
    sticky_by: String,
    status: String,
    started_at: time::OffsetDateTime,
    ended_at: Option<time::OffsetDateTime>,
}

async fn heads(
    tx: &mut Tx,
    tenant: Uuid,
    name: &str,
    id: Option<Uuid>,
) -> Result<Vec<Head>, sqlx::Error> {
    sqlx::query_as!(
        Head,
        "select id, prompt_name, candidate_model, percent, sticky_by, status, started_at, ended_at
         from ai_experiments
         where tenant_id = $1 and ($2 = '' or prompt_name = $2) and ($3::uuid is null or id = $3)
         order by started_at desc limit 20",
        tenant,
        name,
        id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Both arms' numbers: calls tagged with the experiment, and drafts of the prompt written
/// while it ran (the candidate's are those its model wrote).
async fn arms(tx: &mut Tx, tenant: Uuid, h: &Head) -> Result<(Arm, Arm), sqlx::Error> {
    let calls = sqlx::query!(
        r#"select arm as "arm!",
                  count(*) filter (where not cache_hit) as "calls!", count(*) as "requests!",
                  percentile_cont(0.5) within group (order by latency_ms) filter (where not cache_hit) as p50,
                  percentile_cont(0.95) within group (order by latency_ms) filter (where not cache_hit) as p95,
                  (avg(latency_ms) filter (where not cache_hit))::float8 as mean_ms,
                  (stddev_samp(latency_ms) filter (where not cache_hit))::float8 as sd_ms,
                  count(*) filter (where status = 'error' and not cache_hit) as "errors!",
                  (avg(coalesce(cost_usd, 0)) filter (where not cache_hit))::float8 as cost,
                  (stddev_samp(coalesce(cost_usd, 0)) filter (where not cache_hit))::float8 as sd_cost,
                  count(*) filter (where cache_hit) as "cache_hits!"
           from ai_calls where tenant_id = $1 and experiment_id = $2 and arm is not null
           group by arm"#,
        tenant,
        h.id
    )
    .fetch_all(&mut **tx)
    .await?;
    let drafts = sqlx::query!(
        r#"select (d.model = $3) as "candidate!", count(d.quality_score) as "drafts!",
                  avg(d.quality_score)::float8 as quality, stddev_samp(d.quality_score)::float8 as sd_quality,
                  count(f.verdict) as "reviewed!",
                  count(*) filter (where f.verdict in ('approved', 'edited_and_approved')) as "approved!"
           from project_deliverables d
           left join ai_content_feedback f on f.deliverable_id = d.id and f.tenant_id = d.tenant_id
           where d.tenant_id = $1 and d.prompt_name = $2 and d.model is not null
             and d.created_at >= $4 and ($5::timestamptz is null or d.created_at <= $5)
           group by 1"#,
        tenant,
        h.prompt_name,
        h.candidate_model,
        h.started_at,
        h.ended_at
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut out = (Arm::default(), Arm::default());
    for c in calls {
        let arm = if c.arm == "candidate" {
            &mut out.1
        } else {
            &mut out.0
        };
        arm.calls = c.calls;
        arm.requests = c.requests;
        arm.p50_ms = c.p50;
        arm.p95_ms = c.p95;
        arm.mean_ms = c.mean_ms;
        arm.sd_ms = c.sd_ms;
        arm.errors = c.errors;
        arm.cost_per_call = c.cost;
        arm.sd_cost = c.sd_cost;
        arm.cache_hits = c.cache_hits;
    }
    for d in drafts {
        let arm = if d.candidate { &mut out.1 } else { &mut out.0 };
        arm.drafts = d.drafts;
        arm.quality = d.quality;
        arm.sd_quality = d.sd_quality;
        arm.reviewed = d.reviewed;
        arm.approved = d.approved;
    }
    Ok(out)
}

/// The prompt's experiments, newest first, each with its arms side by side.
pub async fn list(tx: &mut Tx, tenant: Uuid, name: &str) -> Result<Vec<ExperimentView>, AppError> {
    if name.is_empty() {
        return Ok(Vec::new());
    }
    let control = reassign::serving(tx, tenant, name)
        .await?
        .map(|s| s.ai_model)
        .unwrap_or_default();
    let mut out = Vec::new();
    for h in heads(tx, tenant, name, None).await? {
        let (c, k) = arms(tx, tenant, &h).await?;
        out.push(ExperimentView {
            id: h.id,
            prompt_name: h.prompt_name,
            candidate_model: h.candidate_model,
            control_model: control.clone(),
            percent: h.percent,
            sticky_by: h.sticky_by,
            status: h.status,
            started_at: h.started_at,
            ended_at: h.ended_at,
            metrics: experiment_stats::table(&c, &k),
        });
    }
    Ok(out)
}

pub async fn start(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    name: &str,
    candidate: &str,
    percent: i16,
    sticky_by: &str,
) -> Result<Uuid, AppError> {
    if !(1..=99).contains(&percent) {
        return Err(AppError::validation(
            "percent",
            "Send between 1% and 99% of calls to the candidate.",
        ));
    }
    if !STICKY.contains(&sticky_by) {
        return Err(AppError::validation(
            "sticky_by",
            "Keep assignments by workspace, contact or user.",
        ));
    }
    lock(tx, tenant, name).await?;
    let serving = reassign::serving(tx, tenant, name)
        .await?
        .ok_or(AppError::NotFound)?;
    let models = model_options(tx).await?;
    let m = active_model(&models, candidate, "candidate")?;
    if m.id == serving.ai_model {
        return Err(AppError::validation(
            "candidate",
            format!(
                "The prompt already runs on {}; choose another model to compare.",
                m.id
            ),
        ));
    }
    let running = sqlx::query_scalar!(
        "select count(*) from ai_experiments where tenant_id = $1 and prompt_name = $2 and status = 'running'",
        tenant,
        name
    )
    .fetch_one(&mut **tx)
    .await?
    .unwrap_or(0);
    if running > 0 {
        return Err(AppError::validation(
            "",
            "An experiment is already running on this prompt: promote or stop it first.",
        ));
    }
    let id = Uuid::new_v4();
    sqlx::query!(
        "insert into ai_experiments (tenant_id, id, prompt_name, candidate_model, percent, sticky_by, started_by)
         values ($1, $2, $3, $4, $5, $6, $7)",
        tenant,
        id,
        name,
        candidate,
        percent,
        sticky_by,
        actor
    )
    .execute(&mut **tx)
    .await?;
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        "experiment.started",
        name,
        json!({ "experiment": id, "control": serving.ai_model, "candidate": candidate,
                "percent": percent, "sticky_by": sticky_by }),
    )
    .await?;
    Ok(id)
}

/// Ends a running experiment: `promote` makes the candidate the prompt's model (a new version
/// in production, backed up), otherwise the prompt stays as it is.
pub async fn end(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    id: Uuid,
    promote: bool,
) -> Result<String, AppError> {
    let h = heads(tx, tenant, "", Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    if h.status != "running" {
        return Err(AppError::validation(
            "",
            format!("This experiment is already {}.", h.status),
        ));
    }
    let (c, k) = arms(tx, tenant, &h).await?;
    let mut message = "Stopped: every call goes to the prompt's model again.".to_owned();
    if promote {
        lock(tx, tenant, &h.prompt_name).await?;
        let serving = reassign::serving(tx, tenant, &h.prompt_name)
            .await?
            .ok_or(AppError::NotFound)?;
        if serving.ai_model != h.candidate_model {
            let note = format!(
                "Promoted from an experiment ({}% on {})",
                h.percent, h.candidate_model
            );
            let after = reassign::move_prompt(
                tx,
                tenant,
                actor,
                reassign::PromptMove {
                    name: &h.prompt_name,
                    current: &serving,
                    target: &h.candidate_model,
                    note: &note,
                },
                Source::Experiment(id),
            )
            .await?;
            message = format!(
                "Promoted: version {} of {} runs on {} in production.",
                after.version, h.prompt_name, h.candidate_model
            );
        }
    }
    let status = if promote { "promoted" } else { "stopped" };
    sqlx::query!(
        "update ai_experiments set status = $3, ended_by = $4, ended_at = now() where tenant_id = $1 and id = $2",
        tenant,
        id,
        status,
        actor
    )
    .execute(&mut **tx)
    .await?;
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        if promote {
            "experiment.promoted"
        } else {
            "experiment.stopped"
        },
        &h.prompt_name,
        json!({ "experiment": id, "candidate": h.candidate_model, "percent": h.percent,
                "calls": { "control": c.calls, "candidate": k.calls },
                "errors": { "control": c.errors, "candidate": k.errors } }),
    )
    .await?;
    Ok(message)
}
