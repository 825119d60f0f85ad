//! Story 6.5's migration on a legacy database: prompts without a model are backfilled with
//! their tier's recommended model, then the model is required.
use crate::helpers::spawn_app;
use server::demo::TENANTS;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection,
};

/// Story 6.5's migration on a database that has prompts without a model: each is filled with
/// its tier's recommended model, then the column is required.
#[sqlx::test(migrations = false)]
async fn legacy_prompts_without_a_model_are_backfilled(_: PgPoolOptions, db: PgConnectOptions) {
    let mut conn = sqlx::PgConnection::connect_with(&db).await.expect("owner");
    let all = &server::state::MIGRATOR;
    let before: Vec<_> = all
        .migrations
        .iter()
        .filter(|m| m.version < 20261204000001)
        .cloned()
        .collect();
    let earlier = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(before),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    earlier.run(&mut conn).await.expect("earlier migrations");
    // A legacy database: the model was optional, and some rows have none.
    sqlx::query("alter table ai_prompts alter column ai_model drop not null")
        .execute(&mut conn)
        .await
        .expect("optional model");
    sqlx::query("insert into tenants (id, name, slug) values ($1, 'Legacy', 'legacy')")
        .bind(TENANTS[0].id)
        .execute(&mut conn)
        .await
        .expect("tenant");
    sqlx::query(
        "insert into ai_prompts (tenant_id, name, version, system_prompt, template, ai_model, max_tokens, temperature, active)
         values ($1, 'relationship_health', 2, 's', '{{contact}}', null, 300, 0.2, true),
                ($1, 'contextual_research', 2, 's', '{{contact}}', null, 300, 0.2, false),
                (null, 'meeting_summary', 1, 's', '{{contact}}', null, 300, 0.2, true)",
    )
    .bind(TENANTS[0].id)
    .execute(&mut conn)
    .await
    .expect("legacy rows");
    conn.close().await.expect("close");

    // Start-up applies the rest.
    let app = spawn_app(db).await;
    let mut conn = sqlx::PgConnection::connect_with(&app.owner)
        .await
        .expect("owner connection");
    let filled: Vec<(String, i32, String)> = sqlx::query_as(
        "select name, version, ai_model from ai_prompts where created_at > now() - interval '1 hour'
           and (tenant_id = $1 or name = 'meeting_summary') order by name, version",
    )
    .bind(TENANTS[0].id)
    .fetch_all(&mut conn)
    .await
    .expect("rows");
    assert_eq!(
        filled,
        [
            (
                "contextual_research".to_owned(),
                2,
                "gpt-5.2-thinking".to_owned()
            ),
            ("meeting_summary".to_owned(), 1, "gpt-5.2".to_owned()),
            (
                "relationship_health".to_owned(),
                2,
                "gpt-5.2-instant".to_owned()
            ),
        ]
    );
    let nullable: String = sqlx::query_scalar(
        "select is_nullable from information_schema.columns where table_name = 'ai_prompts' and column_name = 'ai_model'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("column");
    assert_eq!(nullable, "NO");
    // The active legacy row became the workspace's production label.
    let labelled: i32 = sqlx::query_scalar(
        "select p.version from ai_prompt_labels l join ai_prompts p on p.id = l.prompt_id
         where l.tenant_id = $1 and l.name = 'relationship_health' and l.label = 'production'",
    )
    .bind(TENANTS[0].id)
    .fetch_one(&mut conn)
    .await
    .expect("label");
    assert_eq!(labelled, 2);
}
