//! Saving template versions, activating (and so rolling back), diffs, and the preview: the
//! prompt the worker would send, made by the worker's own functions.
use super::{
    db, form::VersionInput, DiffLine, Preview, PreviewExample, TemplateDiff, VersionSaved,
};
use crate::{
    ai::{
        gateway::{CallMeta, Gateway, RouteQuery, RouteTag},
        prompts, TaskKind,
    },
    error::AppError,
    pipeline::{
        db::work::{self as work, ExampleScope},
        instructions::{
            AiInstructions, OutputLength, QualityThresholds, SuccessCriteria, CONTEXT_SOURCES,
        },
        prompt::{self, DraftInputs, ExampleSource, Template},
    },
    ssr::{
        audit::{self, Change, Target},
        tenancy::{Scope, Tx},
    },
};
use uuid::Uuid;

fn audit_target(id: Uuid, name: &str) -> Target<'_> {
    Target {
        kind: "template",
        id,
        label: name,
    }
}

/// Writes a new template (`target` None) or a new version of one, and activates it if asked.
pub async fn save(
    tx: &mut Tx,
    scope: Scope,
    target: Option<(Uuid, i32)>,
    v: &VersionInput,
    activate: bool,
) -> Result<VersionSaved, AppError> {
    let (tenant, user) = (scope.tenant_id, scope.user_id);
    let (id, version) = match target {
        None => (db::insert_template(tx, tenant, user, v).await?, 1),
        Some((id, base)) => {
            let head = db::head(tx, tenant, id, true)
                .await?
                .ok_or(AppError::NotFound)?;
            if head.latest_version != base {
                return Err(AppError::validation(
                    "",
                    format!(
                        "Version {} was saved after you opened version {base}. Reload to see it, then make your change again.",
                        head.latest_version
                    ),
                ));
            }
            let latest = db::version(tx, id, head.latest_version)
                .await?
                .ok_or(AppError::NotFound)?;
            if v.same_as(&latest) {
                return Err(AppError::validation(
                    "",
                    format!("Nothing changed since version {base}: no new version was written."),
                ));
            }
            let next = head.latest_version + 1;
            db::insert_version(tx, tenant, id, next, user, v).await?;
            (id, next)
        }
    };
    let change = Change::new("Version", "", &format!("v{version}: {}", v.note));
    audit::record_about(
        tx,
        tenant,
        Some(user),
        "template.version_saved",
        audit_target(id, &v.name),
        &[change],
    )
    .await?;
    if activate {
        activate_version(tx, scope, id, version).await?;
    }
    Ok(VersionSaved {
        id,
        version,
        activated: activate,
    })
}

/// Makes `version` live (an older one: a rollback).
pub async fn activate_version(
    tx: &mut Tx,
    scope: Scope,
    id: Uuid,
    version: i32,
) -> Result<(), AppError> {
    let tenant = scope.tenant_id;
    let head = db::head(tx, tenant, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    if head.active && head.active_version == Some(version) {
        return Ok(());
    }
    let v = db::version(tx, id, version).await?.ok_or_else(|| {
        AppError::validation(
            "version",
            format!("This template has no version {version}."),
        )
    })?;
    db::activate(tx, tenant, id, version).await?;
    let from = head
        .active_version
        .filter(|_| head.active)
        .map(|a| format!("v{a}"))
        .unwrap_or_else(|| "none".into());
    let action = match head.active_version {
        Some(a) if version < a => "template.rolled_back",
        _ => "template.activated",
    };
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        action,
        audit_target(id, &v.name),
        &[Change::new("Live version", &from, &format!("v{version}"))],
    )
    .await?;
    Ok(())
}

