//! The examples' server functions. Managers and admins write; QA reads and searches; only
//! admins start a re-embedding of everything.
use super::{form::ExampleForm, ExampleDetail, ExampleSaved, ExamplesPage, SimilarResult};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::domain::Role;

#[cfg(feature = "ssr")]
const VIEWERS: [Role; 3] = [Role::Admin, Role::Manager, Role::Qa];
#[cfg(feature = "ssr")]
use super::EDITORS;

/// One page of live examples, newest first, filtered; and where their vectors stand.
#[server(endpoint = "load_examples")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_examples(
    polarity: Option<String>,
    output_type: Option<String>,
    industry: Option<String>,
    purpose: Option<String>,
    after: Option<Uuid>,
) -> Result<ExamplesPage, AppError> {
    use crate::{
        ai::gateway::Gateway,
        auth::guard::authorize,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let f = crate::pipeline::catalog::Filed::checked(output_type, industry, purpose)?;
            let polarity = crate::pipeline::catalog::given(polarity);
            if polarity
                .as_deref()
                .is_some_and(|p| !super::POLARITIES.contains(&p))
            {
                return Err(AppError::validation(
                    "polarity",
                    "Choose positive or negative.",
                ));
            }
            let gateway: std::sync::Arc<Gateway> = from_context()?;
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let q = super::db::ListQuery {
                polarity: polarity.as_deref(),
                output_type: f.output_type.as_deref(),
                industry: f.industry.as_deref(),
                purpose: f.purpose.as_deref(),
                after,
            };
            let mut rows = super::db::list(&mut auth.tx, tenant, &q).await?;
            let industries = super::db::industries(&mut auth.tx, tenant).await?;
            let status = super::db::status(&mut auth.tx, tenant, gateway.embedding_model()).await?;
            let role = auth.user.role;
            auth.tx.commit().await?;
            let more = rows.len() as i64 > super::PAGE_SIZE;
            rows.truncate(super::PAGE_SIZE as usize);
            let next_after = if more {
                rows.last().map(|r| r.id)
            } else {
                None
            };
            Ok(ExamplesPage {
                rows,
                next_after,
                industries,
                can_edit: EDITORS.contains(&role),
                can_reembed: role == Role::Admin,
                status,
            })
        }
        .await,
    )
}

/// The editor's data for example `id`, or a blank form (None).
#[server(endpoint = "get_example")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn get_example(id: Option<Uuid>) -> Result<ExampleDetail, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let customers = crate::pipeline::db::tasks::customers(&mut auth.tx).await?;
            let can_edit = EDITORS.contains(&auth.user.role);
            let detail = match id {
                None => ExampleDetail {
                    form: ExampleForm {
                        polarity: "positive".into(),
                        output_type: "email".into(),
                        ..Default::default()
                    },
                    embedding_model: None,
                    embedded_at: None,
                    from_task: None,
                    customers,
                    can_edit,
                },
                Some(id) => {
                    let s = super::db::get(&mut auth.tx, tenant, id, false)
                        .await?
                        .ok_or(AppError::NotFound)?;
                    let e = s.input;
                    ExampleDetail {
                        form: ExampleForm {
                            id: id.to_string(),
                            version: super::version_of(s.updated_at),
                            polarity: e.polarity,
                            output_type: e.output_type,
                            industry: e.industry,
                            purpose: e.purpose,
                            customer_id: e.customer_id.map(|c| c.to_string()).unwrap_or_default(),
                            content: e.content,
                            annotation: e.annotation,
                            takeaways: e.takeaways,
                        },
                        embedding_model: s.embedding_model,
                        embedded_at: s.embedded_at,
                        from_task: s.from_task,
                        customers,
                        can_edit,
                    }
                }
            };
            auth.tx.commit().await?;
            Ok(detail)
        }
        .await,
    )
}

