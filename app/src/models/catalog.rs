//! The model catalog: reading it with each model's 30-day usage in this workspace, and the
//! operator workspace's edits (models, statuses, the recommended model of a tier, prices from
//! a date). Every edit is audited; the trigger on the tables tells every instance to reload.
use super::{
    form::{ModelInput, PriceInput},
    CatalogPage, ModelRow, PriceRow, Usage,
};
use crate::{
    error::AppError,
    ssr::{audit, tenancy::Tx},
};
use serde_json::json;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// Whether this workspace edits the shared catalog (the database's word, which its policies
/// enforce too).
pub async fn operates(tx: &mut Tx) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"select app_operates_catalog() as "operates!""#)
        .fetch_one(&mut **tx)
        .await
}

struct Head {
    id: String,
    provider: String,
    display_name: String,
    tier: String,
    kind: String,
    status: String,
    recommended: bool,
    context_window: i32,
    dimensions: Option<i32>,
}

struct Priced {
    model_id: String,
    effective_from: OffsetDateTime,
    input_cost_per_1k: f64,
    output_cost_per_1k: f64,
}

/// Every model with its prices, usage and prompts in this workspace.
pub async fn page(tx: &mut Tx, tenant: Uuid) -> Result<CatalogPage, AppError> {
    let heads = sqlx::query_as!(
        Head,
        "select id, provider, display_name, tier, kind, status, recommended, context_window, dimensions
         from ai_models order by kind, case tier when 'fast' then 0 when 'default' then 1 else 2 end, id"
    )
    .fetch_all(&mut **tx)
    .await?;
    let prices = sqlx::query_as!(
        Priced,
        "select model_id, effective_from, input_cost_per_1k, output_cost_per_1k
         from ai_model_prices order by model_id, effective_from desc"
    )
    .fetch_all(&mut **tx)
    .await?;
    let usage = sqlx::query!(
        r#"select coalesce(model, requested_model) as "model!", count(*) as "calls!",
                  coalesce(sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)), 0)::int8 as "tokens!",
                  coalesce(sum(cost_usd), 0)::float8 as "cost!",
                  percentile_cont(0.5) within group (order by latency_ms) as p50,
                  avg(case when status = 'error' then 1.0 else 0.0 end)::float8 as error_rate
           from ai_calls
           where tenant_id = $1 and created_at > now() - interval '30 days' and not cache_hit
           group by 1"#,
        tenant
    )
    .fetch_all(&mut **tx)
    .await?;
    let prompts = sqlx::query!(
        r#"select p.ai_model as "model!", count(*) as "n!"
           from (select distinct on (l.name) l.prompt_id
                 from ai_prompt_labels l
                 where l.label = 'production' and (l.tenant_id = $1 or l.tenant_id is null)
                 order by l.name, l.tenant_id nulls last) serving
           join ai_prompts p on p.id = serving.prompt_id
           group by 1"#,
        tenant
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut by_model: HashMap<String, Vec<PriceRow>> = HashMap::new();
    for p in prices {
        by_model.entry(p.model_id).or_default().push(PriceRow {
            effective_from: p.effective_from,
            input_cost_per_1k: p.input_cost_per_1k,
            output_cost_per_1k: p.output_cost_per_1k,
        });
    }
    let mut usage: HashMap<String, Usage> = usage
        .into_iter()
        .map(|u| {
            (
                u.model,
                Usage {
                    calls: u.calls,
                    tokens: u.tokens,
                    cost_usd: u.cost,
                    p50_ms: u.p50,
                    error_rate: u.error_rate,
                },
            )
        })
        .collect();
    let prompts: HashMap<String, i64> = prompts.into_iter().map(|p| (p.model, p.n)).collect();
    let now = OffsetDateTime::now_utc();
    let models = heads
        .into_iter()
        .map(|h| {
            let history = by_model.remove(&h.id).unwrap_or_default();
            let price = history.iter().find(|p| p.effective_from <= now).cloned();
            let upcoming = history.iter().rfind(|p| p.effective_from > now).cloned();
            ModelRow {
                usage: usage.remove(&h.id).unwrap_or_default(),
                prompts: prompts.get(&h.id).copied().unwrap_or(0),
                id: h.id,
                provider: h.provider,
                display_name: h.display_name,
                tier: h.tier,
                kind: h.kind,
                status: h.status,
                recommended: h.recommended,
                context_window: h.context_window,
                dimensions: h.dimensions,
                price,
                upcoming,
                history,
            }
        })
        .collect();
    Ok(CatalogPage {
        models,
        can_edit: operates(tx).await?,
    })
}

fn refuse_unless(operates: bool) -> Result<(), AppError> {
    if operates {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "the model catalog is shared by every workspace and is edited from the operator's workspace",
        ))
    }
}

