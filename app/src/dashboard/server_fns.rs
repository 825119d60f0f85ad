use super::{DashboardStats, Period};
use crate::error::AppError;
use leptos::prelude::*;

/// The dashboard for the signed-in member's workspace over `period` (every role; the audit
/// entries for admins, the AI's figures for managers and admins).
#[server(endpoint = "load_dashboard")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_dashboard(#[server(default)] period: Period) -> Result<DashboardStats, AppError> {
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&Role::ALL).await?;
            let role = auth.user.role;
            let stats = super::db::stats(&mut auth.tx, auth.user.tenant_id, role, period).await?;
            auth.tx.commit().await?;
            Ok(stats)
        }
        .await,
    )
}

/// Rebuilds the workspace's figures now (managers and admins). Figures younger than ten
/// seconds are kept, so repeated clicks cost nothing. Returns when they were refreshed.
#[server(endpoint = "refresh_dashboard")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn refresh_dashboard() -> Result<time::OffsetDateTime, AppError> {
    use super::rollup;
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin, Role::Manager]).await?;
            let tenant = auth.user.tenant_id;
            let last = rollup::refreshed_at(&mut auth.tx, tenant).await?;
            let now = time::OffsetDateTime::now_utc();
            let at = match last {
                Some(at) if now - at < rollup::MIN_AGE_FOR_MANUAL => at,
                _ => {
                    rollup::refresh(&mut auth.tx, tenant, None).await?;
                    rollup::refreshed_at(&mut auth.tx, tenant)
                        .await?
                        .unwrap_or(now)
                }
            };
            auth.tx.commit().await?;
            Ok(at)
        }
        .await,
    )
}