/// Creates or saves an example and embeds its text; opens the example's page.
#[server(endpoint = "save_example")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_example(form: ExampleForm) -> Result<ExampleSaved, AppError> {
    use crate::{
        ai::gateway::Gateway,
        auth::guard::authorize,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            auth.tx.commit().await?;
            let target = form
                .target()
                .map_err(|e| AppError::Fields { errors: vec![e] })?;
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let pool: sqlx::PgPool = from_context()?;
            let gateway: std::sync::Arc<Gateway> = from_context()?;
            let saved = super::service::save(&pool, &gateway, scope, target, &input).await?;
            if target.is_none() {
                leptos_axum::redirect(&format!("/examples/{}", saved.id));
            }
            Ok(saved)
        }
        .await,
    )
}

/// Archives an example: drafts no longer get it; those that did still name it.
#[server(endpoint = "archive_example")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn archive_example(id: Uuid) -> Result<(), AppError> {
    use crate::{
        auth::guard::authorize,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            auth.tx.commit().await?;
            let pool: sqlx::PgPool = from_context()?;
            super::service::archive(&pool, scope, id).await
        }
        .await,
    )
}

/// Makes a delivered draft a positive example, in one click from the task page.
#[server(endpoint = "promote_deliverable")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%deliverable_id)))]
pub async fn promote_deliverable(deliverable_id: Uuid) -> Result<ExampleSaved, AppError> {
    use crate::{
        ai::gateway::Gateway,
        auth::guard::authorize,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            auth.tx.commit().await?;
            let pool: sqlx::PgPool = from_context()?;
            let gateway: std::sync::Arc<Gateway> = from_context()?;
            super::service::promote(&pool, &gateway, scope, deliverable_id).await
        }
        .await,
    )
}

/// The examples nearest any text, with their distance.
#[server(endpoint = "find_similar_examples")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn find_similar_examples(
    q: String,
    polarity: Option<String>,
) -> Result<SimilarResult, AppError> {
    use crate::{
        ai::gateway::Gateway,
        auth::guard::authorize,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let q = q.trim().to_owned();
            if q.is_empty() {
                return Err(AppError::validation(
                    "q",
                    "Type or paste some text to compare with.",
                ));
            }
            if q.chars().count() > super::MAX_QUERY_CHARS {
                return Err(AppError::validation(
                    "q",
                    format!("Use at most {} characters.", super::MAX_QUERY_CHARS),
                ));
            }
            let polarity = polarity.filter(|p| !p.is_empty());
            if polarity
                .as_deref()
                .is_some_and(|p| !super::POLARITIES.contains(&p))
            {
                return Err(AppError::validation(
                    "polarity",
                    "Choose positive or negative.",
                ));
            }
            let auth = authorize(&VIEWERS).await?;
            let scope = auth.scope();
            auth.tx.commit().await?;
            let pool: sqlx::PgPool = from_context()?;
            let gateway: std::sync::Arc<Gateway> = from_context()?;
            super::service::similar(&pool, &gateway, scope, &q, polarity.as_deref()).await
        }
        .await,
    )
}

/// An admin asks for every example to be embedded again; the background pass does it and the
/// list shows the progress. One run at a time.
#[server(endpoint = "reembed_examples")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn reembed_examples() -> Result<i32, AppError> {
    use crate::{
        ai::gateway::Gateway,
        auth::guard::authorize,
        ssr::{audit, from_context, respond},
    };
    respond(
        async move {
            let gateway: std::sync::Arc<Gateway> = from_context()?;
            let mut auth = authorize(&[Role::Admin]).await?;
            let (tenant, user) = (auth.user.tenant_id, auth.user.user_id);
            let model = gateway.embedding_model().to_owned();
            let total = super::db::start_run(&mut auth.tx, tenant, user, &model)
                .await?
                .ok_or_else(|| {
                    AppError::validation(
                        "",
                        "A re-embedding is already running; its progress is shown above.",
                    )
                })?;
            audit::record(
                &mut auth.tx,
                tenant,
                Some(user),
                "examples.reembed_started",
                Some(&format!("{total} examples with {model}")),
            )
            .await?;
            auth.tx.commit().await?;
            Ok(total)
        }
        .await,
    )
}
