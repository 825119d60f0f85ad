//! Prompt management: the listing with each prompt's serving model, a prompt's versions,
//! labels and per-version metrics, saving a new immutable version, moving a label (deploy or
//! roll back), and the diff between two versions. A workspace's versions continue the built-in
//! numbering, so a version number names one text within a workspace.
use super::{
    form::PromptInput, ModelOption, PromptDetail, PromptFilter, PromptRow, PromptSaved, PromptText,
    PromptVersion, PromptsPage, VersionMetrics,
};
use crate::{
    ai::{prompts::placeholders, TaskKind, Tier},
    error::AppError,
    ssr::{audit, tenancy::Tx},
};
use serde_json::json;
use uuid::Uuid;

/// The tier of a stored task kind (the column's check admits only known kinds).
fn tier_of(task_kind: &str) -> Tier {
    TaskKind::parse(task_kind).map_or(Tier::Default, TaskKind::tier)
}

/// Every model with the price in effect now, for dropdowns and filters.
pub async fn model_options(tx: &mut Tx) -> Result<Vec<ModelOption>, sqlx::Error> {
    sqlx::query_as!(
        ModelOption,
        r#"select m.id, m.display_name, m.provider, m.tier, m.status, m.recommended, m.context_window,
                  coalesce(p.input_cost_per_1k, 0) as "input_cost_per_1k!",
                  coalesce(p.output_cost_per_1k, 0) as "output_cost_per_1k!"
           from ai_models m
           left join lateral (select input_cost_per_1k, output_cost_per_1k from ai_model_prices
                              where model_id = m.id and effective_from <= now()
                              order by effective_from desc limit 1) p on true
           where m.kind = 'chat'
           order by case m.status when 'active' then 0 else 1 end,
                    case m.tier when 'fast' then 0 when 'default' then 1 else 2 end, m.id"#
    )
    .fetch_all(&mut **tx)
    .await
}

/// `id` as an active chat model of `models`, or the error to show beside `field`.
pub fn active_model<'a>(
    models: &'a [ModelOption],
    id: &str,
    field: &str,
) -> Result<&'a ModelOption, AppError> {
    match models.iter().find(|m| m.id == id) {
        None => Err(AppError::validation(
            field,
            format!("{id:?} is not a chat model in the catalog."),
        )),
        Some(m) if m.status != "active" => Err(AppError::validation(
            field,
            format!("{} is {}: choose an active model.", m.id, m.status),
        )),
        Some(m) => Ok(m),
    }
}

/// Prompts per page of the listing.
pub const PAGE_SIZE: usize = 25;

/// One page of the listing, filtered by model, provider, task and a search of name and
/// description.
pub async fn page(
    tx: &mut Tx,
    tenant: Uuid,
    f: &PromptFilter,
    page_no: usize,
    can_edit: bool,
) -> Result<PromptsPage, AppError> {
    let models = model_options(tx).await?;
    let all = matching(tx, tenant, f, &models).await?;
    let total = all.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page_no = page_no.clamp(1, pages);
    let rows = all
        .into_iter()
        .skip((page_no - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let tasks = TaskKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    Ok(PromptsPage {
        rows,
        total,
        page: page_no,
        pages,
        models,
        tasks,
        can_edit,
    })
}

/// Every prompt the filter matches (the code fills a few dozen at most; 500 bounds it).
pub async fn matching(
    tx: &mut Tx,
    tenant: Uuid,
    f: &PromptFilter,
    models: &[ModelOption],
) -> Result<Vec<PromptRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select p.name, p.task_kind, p.description, p.version, p.ai_model, serving.tenant_id is null as "builtin!",
                  (select sp.version from ai_prompt_labels sl join ai_prompts sp on sp.id = sl.prompt_id
                   where sl.name = p.name and sl.label = 'staging' and (sl.tenant_id = $1 or sl.tenant_id is null)
                   order by sl.tenant_id nulls last limit 1) as staging
           from (select distinct on (l.name) l.name, l.prompt_id, l.tenant_id
                 from ai_prompt_labels l
                 where l.label = 'production' and (l.tenant_id = $1 or l.tenant_id is null)
                 order by l.name, l.tenant_id nulls last) serving
           join ai_prompts p on p.id = serving.prompt_id
           where ($2::text is null or p.ai_model = $2)
             and ($3::text is null or p.task_kind = $3)
             and ($4::text is null or p.name ilike '%' || $4 || '%' or p.description ilike '%' || $4 || '%')
           order by p.name
           limit 500"#,
        tenant,
        f.model,
        f.task,
        f.q.as_deref().map(|q| q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
    )
    .fetch_all(&mut **tx)
    .await?;
    let rows = rows
        .into_iter()
        .filter_map(|r| {
            let model = models.iter().find(|m| m.id == r.ai_model)?.clone();
            if f.provider.as_ref().is_some_and(|p| *p != model.provider) {
                return None;
            }
            Some(PromptRow {
                tier: tier_of(&r.task_kind).as_str().to_owned(),
                name: r.name,
                task_kind: r.task_kind,
                description: r.description,
                version: r.version,
                builtin: r.builtin,
                staging: r.staging,
                model,
            })
        })
        .collect();
    Ok(rows)
}

struct VersionHead {
    id: i64,
    version: i32,
    builtin: bool,
    ai_model: String,
    note: String,
    author: Option<String>,
    created_at: time::OffsetDateTime,
    task_kind: String,
}

async fn versions(tx: &mut Tx, tenant: Uuid, name: &str) -> Result<Vec<VersionHead>, sqlx::Error> {
    sqlx::query_as!(
        VersionHead,
        r#"select p.id, p.version, p.tenant_id is null as "builtin!", p.ai_model, p.note,
                  u.display_name as "author?", p.created_at, p.task_kind
           from ai_prompts p left join users u on u.id = p.created_by
           where p.name = $2 and (p.tenant_id = $1 or p.tenant_id is null)
           order by p.version desc"#,
        tenant,
        name
    )
    .fetch_all(&mut **tx)
    .await
}

/// This workspace's labels on a prompt (its own, else the built-in ones): label → prompt row.
async fn labels(tx: &mut Tx, tenant: Uuid, name: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select distinct on (label) label, prompt_id from ai_prompt_labels
         where name = $2 and (tenant_id = $1 or tenant_id is null)
         order by label, tenant_id nulls last",
        tenant,
        name
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.label, r.prompt_id)).collect())
}

