//! The server functions that change CRM records: contacts, their deals and activities, and
//! archiving. Reps, managers and admins may use them; QA reads only. Each one authorises,
//! checks its input and works in one tenant-scoped transaction that also writes the audit log.
use super::{
    form::{ActivityForm, ContactForm, DealForm},
    ContactChoices, RecordSaved,
};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// What the contact form needs: the form filled for contact `id` (a blank one, owned by the
/// reader, when there is none) and the companies and owners to pick from.
#[server(endpoint = "contact_form_data")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn contact_form_data(
    id: Option<Uuid>,
    customer_id: Option<Uuid>,
) -> Result<(ContactForm, ContactChoices), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&super::EDITORS).await?;
            let tenant = auth.user.tenant_id;
            let form = match id {
                Some(id) => {
                    let c = crate::crm::db::contact(&mut auth.tx, tenant, id)
                        .await?
                        .ok_or(AppError::NotFound)?;
                    ContactForm::of(&c)
                }
                None => ContactForm {
                    owner_user_id: auth.user.user_id.to_string(),
                    customer_id: customer_id.map(|c| c.to_string()).unwrap_or_default(),
                    lifecycle_stage: "lead".to_owned(),
                    ..Default::default()
                },
            };
            let choices = ContactChoices {
                customers: super::db::customer_choices(&mut auth.tx, tenant).await?,
                owners: super::db::owner_choices(&mut auth.tx, tenant).await?,
                me: auth.user.user_id,
            };
            auth.tx.commit().await?;
            Ok((form, choices))
        }
        .await,
    )
}

/// Creates a contact (the form has no id) or saves one, then opens its page.
#[server(endpoint = "save_contact")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_contact(form: ContactForm) -> Result<RecordSaved, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&super::EDITORS).await?;
            let id = form
                .contact_id()
                .map_err(|e| AppError::Fields { errors: vec![e] })?;
            let opened_at = match id {
                Some(_) => Some(
                    crate::error::FieldError::opened_at(&form.version)
                        .map_err(|e| AppError::Fields { errors: vec![e] })?,
                ),
                None => None,
            };
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let scope = auth.scope();
            let saved = match (id, opened_at) {
                (Some(id), Some(at)) => {
                    super::service::update_contact(&mut auth.tx, scope, id, at, &input).await?
                }
                _ => RecordSaved {
                    id: super::service::create_contact(&mut auth.tx, scope, &input).await?,
                    changed: Vec::new(),
                },
            };
            auth.tx.commit().await?;
            leptos_axum::redirect(&format!("/contacts/{}", saved.id));
            Ok(saved)
        }
        .await,
    )
}

/// Archives a contact (`archived` true) or restores it. Its history stays.
#[server(endpoint = "archive_contact")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn archive_contact(id: Uuid, archived: bool) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&super::EDITORS).await?;
            let scope = auth.scope();
            super::service::set_archived(&mut auth.tx, scope, id, archived).await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// Adds a deal to a contact (the form has no id) or saves one of its deals.
#[server(endpoint = "save_deal")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_deal(form: DealForm) -> Result<RecordSaved, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&super::EDITORS).await?;
            let bad_form =
                || AppError::validation("", "This form names no contact. Reload the page.");
            let contact_id: Uuid = form.contact_id.trim().parse().map_err(|_| bad_form())?;
            let id = match form.id.trim() {
                "" => None,
                raw => {
                    let id: Uuid = raw.parse().map_err(|_| bad_form())?;
                    let at = crate::error::FieldError::opened_at(&form.version)
                        .map_err(|e| AppError::Fields { errors: vec![e] })?;
                    Some((id, at))
                }
            };
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let scope = auth.scope();
            let saved =
                super::service::save_deal(&mut auth.tx, scope, contact_id, id, &input).await?;
            auth.tx.commit().await?;
            Ok(saved)
        }
        .await,
    )
}

/// Archives one of a contact's deals: it leaves the page and the AI's context, and stays in
/// the history.
#[server(endpoint = "archive_deal")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn archive_deal(contact_id: Uuid, id: Uuid) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&super::EDITORS).await?;
            let scope = auth.scope();
            super::service::archive_deal(&mut auth.tx, scope, contact_id, id).await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// Logs a call, email, meeting or note on a contact's timeline.
#[server(endpoint = "log_activity")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn log_activity(form: ActivityForm) -> Result<i64, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&super::EDITORS).await?;
            let contact_id: Uuid = form.contact_id.trim().parse().map_err(|_| {
                AppError::validation("", "This form names no contact. Reload the page.")
            })?;
            let input = form
                .parse(time::OffsetDateTime::now_utc())
                .map_err(|errors| AppError::Fields { errors })?;
            let scope = auth.scope();
            let id = super::service::log_activity(&mut auth.tx, scope, contact_id, &input).await?;
            auth.tx.commit().await?;
            Ok(id)
        }
        .await,
    )
}
