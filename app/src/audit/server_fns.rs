use super::AuditPage;
use crate::error::AppError;
use leptos::prelude::*;

/// One page of the workspace's audit log (admins only).
#[server(endpoint = "list_audit")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn list_audit(before: Option<i64>) -> Result<AuditPage, AppError> {
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let before = crate::error::row_cursor(before)?;
            let mut auth = authorize(&[Role::Admin]).await?;
            let page = super::db::list(&mut auth.tx, auth.user.tenant_id, before).await?;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}
