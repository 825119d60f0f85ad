//! Saving examples (embedded through the gateway as they are saved), promotion of a delivered
//! draft, "find similar", and the background pass that keeps vectors current.
use super::{db, form::ExampleInput, ExampleSaved, SimilarResult, SIMILAR_K};
use crate::{
    ai::{
        gateway::{CallMeta, Gateway},
        TaskKind,
    },
    error::AppError,
    ssr::{
        audit::{self, Change, Target},
        tenancy::{self, Scope},
    },
};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

/// Texts embedded per call by the background pass.
pub const EMBED_BATCH: i64 = 32;

fn meta(scope: Scope, subject: Option<Uuid>) -> CallMeta {
    CallMeta {
        scope,
        task: TaskKind::ContentGeneration,
        prompt_name: Some("example_embedding".to_owned()),
        prompt_version: None,
        subject_id: subject,
        request_id: Some(crate::error::current_request_id()),
        route: Default::default(),
    }
}

/// One text's vector and the model that made it, or why there is none.
async fn embed_one(
    gateway: &Gateway,
    scope: Scope,
    subject: Option<Uuid>,
    text: &str,
) -> Result<(Vec<f32>, String), String> {
    match gateway
        .embed(&meta(scope, subject), &[text.to_owned()])
        .await
    {
        Ok(made) => match made.vectors.into_iter().next() {
            Some(v) => Ok((v, made.model)),
            None => Err(format!("{} returned no vector", made.model)),
        },
        Err(f) => Err(f.to_string()),
    }
}

fn saved_note(id: Uuid, embedded: Result<String, String>) -> ExampleSaved {
    match embedded {
        Ok(model) => ExampleSaved {
            id,
            embedded_with: Some(model),
            embed_error: None,
        },
        Err(why) => ExampleSaved {
            id,
            embedded_with: None,
            embed_error: Some(why),
        },
    }
}

/// Creates (`target` None) or saves an example, then embeds its text when it is new or
/// changed. An embedding failure does not lose the save: the answer says why, and the
/// background pass tries again.
pub async fn save(
    pool: &PgPool,
    gateway: &Gateway,
    scope: Scope,
    target: Option<(Uuid, OffsetDateTime)>,
    next: &ExampleInput,
) -> Result<ExampleSaved, AppError> {
    let tenant = scope.tenant_id;
    let mut tx = tenancy::begin(pool, scope).await?;
    // The example first (another workspace's is not found), then its customer.
    let current = match target {
        None => None,
        Some((id, opened_at)) => {
            let current = db::get(&mut tx, tenant, id, true)
                .await?
                .ok_or(AppError::NotFound)?;
            if current.updated_at != opened_at {
                return Err(AppError::validation(
                    "",
                    "Someone else saved this example after you opened it. Reload the page to see their changes, then make yours again.",
                ));
            }
            Some((id, current))
        }
    };
    let customer = db::customer_name(&mut tx, tenant, next.customer_id)
        .await?
        .ok_or_else(|| AppError::validation("customer_id", "Choose the customer from the list."))?;
    // The vector a save keeps: only when the text is the same and already embedded.
    let (id, action, changes, kept) = match current {
        None => {
            let id = db::insert(&mut tx, tenant, scope.user_id, next, None).await?;
            let changes: Vec<Change> = next
                .fields(&customer)
                .into_iter()
                .map(|(f, v)| Change::new(f, "", &v))
                .collect();
            (id, "example.created", changes, None)
        }
        Some((id, current)) => {
            let changes = audit::diff(
                &current.input.fields(&current.customer),
                &next.fields(&customer),
            );
            if changes.is_empty() {
                return Ok(saved_note(
                    id,
                    current
                        .embedding_model
                        .ok_or_else(|| "not embedded yet".to_owned()),
                ));
            }
            let kept = current
                .embedding_model
                .filter(|_| current.input.content == next.content);
            db::update(&mut tx, tenant, id, next).await?;
            (id, "example.updated", changes, kept)
        }
    };
    let label: String = next.content.chars().take(60).collect();
    let target = Target {
        kind: "example",
        id,
        label: &label,
    };
    audit::record_about(
        &mut tx,
        tenant,
        Some(scope.user_id),
        action,
        target,
        &changes,
    )
    .await?;
    tx.commit().await?;
    if let Some(model) = kept {
        return Ok(saved_note(id, Ok(model)));
    }
    let embedded = embed_and_store(pool, gateway, scope, id, &next.content).await?;
    Ok(saved_note(id, embedded))
}

/// Embeds an example's text and stores the vector: the model, or why it could not be made.
async fn embed_and_store(
    pool: &PgPool,
    gateway: &Gateway,
    scope: Scope,
    id: Uuid,
    content: &str,
) -> Result<Result<String, String>, AppError> {
    Ok(match embed_one(gateway, scope, Some(id), content).await {
        Ok((vector, model)) => {
            let mut tx = tenancy::begin(pool, scope).await?;
            db::store_vector(&mut tx, scope.tenant_id, id, content, vector, &model).await?;
            tx.commit().await?;
            Ok(model)
        }
        Err(why) => Err(why),
    })
}

