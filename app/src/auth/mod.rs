//! Sign-in, sign-out, the signed-in user, and the role checks every server function makes.
pub mod components;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod guard;
pub mod server_fns;

use crate::domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The signed-in member as the browser sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub tenant_name: String,
}

impl SessionUser {
    pub fn initials(&self) -> String {
        self.display_name
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .take(2)
            .flat_map(char::to_uppercase)
            .collect()
    }
}

/// Deletes sign-in counts whose window and lock have ended (run every minute by the server).
#[cfg(feature = "ssr")]
pub async fn purge_attempts(pool: &sqlx::PgPool, window_secs: i64) -> Result<u64, sqlx::Error> {
    let mut tx = crate::ssr::tenancy::begin_anonymous(pool).await?;
    let purged = db::purge_attempts(&mut tx, window_secs).await?;
    tx.commit().await?;
    Ok(purged)
}

/// The message for both an unknown email and a wrong password.
pub const BAD_CREDENTIALS: &str = "Email or password is incorrect.";

/// Sign-in throttling (README "Sign-in throttling"): each attempt counts against its (email,
/// client address) pair and against the address; a key past its limit within
/// `failure_window_secs` is locked for `lockout_secs`.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// Attempts per (email, client address) pair in a window.
    pub max_failures: i32,
    /// Attempts per client address in a window, over all emails.
    pub max_per_address: i32,
    pub failure_window_secs: i64,
    pub lockout_secs: i64,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A session ends this long after sign-in, however active (the idle limit is the cookie's).
    pub session_max_age_secs: i64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            max_per_address: 100,
            failure_window_secs: 900,
            lockout_secs: 300,
            trusted_proxies: Vec::new(),
            session_max_age_secs: 24 * 3600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letters_of_two_names() {
        let user = SessionUser {
            user_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            email: "a@b.co".into(),
            display_name: "ada king lovelace".into(),
            role: Role::Rep,
            tenant_name: "Demo".into(),
        };
        assert_eq!(user.initials(), "AK");
    }
}