/// Adds a model (with its first price, in effect now) or changes one. Recommending a model
/// takes the tier's recommendation from the model that had it; a change that leaves a chat
/// tier with no recommended model is refused.
pub async fn save_model(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    m: ModelInput,
) -> Result<(), AppError> {
    refuse_unless(operates(tx).await?)?;
    let before = sqlx::query!(
        "select provider, display_name, tier, kind, status, recommended, context_window, dimensions
         from ai_models where id = $1 for update",
        m.id
    )
    .fetch_optional(&mut **tx)
    .await?;
    match (&before, m.is_new) {
        (Some(_), true) => {
            return Err(AppError::validation(
                "id",
                format!("A model {:?} is in the catalog already.", m.id),
            ))
        }
        (None, false) => return Err(AppError::NotFound),
        _ => {}
    }
    if m.recommended {
        sqlx::query!(
            "update ai_models set recommended = false, updated_at = now(), updated_by = $3
             where tier = $1 and recommended and id <> $2",
            m.tier,
            m.id,
            actor
        )
        .execute(&mut **tx)
        .await?;
    }
    if m.is_new {
        sqlx::query!(
            "insert into ai_models (id, provider, display_name, context_window, tier, recommended, kind, dimensions,
                                    status, updated_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            m.id,
            m.provider,
            m.display_name,
            m.context_window,
            m.tier,
            m.recommended,
            m.kind,
            m.dimensions,
            m.status,
            actor
        )
        .execute(&mut **tx)
        .await?;
        let (input, output) = m.price.unwrap_or((0.0, 0.0));
        sqlx::query!(
            "insert into ai_model_prices (model_id, effective_from, input_cost_per_1k, output_cost_per_1k, created_by)
             values ($1, now(), $2, $3, $4)",
            m.id,
            input,
            output,
            actor
        )
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query!(
            "update ai_models set provider = $2, display_name = $3, context_window = $4, tier = $5, recommended = $6,
                    kind = $7, dimensions = $8, status = $9, updated_by = $10, updated_at = now()
             where id = $1",
            m.id,
            m.provider,
            m.display_name,
            m.context_window,
            m.tier,
            m.recommended,
            m.kind,
            m.dimensions,
            m.status,
            actor
        )
        .execute(&mut **tx)
        .await?;
    }
    if let Some(b) = &before {
        let tiers = [b.tier.as_str(), m.tier.as_str()];
        for tier in tiers {
            let had = b.recommended && b.tier == tier;
            let left = sqlx::query_scalar!(
                r#"select count(*) as "n!" from ai_models where tier = $1 and recommended"#,
                tier
            )
            .fetch_one(&mut **tx)
            .await?;
            if had && left == 0 {
                return Err(AppError::validation(
                    "recommended",
                    format!(
                        "{} is the {tier} tier's recommended model: recommend another model for the tier first, so its tasks keep a default.",
                        m.id
                    ),
                ));
            }
        }
    }
    let detail = match &before {
        None => json!({
            "provider": m.provider, "display_name": m.display_name, "tier": m.tier, "kind": m.kind,
            "status": m.status, "recommended": m.recommended, "context_window": m.context_window,
            "price": m.price.map(|(i, o)| json!({"input_cost_per_1k": i, "output_cost_per_1k": o})),
        }),
        Some(b) => {
            let before = [
                ("provider", b.provider.clone()),
                ("display_name", b.display_name.clone()),
                ("tier", b.tier.clone()),
                ("kind", b.kind.clone()),
                ("status", b.status.clone()),
                ("recommended", b.recommended.to_string()),
                ("context_window", b.context_window.to_string()),
                (
                    "dimensions",
                    b.dimensions.map(|d| d.to_string()).unwrap_or_default(),
                ),
            ];
            let after = [
                ("provider", m.provider.clone()),
                ("display_name", m.display_name.clone()),
                ("tier", m.tier.clone()),
                ("kind", m.kind.clone()),
                ("status", m.status.clone()),
                ("recommended", m.recommended.to_string()),
                ("context_window", m.context_window.to_string()),
                (
                    "dimensions",
                    m.dimensions.map(|d| d.to_string()).unwrap_or_default(),
                ),
            ];
            json!({ "changes": audit::diff(&before, &after) })
        }
    };
    let action = if m.is_new {
        "model.added"
    } else {
        "model.changed"
    };
    audit::record_named(tx, tenant, Some(actor), action, &m.id, detail).await?;
    Ok(())
}

/// A new price for a model, in effect now or from a later date. Calls already made keep the
/// cost recorded with them.
pub async fn add_price(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    p: PriceInput,
) -> Result<(), AppError> {
    refuse_unless(operates(tx).await?)?;
    let known = sqlx::query_scalar!(
        r#"select exists (select 1 from ai_models where id = $1) as "known!""#,
        p.model_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if !known {
        return Err(AppError::NotFound);
    }
    let from = p
        .effective_from
        .map(|d| d.midnight().assume_utc())
        .unwrap_or_else(OffsetDateTime::now_utc);
    let inserted = sqlx::query!(
        "insert into ai_model_prices (model_id, effective_from, input_cost_per_1k, output_cost_per_1k, created_by)
         values ($1, $2, $3, $4, $5)
         on conflict (model_id, effective_from) do nothing",
        p.model_id,
        from,
        p.input,
        p.output,
        actor
    )
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::validation(
            "effective_from",
            "A price already starts at that moment; pick another date.",
        ));
    }
    let detail = json!({
        "effective_from": from.to_string(),
        "input_cost_per_1k": p.input,
        "output_cost_per_1k": p.output,
    });
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        "model.price_set",
        &p.model_id,
        detail,
    )
    .await?;
    Ok(())
}