pub async fn archive(pool: &PgPool, scope: Scope, id: Uuid) -> Result<(), AppError> {
    let mut tx = tenancy::begin(pool, scope).await?;
    let label = db::archive(&mut tx, scope.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let target = Target {
        kind: "example",
        id,
        label: &label,
    };
    audit::record_about(
        &mut tx,
        scope.tenant_id,
        Some(scope.user_id),
        "example.archived",
        target,
        &[],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Makes a delivered draft a positive example of its customer, its industry and its type, in
/// one step; the annotation can then be edited.
pub async fn promote(
    pool: &PgPool,
    gateway: &Gateway,
    scope: Scope,
    deliverable: Uuid,
) -> Result<ExampleSaved, AppError> {
    let mut tx = tenancy::begin(pool, scope).await?;
    let p = db::promotable(&mut tx, scope.tenant_id, deliverable)
        .await?
        .ok_or_else(|| AppError::validation("", "Only a delivered draft can become an example."))?;
    tx.commit().await?;
    let input = ExampleInput {
        polarity: "positive".to_owned(),
        output_type: p.output_type,
        industry: p.industry,
        purpose: String::new(),
        customer_id: Some(p.customer_id),
        content: p.content,
        annotation: format!("Delivered for \"{}\" after review.", p.title),
        takeaways: String::new(),
    };
    let mut tx = tenancy::begin(pool, scope).await?;
    let id = match db::insert(
        &mut tx,
        scope.tenant_id,
        scope.user_id,
        &input,
        Some(deliverable),
    )
    .await
    {
        Ok(id) => id,
        Err(e)
            if e.as_database_error().and_then(|d| d.constraint())
                == Some("content_examples_deliverable_unique") =>
        {
            return Err(AppError::validation(
                "",
                "This draft is already an example.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let label: String = input.content.chars().take(60).collect();
    let target = Target {
        kind: "example",
        id,
        label: &label,
    };
    let from = Change::new("From task", "", &p.title);
    audit::record_about(
        &mut tx,
        scope.tenant_id,
        Some(scope.user_id),
        "example.promoted",
        target,
        &[from],
    )
    .await?;
    tx.commit().await?;
    let embedded = embed_and_store(pool, gateway, scope, id, &input.content).await?;
    Ok(saved_note(id, embedded))
}

/// The nearest examples to any text, with their cosine distance.
pub async fn similar(
    pool: &PgPool,
    gateway: &Gateway,
    scope: Scope,
    text: &str,
    polarity: Option<&str>,
) -> Result<SimilarResult, AppError> {
    let (vector, model) = embed_one(gateway, scope, None, text).await.map_err(|why| {
        AppError::validation("q", format!("The text could not be embedded: {why}"))
    })?;
    let mut tx = tenancy::begin(pool, scope).await?;
    let found = db::similar(
        &mut tx,
        scope.tenant_id,
        &pgvector::Vector::from(vector),
        &model,
        polarity,
        SIMILAR_K,
    )
    .await?;
    tx.commit().await?;
    Ok(SimilarResult { model, found })
}

/// Embeds up to `max` of one workspace's examples whose vector is missing, of another model,
/// or older than its open run, and closes the run once none is left. Returns how many it
/// embedded.
pub async fn embed_pending(
    pool: &PgPool,
    gateway: &Gateway,
    tenant: Uuid,
    max: i64,
) -> Result<usize, AppError> {
    let scope = Scope {
        tenant_id: tenant,
        user_id: Uuid::nil(),
    };
    let model = gateway.embedding_model().to_owned();
    let mut done = 0usize;
    // Bounded: a batch whose vectors do not all land (text changed meanwhile) is not retried
    // forever.
    let rounds = max / EMBED_BATCH + 2;
    for _ in 0..rounds {
        let mut tx = tenancy::begin(pool, scope).await?;
        let run = db::open_run(&mut tx, tenant).await?;
        let batch = db::pending(
            &mut tx,
            tenant,
            &model,
            run.as_ref().map(|r| r.requested_at),
            EMBED_BATCH.min(max - done as i64),
        )
        .await?;
        if batch.is_empty() {
            if let Some(run) = run {
                db::finish_run(&mut tx, run.id, None).await?;
            }
            tx.commit().await?;
            return Ok(done);
        }
        tx.commit().await?;
        let texts: Vec<String> = batch.iter().map(|(_, t)| t.clone()).collect();
        match gateway.embed(&meta(scope, None), &texts).await {
            Ok(made) => {
                let mut tx = tenancy::begin(pool, scope).await?;
                for ((id, text), vector) in batch.iter().zip(made.vectors) {
                    if db::store_vector(&mut tx, tenant, *id, text, vector, &made.model).await? {
                        done += 1;
                    }
                }
                tx.commit().await?;
            }
            Err(f) => {
                let mut tx = tenancy::begin(pool, scope).await?;
                if let Some(run) = run {
                    db::note_run_error(&mut tx, run.id, &f.to_string()).await?;
                }
                tx.commit().await?;
                return Err(AppError::validation(
                    "",
                    format!("Embedding examples failed: {f}"),
                ));
            }
        }
        if done as i64 >= max {
            return Ok(done);
        }
    }
    Ok(done)
}
