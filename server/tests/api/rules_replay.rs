//! Decision rules replayed over HTTP: a simulation's counts on known drafts, and a shadow
//! set's disagreements kept without acting.
use crate::{
    pipeline::{
        app, create_task, drain, good_draft, instructions, mock_drafts, scope, settings, task,
    },
    rules::{answer, context_at, detail, gate_form, named, save, save_case},
};
use app::{
    pipeline::rulebook::{ShadowPage, Simulation, OUTCOMES},
    ssr::tenancy,
};
use serde_json::json;
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;
use wiremock::MockServer;

/// Six evaluated drafts with known scores and three reviewer verdicts, replayed against a
/// gate raised from the task's 75 to 80.
#[sqlx::test(migrations = false)]
async fn a_simulation_counts_what_a_draft_would_change_on_known_drafts(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(75), 3, false).await;
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    for (attempt, overall, verdict) in [
        (1, 90, None),
        (2, 85, None),
        (3, 78, Some("rejected")),
        (4, 76, Some("approved")),
        (5, 70, Some("sent_back")),
        (6, 60, None),
    ] {
        let d: Uuid = sqlx::query_scalar(
            "insert into project_deliverables (tenant_id, task_id, attempt, content, decision, decision_context)
             values ($1, $2, $3, 'Draft', 'approve', $4) returning id",
        )
        .bind(TENANTS[0].id)
        .bind(t.id)
        .bind(attempt)
        .bind(context_at(overall))
        .fetch_one(&mut *tx)
        .await
        .expect("deliverable");
        if let Some(v) = verdict {
            sqlx::query(
                "insert into ai_content_feedback (tenant_id, task_id, deliverable_id, verdict, original_content)
                 values ($1, $2, $3, $4, 'Draft')",
            )
            .bind(TENANTS[0].id)
            .bind(t.id)
            .bind(d)
            .bind(v)
            .execute(&mut *tx)
            .await
            .expect("verdict");
        }
    }
    tx.commit().await.expect("commit");

    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    let refused: Result<Simulation, _> =
        answer(qa.call("simulate_rules", &[("with", "drafts")]).await).await;
    assert!(refused
        .expect_err("no drafts")
        .1
        .to_string()
        .contains("no draft to simulate"));

    app.sign_in_as("manager@acme.test").await;
    let gate = named(&app, "Quality gate").await;
    let saved = save(&app, &gate_form(&app, gate, json!(80)).await)
        .await
        .expect("draft");
    let sim: Simulation = answer(
        qa.call(
            "simulate_rules",
            &[("with", &saved.id.to_string()), ("limit", "500")],
        )
        .await,
    )
    .await
    .expect("simulation");
    let at = |o: &str| OUTCOMES.iter().position(|x| *x == o).expect("outcome");
    assert_eq!(sim.total, 6);
    assert_eq!(sim.changed_count, 2);
    assert_eq!(sim.matrix[at("approve")][at("approve")], 2);
    assert_eq!(sim.matrix[at("approve")][at("review")], 2);
    assert_eq!(sim.matrix[at("retry")][at("retry")], 2);
    assert!(sim
        .changed
        .iter()
        .all(|c| c.task_id == t.id && c.from == "approve" && c.to == "review"));
    let a = &sim.agreement;
    assert_eq!(
        (
            a.settled,
            a.live_agreed,
            a.draft_agreed,
            a.live_deferred,
            a.draft_deferred
        ),
        (3, 2, 1, 0, 2)
    );
    assert_eq!(
        (sim.queue_per_day_live, sim.queue_per_day_draft),
        (0.0, 2.0)
    );
    assert_eq!(sim.drafts, ["Quality gate v1"]);
    let too_many: Result<Simulation, _> = answer(
        qa.call("simulate_rules", &[("with", "drafts"), ("limit", "10001")])
            .await,
    )
    .await;
    assert_eq!(too_many.expect_err("limit").0, 422);

    // Another workspace replays none of these.
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let theirs: Result<Simulation, _> = answer(
        globex
            .call("simulate_rules", &[("with", &saved.id.to_string())])
            .await,
    )
    .await;
    assert_eq!(theirs.expect_err("not theirs").0, 404);
}

#[sqlx::test(migrations = false)]
async fn a_shadow_set_decides_beside_the_live_one_and_keeps_its_disagreements(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    app.sign_in_as("manager@acme.test").await;
    let gate = named(&app, "Quality gate").await;
    let saved = save(&app, &gate_form(&app, gate, json!(101)).await)
        .await
        .expect("draft");
    let start = app.call("shadow_rules", &[("what", "start")]).await;
    assert_eq!(
        start.status(),
        200,
        "{}",
        start.text().await.unwrap_or_default()
    );
    assert_eq!(
        app.call("shadow_rules", &[("what", "start")])
            .await
            .status(),
        422,
        "one run at a time"
    );

    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    assert_eq!(
        task(&app, t.id).await.state,
        "delivered",
        "the live set acts, the shadow does not"
    );

    let shadow: ShadowPage = answer(app.call("load_shadow", &[]).await)
        .await
        .expect("shadow");
    let running = shadow.shadow.expect("running");
    assert_eq!((running.evaluated, running.disagreed), (1, 1));
    assert_eq!(running.drafts, ["Quality gate v1"]);
    let d = &shadow.disagreements[0];
    assert_eq!(
        (d.task_id, d.live.as_str(), d.shadow.as_str()),
        (t.id, "approve", "review")
    );
    assert_eq!(d.live_rule.as_deref(), Some("Quality gate"));

    // Promotion goes through the test cases: one that the draft fails blocks it.
    save_case(&app, "Good drafts pass", &context_at(90), "approve")
        .await
        .expect("case");
    let id = running.id.to_string();
    let blocked = app
        .call("shadow_rules", &[("what", "promote"), ("id", &id)])
        .await;
    assert_eq!(blocked.status(), 422);
    assert!(blocked
        .text()
        .await
        .unwrap_or_default()
        .contains("Activation blocked"));
    let stop = app
        .call("shadow_rules", &[("what", "stop"), ("id", &id)])
        .await;
    assert_eq!(stop.status(), 200);
    assert!(answer::<ShadowPage>(app.call("load_shadow", &[]).await)
        .await
        .expect("page")
        .shadow
        .is_none());
    assert_eq!(
        detail(&app, saved.id).await.live_version,
        None,
        "stopping changes no rule"
    );
}
