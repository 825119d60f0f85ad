//! SQL for sign-in: credentials, throttling and the member behind a session.
use super::{AuthSettings, SessionUser};
use crate::{domain::Role, ssr::tenancy::Tx};
use time::OffsetDateTime;
use uuid::Uuid;

pub struct Credentials {
    pub user_id: Uuid,
    pub password_hash: String,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn find_credentials(
    tx: &mut Tx,
    email: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as!(
        Credentials,
        r#"select id as user_id, password_hash from users where email = $1"#,
        email
    )
    .fetch_optional(&mut **tx)
    .await
}

/// When the email is locked, until when.
#[tracing::instrument(skip_all)]
pub async fn locked_until(tx: &mut Tx, email: &str) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    let row = sqlx::query_scalar!(
        r#"select locked_until from sign_in_throttle where email = $1 and locked_until > now()"#,
        email
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.flatten())
}

/// Counts one failure; returns the lock's end when this failure locked the email.
#[tracing::instrument(skip_all)]
pub async fn record_failure(
    tx: &mut Tx,
    email: &str,
    settings: &AuthSettings,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    // One statement, so concurrent failures cannot lose counts.
    let row = sqlx::query!(
        r#"
        insert into sign_in_throttle as t (email, failures, window_started_at)
        values ($1, 1, now())
        on conflict (email) do update set
          failures = case when t.window_started_at < now() - make_interval(secs => $2)
                          then 1 else t.failures + 1 end,
          window_started_at = case when t.window_started_at < now() - make_interval(secs => $2)
                                   then now() else t.window_started_at end
        returning failures
        "#,
        email,
        settings.failure_window_secs as f64,
    )
    .fetch_one(&mut **tx)
    .await?;
    if row.failures < settings.max_failures {
        return Ok(None);
    }
    sqlx::query_scalar!(
        r#"update sign_in_throttle
           set locked_until = now() + make_interval(secs => $2), failures = 0, window_started_at = now()
           where email = $1
           returning locked_until as "locked_until!""#,
        email,
        settings.lockout_secs as f64,
    )
    .fetch_one(&mut **tx)
    .await
    .map(Some)
}

#[tracing::instrument(skip_all)]
pub async fn clear_failures(tx: &mut Tx, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from sign_in_throttle where email = $1", email)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The workspace a user lands in at sign-in: their first by name.
#[tracing::instrument(skip_all)]
pub async fn default_membership(tx: &mut Tx, user_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select m.tenant_id
           from memberships m join tenants t on t.id = m.tenant_id
           where m.user_id = $1
           order by t.name, t.id
           limit 1"#,
        user_id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The member behind a session, if the membership still exists.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn session_user(
    tx: &mut Tx,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select u.email, u.display_name, m.role, t.name as tenant_name
           from memberships m
           join users u on u.id = m.user_id
           join tenants t on t.id = m.tenant_id
           where m.tenant_id = $1 and m.user_id = $2"#,
        tenant_id,
        user_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|r| {
        Some(SessionUser {
            user_id,
            tenant_id,
            email: r.email,
            display_name: r.display_name,
            // the column's check constraint admits only known roles
            role: Role::parse(&r.role)?,
            tenant_name: r.tenant_name,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::tenancy;
    use sqlx::PgPool;

    fn settings(max_failures: i32) -> AuthSettings {
        AuthSettings {
            max_failures,
            failure_window_secs: 900,
            lockout_secs: 60,
        }
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn the_email_locks_after_the_configured_number_of_failures(pool: PgPool) {
        let mut tx = tenancy::begin_anonymous(&pool).await.expect("tx");
        let s = settings(3);
        assert_eq!(
            record_failure(&mut tx, "a@b.co", &s).await.expect("1"),
            None
        );
        assert_eq!(
            record_failure(&mut tx, "a@b.co", &s).await.expect("2"),
            None
        );
        let until = record_failure(&mut tx, "a@b.co", &s)
            .await
            .expect("3")
            .expect("locked");
        assert!(until > OffsetDateTime::now_utc());
        assert!(locked_until(&mut tx, "a@b.co").await.expect("q").is_some());
        assert!(locked_until(&mut tx, "other@b.co")
            .await
            .expect("q")
            .is_none());
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn a_successful_sign_in_clears_the_failure_count(pool: PgPool) {
        let mut tx = tenancy::begin_anonymous(&pool).await.expect("tx");
        let s = settings(2);
        record_failure(&mut tx, "a@b.co", &s).await.expect("1");
        clear_failures(&mut tx, "a@b.co").await.expect("clear");
        assert_eq!(
            record_failure(&mut tx, "a@b.co", &s)
                .await
                .expect("after clear"),
            None
        );
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn failures_outside_the_window_start_a_new_count(pool: PgPool) {
        let mut tx = tenancy::begin_anonymous(&pool).await.expect("tx");
        let s = settings(2);
        record_failure(&mut tx, "a@b.co", &s).await.expect("1");
        sqlx::query!("update sign_in_throttle set window_started_at = now() - interval '1 hour'")
            .execute(&mut *tx)
            .await
            .expect("age the window");
        assert_eq!(
            record_failure(&mut tx, "a@b.co", &s)
                .await
                .expect("fresh window"),
            None
        );
    }
}
