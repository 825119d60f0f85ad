//! Tenant-scoped transactions: the only way request code reaches tenant-owned tables.
//!
//! Each transaction switches to the non-owner role `smartcrm_app` and records the tenant and
//! user in `app.tenant_id` / `app.user_id`, which the row-level-security policies read. The
//! settings are transaction-local, so a pooled connection never carries them into the next
//! request.
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub type Tx = Transaction<'static, Postgres>;

/// The tenant and user a request acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
}

/// A transaction that sees only `scope.tenant_id`'s rows.
#[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %scope.tenant_id))]
pub async fn begin(pool: &PgPool, scope: Scope) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "select set_config('role', 'smartcrm_app', true) as role,
                set_config('app.tenant_id', $1, true) as tenant,
                set_config('app.user_id', $2, true) as user_id",
        scope.tenant_id.to_string(),
        scope.user_id.to_string(),
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(tx)
}

/// A transaction with no tenant: sees sign-in counts and sessions, no user and no tenant-owned
/// row (sign-in finds credentials through `sign_in_credentials`).
pub async fn begin_anonymous(pool: &PgPool) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("select set_config('role', 'smartcrm_app', true) as role")
        .fetch_one(&mut *tx)
        .await?;
    Ok(tx)
}

/// Lets an anonymous transaction see the memberships of a user whose password was verified.
pub async fn act_as_user(tx: &mut Tx, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select set_config('app.user_id', $1, true) as user_id",
        user_id.to_string()
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

/// Narrows a transaction to one tenant once it is known (at sign-in).
pub async fn set_tenant(tx: &mut Tx, tenant_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select set_config('app.tenant_id', $1, true) as tenant",
        tenant_id.to_string()
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

/// Every workspace's id, for the jobs that visit each in its own scoped transaction (through
/// `app_workspace_ids()`, which reveals ids only).
pub async fn workspace_ids(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = begin_anonymous(pool).await?;
    let ids = sqlx::query_scalar!(r#"select tenant_id as "id!" from app_workspace_ids()"#)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids)
}

/// Runs `work` for every workspace, each in its own transaction scoped to it (a job's loop).
/// A workspace whose work fails is logged with `what` and skipped, so one cannot stop the
/// rest; returns the sum of what the others returned.
pub async fn for_each_workspace<F>(pool: &PgPool, what: &str, work: F) -> Result<u64, sqlx::Error>
where
    F: for<'t> Fn(&'t mut Tx, Uuid) -> futures::future::BoxFuture<'t, Result<u64, sqlx::Error>>,
{
    let mut total = 0;
    for tenant_id in workspace_ids(pool).await? {
        let result = async {
            let scope = Scope {
                tenant_id,
                user_id: Uuid::nil(),
            };
            let mut tx = begin(pool, scope).await?;
            let n = work(&mut tx, tenant_id).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        }
        .await;
        match result {
            Ok(n) => total += n,
            Err(err) => tracing::warn!(%tenant_id, error = %err, "{what} failed"),
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Uuid = Uuid::from_u128(0xa);
    const B: Uuid = Uuid::from_u128(0xb);

    /// Two tenants with one member and two audit rows each, written as the owner.
    async fn two_tenants(pool: &PgPool) {
        for (tenant, slug) in [(A, "a"), (B, "b")] {
            let user = Uuid::from_u128(tenant.as_u128() + 0x100);
            sqlx::query!(
                "insert into tenants (id, name, slug) values ($1, $2, $2)",
                tenant,
                slug
            )
            .execute(pool)
            .await
            .expect("tenant");
            sqlx::query!(
                "insert into users (id, email, display_name, password_hash) values ($1, $2, 'U', 'x')",
                user,
                format!("u@{slug}.test")
            )
            .execute(pool)
            .await
            .expect("user");
            sqlx::query!(
                "insert into memberships (tenant_id, user_id, role) values ($1, $2, 'admin')",
                tenant,
                user
            )
            .execute(pool)
            .await
            .expect("membership");
            for action in ["x.one", "x.two"] {
                sqlx::query!(
                    "insert into audit_log (tenant_id, action) values ($1, $2)",
                    tenant,
                    action
                )
                .execute(pool)
                .await
                .expect("audit");
            }
        }
    }

    fn scope(tenant_id: Uuid) -> Scope {
        Scope {
            tenant_id,
            user_id: Uuid::nil(),
        }
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn a_tenant_transaction_sees_only_its_own_rows_even_without_a_where_clause(pool: PgPool) {
        two_tenants(&pool).await;
        let mut tx = begin(&pool, scope(A)).await.expect("tx");
        // Deliberately unfiltered queries: only row-level security stands between the tenants.
        let audit: Vec<Uuid> = sqlx::query_scalar!("select tenant_id from audit_log")
            .fetch_all(&mut *tx)
            .await
            .expect("q");
        assert_eq!(audit, [A, A]);
        let members: Vec<Uuid> = sqlx::query_scalar!("select tenant_id from memberships")
            .fetch_all(&mut *tx)
            .await
            .expect("q");
        assert_eq!(members, [A]);
        let tenants: Vec<Uuid> = sqlx::query_scalar!("select id from tenants")
            .fetch_all(&mut *tx)
            .await
            .expect("q");
        assert_eq!(tenants, [A]);
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn a_tenant_cannot_write_rows_into_another_tenant(pool: PgPool) {
        two_tenants(&pool).await;
        let mut tx = begin(&pool, scope(A)).await.expect("tx");
        let err = sqlx::query!(
            "insert into audit_log (tenant_id, action) values ($1, 'sneaky')",
            B
        )
        .execute(&mut *tx)
        .await
        .expect_err("RLS must refuse");
        assert!(err.to_string().contains("row-level security"), "{err}");
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn a_tenant_cannot_update_or_delete_another_tenants_rows(pool: PgPool) {
        two_tenants(&pool).await;
        let mut tx = begin(&pool, scope(A)).await.expect("tx");
        let updated = sqlx::query!(
            "update audit_log set action = 'changed' where tenant_id = $1",
            B
        )
        .execute(&mut *tx)
        .await
        .expect("update runs")
        .rows_affected();
        let deleted = sqlx::query!("delete from memberships where tenant_id = $1", B)
            .execute(&mut *tx)
            .await
            .expect("delete runs")
            .rows_affected();
        assert_eq!((updated, deleted), (0, 0));
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn an_anonymous_transaction_sees_no_tenant_rows(pool: PgPool) {
        two_tenants(&pool).await;
        let mut tx = begin_anonymous(&pool).await.expect("tx");
        let n = sqlx::query_scalar!(r#"select count(*) as "n!" from audit_log"#)
            .fetch_one(&mut *tx)
            .await
            .expect("q");
        assert_eq!(n, 0);
        let n = sqlx::query_scalar!(r#"select count(*) as "n!" from tenants"#)
            .fetch_one(&mut *tx)
            .await
            .expect("q");
        assert_eq!(n, 0);
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn acting_as_a_user_reveals_only_that_users_memberships(pool: PgPool) {
        two_tenants(&pool).await;
        let mut tx = begin_anonymous(&pool).await.expect("tx");
        act_as_user(&mut tx, Uuid::from_u128(0xb + 0x100))
            .await
            .expect("act");
        let tenants: Vec<Uuid> = sqlx::query_scalar!("select tenant_id from memberships")
            .fetch_all(&mut *tx)
            .await
            .expect("q");
        assert_eq!(tenants, [B]);
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn tenant_settings_do_not_leak_into_the_next_transaction_on_the_same_connection(
        pool: PgPool,
    ) {
        two_tenants(&pool).await;
        let mut conn = pool.acquire().await.expect("conn");
        {
            let mut tx = sqlx::Connection::begin(&mut *conn).await.expect("tx");
            sqlx::query!(
                "select set_config('app.tenant_id', $1, true) as t",
                A.to_string()
            )
            .fetch_one(&mut *tx)
            .await
            .expect("set");
            tx.commit().await.expect("commit");
        }
        let leftover =
            sqlx::query_scalar!(r#"select current_setting('app.tenant_id', true) as "v""#)
                .fetch_one(&mut *conn)
                .await
                .expect("q");
        assert!(
            leftover.unwrap_or_default().is_empty(),
            "transaction-local settings must reset"
        );
    }
}
