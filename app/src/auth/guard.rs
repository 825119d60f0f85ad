//! The session and role checks: `authorize` for server functions, `require_sign_in` for pages.
use super::SessionUser;
use crate::{
    domain::{sign_in_path, Role},
    error::AppError,
    ssr::{from_context, tenancy},
};
use axum::{
    extract::Request,
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

/// What the session stores about the signed-in member.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    /// Unix time after which the session is over, however active it is (set at sign-in; a
    /// session from before this field existed reads as over).
    #[serde(default)]
    pub expires_at: i64,
}

impl SessionAuth {
    pub fn new(user_id: Uuid, tenant_id: Uuid, max_age_secs: i64) -> Self {
        Self {
            user_id,
            tenant_id,
            expires_at: time::OffsetDateTime::now_utc().unix_timestamp() + max_age_secs,
        }
    }

    fn is_over(&self) -> bool {
        time::OffsetDateTime::now_utc().unix_timestamp() >= self.expires_at
    }
}

pub const SESSION_KEY: &str = "auth";

/// The member signed in on this session, if any. A session past its absolute lifetime is
/// ended here (its record deleted), so every check below treats it as signed out.
pub async fn signed_in(
    session: &Session,
) -> Result<Option<SessionAuth>, tower_sessions::session::Error> {
    match session.get::<SessionAuth>(SESSION_KEY).await? {
        Some(auth) if auth.is_over() => {
            tracing::info!(user_id = %auth.user_id, "session reached its maximum age; signed out");
            session.flush().await?;
            Ok(None)
        }
        other => Ok(other),
    }
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal("session layer missing", &e))
}

/// A signed-in member with a tenant-scoped transaction, after the role check.
pub struct Authorized {
    pub user: SessionUser,
    pub tx: tenancy::Tx,
}

impl Authorized {
    pub fn scope(&self) -> tenancy::Scope {
        tenancy::Scope {
            tenant_id: self.user.tenant_id,
            user_id: self.user.user_id,
        }
    }
}

/// Loads the member behind the session and checks their role against `allowed`.
/// The membership is read from the database on every call, so a removed member or a changed
/// role takes effect at once.
pub async fn authorize(allowed: &[Role]) -> Result<Authorized, AppError> {
    let pool: sqlx::PgPool = from_context()?;
    let (user, tx) = member(&pool, &session().await?).await?;
    if !allowed.contains(&user.role) {
        tracing::info!(user_id = %user.user_id, role = user.role.as_str(), "forbidden");
        let needed: Vec<&str> = allowed.iter().map(|r| r.label()).collect();
        return Err(AppError::forbidden(format!(
            "this needs the {} role; you are signed in as {}.",
            needed.join(" or "),
            user.role.label()
        )));
    }
    Ok(Authorized { user, tx })
}

/// The member signed in on `session`, read from the database, with a transaction scoped to
/// their workspace. Unauthorized without a session or once the membership is gone.
pub async fn member(
    pool: &sqlx::PgPool,
    session: &Session,
) -> Result<(SessionUser, tenancy::Tx), AppError> {
    let auth = signed_in(session).await?.ok_or(AppError::Unauthorized)?;
    let scope = tenancy::Scope {
        tenant_id: auth.tenant_id,
        user_id: auth.user_id,
    };
    let mut tx = tenancy::begin(pool, scope).await?;
    let user = super::db::session_user(&mut tx, auth.tenant_id, auth.user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok((user, tx))
}

/// Paths anyone may load: sign-in, server functions and the live event stream (which check
/// for themselves), assets, health probes.
fn is_public(path: &str) -> bool {
    path == "/sign-in"
        || path.starts_with("/api/")
        || path == "/events"
        || path.starts_with("/pkg/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/favicon.ico"
}

/// Signed-out visits to pages go to sign-in and come back after it; signed-in visits to the
/// sign-in page go to the dashboard.
pub async fn require_sign_in(session: Session, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let signed_in = match signed_in(&session).await {
        Ok(auth) => auth.is_some(),
        Err(err) => {
            tracing::error!(error = %err, "session store unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "Session store unavailable").into_response();
        }
    };
    if path == "/sign-in" && signed_in {
        return Redirect::to("/dashboard").into_response();
    }
    if is_public(path) || signed_in {
        return next.run(req).await;
    }
    let wanted = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    Redirect::to(&sign_in_path(wanted)).into_response()
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not one of the trusted proxies. A forwarded header from anyone
/// else is ignored, so a client cannot pick the address it is throttled under.
pub fn client_addr(
    parts: &http::request::Parts,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod client_addr_tests {
    use super::client_addr;
    use std::net::{IpAddr, SocketAddr};

    fn parts(peer: &str, xff: Option<&str>) -> http::request::Parts {
        let mut req = http::Request::builder().uri("/api/sign_in");
        if let Some(x) = xff {
            req = req.header("x-forwarded-for", x);
        }
        let (mut parts, _) = req.body(()).expect("request").into_parts();
        let peer: SocketAddr = peer.parse().expect("peer");
        parts.extensions.insert(axum::extract::ConnectInfo(peer));
        parts
    }

    #[test]
    fn a_forwarded_header_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let spoofed = parts("203.0.113.5:4000", Some("198.51.100.7"));
        assert_eq!(
            client_addr(&spoofed, &[proxy]),
            "203.0.113.5".parse().ok(),
            "an untrusted peer's header is ignored"
        );
        let proxied = parts("10.0.0.1:4000", Some("198.51.100.7, 10.0.0.1"));
        assert_eq!(client_addr(&proxied, &[proxy]), "198.51.100.7".parse().ok());
        assert_eq!(
            client_addr(&parts("10.0.0.1:1", None), &[proxy]),
            Some(proxy)
        );
    }
}
