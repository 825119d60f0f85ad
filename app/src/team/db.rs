//! SQL for the team page.
use super::Member;
use crate::{domain::Role, ssr::tenancy::Tx};
use uuid::Uuid;

#[tracing::instrument(skip_all)]
pub async fn members(tx: &mut Tx, tenant_id: Uuid) -> Result<Vec<Member>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select u.id, u.display_name, u.email, m.role, m.created_at
           from memberships m join users u on u.id = m.user_id
           where m.tenant_id = $1
           order by u.display_name, u.id"#,
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Member {
                user_id: r.id,
                display_name: r.display_name,
                email: r.email,
                role: Role::parse(&r.role)?,
                joined_at: r.created_at,
            })
        })
        .collect())
}
