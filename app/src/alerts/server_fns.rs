//! The alerts' server functions. Managers and admins see and settle alerts and edit the rules;
//! every member's header asks for the open count (reps get none).
use super::{rules::AlertRulesForm, AlertsPage, Evaluation, RulesPage};
use crate::error::AppError;
use leptos::{prelude::*, server_fn::codec::Json};
use uuid::Uuid;

#[cfg(feature = "ssr")]
const OVERSEERS: &[crate::domain::Role] =
    &[crate::domain::Role::Admin, crate::domain::Role::Manager];

/// One page of alerts. `state` is "live" (open and acknowledged), a state's name, or "all";
/// `kind` is a kind's name or empty.
#[server(endpoint = "list_alerts")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn list_alerts(state: String, kind: String, page: i64) -> Result<AlertsPage, AppError> {
    use super::{AlertKind, StateFilter};
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let kind = match kind.trim() {
                "" => None,
                k => Some(AlertKind::parse(k).ok_or_else(|| {
                    AppError::validation("kind", "There is no such kind of alert.")
                })?),
            };
            let mut auth = authorize(OVERSEERS).await?;
            let mut page = super::db::list(
                &mut auth.tx,
                auth.user.tenant_id,
                StateFilter::from_param(&state),
                kind,
                page,
            )
            .await?;
            page.can_act = true;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// The header badge: open alerts, for managers and admins (None for anyone else).
#[server(endpoint = "open_alert_count")]
pub async fn open_alert_count() -> Result<Option<i64>, AppError> {
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&Role::ALL).await?;
            if !OVERSEERS.contains(&auth.user.role) {
                return Ok(None);
            }
            let (open, _) = super::db::counts(&mut auth.tx, auth.user.tenant_id).await?;
            auth.tx.commit().await?;
            Ok(Some(open))
        }
        .await,
    )
}

#[server(endpoint = "acknowledge_alert")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn acknowledge_alert(id: Uuid, version: i32) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(OVERSEERS).await?;
            super::db::acknowledge(
                &mut auth.tx,
                auth.user.tenant_id,
                auth.user.user_id,
                id,
                version,
            )
            .await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// Resolves an alert: `resolution` is fixed, false_alarm or accepted; the note says how.
#[server(endpoint = "resolve_alert")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn resolve_alert(
    id: Uuid,
    version: i32,
    resolution: String,
    note: String,
) -> Result<(), AppError> {
    use super::{Resolution, MAX_NOTE_CHARS};
    use crate::{auth::guard::authorize, error::FieldError, ssr::respond};
    respond(
        async move {
            let mut errors = Vec::new();
            let how = Resolution::parse(resolution.trim());
            if how.is_none() {
                errors.push(FieldError::new("resolution", "Choose how it was resolved."));
            }
            let note = note.trim().to_owned();
            FieldError::check_text(&mut errors, "note", &note, MAX_NOTE_CHARS);
            if note.is_empty() {
                errors.push(FieldError::new(
                    "note",
                    "Say what was done, for whoever looks at this alert next.",
                ));
            }
            FieldError::all(errors)?;
            let how = how
                .ok_or_else(|| AppError::validation("resolution", "Choose how it was resolved."))?;
            let mut auth = authorize(OVERSEERS).await?;
            super::db::resolve(
                &mut auth.tx,
                auth.user.tenant_id,
                auth.user.user_id,
                id,
                version,
                how,
                &note,
            )
            .await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// Evaluates this workspace's rules now (the job does every workspace each minute).
#[server(endpoint = "check_alerts_now")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn check_alerts_now() -> Result<Evaluation, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(OVERSEERS).await?;
            let e = super::evaluate::evaluate(&mut auth.tx, auth.user.tenant_id).await?;
            auth.tx.commit().await?;
            Ok(e)
        }
        .await,
    )
}

#[server(endpoint = "load_alert_rules")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_alert_rules() -> Result<RulesPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(OVERSEERS).await?;
            let (rules, version) = super::db::rules(&mut auth.tx, auth.user.tenant_id).await?;
            auth.tx.commit().await?;
            Ok(RulesPage {
                form: rules.to_form(version),
                can_edit: true,
            })
        }
        .await,
    )
}

/// Saves the rules' thresholds (checked field by field, at the version the form was opened at;
/// audited).
#[server(endpoint = "save_alert_rules", input = Json)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_alert_rules(form: AlertRulesForm) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, error::FieldError, ssr::respond};
    respond(
        async move {
            let rules = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let mut auth = authorize(OVERSEERS).await?;
            super::db::save_rules(
                &mut auth.tx,
                auth.user.tenant_id,
                auth.user.user_id,
                &rules,
                form.version,
            )
            .await
            .map_err(|e| match e {
                AppError::Validation { field, message } => AppError::Fields {
                    errors: vec![FieldError::new(&field, message)],
                },
                e => e,
            })?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// The alert webhook and its latest deliveries (managers see; admins change).
#[server(endpoint = "load_webhook")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_webhook() -> Result<super::webhook::WebhookPage, AppError> {
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(OVERSEERS).await?;
            let tenant = auth.user.tenant_id;
            let webhook = super::webhook_send::load(&mut auth.tx, tenant).await?;
            let deliveries = super::webhook_send::log(&mut auth.tx, tenant).await?;
            auth.tx.commit().await?;
            Ok(super::webhook::WebhookPage {
                webhook,
                deliveries,
                can_edit: auth.user.role == Role::Admin,
            })
        }
        .await,
    )
}

/// Saves the webhook (admins; at the version it was loaded at; audited). `rotate` makes a new
/// secret; the first save makes one too. The answer carries a new secret, once.
#[server(endpoint = "save_webhook")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_webhook(
    form: super::webhook::WebhookForm,
    rotate: bool,
) -> Result<super::webhook::Saved, AppError> {
    use crate::{auth::guard::authorize, domain::Role, error::FieldError, ssr::respond};
    respond(
        async move {
            let problems = form.problems();
            if !problems.is_empty() {
                return Err(AppError::Fields {
                    errors: problems
                        .into_iter()
                        .map(|(f, m)| FieldError::new(&f, m))
                        .collect(),
                });
            }
            let mut auth = authorize(&[Role::Admin]).await?;
            let scope = auth.scope();
            let secret = super::webhook_send::save(&mut auth.tx, scope, &form, rotate).await?;
            auth.tx.commit().await?;
            Ok(super::webhook::Saved { secret })
        }
        .await,
    )
}

/// Queues a test delivery to the webhook (admins); the next run sends it, within 10 s.
#[server(endpoint = "test_webhook")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn test_webhook() -> Result<(), AppError> {
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            if !super::webhook_send::queue_test(&mut auth.tx, auth.user.tenant_id).await? {
                return Err(AppError::validation("url", "Save a webhook address first."));
            }
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}
