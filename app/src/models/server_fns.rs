//! The catalog's and the prompts' server functions. Admins see and edit; managers and QA read
//! the prompts; reps reach none of it. Catalog edits also need the operator's workspace. Each
//! one authorises, checks its input and works in one tenant-scoped transaction.
use super::{
    form::{ModelForm, PlanForm, PriceForm, PromptForm},
    settings::{ModelSettingsPage, MyModelsForm, WorkspaceModelsForm},
    BulkSummary, CatalogPage, ExperimentView, Forecast, PlansPage, PromptDetail, PromptSaved,
    PromptsPage, Selection,
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::domain::Role;

#[cfg(feature = "ssr")]
const READERS: [Role; 3] = [Role::Admin, Role::Manager, Role::Qa];

#[cfg(feature = "ssr")]
fn gateway() -> Result<std::sync::Arc<crate::ai::gateway::Gateway>, AppError> {
    crate::ssr::from_context()
}

#[server(endpoint = "load_model_catalog")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_model_catalog() -> Result<CatalogPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let page = super::catalog::page(&mut auth.tx, auth.user.tenant_id).await?;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// Adds a model or changes one (the operator's admins only).
#[server(endpoint = "save_model")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_model(form: ModelForm) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            super::catalog::save_model(&mut auth.tx, tenant, actor, input).await?;
            auth.tx.commit().await?;
            gateway()?.reload_catalog().await?;
            Ok(())
        }
        .await,
    )
}

/// A new price for a model, from now or a later date (the operator's admins only).
#[server(endpoint = "set_model_price")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn set_model_price(form: PriceForm) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let today = time::OffsetDateTime::now_utc().date();
            let input = form
                .parse(today)
                .map_err(|errors| AppError::Fields { errors })?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            super::catalog::add_price(&mut auth.tx, tenant, actor, input).await?;
            auth.tx.commit().await?;
            gateway()?.reload_catalog().await?;
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "load_prompts")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_prompts(
    model: Option<String>,
    provider: Option<String>,
    task: Option<String>,
    q: Option<String>,
    page: Option<u32>,
) -> Result<PromptsPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&READERS).await?;
            let clean = |v: Option<String>| {
                v.map(|s| s.trim().chars().take(100).collect::<String>())
                    .filter(|s| !s.is_empty())
            };
            let filter = super::PromptFilter {
                model: clean(model),
                provider: clean(provider),
                task: clean(task),
                q: clean(q),
            };
            let can_edit = auth.user.role == Role::Admin;
            let page = super::prompts::page(
                &mut auth.tx,
                auth.user.tenant_id,
                &filter,
                page.unwrap_or(1) as usize,
                can_edit,
            )
            .await?;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// A prompt with its versions, labels and metrics, showing one version (production by default).
#[server(endpoint = "get_prompt")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn get_prompt(name: String, version: Option<i32>) -> Result<PromptDetail, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&READERS).await?;
            let can_edit = auth.user.role == Role::Admin;
            let gateway = gateway()?;
            let name: String = name.trim().chars().take(64).collect();
            let detail = super::prompts::detail(
                &mut auth.tx,
                auth.user.tenant_id,
                &name,
                version,
                can_edit,
                |tier| gateway.tier_default(tier),
            )
            .await?;
            auth.tx.commit().await?;
            Ok(detail)
        }
        .await,
    )
}

/// Saves the editor as a new, immutable version.
#[server(endpoint = "save_prompt")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_prompt(form: PromptForm) -> Result<PromptSaved, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            let saved = super::prompts::save(&mut auth.tx, tenant, actor, input).await?;
            auth.tx.commit().await?;
            Ok(saved)
        }
        .await,
    )
}

/// Points `production` or `staging` at a version: deploy, roll back, or stage.
#[server(endpoint = "move_prompt_label")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn move_prompt_label(
    name: String,
    label: String,
    version: i32,
) -> Result<PromptSaved, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            if !super::form::LABELS.contains(&label.as_str()) {
                return Err(AppError::validation(
                    "label",
                    "Choose production or staging.",
                ));
            }
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            let name: String = name.trim().chars().take(64).collect();
            let moved =
                super::prompts::move_label(&mut auth.tx, tenant, actor, &name, &label, version)
                    .await?;
            auth.tx.commit().await?;
            Ok(moved)
        }
        .await,
    )
}

#[server(endpoint = "diff_prompt_versions")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn diff_prompt_versions(
    name: String,
    from: i32,
    to: i32,
) -> Result<Vec<(char, String)>, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&READERS).await?;
            let name: String = name.trim().chars().take(64).collect();
            let lines =
                super::prompts::diff(&mut auth.tx, auth.user.tenant_id, &name, from, to).await?;
            auth.tx.commit().await?;
            Ok(lines)
        }
        .await,
    )
}

/// The cost forecast of moving the selected prompts to `target` (admins).
#[server(endpoint = "forecast_reassignment", input = Json)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn forecast_reassignment(
    selection: Selection,
    target: String,
) -> Result<Forecast, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let tenant = auth.user.tenant_id;
            let names = super::bulk::names(&mut auth.tx, tenant, &selection).await?;
            let forecast = super::bulk::forecast(&mut auth.tx, tenant, &names, &target).await?;
            auth.tx.commit().await?;
            Ok(forecast)
        }
        .await,
    )
}

