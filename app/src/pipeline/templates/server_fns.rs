//! The templates' server functions. Managers and admins write; QA reads and previews. Each one
//! authorises, checks its input and works in a tenant-scoped transaction.
use super::{
    form::TemplateForm, Preview, PreviewChoice, TemplateDetail, TemplateDiff, TemplatesPage,
    VersionSaved,
};
use crate::{error::AppError, pipeline::model::CustomerOption};
use leptos::prelude::*;
use leptos::server_fn::codec::{ByteStream, Streaming};
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::domain::Role;

#[cfg(feature = "ssr")]
const VIEWERS: [Role; 3] = [Role::Admin, Role::Manager, Role::Qa];
#[cfg(feature = "ssr")]
const EDITORS: [Role; 2] = [Role::Admin, Role::Manager];

/// One page of templates by name (built-ins and the workspace's), filtered.
#[server(endpoint = "load_templates")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_templates(
    output_type: Option<String>,
    industry: Option<String>,
    purpose: Option<String>,
    status: Option<String>,
    after: Option<Uuid>,
) -> Result<TemplatesPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let f = crate::pipeline::catalog::Filed::checked(output_type, industry, purpose)?;
            let status = crate::pipeline::catalog::given(status);
            if status
                .as_deref()
                .is_some_and(|s| !super::STATUSES.contains(&s))
            {
                return Err(AppError::validation(
                    "status",
                    "Choose active, draft or inactive.",
                ));
            }
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let q = super::db::ListQuery {
                output_type: f.output_type.as_deref(),
                industry: f.industry.as_deref(),
                purpose: f.purpose.as_deref(),
                status: status.as_deref(),
                after,
            };
            let mut rows = super::db::list(&mut auth.tx, tenant, &q).await?;
            let industries = super::db::industries(&mut auth.tx, tenant).await?;
            let can_edit = EDITORS.contains(&auth.user.role);
            auth.tx.commit().await?;
            let more = rows.len() as i64 > super::PAGE_SIZE;
            rows.truncate(super::PAGE_SIZE as usize);
            let next_after = if more {
                rows.last().map(|r| r.id)
            } else {
                None
            };
            Ok(TemplatesPage {
                rows,
                next_after,
                industries,
                can_edit,
            })
        }
        .await,
    )
}

/// A template with its history and one version's content (the newest by default).
#[server(endpoint = "get_template")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn get_template(id: Uuid, version: Option<i32>) -> Result<TemplateDetail, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let head = super::db::head(&mut auth.tx, tenant, id, false)
                .await?
                .ok_or(AppError::NotFound)?;
            let wanted = version.unwrap_or(head.latest_version);
            let shown = super::db::version(&mut auth.tx, id, wanted)
                .await?
                .ok_or_else(|| {
                    AppError::validation(
                        "version",
                        format!("This template has no version {wanted}."),
                    )
                })?;
            let versions = super::db::versions(&mut auth.tx, id).await?;
            let can_edit = EDITORS.contains(&auth.user.role);
            auth.tx.commit().await?;
            Ok(TemplateDetail {
                id,
                builtin: head.builtin,
                status: super::status(head.active, head.active_version).to_owned(),
                active_version: head.active_version.filter(|_| head.active),
                latest_version: head.latest_version,
                versions,
                shown,
                can_edit,
            })
        }
        .await,
    )
}

/// Saves the editor as a new version (a new template when the form has no id), optionally
/// making it live. Opens the template's page.
#[server(endpoint = "save_template")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_template(form: TemplateForm) -> Result<VersionSaved, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&EDITORS).await?;
            let target = form
                .target()
                .map_err(|e| AppError::Fields { errors: vec![e] })?;
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let scope = auth.scope();
            let saved =
                super::service::save(&mut auth.tx, scope, target, &input, form.activate.is_some())
                    .await?;
            auth.tx.commit().await?;
            leptos_axum::redirect(&format!(
                "/templates/{}?version={}",
                saved.id, saved.version
            ));
            Ok(saved)
        }
        .await,
    )
}

