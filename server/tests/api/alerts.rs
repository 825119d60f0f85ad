//! Alerts (issue 15): every rule firing and clearing on known rows, dedup, acknowledge and
//! resolve with versions, roles and audit, the rules form, workspace isolation, and the
//! stuck-task detector escalating a hung task.
use crate::{
    helpers::{owner, spawn_app, TestApp},
    rules::answer,
};
use app::{
    alerts::{rules::AlertRulesForm, AlertsPage, Evaluation, RulesPage},
    error::AppError,
    ssr::tenancy::{self, Scope},
};
use serde_json::json;
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

/// Rebuilds Acme's dashboard rollups (the budget rule reads this month's spend from them), then
/// checks the alert rules as a manager's "Check now" does.
async fn check(app: &TestApp) -> Evaluation {
    crate::dashboard::refresh_rollups(app, TENANTS[0].id).await;
    answer(app.call("check_alerts_now", &[]).await)
        .await
        .expect("check")
}

/// The live alerts of Acme: (key, state, occurrences, severity).
async fn live(conn: &mut sqlx::PgConnection) -> Vec<(String, String, i32, String)> {
    sqlx::query_as(
        "select dedup_key, state, occurrences, severity from alerts
         where tenant_id = $1 and state in ('open', 'acknowledged') order by dedup_key",
    )
    .bind(TENANTS[0].id)
    .fetch_all(conn)
    .await
    .expect("alerts")
}

fn keys(rows: &[(String, String, i32, String)]) -> Vec<&str> {
    rows.iter().map(|r| r.0.as_str()).collect()
}

/// A task of Acme's first customer in `state`, entered `age` ago (an SQL interval).
async fn task_in(conn: &mut sqlx::PgConnection, state: &str, age: &str) -> Uuid {
    sqlx::query_scalar(
        "with c as (select id from customers where tenant_id = $1 order by name limit 1),
              p as (insert into projects (tenant_id, customer_id, name) select $1, c.id, 'Oversight ' || gen_random_uuid() from c returning id, customer_id)
         insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, execution_state, state_entered_at)
         select $1, p.id, p.customer_id, 'Task ' || $2, '{\"output_type\": \"email\"}', $2, now() - $3::interval from p
         returning id",
    )
    .bind(TENANTS[0].id)
    .bind(state)
    .bind(age)
    .fetch_one(conn)
    .await
    .expect("task")
}

