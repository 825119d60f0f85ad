//! Server functions for signing in and out and for reading the signed-in member.
use super::SessionUser;
use crate::error::AppError;
use leptos::prelude::*;

/// Signs in with email and password; on success the session id is rotated and the browser is
/// sent to `next` (a local path) or the dashboard.
#[server(endpoint = "sign_in")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use super::{
        db,
        guard::{client_addr, session, SessionAuth, SESSION_KEY},
        BAD_CREDENTIALS,
    };
    use crate::{
        domain::{safe_next_path, Email},
        ssr::{audit, from_context, password, respond, tenancy, SessionPool},
    };

    respond(
        async move {
            let email = Email::parse(&email).map_err(|e| AppError::validation("email", e.to_string()))?;
            if password.is_empty() {
                return Err(AppError::validation("password", "Enter your password."));
            }
            if password.len() > 1024 {
                return Err(AppError::validation("password", "A password is at most 1024 characters."));
            }
            let SessionPool(pool) = from_context()?;
            let settings: super::AuthSettings = from_context()?;
            let gate: password::Gate = from_context()?;
            let parts: http::request::Parts = from_context()?;
            let keys = db::AttemptKeys::new(
                email.as_ref(),
                client_addr(&parts, &settings.trusted_proxies),
            );
            // A bounded number of checks at once; the rest are told to come back, unhashed.
            let Some(_turn) = gate.enter().await else {
                tracing::warn!("sign-in refused: password checks are at capacity");
                return Err(AppError::Busy { retry_after_secs: 1 });
            };
            let mut tx = tenancy::begin_anonymous(&pool).await?;
            if let Some(until) = db::count_attempt(&mut tx, &keys, &settings).await? {
                tx.commit().await?;
                tracing::info!("sign-in refused: throttled");
                return Err(too_many(until));
            }
            let creds = db::find_credentials(&mut tx, email.as_ref()).await?;
            tx.commit().await?;

            let user_id = creds.as_ref().map(|c| c.user_id);
            let verified = password::verify(password, creds.map(|c| c.password_hash))
                .await
                .map_err(|e| AppError::internal("password verification", &e))?;
            let user_id = match (verified, user_id) {
                (true, Some(id)) => id,
                _ => {
                    tracing::info!("sign-in failed");
                    return Err(AppError::validation("", BAD_CREDENTIALS));
                }
            };

            let mut tx = tenancy::begin_anonymous(&pool).await?;
            db::clear_pair(&mut tx, &keys).await?;
            tenancy::act_as_user(&mut tx, user_id).await?;
            let tenant_id = db::default_membership(&mut tx, user_id).await?.ok_or_else(|| {
                AppError::forbidden("your account does not belong to any workspace yet. Ask an admin to invite you.")
            })?;
            tenancy::set_tenant(&mut tx, tenant_id).await?;
            audit::record(&mut tx, tenant_id, Some(user_id), "auth.sign_in", None).await?;
            tx.commit().await?;

            let session = session().await?;
            // A new id at sign-in defeats session fixation.
            session.cycle_id().await?;
            let auth = SessionAuth::new(user_id, tenant_id, settings.session_max_age_secs);
            session.insert(SESSION_KEY, auth).await?;
            tracing::info!(%user_id, %tenant_id, "signed in");
            leptos_axum::redirect(&safe_next_path(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn too_many(until: time::OffsetDateTime) -> AppError {
    let secs = (until - time::OffsetDateTime::now_utc())
        .whole_seconds()
        .max(1);
    AppError::TooManyAttempts {
        retry_after_secs: secs.unsigned_abs(),
    }
}

/// Ends the session and returns to the sign-in page.
#[server(endpoint = "sign_out")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn sign_out() -> Result<(), AppError> {
    use super::guard::{authorize, session};
    use crate::{
        domain::Role,
        ssr::{audit, respond},
    };

    respond(
        async move {
            if let Ok(mut auth) = authorize(&Role::ALL).await {
                let tenant_id = auth.user.tenant_id;
                let user_id = auth.user.user_id;
                audit::record(
                    &mut auth.tx,
                    tenant_id,
                    Some(user_id),
                    "auth.sign_out",
                    None,
                )
                .await?;
                auth.tx.commit().await?;
            }
            session().await?.flush().await?;
            leptos_axum::redirect("/sign-in");
            Ok(())
        }
        .await,
    )
}

/// The signed-in member, or `None` when signed out.
#[server(endpoint = "session_user")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn get_session_user() -> Result<Option<SessionUser>, AppError> {
    use super::guard::authorize;
    use crate::{domain::Role, ssr::respond};

    respond(
        async move {
            match authorize(&Role::ALL).await {
                Ok(auth) => {
                    auth.tx.commit().await?;
                    Ok(Some(auth.user))
                }
                Err(AppError::Unauthorized) => Ok(None),
                Err(other) => Err(other),
            }
        }
        .await,
    )
}
