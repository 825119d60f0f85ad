//! Moving prompts and settings to another model outside the editor, and putting them back.
//! A prompt moves by a new version that copies the serving one with only the model changed,
//! deployed by pointing this workspace's production label at it; a setting moves by its tier
//! column. Each move leaves a backup row (tagged with the bulk change or plan that made it)
//! from which `restore_*` undoes it, unless the row changed again since. Bulk reassignment and
//! legacy migration plans both work through here.
use super::prompts::{lock, set_label};
use crate::{error::AppError, ssr::tenancy::Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version that serves a prompt in a workspace.
#[derive(Debug, Clone)]
pub struct Serving {
    pub prompt_id: i64,
    pub version: i32,
    pub ai_model: String,
    /// The row this workspace's own production label points at; `None` while the built-in
    /// label serves.
    pub own_label: Option<i64>,
}

pub async fn serving(
    tx: &mut Tx,
    tenant: Uuid,
    name: &str,
) -> Result<Option<Serving>, sqlx::Error> {
    sqlx::query_as!(
        Serving,
        r#"select p.id as prompt_id, p.version, p.ai_model,
                  (select prompt_id from ai_prompt_labels
                   where tenant_id = $1 and name = $2 and label = 'production') as own_label
           from (select prompt_id from ai_prompt_labels
                 where name = $2 and label = 'production' and (tenant_id = $1 or tenant_id is null)
                 order by tenant_id nulls last limit 1) s
           join ai_prompts p on p.id = s.prompt_id"#,
        tenant,
        name
    )
    .fetch_optional(&mut **tx)
    .await
}

/// What a prompt's backup row holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PromptState {
    pub prompt_id: i64,
    pub version: i32,
    pub model: String,
    /// Before: this workspace's own production label (`None`: the built-in one served).
    #[serde(default)]
    pub own_label: Option<i64>,
}

/// Where a backup came from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    Bulk(Uuid),
    Plan(Uuid),
    Experiment(Uuid),
}

impl Source {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Source::Bulk(id) => ("bulk", id),
            Source::Plan(id) => ("plan", id),
            Source::Experiment(id) => ("experiment", id),
        }
    }
}

/// Where a backup row points: the kind of row (`prompt`, `user_setting`, `workspace_setting`),
/// its reference (prompt name, user id or "") and the settings' tier ("" for a prompt).
struct Place<'a> {
    target: &'a str,
    reference: &'a str,
    tier: &'a str,
}

async fn backup(
    tx: &mut Tx,
    tenant: Uuid,
    source: Source,
    at: Place<'_>,
    before: serde_json::Value,
    after: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let (kind, id) = source.parts();
    let Place {
        target,
        reference,
        tier,
    } = at;
    sqlx::query!(
        "insert into ai_model_backups (tenant_id, source, source_id, target, ref, tier, before, after)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        tenant,
        kind,
        id,
        target,
        reference,
        tier,
        before,
        after
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves a prompt to `target` unless it is on it already (`Ok(None)`); the new version's note
/// says why. The caller holds the prompt's lock (`prompts::lock`) from reading `current` on.
/// A prompt's move: which prompt, from which serving version, to which model, and why.
pub struct PromptMove<'a> {
    pub name: &'a str,
    pub current: &'a Serving,
    pub target: &'a str,
    pub note: &'a str,
}

pub async fn move_prompt(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    m: PromptMove<'_>,
    source: Source,
) -> Result<PromptState, AppError> {
    let PromptMove {
        name,
        current,
        target,
        note,
    } = m;
    let version = sqlx::query_scalar!(
        r#"select coalesce(max(version), 0) + 1 as "v!" from ai_prompts
           where name = $1 and (tenant_id = $2 or tenant_id is null)"#,
        name,
        tenant
    )
    .fetch_one(&mut **tx)
    .await?;
    let id = sqlx::query_scalar!(
        "insert into ai_prompts (tenant_id, name, version, system_prompt, template, ai_model, max_tokens,
                                 temperature, task_kind, description, note, created_by)
         select $1, name, $3, system_prompt, template, $4, max_tokens, temperature, task_kind,
                description, $5, $6
         from ai_prompts where id = $2
         returning id",
        tenant,
        current.prompt_id,
        version,
        target,
        note,
        actor
    )
    .fetch_one(&mut **tx)
    .await?;
    set_label(tx, tenant, Some(actor), name, "production", Some(id)).await?;
    let before = PromptState {
        prompt_id: current.prompt_id,
        version: current.version,
        model: current.ai_model.clone(),
        own_label: current.own_label,
    };
    let after = PromptState {
        prompt_id: id,
        version,
        model: target.to_owned(),
        own_label: Some(id),
    };
    backup(
        tx,
        tenant,
        source,
        Place {
            target: "prompt",
            reference: name,
            tier: "",
        },
        serde_json::to_value(&before).unwrap_or_default(),
        serde_json::to_value(&after).unwrap_or_default(),
    )
    .await?;
    Ok(after)
}

