use super::Member;
use crate::error::AppError;
use leptos::prelude::*;

/// The workspace's members (admins only).
#[server(endpoint = "list_members")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn list_members() -> Result<Vec<Member>, AppError> {
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let members = super::db::members(&mut auth.tx, auth.user.tenant_id).await?;
            auth.tx.commit().await?;
            Ok(members)
        }
        .await,
    )
}
