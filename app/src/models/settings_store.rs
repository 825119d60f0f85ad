//! Reading and saving model settings: the workspace's (admins) and a member's own, each with a
//! version so a stale form cannot overwrite a newer save, each save audited with what changed.
use super::{
    prompts::{active_model, model_options},
    settings::{ModelSettingsPage, MonthUse, TierChoice, WorkspaceModels, WorkspaceModelsInput},
    ModelOption,
};
use crate::{
    error::AppError,
    ssr::{audit, tenancy::Tx},
};
use serde_json::json;
use uuid::Uuid;

const STALE: &str =
    "These settings were saved by someone else after you opened them. Reload to see them, then make your change again.";

async fn workspace(tx: &mut Tx, tenant: Uuid) -> Result<WorkspaceModels, sqlx::Error> {
    let row = sqlx::query!(
        r#"select fast_model, default_model, thinking_model, allowed_models,
                  monthly_budget_usd::float8 as budget, soft_limit_usd::float8 as soft,
                  requests_per_minute, version
           from ai_workspace_settings where tenant_id = $1"#,
        tenant
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(r) => WorkspaceModels {
            models: TierChoice {
                fast: r.fast_model,
                default: r.default_model,
                thinking: r.thinking_model,
            },
            allowed: r.allowed_models,
            monthly_budget_usd: r.budget,
            soft_limit_usd: r.soft,
            requests_per_minute: r.requests_per_minute,
            version: r.version,
        },
        None => WorkspaceModels {
            models: TierChoice::default(),
            allowed: Vec::new(),
            monthly_budget_usd: None,
            soft_limit_usd: None,
            requests_per_minute: 120,
            version: 0,
        },
    })
}

async fn mine(tx: &mut Tx, tenant: Uuid, user: Uuid) -> Result<(TierChoice, i32), sqlx::Error> {
    let row = sqlx::query!(
        "select fast_model, default_model, thinking_model, version from ai_user_settings
         where tenant_id = $1 and user_id = $2",
        tenant,
        user
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map_or((TierChoice::default(), 0), |r| {
        (
            TierChoice {
                fast: r.fast_model,
                default: r.default_model,
                thinking: r.thinking_model,
            },
            r.version,
        )
    }))
}

/// This calendar month's calls, tokens, spend and cache hits in the workspace (UTC).
pub async fn month_use(tx: &mut Tx, tenant: Uuid) -> Result<MonthUse, sqlx::Error> {
    sqlx::query_as!(
        MonthUse,
        r#"select count(*) filter (where not cache_hit) as "calls!",
                  coalesce(sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) filter (where not cache_hit), 0)::int8 as "tokens!",
                  coalesce(sum(cost_usd), 0)::float8 as "spent_usd!",
                  count(*) filter (where cache_hit) as "cache_hits!"
           from ai_calls
           where tenant_id = $1 and created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc'"#,
        tenant
    )
    .fetch_one(&mut **tx)
    .await
}

/// What a member may choose: the workspace's allowed models, else every active chat model.
fn allowed_for_members(models: &[ModelOption], allowed: &[String]) -> Vec<ModelOption> {
    models
        .iter()
        .filter(|m| m.status == "active")
        .filter(|m| allowed.is_empty() || allowed.contains(&m.id))
        .cloned()
        .collect()
}

pub async fn page(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    can_edit_workspace: bool,
) -> Result<ModelSettingsPage, AppError> {
    let workspace = workspace(tx, tenant).await?;
    let (mine, my_version) = mine(tx, tenant, user).await?;
    let models = model_options(tx).await?;
    let allowed = allowed_for_members(&models, &workspace.allowed);
    Ok(ModelSettingsPage {
        usage: month_use(tx, tenant).await?,
        workspace,
        mine,
        my_version,
        models,
        allowed,
        can_edit_workspace,
    })
}

/// Each chosen model must be an active chat model in `offered`, unless it is the one already set.
fn check_choice(
    choice: &TierChoice,
    before: &TierChoice,
    offered: &[ModelOption],
    all: &[ModelOption],
) -> Result<(), AppError> {
    for ((tier, now), (_, was)) in choice.iter().into_iter().zip(before.iter()) {
        let Some(id) = now else { continue };
        if Some(id) == was {
            continue;
        }
        let field = format!("{tier}_model");
        active_model(all, id, &field)?;
        if !offered.iter().any(|m| m.id == id) {
            return Err(AppError::validation(
                &field,
                format!("This workspace does not allow {id}; ask an admin."),
            ));
        }
    }
    Ok(())
}