async fn text(
    tx: &mut Tx,
    tenant: Uuid,
    name: &str,
    version: i32,
) -> Result<Option<PromptText>, sqlx::Error> {
    sqlx::query_as!(
        PromptText,
        "select version, description, system_prompt, template, ai_model, max_tokens, temperature
         from ai_prompts where name = $2 and version = $3 and (tenant_id = $1 or tenant_id is null)
         order by tenant_id nulls last limit 1",
        tenant,
        name,
        version
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Per-version calls, latency, cost and errors from `ai_calls`; for the pipeline's prompt, the
/// mean quality score and reviewers' approval rate of its drafts.
pub async fn metrics(
    tx: &mut Tx,
    tenant: Uuid,
    name: &str,
) -> Result<Vec<VersionMetrics>, sqlx::Error> {
    let calls = sqlx::query!(
        r#"select prompt_version as "version!", count(*) as "calls!",
                  percentile_cont(0.5) within group (order by latency_ms) as p50,
                  coalesce(sum(cost_usd), 0)::float8 as "cost!",
                  avg(case when status = 'error' then 1.0 else 0.0 end)::float8 as error_rate,
                  avg(prompt_tokens)::float8 as prompt_tokens
           from ai_calls
           where tenant_id = $1 and prompt_name = $2 and prompt_version is not null and not cache_hit
           group by prompt_version"#,
        tenant,
        name
    )
    .fetch_all(&mut **tx)
    .await?;
    let drafts = sqlx::query!(
        r#"select d.prompt_version as "version!", avg(d.quality_score)::float8 as quality,
                  avg(case when f.verdict in ('approved', 'edited_and_approved') then 1.0
                           when f.verdict is not null then 0.0 end)::float8 as approval
           from project_deliverables d
           left join ai_content_feedback f on f.deliverable_id = d.id and f.tenant_id = d.tenant_id
           where d.tenant_id = $1 and d.prompt_name = $2 and d.prompt_version is not null
           group by d.prompt_version"#,
        tenant,
        name
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut out: Vec<VersionMetrics> = calls
        .into_iter()
        .map(|c| VersionMetrics {
            version: c.version,
            calls: c.calls,
            p50_ms: c.p50,
            cost_usd: c.cost,
            error_rate: c.error_rate,
            quality: None,
            approval_rate: None,
            prompt_tokens: c.prompt_tokens,
        })
        .collect();
    for d in drafts {
        match out.iter_mut().find(|m| m.version == d.version) {
            Some(m) => {
                m.quality = d.quality;
                m.approval_rate = d.approval;
            }
            None => out.push(VersionMetrics {
                version: d.version,
                quality: d.quality,
                approval_rate: d.approval,
                ..Default::default()
            }),
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.version));
    Ok(out)
}

/// The placeholders a prompt may use: those of its built-in versions (what the code fills).
async fn allowed_placeholders(tx: &mut Tx, name: &str) -> Result<Vec<String>, sqlx::Error> {
    let templates = sqlx::query_scalar!(
        "select template from ai_prompts where name = $1 and tenant_id is null",
        name
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut all: Vec<String> = templates
        .iter()
        .filter_map(|t| placeholders(t).ok())
        .flatten()
        .collect();
    all.sort();
    all.dedup();
    Ok(all)
}

pub async fn detail(
    tx: &mut Tx,
    tenant: Uuid,
    name: &str,
    version: Option<i32>,
    can_edit: bool,
    tier_default: impl Fn(Tier) -> Option<String>,
) -> Result<PromptDetail, AppError> {
    let heads = versions(tx, tenant, name).await?;
    let Some(newest) = heads.first() else {
        return Err(AppError::NotFound);
    };
    let newest_version = newest.version;
    let task_kind = newest.task_kind.clone();
    let labels = labels(tx, tenant, name).await?;
    let production = labels
        .iter()
        .find(|(l, _)| l == "production")
        .and_then(|(_, id)| heads.iter().find(|h| h.id == *id))
        .map(|h| h.version);
    let shown_version = version.or(production).unwrap_or(newest_version);
    let shown = text(tx, tenant, name, shown_version)
        .await?
        .ok_or(AppError::NotFound)?;
    let tier = tier_of(&task_kind);
    let versions = heads
        .iter()
        .map(|h| PromptVersion {
            version: h.version,
            builtin: h.builtin,
            ai_model: h.ai_model.clone(),
            note: h.note.clone(),
            author: h.author.clone(),
            created_at: h.created_at,
            labels: labels
                .iter()
                .filter(|(_, id)| *id == h.id)
                .map(|(l, _)| l.clone())
                .collect(),
        })
        .collect();
    Ok(PromptDetail {
        name: name.to_owned(),
        tier: tier.as_str().to_owned(),
        tier_default: tier_default(tier),
        task_kind,
        versions,
        shown,
        newest: newest_version,
        metrics: metrics(tx, tenant, name).await?,
        placeholders: allowed_placeholders(tx, name).await?,
        models: model_options(tx).await?,
        can_edit,
    })
}

/// Saves a new version (and points a label at it when asked). The model must be a chat model
/// in the catalog, and an active one unless the version keeps its predecessor's model; the
/// template may use only the placeholders the code fills.
pub async fn save(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    p: PromptInput,
) -> Result<PromptSaved, AppError> {
    lock(tx, tenant, &p.name).await?;
    let heads = versions(tx, tenant, &p.name).await?;
    let Some(newest) = heads.first() else {
        return Err(AppError::NotFound);
    };
    if newest.version != p.base_version {
        return Err(AppError::validation(
            "base_version",
            format!(
                "Version {} was saved after you opened this editor. Reload to see it, then make your change again.",
                newest.version
            ),
        ));
    }
    let base = text(tx, tenant, &p.name, p.base_version)
        .await?
        .ok_or(AppError::NotFound)?;
    let model = sqlx::query!(
        "select status, kind from ai_models where id = $1",
        p.ai_model
    )
    .fetch_optional(&mut **tx)
    .await?;
    match model {
        None => {
            return Err(AppError::validation(
                "ai_model",
                format!(
                    "{:?} is not in the model catalog; choose one from the list.",
                    p.ai_model
                ),
            ))
        }
        Some(m) if m.kind != "chat" => {
            return Err(AppError::validation(
                "ai_model",
                "Choose a chat model, not an embedding model.",
            ))
        }
        Some(m) if m.status != "active" && p.ai_model != base.ai_model => {
            return Err(AppError::validation(
                "ai_model",
                format!("{} is {}: choose an active model.", p.ai_model, m.status),
            ))
        }
        Some(_) => {}
    }
    let allowed = allowed_placeholders(tx, &p.name).await?;
    let used = placeholders(&p.template).map_err(|why| AppError::validation("template", why))?;
    let unknown: Vec<String> = used.into_iter().filter(|u| !allowed.contains(u)).collect();
    if !unknown.is_empty() {
        return Err(AppError::validation(
            "template",
            format!(
                "Unknown placeholder {}; this prompt is filled with {}.",
                unknown
                    .iter()
                    .map(|u| format!("{{{{{u}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                allowed
                    .iter()
                    .map(|u| format!("{{{{{u}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let version = newest.version + 1;
    let id = sqlx::query_scalar!(
        "insert into ai_prompts (tenant_id, name, version, system_prompt, template, ai_model, max_tokens, temperature,
                                 task_kind, description, note, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         returning id",
        tenant,
        p.name,
        version,
        p.system_prompt,
        p.template,
        p.ai_model,
        p.max_tokens,
        p.temperature,
        newest.task_kind,
        p.description,
        p.note,
        actor
    )
    .fetch_one(&mut **tx)
    .await?;
    let fields = |t: &PromptText| -> [(&'static str, String); 6] {
        [
            ("ai_model", t.ai_model.clone()),
            ("max_tokens", t.max_tokens.to_string()),
            ("temperature", t.temperature.to_string()),
            ("system_prompt", t.system_prompt.clone()),
            ("template", t.template.clone()),
            ("description", t.description.clone()),
        ]
    };
    let after = PromptText {
        version,
        description: p.description.clone(),
        system_prompt: p.system_prompt.clone(),
        template: p.template.clone(),
        ai_model: p.ai_model.clone(),
        max_tokens: p.max_tokens,
        temperature: p.temperature,
    };
    let changed = audit::diff(&fields(&base), &fields(&after));
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        "prompt.version_saved",
        &p.name,
        json!({ "version": version, "from_version": p.base_version, "note": p.note, "changes": changed }),
    )
    .await?;
    let mut message = format!("Saved version {version}.");
    if let Some(label) = &p.label {
        point_label(tx, tenant, actor, &p.name, label, id, version).await?;
        message = format!("Saved version {version} and labelled it {label}.");
    }
    Ok(PromptSaved { version, message })
}

/// Holds a prompt of a workspace for the rest of the transaction: one change at a time.
pub(super) async fn lock(tx: &mut Tx, tenant: Uuid, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 14))",
        tenant.to_string(),
        name
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Points this workspace's `label` at a prompt row, or (`None`) removes it, so the built-in
/// label serves again. Not audited: callers record what they did.
pub(super) async fn set_label(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Option<Uuid>,
    name: &str,
    label: &str,
    prompt_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    match prompt_id {
        Some(id) => {
            sqlx::query!(
                "insert into ai_prompt_labels (tenant_id, name, label, prompt_id, moved_by)
             values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, name, label) do update
               set prompt_id = excluded.prompt_id, moved_by = excluded.moved_by, moved_at = now()",
                tenant,
                name,
                label,
                id,
                actor
            )
            .execute(&mut **tx)
            .await?
        }
        None => {
            sqlx::query!(
                "delete from ai_prompt_labels where tenant_id = $1 and name = $2 and label = $3",
                tenant,
                name,
                label
            )
            .execute(&mut **tx)
            .await?
        }
    };
    Ok(())
}

/// Points this workspace's `label` at a prompt row, audited with where it pointed before.
pub async fn point_label(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    name: &str,
    label: &str,
    prompt_id: i64,
    version: i32,
) -> Result<(), AppError> {
    let before = labels(tx, tenant, name).await?;
    let from = match before.iter().find(|(l, _)| l == label) {
        Some((_, id)) => {
            sqlx::query_scalar!("select version from ai_prompts where id = $1", id)
                .fetch_optional(&mut **tx)
                .await?
        }
        None => None,
    };
    set_label(tx, tenant, Some(actor), name, label, Some(prompt_id)).await?;
    audit::record_named(
        tx,
        tenant,
        Some(actor),
        "prompt.label_moved",
        name,
        json!({ "label": label, "from_version": from, "to_version": version }),
    )
    .await?;
    Ok(())
}

/// Moves a label to a version: deploying it (production), rolling back to it, or staging it.
pub async fn move_label(
    tx: &mut Tx,
    tenant: Uuid,
    actor: Uuid,
    name: &str,
    label: &str,
    version: i32,
) -> Result<PromptSaved, AppError> {
    let id = sqlx::query_scalar!(
        "select id from ai_prompts where name = $2 and version = $3 and (tenant_id = $1 or tenant_id is null)
         order by tenant_id nulls last limit 1",
        tenant,
        name,
        version
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AppError::NotFound)?;
    point_label(tx, tenant, actor, name, label, id, version).await?;
    Ok(PromptSaved {
        version,
        message: format!("{label} now serves version {version}."),
    })
}

/// The line diff between two versions: model and settings first, then the system prompt and
/// the body.
pub async fn diff(
    tx: &mut Tx,
    tenant: Uuid,
    name: &str,
    from: i32,
    to: i32,
) -> Result<Vec<(char, String)>, AppError> {
    let a = text(tx, tenant, name, from)
        .await?
        .ok_or(AppError::NotFound)?;
    let b = text(tx, tenant, name, to)
        .await?
        .ok_or(AppError::NotFound)?;
    let flat = |t: &PromptText| {
        format!(
            "model: {}\nmax_tokens: {}\ntemperature: {}\ndescription: {}\n--- system prompt ---\n{}\n--- body ---\n{}",
            t.ai_model, t.max_tokens, t.temperature, t.description, t.system_prompt, t.template
        )
    };
    let (old, new) = (flat(&a), flat(&b));
    let diff = similar::TextDiff::from_lines(&old, &new);
    Ok(diff
        .iter_all_changes()
        .map(|c| {
            let tag = match c.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            (tag, c.value().trim_end_matches('\n').to_owned())
        })
        .collect())
}
