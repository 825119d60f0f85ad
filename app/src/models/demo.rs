//! Demo data for the second demo workspace: it still runs on GPT-5.1 (a workspace setting, its
//! admin's own fast model, and a research prompt pinned before the upgrade), so the legacy
//! migration plan has something to move.
use crate::ssr::tenancy::Tx;
use uuid::Uuid;

pub async fn seed_legacy(tx: &mut Tx, tenant: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into ai_workspace_settings (tenant_id, default_model) values ($1, 'gpt-5.1')
         on conflict (tenant_id) do nothing",
        tenant
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into ai_user_settings (tenant_id, user_id, fast_model)
         select tenant_id, user_id, 'gpt-5.1-instant' from memberships
         where tenant_id = $1 and role = 'admin'
         on conflict (tenant_id, user_id) do nothing",
        tenant
    )
    .execute(&mut **tx)
    .await?;
    let pinned = sqlx::query_scalar!(
        "insert into ai_prompts (tenant_id, name, version, system_prompt, template, ai_model, max_tokens,
                                 temperature, task_kind, description, note)
         select $1, name, version + 1, system_prompt, template, 'gpt-5.1-thinking', max_tokens, temperature,
                task_kind, description, 'Pinned to GPT-5.1 Thinking before the 5.2 upgrade'
         from ai_prompts where tenant_id is null and name = 'contextual_research'
         order by version desc limit 1
         on conflict do nothing
         returning id",
        tenant
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = pinned {
        sqlx::query!(
            "insert into ai_prompt_labels (tenant_id, name, label, prompt_id) values ($1, 'contextual_research', 'production', $2)
             on conflict do nothing",
            tenant,
            id
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
