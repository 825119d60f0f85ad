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
        // users is private to its workspaces; this function is sign-in's one way in
        r#"select user_id as "user_id!", password_hash as "password_hash!" from sign_in_credentials($1)"#,
        email
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The throttle keys of one sign-in attempt: the (email, client address) pair, and the address
/// alone. An unknown address (no peer information) is one shared key.
pub struct AttemptKeys {
    pub pair: String,
    pub address: String,
}

impl AttemptKeys {
    pub fn new(email: &str, addr: Option<std::net::IpAddr>) -> Self {
        let addr = addr.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        Self {
            pair: format!("p:{addr} {email}"),
            address: format!("a:{addr}"),
        }
    }
}

/// Counts this attempt against both keys and answers whether it may go on to the password
/// check. Counting and checking are one statement: each key's row is locked while it is
/// counted, so of a parallel burst exactly the first `max_failures` per pair (and
/// `max_per_address` per address) are let through. A key over its limit is locked for
/// `lockout_secs`; the count starts afresh after the window or the lock ends.
#[tracing::instrument(skip_all)]
pub async fn count_attempt(
    tx: &mut Tx,
    keys: &AttemptKeys,
    settings: &AuthSettings,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        insert into sign_in_attempts as a (key, attempts, max_attempts, window_started_at)
        select k, 1, m, now() from unnest($1::text[], $2::int[]) as t(k, m)
        on conflict (key) do update set
          attempts = case when a.locked_until <= now()
                            or a.window_started_at < now() - make_interval(secs => $3)
                          then 1 else a.attempts + 1 end,
          window_started_at = case when a.locked_until <= now()
                                     or a.window_started_at < now() - make_interval(secs => $3)
                                   then now() else a.window_started_at end,
          locked_until = case when a.locked_until <= now()
                                or a.window_started_at < now() - make_interval(secs => $3)
                              then null
                              when a.locked_until is not null then a.locked_until
                              when a.attempts + 1 > excluded.max_attempts
                              then now() + make_interval(secs => $4)
                              end,
          max_attempts = excluded.max_attempts
        returning locked_until
        "#,
        &[keys.pair.clone(), keys.address.clone()] as &[String],
        &[settings.max_failures, settings.max_per_address] as &[i32],
        settings.failure_window_secs as f64,
        settings.lockout_secs as f64,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().filter_map(|r| r.locked_until).max())
}

/// A correct password starts the pair's count afresh and gives the address its attempt back,
/// so an office behind one address is limited by its failures, not by how many sign in.
#[tracing::instrument(skip_all)]
pub async fn clear_pair(tx: &mut Tx, keys: &AttemptKeys) -> Result<(), sqlx::Error> {
    // Two statements, pair first: rows are locked in the order `count_attempt` locks them, so
    // a sign-in that succeeds during a burst cannot deadlock with the attempts counted behind it
    // (one statement with a deleting CTE may touch the rows in either order).
    sqlx::query!("delete from sign_in_attempts where key = $1", keys.pair)
        .execute(&mut **tx)
        .await?;
    sqlx::query!(
        "update sign_in_attempts set attempts = greatest(attempts - 1, 0)
          where key = $1 and locked_until is null",
        keys.address
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes counts whose window and lock have both ended; returns how many.
#[tracing::instrument(skip_all)]
pub async fn purge_attempts(tx: &mut Tx, window_secs: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "delete from sign_in_attempts
          where window_started_at < now() - make_interval(secs => $1)
            and (locked_until is null or locked_until < now())",
        window_secs as f64
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
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

    fn settings(max_failures: i32, max_per_address: i32) -> AuthSettings {
        AuthSettings {
            max_failures,
            max_per_address,
            failure_window_secs: 900,
            lockout_secs: 60,
            ..AuthSettings::default()
        }
    }

    fn keys(email: &str, addr: &str) -> AttemptKeys {
        AttemptKeys::new(email, addr.parse().ok())
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn the_pair_locks_once_its_attempts_are_used_up(pool: PgPool) {
        let mut tx = tenancy::begin_anonymous(&pool).await.expect("tx");
        let s = settings(2, 100);
        let k = keys("a@b.co", "10.0.0.1");
        assert_eq!(count_attempt(&mut tx, &k, &s).await.expect("1"), None);
        assert_eq!(count_attempt(&mut tx, &k, &s).await.expect("2"), None);
        let until = count_attempt(&mut tx, &k, &s)
            .await
            .expect("3")
            .expect("the third is refused");
        assert!(until > OffsetDateTime::now_utc());
        // the same email from another address, and another email from this one, go on
        let elsewhere = keys("a@b.co", "10.0.0.2");
        assert_eq!(
            count_attempt(&mut tx, &elsewhere, &s).await.expect("q"),
            None
        );
        assert_eq!(
            count_attempt(&mut tx, &keys("c@b.co", "10.0.0.1"), &s)
                .await
                .expect("q"),
            None
        );
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn one_address_is_limited_across_all_emails(pool: PgPool) {
        let mut tx = tenancy::begin_anonymous(&pool).await.expect("tx");
        let s = settings(5, 3);
        for n in 0..3 {
            let k = keys(&format!("u{n}@b.co"), "10.0.0.9");
            assert_eq!(count_attempt(&mut tx, &k, &s).await.expect("n"), None);
        }
        let k = keys("u4@b.co", "10.0.0.9");
        assert!(count_attempt(&mut tx, &k, &s).await.expect("4").is_some());
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn a_correct_password_starts_the_pair_afresh(pool: PgPool) {
        let mut tx = tenancy::begin_anonymous(&pool).await.expect("tx");
        let s = settings(2, 100);
        let k = keys("a@b.co", "10.0.0.1");
        count_attempt(&mut tx, &k, &s).await.expect("1");
        count_attempt(&mut tx, &k, &s).await.expect("2");
        clear_pair(&mut tx, &k).await.expect("clear");
        assert_eq!(count_attempt(&mut tx, &k, &s).await.expect("after"), None);
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn sign_ins_that_succeed_do_not_use_up_the_address(pool: PgPool) {
        let mut tx = tenancy::begin_anonymous(&pool).await.expect("tx");
        let s = settings(5, 2);
        for n in 0..5 {
            let k = keys(&format!("u{n}@b.co"), "10.0.0.7");
            assert_eq!(
                count_attempt(&mut tx, &k, &s).await.expect("n"),
                None,
                "{n}"
            );
            clear_pair(&mut tx, &k).await.expect("success");
        }
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn counts_outside_the_window_start_again_and_are_purged(pool: PgPool) {
        let mut tx = tenancy::begin_anonymous(&pool).await.expect("tx");
        let s = settings(1, 100);
        let k = keys("a@b.co", "10.0.0.1");
        count_attempt(&mut tx, &k, &s).await.expect("1");
        sqlx::query!("update sign_in_attempts set window_started_at = now() - interval '1 hour'")
            .execute(&mut *tx)
            .await
            .expect("age the window");
        assert_eq!(count_attempt(&mut tx, &k, &s).await.expect("fresh"), None);
        sqlx::query!("update sign_in_attempts set window_started_at = now() - interval '1 hour'")
            .execute(&mut *tx)
            .await
            .expect("age again");
        assert_eq!(purge_attempts(&mut tx, 900).await.expect("purge"), 2);
    }
}