async fn exec(conn: &mut sqlx::PgConnection, sql: &str) {
    sqlx::query(sql)
        .bind(TENANTS[0].id)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn save_rules(
    app: &TestApp,
    values: &[(&str, &str)],
    version: i32,
) -> Result<(), (u16, AppError)> {
    let page: RulesPage = answer(app.call("load_alert_rules", &[]).await)
        .await
        .expect("rules");
    let mut form: AlertRulesForm = page.form;
    for (k, v) in values {
        if let Some(slot) = form.values.iter_mut().find(|(key, _)| key == k) {
            slot.1 = (*v).to_owned();
        }
    }
    form.version = version;
    answer(
        app.call_json("save_alert_rules", &json!({ "form": form }))
            .await,
    )
    .await
}

#[sqlx::test(migrations = false)]
async fn every_rule_fires_on_its_condition_is_deduplicated_and_clears_by_itself(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let mut conn = owner(&app).await;
    app.sign_in_as("manager@acme.test").await;
    // A quiet workspace: nothing fires.
    assert_eq!(check(&app).await, Evaluation::default());

    // Thresholds a test can reach with a few rows.
    save_rules(
        &app,
        &[
            ("escalations.max_pending", "1"),
            ("escalations.max_age_hours", "12"),
        ],
        0,
    )
    .await
    .expect("rules");

    // Stuck: generating for an hour (limit 15 min); a pending one within its 4 h is fine.
    let stuck = task_in(&mut conn, "generating", "1 hour").await;
    task_in(&mut conn, "pending", "10 minutes").await;
    // Backlog: two tasks wait for a person, the oldest for 20 hours (within its stuck limit).
    task_in(&mut conn, "awaiting_review", "20 hours").await;
    task_in(&mut conn, "escalated", "1 minute").await;
    // Failure rate: 4 of 5 attempts failed in the last hour.
    exec(&mut conn, "insert into task_state_transitions (tenant_id, task_id, from_state, to_state, actor)
                     select $1, t.id, 'generating', s, 'system' from project_tasks t,
                            unnest(array['failed', 'failed', 'retry_scheduled', 'failed', 'approved']) s
                     where t.tenant_id = $1 and t.execution_state = 'generating'").await;
    // Quality drift: 10 drafts at 90 two days ago, 10 at 70 today.
    exec(&mut conn, "insert into project_deliverables (tenant_id, task_id, attempt, content, quality_score, created_at)
                     select $1, t.id, g, 'draft', case when g <= 10 then 90 else 70 end,
                            case when g <= 10 then now() - interval '2 days' else now() - interval '1 hour' end
                     from project_tasks t, generate_series(1, 20) g
                     where t.tenant_id = $1 and t.execution_state = 'generating'").await;
    // Budget: $9 of $10 this month (past 80%).
    exec(&mut conn, "insert into ai_workspace_settings (tenant_id, monthly_budget_usd) values ($1, 10)
                     on conflict (tenant_id) do update set monthly_budget_usd = 10, soft_limit_usd = null").await;
    exec(&mut conn, "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, cost_usd)
                     values ($1, 'default', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 100, 9)").await;
    // Provider errors: 10 in the last minutes.
    exec(&mut conn, "insert into ai_calls (tenant_id, task_kind, requested_model, provider, status, error, latency_ms)
                     select $1, 'default', 'gpt-5.2', 'openai', 'error', 'upstream 503 #' || g, 50 from generate_series(1, 10) g").await;
    // Latency: 20 calls of a model at 3 s against its 2 s SLA.
    exec(&mut conn, "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms)
                     select $1, 'default', 'slow-model', 'slow-model', 'vllm', 'ok', 3000 from generate_series(1, 20)").await;

    let first = check(&app).await;
    let rows = live(&mut conn).await;
    let month: String = sqlx::query_scalar("select to_char(now() at time zone 'utc', 'YYYY-MM')")
        .fetch_one(&mut conn)
        .await
        .expect("month");
    let mut expected = vec![
        format!("budget:{month}:warn"),
        "escalation_backlog:age".to_owned(),
        "escalation_backlog:count".to_owned(),
        "failure_rate".to_owned(),
        "latency_sla:slow-model".to_owned(),
        "provider_errors:openai".to_owned(),
        "quality_drift".to_owned(),
        format!("stuck_task:{stuck}"),
    ];
    expected.sort();
    assert_eq!(keys(&rows), expected);
    assert_eq!(
        first,
        Evaluation {
            opened: 8,
            updated: 0,
            resolved: 0
        }
    );

    // The same conditions again: no new alert, each counted twice.
    let second = check(&app).await;
    assert_eq!(
        second,
        Evaluation {
            opened: 0,
            updated: 8,
            resolved: 0
        }
    );
    let rows = live(&mut conn).await;
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r.2 == 2), "{rows:?}");

    // Past the whole budget: the warning clears, a critical one opens.
    exec(&mut conn, "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, cost_usd)
                     values ($1, 'default', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 100, 2)").await;
    let third = check(&app).await;
    assert_eq!((third.opened, third.resolved), (1, 1));
    let rows = live(&mut conn).await;
    let budget = rows
        .iter()
        .find(|r| r.0.starts_with("budget:"))
        .expect("budget alert");
    assert_eq!(
        (budget.0.as_str(), budget.3.as_str()),
        (format!("budget:{month}:100").as_str(), "critical")
    );

    // The page lists them with their titles; the filter narrows by kind.
    let page: AlertsPage = answer(
        app.call(
            "list_alerts",
            &[("state", "live"), ("kind", "stuck_task"), ("page", "0")],
        )
        .await,
    )
    .await
    .expect("list");
    assert_eq!(page.alerts.len(), 1);
    assert!(
        page.alerts[0]
            .title
            .contains("is stuck in Generating for 1 h"),
        "{}",
        page.alerts[0].title
    );
    assert_eq!(page.open, 8);
    let badge: Option<i64> = answer(app.call("open_alert_count", &[]).await)
        .await
        .expect("badge");
    assert_eq!(badge, Some(8));

    // Every condition clears: every alert resolves by itself.
    exec(
        &mut conn,
        "update project_tasks set execution_state = 'delivered' where tenant_id = $1",
    )
    .await;
    exec(
        &mut conn,
        "delete from task_state_transitions where tenant_id = $1",
    )
    .await;
    exec(
        &mut conn,
        "delete from project_deliverables where tenant_id = $1",
    )
    .await;
    exec(&mut conn, "delete from ai_calls where tenant_id = $1").await;
    let cleared = check(&app).await;
    assert_eq!(
        cleared,
        Evaluation {
            opened: 0,
            updated: 0,
            resolved: 8
        }
    );
    assert!(live(&mut conn).await.is_empty());
    let auto: i64 = sqlx::query_scalar("select count(*) from alerts where tenant_id = $1 and state = 'auto_resolved' and resolution = 'cleared'")
        .bind(TENANTS[0].id)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(auto, 9);
}

#[sqlx::test(migrations = false)]
async fn people_acknowledge_and_resolve_alerts_with_versions_roles_audit_and_isolation(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let mut conn = owner(&app).await;
    app.sign_in_as("manager@acme.test").await;
    task_in(&mut conn, "generating", "2 hours").await;
    check(&app).await;
    let page: AlertsPage = answer(
        app.call(
            "list_alerts",
            &[("state", "live"), ("kind", ""), ("page", "0")],
        )
        .await,
    )
    .await
    .expect("list");
    let alert = page.alerts[0].clone();
    let (id, v) = (alert.id.to_string(), alert.version.to_string());

    // A rep sees no badge and may not list or act.
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert_eq!(
        answer::<Option<i64>>(rep.call("open_alert_count", &[]).await)
            .await
            .expect("badge"),
        None
    );
    assert!(matches!(
        answer::<AlertsPage>(
            rep.call(
                "list_alerts",
                &[("state", "live"), ("kind", ""), ("page", "0")]
            )
            .await
        )
        .await,
        Err((403, _))
    ));
    assert!(matches!(
        answer::<()>(
            rep.call("acknowledge_alert", &[("id", &id), ("version", &v)])
                .await
        )
        .await,
        Err((403, _))
    ));

    // Another workspace neither sees it nor reaches it.
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let theirs: AlertsPage = answer(
        globex
            .call(
                "list_alerts",
                &[("state", "all"), ("kind", ""), ("page", "0")],
            )
            .await,
    )
    .await
    .expect("list");
    assert!(theirs.alerts.is_empty());
    assert!(matches!(
        answer::<()>(
            globex
                .call("acknowledge_alert", &[("id", &id), ("version", &v)])
                .await
        )
        .await,
        Err((404, _))
    ));
    let mut tx = tenancy::begin(
        &app.pool,
        Scope {
            tenant_id: TENANTS[1].id,
            user_id: Uuid::nil(),
        },
    )
    .await
    .expect("tx");
    let seen: i64 = sqlx::query_scalar("select count(*) from alerts")
        .fetch_one(&mut *tx)
        .await
        .expect("rls");
    assert_eq!(
        seen, 0,
        "row-level security hides Acme's alerts from Globex"
    );
    drop(tx);

    // Acknowledge once; a second acknowledge at the old version is refused, saying why.
    answer::<()>(
        app.call("acknowledge_alert", &[("id", &id), ("version", &v)])
            .await,
    )
    .await
    .expect("ack");
    match answer::<()>(
        app.call("acknowledge_alert", &[("id", &id), ("version", &v)])
            .await,
    )
    .await
    {
        Err((422, e)) => assert!(e.to_string().contains("changed since you loaded it"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let v2 = (alert.version + 1).to_string();
    // Resolving needs a resolution and a note.
    match answer::<()>(
        app.call(
            "resolve_alert",
            &[
                ("id", &id),
                ("version", &v2),
                ("resolution", "shrug"),
                ("note", " "),
            ],
        )
        .await,
    )
    .await
    {
        Err((422, AppError::Fields { errors })) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["resolution", "note"]);
        }
        other => panic!("expected field errors, got {other:?}"),
    }
    answer::<()>(
        app.call(
            "resolve_alert",
            &[
                ("id", &id),
                ("version", &v2),
                ("resolution", "fixed"),
                ("note", "Restarted the hung worker."),
            ],
        )
        .await,
    )
    .await
    .expect("resolve");
    let page: AlertsPage = answer(
        app.call(
            "list_alerts",
            &[("state", "resolved"), ("kind", ""), ("page", "0")],
        )
        .await,
    )
    .await
    .expect("list");
    let done = &page.alerts[0];
    assert_eq!(done.acknowledged_by.as_deref(), Some("Morgan Manager"));
    assert_eq!(
        (done.resolution.as_deref(), done.resolution_note.as_str()),
        (Some("fixed"), "Restarted the hung worker.")
    );
    let audited: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where tenant_id = $1 and action like 'alert%' order by id",
    )
    .bind(TENANTS[0].id)
    .fetch_all(&mut conn)
    .await
    .expect("audit");
    assert_eq!(audited, ["alert.acknowledged", "alert.resolved"]);

    // The condition still holds: the next check opens a new alert beside the resolved one.
    assert_eq!(check(&app).await.opened, 1);
    assert_eq!(live(&mut conn).await.len(), 1);

    // The rules form: every bad field at once, a stale version refused, the change audited.
    match save_rules(
        &app,
        &[("failure.percent", "0"), ("latency.p95_ms", "fast")],
        0,
    )
    .await
    {
        Err((422, AppError::Fields { errors })) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["failure.percent", "latency.p95_ms"]);
        }
        other => panic!("expected field errors, got {other:?}"),
    }
    save_rules(&app, &[("stuck.generating", "240")], 0)
        .await
        .expect("save");
    assert!(matches!(
        save_rules(&app, &[("stuck.generating", "30")], 0).await,
        Err((422, AppError::Fields { .. }))
    ));
    let detail: serde_json::Value = sqlx::query_scalar(
        "select detail from audit_log where tenant_id = $1 and action = 'alert_rules.changed'",
    )
    .bind(TENANTS[0].id)
    .fetch_one(&mut conn)
    .await
    .expect("audited");
    assert_eq!(
        detail["changes"][0],
        json!({ "field": "stuck.generating", "from": "15", "to": "240" })
    );
    // With the longer limit the task is no longer stuck: its alert clears.
    assert_eq!(check(&app).await.resolved, 1);
}

#[sqlx::test(migrations = false)]
async fn the_detector_escalates_a_hung_task_and_its_alert_waits_for_a_person(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let mut conn = owner(&app).await;
    let hung = task_in(&mut conn, "generating", "2 hours 5 minutes").await;
    sqlx::query("update project_tasks set lease_owner = 'gone-host-1-w1', lease_expires_at = now() + interval '50 minutes' where id = $1")
        .bind(hung)
        .execute(&mut conn)
        .await
        .expect("lease");
    let fresh = task_in(&mut conn, "generating", "1 minute").await;

    let moved = app::pipeline::stuck::detect_all(&app.pool)
        .await
        .expect("detect");
    assert_eq!(moved, 1);
    let (state, reason, lease): (String, String, Option<String>) = sqlx::query_as(
        "select execution_state, status_reason, lease_owner from project_tasks where id = $1",
    )
    .bind(hung)
    .fetch_one(&mut conn)
    .await
    .expect("task");
    assert_eq!(state, "escalated");
    assert_eq!(
        reason,
        "Stuck: in Generating for 2 h 5 min (limit 15 min); escalated for a person to decide."
    );
    assert_eq!(lease, None, "the hung worker's lease is gone");
    let by: String = sqlx::query_scalar(
        "select worker from task_state_transitions where task_id = $1 and to_state = 'escalated'",
    )
    .bind(hung)
    .fetch_one(&mut conn)
    .await
    .expect("history");
    assert_eq!(by, app::pipeline::stuck::DETECTOR);
    let fresh_state: String =
        sqlx::query_scalar("select execution_state from project_tasks where id = $1")
            .bind(fresh)
            .fetch_one(&mut conn)
            .await
            .expect("fresh");
    assert_eq!(fresh_state, "generating");
    // The alert opened at once, and the evaluation keeps it while the task waits.
    let rows = live(&mut conn).await;
    assert_eq!(keys(&rows), [format!("stuck_task:{hung}").as_str()]);
    assert_eq!(rows[0].3, "warning");
    assert_eq!(
        app::alerts::evaluate::evaluate_all(&app.pool)
            .await
            .expect("evaluate"),
        1
    );
    assert_eq!(live(&mut conn).await.len(), 1);
    // Nothing more to escalate on the next run.
    assert_eq!(
        app::pipeline::stuck::detect_all(&app.pool)
            .await
            .expect("detect"),
        0
    );

    // A person settles the task: the alert clears by itself.
    sqlx::query("update project_tasks set execution_state = 'rejected' where id = $1")
        .bind(hung)
        .execute(&mut conn)
        .await
        .expect("settle");
    app::alerts::evaluate::evaluate_all(&app.pool)
        .await
        .expect("evaluate");
    assert!(live(&mut conn).await.is_empty());
}