pub async fn deactivate(tx: &mut Tx, scope: Scope, id: Uuid) -> Result<(), AppError> {
    let tenant = scope.tenant_id;
    let head = db::head(tx, tenant, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    if !head.active {
        return Ok(());
    }
    db::deactivate(tx, tenant, id).await?;
    let name = match head.active_version {
        Some(v) => db::version(tx, id, v)
            .await?
            .map(|v| v.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        "template.deactivated",
        audit_target(id, &name),
        &[],
    )
    .await?;
    Ok(())
}

/// Line by line, what changed from version `from` to version `to`.
pub async fn diff(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    from: i32,
    to: i32,
) -> Result<TemplateDiff, AppError> {
    db::head(tx, tenant, id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let missing =
        |v: i32| AppError::validation("version", format!("This template has no version {v}."));
    let a = db::version(tx, id, from)
        .await?
        .ok_or_else(|| missing(from))?;
    let b = db::version(tx, id, to).await?.ok_or_else(|| missing(to))?;
    let (a, b) = (a.as_text(), b.as_text());
    let lines = similar::TextDiff::from_lines(&a, &b)
        .iter_all_changes()
        .map(|c| DiffLine {
            tag: match c.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            },
            text: c.value().trim_end_matches('\n').to_owned(),
        })
        .collect();
    Ok(TemplateDiff { from, to, lines })
}

/// Instructions for a preview without a task: the template's type with the defaults a new
/// task gets.
fn sample_instructions(output_type: &str, purpose: &str, customer: &str) -> AiInstructions {
    let (min_words, max_words) = match output_type {
        "sms" | "ad_copy" => (5, 40),
        "social_post" => (15, 60),
        "blog_post" | "landing_page" => (300, 900),
        _ => (80, 200),
    };
    AiInstructions {
        brief: format!(
            "A sample {} {} for {customer}.",
            purpose.replace('_', " "),
            output_type.replace('_', " ")
        ),
        output_type: output_type.to_owned(),
        output_format: "plain_text".to_owned(),
        output_length: OutputLength {
            min_words,
            max_words,
        },
        must_include: vec!["business name".into(), "CTA".into()],
        must_not_include: vec!["competitor names".into()],
        context_sources: CONTEXT_SOURCES.iter().map(|s| (*s).to_owned()).collect(),
        success_criteria: SuccessCriteria::default(),
        quality_thresholds: QualityThresholds::default(),
    }
}

/// What the preview is built for.
pub struct PreviewOf {
    pub template_id: Uuid,
    pub version: i32,
    pub customer_id: Uuid,
    pub task_id: Option<Uuid>,
}

/// The system and user prompts the worker would send for this template version and customer
/// (and task): the same prompt row, example selection and `prompt::user_prompt` the worker
/// uses. The brief is embedded to find the examples, as the worker does.
pub async fn preview(
    pool: &sqlx::PgPool,
    gateway: &Gateway,
    scope: Scope,
    of: PreviewOf,
) -> Result<Preview, AppError> {
    Ok(prepare(pool, gateway, scope, of).await?.preview)
}

/// Everything a draft of this template version is made from, and the prompt it makes.
pub struct Prepared {
    pub preview: Preview,
    pub customer: crate::crm::Customer,
    pub instructions: AiInstructions,
    pub examples: Vec<prompt::Example>,
    pub prompt: prompts::Prompt,
    /// The routed model, or why none can answer.
    pub route: Result<String, String>,
    /// How it was routed, for the call's record.
    pub tag: RouteTag,
}

/// Builds the prompt the worker would send (see `preview`), keeping what it was made from.
pub async fn prepare(
    pool: &sqlx::PgPool,
    gateway: &Gateway,
    scope: Scope,
    of: PreviewOf,
) -> Result<Prepared, AppError> {
    let tenant = scope.tenant_id;
    let mut tx = crate::ssr::tenancy::begin(pool, scope).await?;
    db::head(&mut tx, tenant, of.template_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = db::version(&mut tx, of.template_id, of.version)
        .await?
        .ok_or_else(|| {
            AppError::validation(
                "version",
                format!("This template has no version {}.", of.version),
            )
        })?;
    let (customer, instructions) = match of.task_id {
        Some(task) => {
            let row = match work::load_task(&mut tx, task).await {
                Ok(row) => row,
                Err(sqlx::Error::RowNotFound) => {
                    return Err(AppError::validation(
                        "task_id",
                        "Choose one of this customer's tasks.",
                    ))
                }
                Err(e) => return Err(e.into()),
            };
            if row.customer.id != of.customer_id {
                return Err(AppError::validation(
                    "task_id",
                    "Choose one of this customer's tasks.",
                ));
            }
            let instructions: AiInstructions =
                serde_json::from_value(row.instructions).map_err(|e| {
                    AppError::validation(
                        "task_id",
                        format!("This task's instructions cannot be read: {e}"),
                    )
                })?;
            (row.customer, instructions)
        }
        None => {
            let customer = db::customer(&mut tx, tenant, of.customer_id)
                .await?
                .ok_or_else(|| {
                    AppError::validation("customer_id", "Choose one of your customers.")
                })?;
            let instructions = sample_instructions(&v.output_type, &v.purpose, &customer.name);
            (customer, instructions)
        }
    };
    let prompt_row = prompts::active(&mut tx, tenant, "content_generation")
        .await?
        .ok_or_else(|| {
            AppError::validation(
                "",
                "No active content_generation prompt: the worker could not draft either.",
            )
        })?;
    let query = RouteQuery {
        task: TaskKind::ContentGeneration,
        prompt: Some((&prompt_row.name, &prompt_row.ai_model)),
        subject: Some(customer.id),
    };
    let routed = gateway.resolve(&mut tx, scope, query).await?;
    tx.commit().await?;
    // The workspace's AI request rate: wait a few seconds for a turn, else 429.
    if let Ok(r) = &routed {
        gateway
            .admit(scope.tenant_id, r.requests_per_minute)
            .await
            .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })?;
    }

    let meta = CallMeta {
        scope,
        task: TaskKind::ContentGeneration,
        prompt_name: Some(prompt_row.name.clone()),
        prompt_version: Some(prompt_row.version),
        subject_id: of.task_id,
        request_id: Some(crate::error::current_request_id()),
        route: routed.as_ref().map(|r| r.tag.clone()).unwrap_or_default(),
    };
    let tag = meta.route.clone();
    let query = prompt::example_query(&instructions);
    let (examples, examples_note) = match gateway.embed(&meta, &[query]).await {
        Ok(made) => match made.vectors.into_iter().next() {
            Some(vector) => {
                let mut tx = crate::ssr::tenancy::begin(pool, scope).await?;
                let prefer = ExampleScope {
                    customer_id: customer.id,
                    industry: &customer.industry_category,
                };
                let found = work::draft_examples(
                    &mut tx,
                    &pgvector::Vector::from(vector),
                    &made.model,
                    &instructions.output_type,
                    prefer,
                )
                .await?;
                tx.commit().await?;
                found
            }
            None => (
                Vec::new(),
                Some("Examples unavailable: the embedding model returned no vector".to_owned()),
            ),
        },
        Err(f) => (
            Vec::new(),
            Some(format!("Examples unavailable: the embedding failed ({f})")),
        ),
    };
    let template = Template {
        id: of.template_id,
        version: v.version,
        name: v.name.clone(),
        body: v.body.clone(),
        guidelines: v.guidelines.clone(),
    };
    let inputs = DraftInputs {
        customer: &customer,
        instructions: &instructions,
        template: Some(&template),
        examples: &examples,
        examples_note: examples_note.as_deref(),
        guidance: None,
    };
    let user = prompt::user_prompt(&prompt_row.template, &inputs).map_err(|why| {
        AppError::validation(
            "",
            format!("The {} prompt template is broken: {why}", prompt_row.name),
        )
    })?;
    let route = routed.map(|r| r.model);
    let preview = Preview {
        system: prompt_row.system_prompt.clone(),
        user,
        model: route.clone().unwrap_or_else(|why| format!("none ({why})")),
        examples: examples
            .iter()
            .map(|e| PreviewExample {
                polarity: e.polarity.clone(),
                similarity: e.similarity,
                source: match e.source {
                    ExampleSource::Customer => "this customer",
                    ExampleSource::Industry => "its industry",
                    ExampleSource::Any => "another business",
                }
                .to_owned(),
                annotation: e.annotation.clone(),
            })
            .collect(),
        examples_note,
        brief: instructions.brief.clone(),
    };
    Ok(Prepared {
        preview,
        customer,
        instructions,
        examples,
        prompt: prompt_row,
        route,
        tag,
    })
}
