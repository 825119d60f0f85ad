//! Bulk reassignment: many prompts to one model at once. The forecast reprices the selected
//! prompts' last 30 days of calls at the target's price; apply moves them in one transaction
//! (a new version each, deployed) and keeps a backup; undo puts the production labels back.
use super::{
    bulk_message,
    prompts::{active_model, lock, matching, model_options},
    reassign::{self, Source},
    BulkSummary, Forecast, ForecastRow, ModelOption, PromptFilter, Selection, FORECAST_DAYS,
    MAX_SELECTED,
};
use crate::{
    error::AppError,
    ssr::{audit, tenancy::Tx},
};
use serde_json::json;
use uuid::Uuid;

pub const ALREADY_THERE: &str = "already on that model";
pub const NOT_FOUND: &str = "no such prompt";

/// The prompt names a selection covers, deduplicated and bounded.
pub async fn names(tx: &mut Tx, tenant: Uuid, sel: &Selection) -> Result<Vec<String>, AppError> {
    let mut names: Vec<String> = match &sel.all_matching {
        Some(filter) => {
            let clean = |v: &Option<String>| {
                v.as_deref()
                    .map(|s| s.trim().chars().take(100).collect::<String>())
                    .filter(|s| !s.is_empty())
            };
            let filter = PromptFilter {
                model: clean(&filter.model),
                provider: clean(&filter.provider),
                task: clean(&filter.task),
                q: clean(&filter.q),
            };
            let models = model_options(tx).await?;
            matching(tx, tenant, &filter, &models)
                .await?
                .into_iter()
                .map(|r| r.name)
                .collect()
        }
        None => sel
            .names
            .iter()
            .map(|n| n.trim().chars().take(64).collect::<String>())
            .filter(|n| !n.is_empty())
            .collect(),
    };
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Err(AppError::validation(
            "selection",
            "Select at least one prompt.",
        ));
    }
    if names.len() > MAX_SELECTED || sel.names.len() > MAX_SELECTED * 2 {
        return Err(AppError::validation(
            "selection",
            format!("Select at most {MAX_SELECTED} prompts at a time."),
        ));
    }
    Ok(names)
}

/// The target: an active chat model of the catalog, with its price now.
async fn target(tx: &mut Tx, id: &str) -> Result<ModelOption, AppError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(AppError::validation(
            "target",
            "Choose the model to move them to.",
        ));
    }
    let models = model_options(tx).await?;
    active_model(&models, id, "target").cloned()
}

/// The last 30 days of the prompts' calls (cache hits cost nothing and are left out), as they
/// cost and repriced at the target's price in effect now.
pub async fn forecast(
    tx: &mut Tx,
    tenant: Uuid,
    names: &[String],
    target_id: &str,
) -> Result<Forecast, AppError> {
    let target = target(tx, target_id).await?;
    let calls = sqlx::query!(
        r#"select prompt_name as "name!", count(*) as "calls!",
                  coalesce(sum(prompt_tokens), 0)::int8 as "prompt_tokens!",
                  coalesce(sum(completion_tokens), 0)::int8 as "completion_tokens!",
                  coalesce(sum(cost_usd), 0)::float8 as "cost!"
           from ai_calls
           where tenant_id = $1 and prompt_name = any($2)
             and created_at >= now() - make_interval(days => $3) and not cache_hit
           group by prompt_name"#,
        tenant,
        names,
        FORECAST_DAYS
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let serving = reassign::serving(tx, tenant, name).await?;
        let used = calls.iter().find(|c| &c.name == name);
        let (calls, pt, ct, cost) = used.map_or((0, 0, 0, 0.0), |c| {
            (c.calls, c.prompt_tokens, c.completion_tokens, c.cost)
        });
        let repriced = pt as f64 / 1000.0 * target.input_cost_per_1k
            + ct as f64 / 1000.0 * target.output_cost_per_1k;
        let (current_model, skip) = match &serving {
            None => (String::new(), Some(NOT_FOUND.to_owned())),
            Some(s) if s.ai_model == target.id => {
                (s.ai_model.clone(), Some(ALREADY_THERE.to_owned()))
            }
            Some(s) => (s.ai_model.clone(), None),
        };
        rows.push(ForecastRow {
            name: name.clone(),
            current_model,
            calls,
            prompt_tokens: pt,
            completion_tokens: ct,
            cost_now: cost,
            cost_target: repriced,
            skip,
        });
    }
    Ok(Forecast { target, rows })
}