fn fields(c: &TierChoice) -> [(&'static str, String); 3] {
    let s = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
    [
        ("fast", s(&c.fast)),
        ("default", s(&c.default)),
        ("thinking", s(&c.thinking)),
    ]
}

pub async fn save_workspace(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    input: WorkspaceModelsInput,
) -> Result<(), AppError> {
    let before = workspace(tx, tenant).await?;
    if before.version != input.version {
        return Err(AppError::validation("version", STALE));
    }
    let all = model_options(tx).await?;
    check_choice(&input.models, &before.models, &all, &all)?;
    if let Some(unknown) = input
        .allowed
        .iter()
        .find(|a| !all.iter().any(|m| &m.id == *a))
    {
        return Err(AppError::validation(
            "allowed_models",
            format!("{unknown:?} is not a chat model in the catalog."),
        ));
    }
    let (budget, soft) = (input.monthly_budget_usd, input.soft_limit_usd);
    let written = sqlx::query!(
        "insert into ai_workspace_settings as w (tenant_id, fast_model, default_model, thinking_model, allowed_models,
                                                 monthly_budget_usd, soft_limit_usd, requests_per_minute, updated_by)
         values ($1, $2, $3, $4, $5, $6::float8::numeric, $7::float8::numeric, $8, $9)
         on conflict (tenant_id) do update
           set fast_model = excluded.fast_model, default_model = excluded.default_model,
               thinking_model = excluded.thinking_model, allowed_models = excluded.allowed_models,
               monthly_budget_usd = excluded.monthly_budget_usd, soft_limit_usd = excluded.soft_limit_usd,
               requests_per_minute = excluded.requests_per_minute, updated_by = excluded.updated_by,
               version = w.version + 1, updated_at = now()
           where w.version = $10",
        tenant,
        input.models.fast,
        input.models.default,
        input.models.thinking,
        &input.allowed,
        budget,
        soft,
        input.requests_per_minute,
        actor,
        input.version
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if written == 0 {
        return Err(AppError::validation("version", STALE));
    }
    let money = |v: Option<f64>| v.map_or_else(|| "(none)".to_owned(), |d| format!("${d:.2}"));
    let mut changes = audit::diff(&fields(&before.models), &fields(&input.models));
    changes.extend(audit::diff(
        &[
            ("allowed_models", before.allowed.join(", ")),
            ("monthly_budget_usd", money(before.monthly_budget_usd)),
            ("soft_limit_usd", money(before.soft_limit_usd)),
            (
                "requests_per_minute",
                before.requests_per_minute.to_string(),
            ),
        ],
        &[
            ("allowed_models", input.allowed.join(", ")),
            ("monthly_budget_usd", money(budget)),
            ("soft_limit_usd", money(soft)),
            ("requests_per_minute", input.requests_per_minute.to_string()),
        ],
    ));
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        "ai.workspace_models_saved",
        "workspace",
        json!({ "changes": changes }),
    )
    .await?;
    Ok(())
}

pub async fn save_mine(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    choice: TierChoice,
    version: i32,
) -> Result<(), AppError> {
    let (before, was) = mine(tx, tenant, user).await?;
    if was != version {
        return Err(AppError::validation("version", STALE));
    }
    let all = model_options(tx).await?;
    let ws = workspace(tx, tenant).await?;
    let offered = allowed_for_members(&all, &ws.allowed);
    check_choice(&choice, &before, &offered, &all)?;
    let written = sqlx::query!(
        "insert into ai_user_settings as s (tenant_id, user_id, fast_model, default_model, thinking_model)
         values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, user_id) do update
           set fast_model = excluded.fast_model, default_model = excluded.default_model,
               thinking_model = excluded.thinking_model, version = s.version + 1, updated_at = now()
           where s.version = $6",
        tenant,
        user,
        choice.fast,
        choice.default,
        choice.thinking,
        version
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if written == 0 {
        return Err(AppError::validation("version", STALE));
    }
    audit::record_named(
        tx,
        tenant,
        Some(user),
        "ai.my_models_saved",
        &user.to_string(),
        json!({ "changes": audit::diff(&fields(&before), &fields(&choice)) }),
    )
    .await?;
    Ok(())
}