/// A member's (`user_setting`) or the workspace's (`workspace_setting`) tier column.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingRef {
    pub target: &'static str,
    /// The member; `None` for the workspace.
    pub user: Option<Uuid>,
    pub tier: String,
}

/// Sets a settings column to `to` if it still holds `from`; whether it did.
async fn swap_setting(
    tx: &mut Tx,
    tenant: Uuid,
    at: &SettingRef,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = match at.user {
        Some(user) => {
            sqlx::query!(
                "update ai_user_settings set
               fast_model = case when $3 = 'fast' then $5 else fast_model end,
               default_model = case when $3 = 'default' then $5 else default_model end,
               thinking_model = case when $3 = 'thinking' then $5 else thinking_model end,
               version = version + 1, updated_at = now()
             where tenant_id = $1 and user_id = $2
               and (case $3 when 'fast' then fast_model when 'default' then default_model
                    else thinking_model end) is not distinct from $4",
                tenant,
                user,
                at.tier,
                from,
                to
            )
            .execute(&mut **tx)
            .await?
        }
        None => {
            sqlx::query!(
                "update ai_workspace_settings set
               fast_model = case when $2 = 'fast' then $4 else fast_model end,
               default_model = case when $2 = 'default' then $4 else default_model end,
               thinking_model = case when $2 = 'thinking' then $4 else thinking_model end,
               version = version + 1, updated_at = now()
             where tenant_id = $1
               and (case $2 when 'fast' then fast_model when 'default' then default_model
                    else thinking_model end) is not distinct from $3",
                tenant,
                at.tier,
                from,
                to
            )
            .execute(&mut **tx)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Moves a settings column from `from` to `to`, with a backup; whether it moved.
pub async fn move_setting(
    tx: &mut Tx,
    tenant: Uuid,
    at: &SettingRef,
    from: &str,
    to: &str,
    source: Source,
) -> Result<bool, sqlx::Error> {
    if !swap_setting(tx, tenant, at, Some(from), Some(to)).await? {
        return Ok(false);
    }
    let reference = at.user.map(|u| u.to_string()).unwrap_or_default();
    backup(
        tx,
        tenant,
        source,
        Place {
            target: at.target,
            reference: &reference,
            tier: &at.tier,
        },
        serde_json::json!({ "model": from }),
        serde_json::json!({ "model": to }),
    )
    .await?;
    Ok(true)
}

/// One backup row, as restore reads it.
pub struct Backup {
    pub target: String,
    pub reference: String,
    pub tier: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

pub async fn backups(
    tx: &mut Tx,
    tenant: Uuid,
    source: Source,
) -> Result<Vec<Backup>, sqlx::Error> {
    let (kind, id) = source.parts();
    sqlx::query_as!(
        Backup,
        r#"select target, ref as reference, tier, before, after from ai_model_backups
           where tenant_id = $1 and source = $2 and source_id = $3 order by id"#,
        tenant,
        kind,
        id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Undoes one backed-up move if nothing changed it since. `Ok(Some(label))` names what was
/// restored, `Ok(None)` means it was left as it is.
pub async fn restore(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Option<Uuid>,
    b: &Backup,
) -> Result<Option<String>, AppError> {
    let model = |v: &serde_json::Value| v.get("model").and_then(|m| m.as_str()).map(str::to_owned);
    match b.target.as_str() {
        "prompt" => {
            let (Ok(before), Ok(after)) = (
                serde_json::from_value::<PromptState>(b.before.clone()),
                serde_json::from_value::<PromptState>(b.after.clone()),
            ) else {
                return Ok(None);
            };
            lock(tx, tenant, &b.reference).await?;
            let now = serving(tx, tenant, &b.reference).await?;
            if now.and_then(|s| s.own_label) != Some(after.prompt_id) {
                return Ok(None);
            }
            set_label(
                tx,
                tenant,
                actor,
                &b.reference,
                "production",
                before.own_label,
            )
            .await?;
            Ok(Some(b.reference.clone()))
        }
        target @ ("user_setting" | "workspace_setting") => {
            let user = match target {
                "user_setting" => match b.reference.parse::<Uuid>() {
                    Ok(u) => Some(u),
                    Err(_) => return Ok(None),
                },
                _ => None,
            };
            let at = SettingRef {
                target: if user.is_some() {
                    "user_setting"
                } else {
                    "workspace_setting"
                },
                user,
                tier: b.tier.clone(),
            };
            let (before, after) = (model(&b.before), model(&b.after));
            let done = swap_setting(tx, tenant, &at, after.as_deref(), before.as_deref()).await?;
            Ok(done.then(|| format!("{target} {}", b.tier)))
        }
        _ => Ok(None),
    }
}