/// Moves every selected prompt to the target in this transaction; one audit row names them.
pub async fn apply(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    names: &[String],
    target_id: &str,
) -> Result<BulkSummary, AppError> {
    let target = target(tx, target_id).await?;
    let id = Uuid::new_v4();
    let note = format!("Bulk reassignment to {}", target.id);
    let (mut updated, mut skipped) = (Vec::new(), Vec::new());
    for name in names {
        lock(tx, tenant, name).await?;
        match reassign::serving(tx, tenant, name).await? {
            None => skipped.push((name.clone(), NOT_FOUND.to_owned())),
            Some(s) if s.ai_model == target.id => {
                skipped.push((name.clone(), ALREADY_THERE.to_owned()))
            }
            Some(s) => {
                let after = reassign::move_prompt(
                    tx,
                    tenant,
                    actor,
                    reassign::PromptMove {
                        name,
                        current: &s,
                        target: &target.id,
                        note: &note,
                    },
                    Source::Bulk(id),
                )
                .await?;
                updated.push((name.clone(), s.version, after.version, s.ai_model));
            }
        }
    }
    sqlx::query!(
        "insert into ai_bulk_changes (tenant_id, id, target_model, updated, skipped, created_by)
         values ($1, $2, $3, $4, $5, $6)",
        tenant,
        id,
        target.id,
        updated.len() as i32,
        skipped.len() as i32,
        actor
    )
    .execute(&mut **tx)
    .await?;
    let detail = json!({
        "bulk_change": id,
        "target_model": target.id,
        "updated": updated.iter().map(|(n, from, to, model)| json!({
            "prompt": n, "from_version": from, "to_version": to, "from_model": model
        })).collect::<Vec<_>>(),
        "skipped": skipped.iter().map(|(n, why)| json!({ "prompt": n, "why": why })).collect::<Vec<_>>(),
    });
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        "prompt.bulk_reassigned",
        &target.id,
        detail,
    )
    .await?;
    Ok(BulkSummary {
        id,
        message: bulk_message(updated.len(), &skipped),
        updated: updated.into_iter().map(|u| u.0).collect(),
        skipped,
    })
}

/// Puts back the production labels a bulk change moved, where nobody moved them since.
pub async fn undo(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    id: Uuid,
) -> Result<BulkSummary, AppError> {
    let change = sqlx::query!(
        "select target_model, undone_at from ai_bulk_changes where tenant_id = $1 and id = $2 for update",
        tenant,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if change.undone_at.is_some() {
        return Err(AppError::validation("", "This change was already undone."));
    }
    let (mut restored, mut skipped) = (Vec::new(), Vec::new());
    for b in reassign::backups(tx, tenant, Source::Bulk(id)).await? {
        match reassign::restore(tx, tenant, Some(actor), &b).await? {
            Some(name) => restored.push(name),
            None => skipped.push((b.reference.clone(), "changed since".to_owned())),
        }
    }
    sqlx::query!(
        "update ai_bulk_changes set undone_by = $3, undone_at = now() where tenant_id = $1 and id = $2",
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
        "prompt.bulk_undone",
        &change.target_model,
        json!({ "bulk_change": id, "restored": restored, "skipped": skipped }),
    )
    .await?;
    let message = match skipped.len() {
        0 => format!("Undone: {} prompts are back on their previous versions.", restored.len()),
        n => format!(
            "Undone: {} prompts are back on their previous versions; {n} changed since and were left as they are.",
            restored.len()
        ),
    };
    Ok(BulkSummary {
        id,
        updated: restored,
        skipped,
        message,
    })
}