/// Moves the selected prompts to `target` in one transaction (admins).
#[server(endpoint = "reassign_prompts", input = Json)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn reassign_prompts(
    selection: Selection,
    target: String,
) -> Result<BulkSummary, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            let names = super::bulk::names(&mut auth.tx, tenant, &selection).await?;
            let summary = super::bulk::apply(&mut auth.tx, tenant, actor, &names, &target).await?;
            auth.tx.commit().await?;
            Ok(summary)
        }
        .await,
    )
}

/// Undoes a bulk reassignment (admins).
#[server(endpoint = "undo_reassignment")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn undo_reassignment(id: Option<uuid::Uuid>) -> Result<BulkSummary, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let id = id.ok_or(AppError::NotFound)?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            let summary = super::bulk::undo(&mut auth.tx, tenant, actor, id).await?;
            auth.tx.commit().await?;
            Ok(summary)
        }
        .await,
    )
}

/// The legacy migration plans with their dry runs or changes (admins).
#[server(endpoint = "load_model_plans")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_model_plans() -> Result<PlansPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let page = super::plans::page(&mut auth.tx, auth.user.tenant_id).await?;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// Saves a draft plan (admins).
#[server(endpoint = "create_model_plan", input = Json)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn create_model_plan(form: PlanForm) -> Result<uuid::Uuid, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            let id = super::plans::create(&mut auth.tx, tenant, actor, input).await?;
            auth.tx.commit().await?;
            Ok(id)
        }
        .await,
    )
}

/// Applies a draft plan (`rollback` unset) or rolls an applied one back (admins).
#[server(endpoint = "run_model_plan")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn run_model_plan(
    id: Option<uuid::Uuid>,
    rollback: Option<bool>,
) -> Result<String, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let id = id.ok_or(AppError::NotFound)?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            let message = if rollback.unwrap_or(false) {
                super::plans::rollback(&mut auth.tx, tenant, Some(actor), id).await?
            } else {
                super::plans::apply(&mut auth.tx, tenant, actor, id).await?
            };
            auth.tx.commit().await?;
            Ok(message)
        }
        .await,
    )
}

/// The workspace's model settings, budget and this month's use, and the caller's own models
/// (every member).
#[server(endpoint = "load_model_settings")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_model_settings() -> Result<ModelSettingsPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&Role::ALL).await?;
            let (tenant, user) = (auth.user.tenant_id, auth.user.user_id);
            let admin = auth.user.role == Role::Admin;
            let page = super::settings_store::page(&mut auth.tx, tenant, user, admin).await?;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// The workspace's models, allowed models, budget and request rate (admins).
#[server(endpoint = "save_workspace_models", input = Json)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_workspace_models(form: WorkspaceModelsForm) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            super::settings_store::save_workspace(&mut auth.tx, tenant, actor, input).await?;
            auth.tx.commit().await?;
            gateway()?.forget_spend(tenant);
            Ok(())
        }
        .await,
    )
}

/// The caller's own fast/default/thinking models, among those the workspace allows.
#[server(endpoint = "save_my_models")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_my_models(form: MyModelsForm) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&Role::ALL).await?;
            let (choice, version) = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let (tenant, user) = (auth.user.tenant_id, auth.user.user_id);
            super::settings_store::save_mine(&mut auth.tx, tenant, user, choice, version).await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// A prompt's experiments with their arms side by side (admins, managers, QA).
#[server(endpoint = "load_experiments")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_experiments(name: String) -> Result<Vec<ExperimentView>, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&READERS).await?;
            let name: String = name.trim().chars().take(64).collect();
            let list = super::experiments::list(&mut auth.tx, auth.user.tenant_id, &name).await?;
            auth.tx.commit().await?;
            Ok(list)
        }
        .await,
    )
}

/// Starts sending `percent` of a prompt's calls to `candidate` (admins).
#[server(endpoint = "start_experiment")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn start_experiment(
    name: String,
    candidate: String,
    percent: Option<i16>,
    sticky_by: String,
) -> Result<uuid::Uuid, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            let name: String = name.trim().chars().take(64).collect();
            let candidate: String = candidate.trim().chars().take(100).collect();
            let percent = percent.unwrap_or(0);
            let id = super::experiments::start(
                &mut auth.tx,
                tenant,
                actor,
                &name,
                &candidate,
                percent,
                sticky_by.trim(),
            )
            .await?;
            auth.tx.commit().await?;
            Ok(id)
        }
        .await,
    )
}

/// Ends a running experiment: promote the candidate, or stop (admins).
#[server(endpoint = "end_experiment")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn end_experiment(
    id: Option<uuid::Uuid>,
    promote: Option<bool>,
) -> Result<String, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let id = id.ok_or(AppError::NotFound)?;
            let (tenant, actor) = (auth.user.tenant_id, auth.user.user_id);
            let message =
                super::experiments::end(&mut auth.tx, tenant, actor, id, promote.unwrap_or(false))
                    .await?;
            auth.tx.commit().await?;
            Ok(message)
        }
        .await,
    )
}
