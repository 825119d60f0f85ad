use super::DashboardStats;
use crate::error::AppError;
use leptos::prelude::*;

/// The dashboard counts for the signed-in member's workspace (every role; the audit entries
/// for admins only).
#[server(endpoint = "load_dashboard")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_dashboard() -> Result<DashboardStats, AppError> {
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&Role::ALL).await?;
            let admin = auth.user.role == Role::Admin;
            let stats = super::db::stats(&mut auth.tx, auth.user.tenant_id, admin).await?;
            auth.tx.commit().await?;
            Ok(stats)
        }
        .await,
    )
}
