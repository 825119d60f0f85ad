//! SQL for the audit log.
use super::{AuditEntry, AuditPage, PAGE_SIZE};
use crate::ssr::tenancy::Tx;
use uuid::Uuid;

/// Newest first, `limit` rows with an id below `before` (keyset pagination on the primary key).
#[tracing::instrument(skip_all)]
pub async fn page(
    tx: &mut Tx,
    tenant_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    // The link is made only while the record exists (row-level security keeps it in the tenant).
    let rows = sqlx::query!(
        r#"select a.id, a.at, u.display_name as "actor_name?", a.action, a.target,
                  case a.target_kind
                    when 'customer' then (select '/customers/' || c.id from customers c where c.id = a.target_id)
                    when 'task' then (select '/pipeline/tasks/' || t.id from project_tasks t where t.id = a.target_id)
                    when 'contact' then (select '/contacts/' || c.id from contacts c where c.id = a.target_id)
                    when 'template' then (select '/templates/' || t.id from content_templates t where t.id = a.target_id)
                  end as link,
                  a.detail -> 'changes' as changes
           from audit_log a
           left join users u on u.id = a.actor_user_id
           where a.tenant_id = $1 and ($2::bigint is null or a.id < $2)
           order by a.id desc
           limit $3"#,
        tenant_id,
        before,
        limit
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor_name: r.actor_name,
            action: r.action,
            target: r.target,
            link: r.link,
            // Entries are written by `ssr::audit`; anything else reads as no diff.
            changes: r
                .changes
                .and_then(|c| serde_json::from_value(c).ok())
                .unwrap_or_default(),
        })
        .collect())
}

#[tracing::instrument(skip_all)]
pub async fn list(
    tx: &mut Tx,
    tenant_id: Uuid,
    before: Option<i64>,
) -> Result<AuditPage, sqlx::Error> {
    // one extra row tells whether another page follows
    let mut entries = page(tx, tenant_id, before, PAGE_SIZE + 1).await?;
    let more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    let next_before = if more {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPage {
        entries,
        next_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::tenancy::{self, Scope};
    use sqlx::PgPool;

    #[sqlx::test(migrations = "../migrations")]
    async fn the_audit_log_pages_newest_first_without_gaps_or_repeats(pool: PgPool) {
        let tenant = Uuid::from_u128(7);
        sqlx::query!(
            "insert into tenants (id, name, slug) values ($1, 'T', 't')",
            tenant
        )
        .execute(&pool)
        .await
        .expect("tenant");
        let mut tx = tenancy::begin(
            &pool,
            Scope {
                tenant_id: tenant,
                user_id: Uuid::nil(),
            },
        )
        .await
        .expect("tx");
        for i in 0..(PAGE_SIZE + 5) {
            crate::ssr::audit::record(&mut tx, tenant, None, "test.event", Some(&format!("#{i}")))
                .await
                .expect("record");
        }
        let first = list(&mut tx, tenant, None).await.expect("page 1");
        assert_eq!(first.entries.len(), PAGE_SIZE as usize);
        assert_eq!(first.entries[0].target.as_deref(), Some("#29"));
        let second = list(&mut tx, tenant, first.next_before)
            .await
            .expect("page 2");
        assert_eq!(second.entries.len(), 5);
        assert_eq!(second.next_before, None);
        assert_eq!(
            second.entries.last().and_then(|e| e.target.as_deref()),
            Some("#0")
        );
    }
}
