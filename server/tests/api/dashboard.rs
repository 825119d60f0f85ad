//! The operations dashboard (issue 15): figures read from rollups that the refresh rebuilds
//! from known rows, the period, the reduced view for reps, Refresh's roles, and workspace
//! isolation of the rollups.
use crate::{
    helpers::{owner, spawn_app, TestApp},
    rules::answer,
};
use app::{
    dashboard::{rollup, DashboardStats, Period},
    error::AppError,
    ssr::tenancy::{self, Scope},
};
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

/// Rebuilds `tenant`'s rollups as the refresh-dashboard job does.
pub async fn refresh_rollups(app: &TestApp, tenant: Uuid) {
    let scope = Scope {
        tenant_id: tenant,
        user_id: Uuid::nil(),
    };
    let mut tx = tenancy::begin(&app.pool, scope).await.expect("tx");
    rollup::refresh(&mut tx, tenant, None)
        .await
        .expect("refresh");
    tx.commit().await.expect("commit");
}

async fn load(app: &TestApp, days: &str) -> DashboardStats {
    let period = if days == "30" { "Month" } else { "Week" };
    answer(app.call("load_dashboard", &[("period", period)]).await)
        .await
        .expect("dashboard")
}

async fn exec(conn: &mut sqlx::PgConnection, sql: &str) {
    sqlx::query(sql)
        .bind(TENANTS[0].id)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[sqlx::test(migrations = false)]
async fn the_dashboard_shows_the_rollups_of_known_rows_to_each_role(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let mut conn = owner(&app).await;
    app.sign_in_as("manager@acme.test").await;

    // Before the first refresh the page says the figures are being prepared.
    let before = load(&app, "7").await;
    assert_eq!(before.operations.refreshed_at, None);
    assert_eq!(before.operations.pipeline.delivered, 0);

    // Ten tasks created 2 hours ago: 4 delivered an hour later, each with a scored draft
    // (6 approved at 80, 2 escalated at 50, 2 retried at 60).
    exec(&mut conn, "with c as (select id from customers where tenant_id = $1 order by name limit 1),
                          p as (insert into projects (tenant_id, customer_id, name) select $1, c.id, 'Dashboard' from c returning id, customer_id)
                     insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, execution_state, created_at)
                     select $1, p.id, p.customer_id, 'Dash ' || g, '{\"output_type\": \"email\"}',
                            case when g <= 4 then 'delivered' else 'awaiting_review' end, now() - interval '2 hours'
                     from p, generate_series(1, 10) g").await;
    exec(&mut conn, "insert into project_deliverables (tenant_id, task_id, attempt, content, quality_score, decision, content_quality, delivered_at)
                     select $1, t.id, 1, 'draft',
                            case when n <= 6 then 80 when n <= 8 then 50 else 60 end,
                            case when n <= 6 then 'approve' when n <= 8 then 'escalate' else 'retry' end,
                            '{\"readability\": {\"score\": 70}, \"sentiment\": {\"score\": 90}, \"brand\": {\"score\": 60}, \"compliance\": {\"score\": 100}}',
                            case when n <= 4 then now() - interval '1 hour' end
                     from (select id, row_number() over (order by title) as n from project_tasks
                           where tenant_id = $1 and title like 'Dash %') t").await;
    // AI calls: 20 of gpt-5.2 today at 100..2000 ms ($0.10 each, 2 errors), 10 cache hits,
    // and 5 of a local model three days ago.
    exec(&mut conn, "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, prompt_tokens, completion_tokens, cost_usd)
                     select $1, 'default', 'gpt-5.2', 'gpt-5.2', 'openai', case when g <= 2 then 'error' else 'ok' end, g * 100, 1000, 100, 0.10
                     from generate_series(1, 20) g").await;
    exec(&mut conn, "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, cache_hit)
                     select $1, 'default', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 1, true from generate_series(1, 10)").await;
    exec(&mut conn, "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, created_at)
                     select $1, 'fast', 'smollm2', 'smollm2', 'local', 'ok', 400, now() - interval '3 days' from generate_series(1, 5)").await;
    exec(&mut conn, "insert into ai_workspace_settings (tenant_id, monthly_budget_usd) values ($1, 10)
                     on conflict (tenant_id) do update set monthly_budget_usd = 10, soft_limit_usd = null").await;

    // A manager's Refresh rebuilds the figures.
    let at: time::OffsetDateTime = answer(app.call("refresh_dashboard", &[]).await)
        .await
        .expect("refresh");
    let d = load(&app, "7").await;
    let ops = &d.operations;
    assert_eq!(ops.refreshed_at, Some(at));
    assert_eq!(ops.period, Period::Week);
    let p = &ops.pipeline;
    assert_eq!((p.delivered, p.scored), (4, 10));
    let rates: Vec<(&str, i64)> = p
        .rates
        .iter()
        .map(|r| (r.label.as_str(), r.count))
        .collect();
    assert_eq!(
        rates,
        [
            ("Auto-approved", 6),
            ("Sent to review", 0),
            ("Retried", 2),
            ("Escalated", 2),
            ("Rejected", 0)
        ]
    );
    assert_eq!(p.rates[0].share, Some(0.6));
    assert_eq!(p.quality, Some(70.0));
    assert_eq!(p.parts[1], ("Sentiment".to_owned(), Some(90.0)));
    let ttd = p.delivery_p50_secs.expect("time to delivery");
    assert!((3420.0..3780.0).contains(&ttd), "about an hour: {ttd}");
    assert_eq!(p.backlog, 6);
    assert!(p.backlog_oldest_secs.is_some());
    assert!(p
        .tasks_by_state
        .iter()
        .any(|(s, _, n)| s == "delivered" && *n >= 4));

    let ai = ops.ai.as_ref().expect("managers see the AI");
    let gpt = &ai.models[0];
    assert_eq!((gpt.model.as_str(), gpt.calls), ("gpt-5.2", 30));
    assert!((gpt.error_rate - 2.0 / 30.0).abs() < 1e-9);
    assert!((gpt.cache_hit_rate - 1.0 / 3.0).abs() < 1e-9);
    let p95 = gpt.latency_p95_ms.expect("latency");
    assert!(
        (1805.0..1995.0).contains(&p95),
        "p95 of 100..2000 ms, cache hits left out: {p95}"
    );
    assert_eq!((gpt.prompt_tokens, gpt.completion_tokens), (20_000, 2_000));
    assert!((ai.month_spend_usd - 2.0).abs() < 1e-9 || ai.month_spend_usd >= 2.0);
    assert_eq!(ai.budget_usd, Some(10.0));
    assert_eq!(
        ai.models.len(),
        2,
        "the local model's calls of three days ago count"
    );

    // Four charts of 7 days, each with a titled target per day and a table.
    let ids: Vec<&str> = ops.charts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["throughput", "quality", "spend", "latency"]);
    for c in &ops.charts {
        assert_eq!(c.rows.len(), 7);
        assert_eq!(c.svg.matches("<title>").count(), 7, "{}", c.id);
    }
    // The deliveries were an hour ago: today, or yesterday just after midnight (UTC).
    let delivered: u32 = ops.charts[0]
        .rows
        .iter()
        .map(|r| r.1.parse::<u32>().expect("a count"))
        .sum();
    assert_eq!(delivered, 4);

    // Thirty days; Refresh again within ten seconds keeps the figures.
    let month = load(&app, "30").await;
    assert!(month.operations.charts.iter().all(|c| c.rows.len() == 30));
    let again: time::OffsetDateTime = answer(app.call("refresh_dashboard", &[]).await)
        .await
        .expect("refresh");
    assert_eq!(again, at);

    // The job's path picks up a new call.
    exec(&mut conn, "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, cost_usd)
                     values ($1, 'default', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 300, 1)").await;
    assert!(rollup::refresh_all(&app.pool).await.expect("job") > 0);
    let after = load(&app, "7").await;
    assert_eq!(after.operations.ai.expect("ai").models[0].calls, 31);

    // A rep sees the pipeline only, and may not refresh.
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    let theirs = load(&rep, "7").await;
    assert!(theirs.operations.ai.is_none());
    assert!(!theirs.operations.can_refresh);
    assert_eq!(theirs.operations.charts.len(), 2);
    assert_eq!(theirs.operations.pipeline.delivered, 4);
    assert!(matches!(
        answer::<time::OffsetDateTime>(rep.call("refresh_dashboard", &[]).await).await,
        Err((403, AppError::Forbidden { .. }))
    ));

    // Another workspace sees none of it, and row-level security hides the rows.
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let g = load(&globex, "7").await;
    assert_eq!(g.operations.pipeline.delivered, 0);
    assert!(g.operations.ai.expect("admin").models.is_empty());
    let mut tx = tenancy::begin(
        &app.pool,
        Scope {
            tenant_id: TENANTS[1].id,
            user_id: Uuid::nil(),
        },
    )
    .await
    .expect("tx");
    for table in [
        "dashboard_ai_daily",
        "dashboard_pipeline_daily",
        "dashboard_snapshots",
    ] {
        let seen: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where tenant_id = $1"
        ))
        .bind(TENANTS[0].id)
        .fetch_one(&mut *tx)
        .await
        .expect("count");
        assert_eq!(seen, 0, "{table}");
    }
}
