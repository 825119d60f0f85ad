//! The customers server functions. Managers and admins edit; QA reads; reps see customers
//! through their contacts only. Each one authorises, checks its input and works in one
//! tenant-scoped transaction.
use super::{form::BusinessContextForm, CustomerDetail, CustomersPage, Saved};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::domain::Role;

#[cfg(feature = "ssr")]
const VIEWERS: [Role; 3] = [Role::Admin, Role::Manager, Role::Qa];
/// Who may change a customer's business context; the page shows the editor only to them.
pub const EDITORS: [crate::domain::Role; 2] =
    [crate::domain::Role::Admin, crate::domain::Role::Manager];
/// Longest search text.
pub const MAX_QUERY_CHARS: usize = 100;

/// One page of customers by name, searched by name and filtered; every argument is optional.
#[server(endpoint = "load_customers")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_customers(
    q: Option<String>,
    industry: Option<String>,
    open_tasks: Option<bool>,
    after: Option<Uuid>,
) -> Result<CustomersPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let q = q.as_deref().map(str::trim).filter(|q| !q.is_empty());
            if q.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
                return Err(AppError::validation(
                    "q",
                    format!("Search with at most {MAX_QUERY_CHARS} characters."),
                ));
            }
            let industry = industry.as_deref().map(str::trim).filter(|i| !i.is_empty());
            if industry.is_some_and(|i| i.chars().count() > super::form::MAX_SHORT_CHARS) {
                return Err(AppError::validation(
                    "industry",
                    "Choose an industry from the list.",
                ));
            }
            // LIKE's wildcards in the text are matched literally.
            let like = q.map(|q| {
                let escaped = q
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            });
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let query = super::db::ListQuery {
                name_like: like.as_deref(),
                industry,
                open_tasks: open_tasks.unwrap_or(false),
                after,
            };
            let mut rows = super::db::list(&mut auth.tx, tenant, &query).await?;
            let industries = super::db::industries(&mut auth.tx, tenant).await?;
            auth.tx.commit().await?;
            let more = rows.len() as i64 > super::PAGE_SIZE;
            rows.truncate(super::PAGE_SIZE as usize);
            let next_after = if more {
                rows.last().map(|r| r.id)
            } else {
                None
            };
            Ok(CustomersPage {
                rows,
                next_after,
                industries,
            })
        }
        .await,
    )
}

/// A customer with its business context, projects, recent tasks and delivered content.
#[server(endpoint = "get_customer")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn get_customer(id: Uuid) -> Result<CustomerDetail, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let customer = super::db::customer(&mut auth.tx, tenant, id, false)
                .await?
                .ok_or(AppError::NotFound)?;
            let projects = super::db::projects(&mut auth.tx, tenant, id).await?;
            let tasks = super::db::recent_tasks(&mut auth.tx, tenant, id).await?;
            let delivered = super::db::delivered(&mut auth.tx, tenant, id).await?;
            let can_edit = EDITORS.contains(&auth.user.role);
            auth.tx.commit().await?;
            Ok(CustomerDetail {
                customer,
                projects,
                tasks,
                delivered,
                can_edit,
            })
        }
        .await,
    )
}

/// Saves the business context from the editor. Posted by an `ActionForm`; every invalid field
/// comes back at once, and a save against an older version is refused.
#[server(endpoint = "save_business_context")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_business_context(form: BusinessContextForm) -> Result<Saved, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&EDITORS).await?;
            let head = form
                .customer_id()
                .and_then(|id| Ok((id, form.opened_at()?)));
            let (id, opened_at) = head.map_err(|e| AppError::Fields { errors: vec![e] })?;
            let context = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let scope = auth.scope();
            let saved = super::service::save(&mut auth.tx, scope, id, opened_at, &context).await?;
            auth.tx.commit().await?;
            Ok(saved)
        }
        .await,
    )
}
