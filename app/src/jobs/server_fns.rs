//! The Jobs page's server functions. Admins see the schedules and runs; jobs serve every
//! workspace, so only the admins of the operator's workspace (the one that edits the shared
//! model catalog) ask for a run.
use super::JobsPage;
use crate::error::AppError;
use leptos::prelude::*;

/// An admin, and whether their workspace is the operator's.
#[cfg(feature = "ssr")]
async fn admin() -> Result<(crate::auth::guard::Authorized, bool), AppError> {
    use crate::{auth::guard::authorize, domain::Role};
    let mut auth = authorize(&[Role::Admin]).await?;
    let operates = sqlx::query_scalar!(r#"select app_operates_catalog() as "operates!""#)
        .fetch_one(&mut *auth.tx)
        .await?;
    Ok((auth, operates))
}

/// Refuses anyone but an admin of the operator's workspace.
#[cfg(feature = "ssr")]
async fn operator_admin() -> Result<crate::auth::guard::Authorized, AppError> {
    let (auth, operates) = admin().await?;
    if !operates {
        return Err(AppError::forbidden(
            "scheduled jobs serve every workspace, so the operator's workspace manages them.",
        ));
    }
    Ok(auth)
}

#[server(endpoint = "load_jobs")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_jobs() -> Result<JobsPage, AppError> {
    use crate::ssr::{from_context, respond};
    respond(
        async move {
            let (auth, operates) = admin().await?;
            auth.tx.commit().await?;
            let pool: sqlx::PgPool = from_context()?;
            let mut page = super::scheduler::page(&pool).await?;
            page.can_run = operates;
            Ok(page)
        }
        .await,
    )
}

/// Asks for a run of `name` now: the next process to look (within 2 s) takes it. Audited.
#[server(endpoint = "run_job_now")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%name)))]
pub async fn run_job_now(name: String) -> Result<(), AppError> {
    use crate::ssr::{audit, from_context, respond};
    respond(
        async move {
            if name.len() > 100 {
                return Err(AppError::validation("name", "There is no such job."));
            }
            let mut auth = operator_admin().await?;
            let pool: sqlx::PgPool = from_context()?;
            if !super::scheduler::request(&pool, &name, auth.user.user_id).await? {
                return Err(AppError::validation("name", "There is no such job."));
            }
            audit::record_named(
                &mut auth.tx,
                auth.user.tenant_id,
                Some(auth.user.user_id),
                "job.run_requested",
                &name,
                serde_json::json!({ "job": name }),
            )
            .await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}
