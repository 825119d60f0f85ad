//! Legacy model migration plans (the upgrade guide's 5.1 → 5.2): a plan maps legacy models to
//! their replacements. The dry run lists every prompt, member setting and workspace setting it
//! would change; apply changes them in one transaction with a backup tagged by the plan;
//! rollback restores from the backup. After apply, a guard watches the new models' next N
//! calls and trips (an alert in the log and the audit trail, and a rollback when configured)
//! if their error rate or their drafts' quality falls past the plan's thresholds.
use super::{
    form::PlanInput,
    prompts::{active_model, lock, matching, model_options},
    reassign::{self, SettingRef, Source},
    PlanChange, PlanRow, PlansPage, PromptFilter,
};
use crate::{
    error::AppError,
    ssr::{
        audit,
        tenancy::{self, Tx},
    },
};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// The fewest calls (and drafts) the guard judges a rate on.
pub const MIN_GUARD_SAMPLE: i64 = 5;

struct Head {
    id: Uuid,
    name: String,
    mapping: serde_json::Value,
    status: String,
    guard_calls: i32,
    guard_max_error_rate: f32,
    guard_min_quality: Option<f32>,
    guard_auto_rollback: bool,
    guard_state: Option<String>,
    guard_note: Option<String>,
    created_at: time::OffsetDateTime,
    applied_at: Option<time::OffsetDateTime>,
    rolled_back_at: Option<time::OffsetDateTime>,
}

fn pairs(mapping: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = mapping
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn replacement<'a>(mapping: &'a [(String, String)], model: Option<&str>) -> Option<&'a str> {
    let model = model?;
    mapping
        .iter()
        .find(|(from, _)| from == model)
        .map(|(_, to)| to.as_str())
}