/// Makes a version live; an older one is a rollback.
#[server(endpoint = "activate_template")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id, version)))]
pub async fn activate_template(id: Uuid, version: i32) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            super::service::activate_version(&mut auth.tx, scope, id, version).await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// Takes a template out of use: the worker no longer picks it. Its versions stay.
#[server(endpoint = "deactivate_template")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn deactivate_template(id: Uuid) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            super::service::deactivate(&mut auth.tx, scope, id).await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "compare_template_versions")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn compare_template_versions(
    id: Uuid,
    from: i32,
    to: i32,
) -> Result<TemplateDiff, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let diff = super::service::diff(&mut auth.tx, tenant, id, from, to).await?;
            auth.tx.commit().await?;
            Ok(diff)
        }
        .await,
    )
}

/// The customers to preview against, and the chosen customer's tasks of this content type.
#[server(endpoint = "preview_choices")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn preview_choices(
    output_type: String,
    customer_id: Option<Uuid>,
) -> Result<(Vec<CustomerOption>, Vec<PreviewChoice>), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            if output_type.chars().count() > 40 {
                return Err(AppError::validation("output_type", "Unknown content type."));
            }
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let customers = crate::pipeline::db::tasks::customers(&mut auth.tx).await?;
            let tasks = match customer_id {
                Some(c) => super::db::task_choices(&mut auth.tx, tenant, c, &output_type).await?,
                None => Vec::new(),
            };
            auth.tx.commit().await?;
            Ok((customers, tasks))
        }
        .await,
    )
}

/// The exact prompt the worker would send for this version, customer and (optional) task.
#[server(endpoint = "preview_template")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id, version)))]
pub async fn preview_template(
    id: Uuid,
    version: i32,
    customer_id: Option<Uuid>,
    task_id: Option<Uuid>,
) -> Result<Preview, AppError> {
    use crate::{
        ai::gateway::Gateway,
        auth::guard::authorize,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let customer_id = customer_id.ok_or_else(|| {
                AppError::validation("customer_id", "Choose a customer to preview against.")
            })?;
            let auth = authorize(&VIEWERS).await?;
            let scope = auth.scope();
            auth.tx.commit().await?;
            let pool: sqlx::PgPool = from_context()?;
            let gateway: std::sync::Arc<Gateway> = from_context()?;
            let of = super::service::PreviewOf {
                template_id: id,
                version,
                customer_id,
                task_id,
            };
            super::service::preview(&pool, &gateway, scope, of).await
        }
        .await,
    )
}

/// Runs the preview's prompt through the gateway and streams the draft as newline-delimited
/// `SampleEvent`s, ending with its scores and the decision the rules would take. Nothing is
/// stored or delivered. Managers and admins only: it calls the model.
#[server(endpoint = "generate_sample", output = Streaming)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id, version)))]
pub async fn generate_sample(
    id: Uuid,
    version: i32,
    customer_id: Option<Uuid>,
    task_id: Option<Uuid>,
) -> Result<ByteStream<AppError>, AppError> {
    use crate::{
        ai::gateway::Gateway,
        auth::guard::authorize,
        pipeline::worker::Pipeline,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let customer_id = customer_id.ok_or_else(|| {
                AppError::validation("customer_id", "Choose a customer to write the sample for.")
            })?;
            let auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            auth.tx.commit().await?;
            let pool: sqlx::PgPool = from_context()?;
            let gateway: std::sync::Arc<Gateway> = from_context()?;
            let pipeline: std::sync::Arc<Pipeline> = from_context()?;
            let of = super::service::PreviewOf {
                template_id: id,
                version,
                customer_id,
                task_id,
            };
            let rx = super::sample::generate(pool, gateway, pipeline, scope, of).await?;
            let lines = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|l| (Ok::<_, AppError>(l), rx))
            });
            Ok(ByteStream::new(lines))
        }
        .await,
    )
}
