use super::ContactDetail;
use crate::crm::{ContactsPage, TimelinePage};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// One page of the workspace's contacts, searched and filtered; every argument is optional.
#[server(endpoint = "list_contacts")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn list_contacts(
    q: Option<String>,
    stage: Option<String>,
    mine: Option<bool>,
    archived: Option<bool>,
    after: Option<Uuid>,
) -> Result<ContactsPage, AppError> {
    use crate::crm::ContactFilter;
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    let filter = ContactFilter {
        q,
        stage,
        mine: mine.unwrap_or(false),
        archived: archived.unwrap_or(false),
        after,
    };
    respond(
        async move {
            let tsquery = crate::crm::search::prefix_query(filter.q.as_deref().unwrap_or(""))?;
            let stage = filter
                .stage
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            if let Some(stage) = stage {
                if !crate::crm::LIFECYCLE_STAGES.contains(&stage) {
                    return Err(AppError::validation(
                        "stage",
                        format!(
                            "Unknown stage {stage:?}; choose one of {}.",
                            crate::crm::LIFECYCLE_STAGES.join(", ")
                        ),
                    ));
                }
            }
            let mut auth = authorize(&Role::ALL).await?;
            let query = crate::crm::db::ContactQuery {
                tsquery: tsquery.as_deref(),
                stage,
                owner: filter.mine.then_some(auth.user.user_id),
                archived: filter.archived,
                after: filter.after,
            };
            let mut page =
                crate::crm::db::list_contacts(&mut auth.tx, auth.user.tenant_id, &query).await?;
            page.can_edit = super::EDITORS.contains(&auth.user.role);
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// A contact with its customer, deals, recent activities and computed facts, and whether the
/// reader may change it.
#[server(endpoint = "get_contact")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn get_contact(id: Uuid) -> Result<ContactDetail, AppError> {
    use crate::{
        auth::guard::authorize,
        domain::Role,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let auth = authorize(&Role::ALL).await?;
            let scope = auth.scope();
            let can_edit = super::EDITORS.contains(&auth.user.role);
            auth.tx.commit().await?;
            let pool: sqlx::PgPool = from_context()?;
            let built =
                crate::crm::context::build(&pool, scope, id, time::OffsetDateTime::now_utc())
                    .await?
                    .ok_or(AppError::NotFound)?;
            Ok(ContactDetail {
                context: built.context,
                can_edit,
            })
        }
        .await,
    )
}

/// Older activities of a contact, newest first, after the activity `before`.
#[server(endpoint = "contact_timeline")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn contact_timeline(
    contact_id: Uuid,
    before: Option<i64>,
) -> Result<TimelinePage, AppError> {
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let before = crate::error::row_cursor(before)?;
            let mut auth = authorize(&Role::ALL).await?;
            let limit = crate::crm::TIMELINE_PAGE_SIZE;
            let mut activities = crate::crm::db::activities(
                &mut auth.tx,
                auth.user.tenant_id,
                contact_id,
                before,
                limit + 1,
            )
            .await?;
            auth.tx.commit().await?;
            let more = activities.len() as i64 > limit;
            activities.truncate(limit as usize);
            let next_before = if more {
                activities.last().map(|a| a.id)
            } else {
                None
            };
            Ok(TimelinePage {
                activities,
                next_before,
            })
        }
        .await,
    )
}