async fn heads(tx: &mut Tx, tenant: Uuid, id: Option<Uuid>) -> Result<Vec<Head>, sqlx::Error> {
    sqlx::query_as!(
        Head,
        "select id, name, mapping, status, guard_calls, guard_max_error_rate, guard_min_quality,
                guard_auto_rollback, guard_state, guard_note, created_at, applied_at, rolled_back_at
         from ai_model_plans where tenant_id = $1 and ($2::uuid is null or id = $2)
         order by created_at desc limit 50",
        tenant,
        id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Every row that applying `mapping` would change now.
pub async fn dry_run(
    tx: &mut Tx,
    tenant: Uuid,
    mapping: &[(String, String)],
) -> Result<Vec<PlanChange>, AppError> {
    let mut out = Vec::new();
    let models = model_options(tx).await?;
    for row in matching(tx, tenant, &PromptFilter::default(), &models).await? {
        if let Some(to) = replacement(mapping, Some(&row.model.id)) {
            out.push(PlanChange {
                target: "prompt".into(),
                label: row.name,
                tier: String::new(),
                from: row.model.id,
                to: to.to_owned(),
            });
        }
    }
    let workspace = sqlx::query!(
        "select fast_model, default_model, thinking_model from ai_workspace_settings where tenant_id = $1",
        tenant
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(w) = workspace {
        for (tier, model) in [
            ("fast", w.fast_model),
            ("default", w.default_model),
            ("thinking", w.thinking_model),
        ] {
            if let Some(to) = replacement(mapping, model.as_deref()) {
                out.push(PlanChange {
                    target: "workspace_setting".into(),
                    label: "Workspace".into(),
                    tier: tier.into(),
                    from: model.unwrap_or_default(),
                    to: to.to_owned(),
                });
            }
        }
    }
    let members = sqlx::query!(
        "select s.user_id, u.display_name, s.fast_model, s.default_model, s.thinking_model
         from ai_user_settings s join users u on u.id = s.user_id
         where s.tenant_id = $1 order by u.display_name, s.user_id",
        tenant
    )
    .fetch_all(&mut **tx)
    .await?;
    for m in members {
        for (tier, model) in [
            ("fast", m.fast_model),
            ("default", m.default_model),
            ("thinking", m.thinking_model),
        ] {
            if let Some(to) = replacement(mapping, model.as_deref()) {
                out.push(PlanChange {
                    target: "user_setting".into(),
                    label: m.display_name.clone(),
                    tier: tier.into(),
                    from: model.unwrap_or_default(),
                    to: to.to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// What an applied (or rolled back) plan changed, read from its backup.
async fn changed(tx: &mut Tx, tenant: Uuid, id: Uuid) -> Result<Vec<PlanChange>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select b.target, b.ref, b.tier, b.before->>'model' as "from!", b.after->>'model' as "to!",
                  u.display_name as "member?"
           from ai_model_backups b
           left join users u on b.target = 'user_setting' and u.id::text = b.ref
           where b.tenant_id = $1 and b.source = 'plan' and b.source_id = $2
           order by b.id"#,
        tenant,
        id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PlanChange {
            label: match r.target.as_str() {
                "prompt" => r.r#ref,
                "workspace_setting" => "Workspace".into(),
                _ => r.member.unwrap_or(r.r#ref),
            },
            target: r.target,
            tier: r.tier,
            from: r.from,
            to: r.to,
        })
        .collect())
}

/// The plans (newest first), each with its dry run or its changes; guards are checked first.
pub async fn page(tx: &mut Tx, tenant: Uuid) -> Result<PlansPage, AppError> {
    for h in heads(tx, tenant, None).await? {
        if h.guard_state.as_deref() == Some("watching") {
            check_guard(tx, tenant, h.id).await?;
        }
    }
    let mut plans = Vec::new();
    for h in heads(tx, tenant, None).await? {
        let mapping = pairs(&h.mapping);
        let changes = if h.status == "draft" {
            dry_run(tx, tenant, &mapping).await?
        } else {
            changed(tx, tenant, h.id).await?
        };
        plans.push(PlanRow {
            id: h.id,
            name: h.name,
            mapping,
            status: h.status,
            guard_calls: h.guard_calls,
            guard_max_error_rate: h.guard_max_error_rate,
            guard_min_quality: h.guard_min_quality,
            guard_auto_rollback: h.guard_auto_rollback,
            guard_state: h.guard_state,
            guard_note: h.guard_note,
            created_at: h.created_at,
            applied_at: h.applied_at,
            rolled_back_at: h.rolled_back_at,
            changes,
        });
    }
    Ok(PlansPage {
        plans,
        models: model_options(tx).await?,
    })
}

/// Saves a draft plan. Each legacy model must be a chat model of the catalog, each
/// replacement an active one.
pub async fn create(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    p: PlanInput,
) -> Result<Uuid, AppError> {
    let models = model_options(tx).await?;
    for (from, to) in &p.mapping {
        if !models.iter().any(|m| &m.id == from) {
            return Err(AppError::validation(
                "mapping",
                format!("{from:?} is not a chat model in the catalog."),
            ));
        }
        active_model(&models, to, "mapping")?;
    }
    let id = Uuid::new_v4();
    let mapping: serde_json::Map<String, serde_json::Value> = p
        .mapping
        .iter()
        .map(|(f, t)| (f.clone(), json!(t)))
        .collect();
    sqlx::query!(
        "insert into ai_model_plans (tenant_id, id, name, mapping, guard_calls, guard_max_error_rate,
                                     guard_min_quality, guard_auto_rollback, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        tenant,
        id,
        p.name,
        serde_json::Value::Object(mapping.clone()),
        p.guard_calls,
        p.guard_max_error_rate,
        p.guard_min_quality,
        p.guard_auto_rollback,
        actor
    )
    .execute(&mut **tx)
    .await?;
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        "model_plan.created",
        &p.name,
        json!({ "plan": id, "mapping": mapping, "guard_calls": p.guard_calls,
                "guard_max_error_rate": p.guard_max_error_rate, "guard_min_quality": p.guard_min_quality,
                "guard_auto_rollback": p.guard_auto_rollback }),
    )
    .await?;
    Ok(id)
}

async fn locked(tx: &mut Tx, tenant: Uuid, id: Uuid) -> Result<Head, AppError> {
    sqlx::query!(
        "select id from ai_model_plans where tenant_id = $1 and id = $2 for update",
        tenant,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AppError::NotFound)?;
    heads(tx, tenant, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

/// Applies a draft plan: every change of its dry run, each backed up, in this transaction.
pub async fn apply(tx: &mut Tx, tenant: Uuid, actor: Uuid, id: Uuid) -> Result<String, AppError> {
    let plan = locked(tx, tenant, id).await?;
    if plan.status != "draft" {
        return Err(AppError::validation(
            "",
            format!(
                "This plan is {}; only a draft can be applied.",
                plan.status.replace('_', " ")
            ),
        ));
    }
    let mapping = pairs(&plan.mapping);
    let note = format!("Legacy migration plan: {}", plan.name);
    let mut done = 0usize;
    for c in dry_run(tx, tenant, &mapping).await? {
        if c.target != "prompt" {
            continue;
        }
        lock(tx, tenant, &c.label).await?;
        let Some(s) = reassign::serving(tx, tenant, &c.label).await? else {
            continue;
        };
        if s.ai_model == c.from {
            reassign::move_prompt(
                tx,
                tenant,
                actor,
                reassign::PromptMove {
                    name: &c.label,
                    current: &s,
                    target: &c.to,
                    note: &note,
                },
                Source::Plan(id),
            )
            .await?;
            done += 1;
        }
    }
    // Settings: the dry run names members by display name; move them by id.
    let members = sqlx::query!(
        "select user_id, fast_model, default_model, thinking_model from ai_user_settings where tenant_id = $1",
        tenant
    )
    .fetch_all(&mut **tx)
    .await?;
    let workspace = sqlx::query!(
        "select fast_model, default_model, thinking_model from ai_workspace_settings where tenant_id = $1",
        tenant
    )
    .fetch_optional(&mut **tx)
    .await?;
    let mut settings: Vec<(SettingRef, Option<String>)> = Vec::new();
    for m in members {
        for (tier, model) in [
            ("fast", m.fast_model),
            ("default", m.default_model),
            ("thinking", m.thinking_model),
        ] {
            let at = SettingRef {
                target: "user_setting",
                user: Some(m.user_id),
                tier: tier.into(),
            };
            settings.push((at, model));
        }
    }
    if let Some(w) = workspace {
        for (tier, model) in [
            ("fast", w.fast_model),
            ("default", w.default_model),
            ("thinking", w.thinking_model),
        ] {
            let at = SettingRef {
                target: "workspace_setting",
                user: None,
                tier: tier.into(),
            };
            settings.push((at, model));
        }
    }
    for (at, model) in settings {
        if let (Some(from), Some(to)) = (model.as_deref(), replacement(&mapping, model.as_deref()))
        {
            if reassign::move_setting(tx, tenant, &at, from, to, Source::Plan(id)).await? {
                done += 1;
            }
        }
    }
    sqlx::query!(
        "update ai_model_plans set status = 'applied', applied_by = $3, applied_at = now(),
                guard_state = 'watching', guard_note = null
         where tenant_id = $1 and id = $2",
        tenant,
        id,
        actor
    )
    .execute(&mut **tx)
    .await?;
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        "model_plan.applied",
        &plan.name,
        json!({ "plan": id, "changed": done }),
    )
    .await?;
    Ok(format!(
        "Applied: {done} changed. The guard watches the next {} calls.",
        plan.guard_calls
    ))
}

/// Restores what an applied plan changed, where nothing changed it since. `actor` is `None`
/// when the guard rolls back.
pub async fn rollback(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<String, AppError> {
    let plan = locked(tx, tenant, id).await?;
    if plan.status != "applied" {
        return Err(AppError::validation(
            "",
            format!(
                "This plan is {}; only an applied plan can be rolled back.",
                plan.status.replace('_', " ")
            ),
        ));
    }
    let (mut restored, mut left) = (0usize, Vec::new());
    for b in reassign::backups(tx, tenant, Source::Plan(id)).await? {
        match reassign::restore(tx, tenant, actor, &b).await? {
            Some(_) => restored += 1,
            None => left.push(format!("{} {}", b.target, b.reference)),
        }
    }
    sqlx::query!(
        "update ai_model_plans set status = 'rolled_back', rolled_back_by = $3, rolled_back_at = now(),
                guard_state = case when guard_state = 'watching' then null else guard_state end
         where tenant_id = $1 and id = $2",
        tenant,
        id,
        actor
    )
    .execute(&mut **tx)
    .await?;
    audit::record_named(
        tx,
        tenant,
        actor,
        "model_plan.rolled_back",
        &plan.name,
        json!({ "plan": id, "restored": restored, "left_as_they_are": left }),
    )
    .await?;
    Ok(match left.len() {
        0 => format!("Rolled back: {restored} restored."),
        n => format!("Rolled back: {restored} restored, {n} changed since and left as they are."),
    })
}

/// What the guard makes of the calls and drafts seen so far.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Watching,
    Passed,
    Tripped(String),
}

/// `calls` and `error_rate` over the first `guard_calls` calls on the new models since apply;
/// `drafts` and `quality` (mean score) over their first drafts.
pub fn verdict(
    calls: i64,
    error_rate: f64,
    drafts: i64,
    quality: Option<f64>,
    guard_calls: i32,
    max_error_rate: f32,
    min_quality: Option<f32>,
) -> Verdict {
    if calls >= MIN_GUARD_SAMPLE && error_rate > f64::from(max_error_rate) {
        return Verdict::Tripped(format!(
            "Error rate {:.0}% over the first {calls} calls on the new models is above the plan's limit of {:.0}%.",
            error_rate * 100.0,
            max_error_rate * 100.0
        ));
    }
    if let (Some(min), Some(q)) = (min_quality, quality) {
        if drafts >= MIN_GUARD_SAMPLE && q < f64::from(min) {
            return Verdict::Tripped(format!(
                "Mean quality {q:.0} over the first {drafts} drafts on the new models is below the plan's minimum of {min:.0}."
            ));
        }
    }
    if calls >= i64::from(guard_calls) {
        Verdict::Passed
    } else {
        Verdict::Watching
    }
}

/// Checks one watched plan's guard and records a change of state; a trip is logged as an
/// alert and audited, and rolls the plan back when the plan says so.
pub async fn check_guard(tx: &mut Tx, tenant: Uuid, id: Uuid) -> Result<Verdict, AppError> {
    let Some(plan) = heads(tx, tenant, Some(id)).await?.into_iter().next() else {
        return Err(AppError::NotFound);
    };
    let (Some(since), Some("watching")) = (plan.applied_at, plan.guard_state.as_deref()) else {
        return Ok(Verdict::Watching);
    };
    let targets: Vec<String> = pairs(&plan.mapping).into_iter().map(|(_, to)| to).collect();
    let calls = sqlx::query!(
        r#"select count(*) as "n!", coalesce(avg(case when status = 'error' then 1.0 else 0.0 end), 0)::float8 as "rate!"
           from (select status from ai_calls
                 where tenant_id = $1 and created_at >= $2 and requested_model = any($3) and not cache_hit
                 order by created_at limit $4) c"#,
        tenant,
        since,
        &targets,
        i64::from(plan.guard_calls)
    )
    .fetch_one(&mut **tx)
    .await?;
    let drafts = sqlx::query!(
        r#"select count(*) as "n!", avg(quality_score)::float8 as quality
           from (select quality_score from project_deliverables
                 where tenant_id = $1 and created_at >= $2 and model = any($3) and quality_score is not null
                 order by created_at limit $4) d"#,
        tenant,
        since,
        &targets,
        i64::from(plan.guard_calls)
    )
    .fetch_one(&mut **tx)
    .await?;
    let v = verdict(
        calls.n,
        calls.rate,
        drafts.n,
        drafts.quality,
        plan.guard_calls,
        plan.guard_max_error_rate,
        plan.guard_min_quality,
    );
    match &v {
        Verdict::Watching => {}
        Verdict::Passed => {
            sqlx::query!(
                "update ai_model_plans set guard_state = 'passed',
                        guard_note = 'The first ' || guard_calls || ' calls on the new models stayed within the thresholds.'
                 where tenant_id = $1 and id = $2",
                tenant,
                id
            )
            .execute(&mut **tx)
            .await?;
        }
        Verdict::Tripped(why) => {
            tracing::warn!(alert = "model_plan_guard", plan = %id, %tenant, reason = %why, "legacy migration guard tripped");
            let note = if plan.guard_auto_rollback {
                format!("{why} Rolled back automatically.")
            } else {
                format!("{why} Roll back, or keep the plan and watch the models.")
            };
            sqlx::query!(
                "update ai_model_plans set guard_state = 'tripped', guard_note = $3 where tenant_id = $1 and id = $2",
                tenant,
                id,
                note
            )
            .execute(&mut **tx)
            .await?;
            audit::record_named(
                tx,
                tenant,
                None,
                "model_plan.guard_tripped",
                &plan.name,
                json!({ "plan": id, "reason": why, "calls": calls.n, "error_rate": calls.rate,
                        "drafts": drafts.n, "quality": drafts.quality, "auto_rollback": plan.guard_auto_rollback }),
            )
            .await?;
            crate::alerts::evaluate::raise(
                tx,
                tenant,
                &crate::alerts::evaluate::Firing {
                    kind: crate::alerts::AlertKind::ModelPlanGuard,
                    key: format!("model_plan_guard:{id}"),
                    critical: true,
                    title: format!("Migration plan “{}”: its guard tripped", plan.name),
                    detail: note.clone(),
                    link: Some("/models/plans".to_owned()),
                },
            )
            .await?;
            if plan.guard_auto_rollback {
                rollback(tx, tenant, None, id).await?;
            }
        }
    }
    Ok(v)
}

/// Checks every watched plan of every workspace, each in its own workspace's transaction;
/// returns how many it checked. Run by the server every few seconds.
pub async fn guard_sweep(pool: &PgPool) -> Result<usize, AppError> {
    let mut tx = tenancy::begin_anonymous(pool).await?;
    let watched = sqlx::query!(
        r#"select tenant_id as "tenant_id!", plan_id as "plan_id!" from app_watched_model_plans()"#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    for w in &watched {
        let scope = tenancy::Scope {
            tenant_id: w.tenant_id,
            user_id: Uuid::nil(),
        };
        let mut tx = tenancy::begin(pool, scope).await?;
        check_guard(&mut tx, w.tenant_id, w.plan_id).await?;
        tx.commit().await?;
    }
    Ok(watched.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_waits_for_a_sample_then_judges_errors_and_quality() {
        // Too few calls to judge, however bad.
        assert_eq!(verdict(4, 1.0, 0, None, 50, 0.2, None), Verdict::Watching);
        assert!(
            matches!(verdict(5, 0.4, 0, None, 50, 0.2, None), Verdict::Tripped(w) if w.contains("40%"))
        );
        assert_eq!(verdict(20, 0.1, 0, None, 50, 0.2, None), Verdict::Watching);
        assert_eq!(verdict(50, 0.1, 0, None, 50, 0.2, None), Verdict::Passed);
        assert!(
            matches!(verdict(30, 0.0, 6, Some(55.0), 50, 0.2, Some(70.0)), Verdict::Tripped(w) if w.contains("quality 55"))
        );
        // Quality is not watched when the plan sets no minimum.
        assert_eq!(
            verdict(50, 0.0, 6, Some(10.0), 50, 0.2, None),
            Verdict::Passed
        );
    }
}
