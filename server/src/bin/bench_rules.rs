//! `smartcrm-bench-rules`: issue 13's benchmarks. Run through `scripts/bench-rules.sh`, which
//! gives it a throwaway PostgreSQL and a release build.
//!
//! 1. Simulation: 10,000 evaluated drafts (stored contexts, a tenth settled by a reviewer)
//!    replayed against a 20-rule live set and the same set with a draft of the quality gate.
//!    The server time of `rulebook::simulate::simulate` (what the server function does:
//!    resolve both sets, read the rows with their verdicts, replay each twice), beside its
//!    floor, reading the same rows alone (`rulebook::db::replay`), and the replay alone.
//! 2. Rule-set evaluations per second on one thread, the bench's path
//!    (`rulebook::sets::evaluate` on a stored context) against the worker's (`Pipeline::judge`:
//!    the context built from the task, customer and scores, then the same decision).
//!
//! Usage: `smartcrm-bench-rules` with DATABASE_URL set (an empty, migrated database).
use app::{
    pipeline::{
        db::work,
        decision::{self, TaskFacts},
        instructions::AiInstructions,
        rulebook::{self, form::RuleInput, sets},
        rules::{RuleAction, RuleCategory},
    },
    ssr::tenancy::{self, Scope},
};
use leptos::prelude::LeptosOptions;
use serde_json::json;
use server::{
    benchkit::{add_bench_tasks, percentile, twenty_rules},
    config::Settings,
    demo::TENANTS,
    startup, state,
};
use std::time::{Duration, Instant};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

const DRAFTS: i64 = 10_000;
const DRAFT: &str = "Spring is here! Our friendly team would love to help you start the season fresh. \
    Book your visit this week and enjoy a free safety check. Call us today on 555-014-2200 or reply to this email. \
    We look forward to seeing you soon.";

/// The workspace's live set: the five built-ins and fifteen of its own rules (20 in all).
async fn add_rules(pool: &sqlx::PgPool, scope: Scope) -> Result<(), Error> {
    let mut tx = tenancy::begin(pool, scope).await?;
    for r in twenty_rules().into_iter().skip(5) {
        sqlx::query(
            "insert into ai_decision_rules (tenant_id, name, category, priority, condition, action)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(scope.tenant_id)
        .bind(&r.name)
        .bind(r.category.as_str())
        .bind(r.priority)
        .bind(&r.condition)
        .bind(serde_json::to_value(&r.action)?)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// 1,000 tasks with ten evaluated drafts each, spread over the last week, with contexts of
/// the worker's shape and varied scores; every tenth settled by a reviewer. Returns a task.
async fn add_history(pool: &sqlx::PgPool, scope: Scope) -> Result<Uuid, Error> {
    let mut tx = tenancy::begin(pool, scope).await?;
    add_bench_tasks(&mut tx, scope.tenant_id, (DRAFTS / 10) as i32, 75).await?;
    sqlx::query(
        "insert into project_deliverables (tenant_id, task_id, attempt, content, decision, decision_context, created_at)
         select $1, t.id, a, 'Draft', 'approve',
                jsonb_build_object(
                  'task', jsonb_build_object('title', t.title, 'output_type', (array['email', 'sms', 'social_post'])[1 + h % 3],
                                             'max_attempts', 3, 'min_overall', 75, 'min_brand_alignment', 60, 'age_hours', h % 72),
                  'customer', jsonb_build_object('name', 'Bench', 'industry', (array['retail', 'legal', 'healthcare', 'home_services'])[1 + h % 4],
                                                 'is_vip', h % 10 = 0),
                  'quality', jsonb_build_object('overall', 40 + h % 60, 'readability', 30 + h % 70, 'sentiment', h % 100,
                                                'brand', 20 + h % 80,
                                                'compliance', jsonb_build_object('passed', h % 7 <> 0, 'failure_count', (h % 7 = 0)::int,
                                                                                 'failures', '[]'::jsonb),
                                                'flesch_reading_ease', 60.5,
                                                'sentiment_label', (array['positive', 'neutral', 'negative'])[1 + h % 3]),
                  'attempt', 1 + (a - 1) % 3,
                  'deliverable', jsonb_build_object('words', 100 + h % 200, 'model', 'gpt-5.2')),
                now() - make_interval(mins => (h % 10080)::int)
           from (select id, title, row_number() over (order by id) as n from project_tasks where tenant_id = $1) t,
                generate_series(1, 10) a,
                lateral (select ((t.n * 10 + a) * 2654435761) % 1000003 as h) x",
    )
    .bind(scope.tenant_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into ai_content_feedback (tenant_id, task_id, deliverable_id, verdict, original_content)
         select tenant_id, task_id, id, (array['approved', 'edited_and_approved', 'rejected', 'sent_back'])[1 + attempt % 4], content
           from project_deliverables where tenant_id = $1 and attempt % 10 = 0",
    )
    .bind(scope.tenant_id)
    .execute(&mut *tx)
    .await?;
    let task: Uuid =
        sqlx::query_scalar("select id from project_tasks where tenant_id = $1 limit 1")
            .bind(scope.tenant_id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(task)
}

fn p50_ms(samples: &mut [Duration]) -> f64 {
    percentile(samples, 0.5).as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_env()?;
    let databases = state::Databases::from_settings(&settings)?;
    let leptos_options = LeptosOptions::builder()
        .output_name("smartcrm")
        .site_root("target/site")
        .build();
    let (_router, pool, app_state) =
        startup::build_with(databases, &settings, leptos_options).await?;
    server::demo::seed(&pool).await?;
    let pipeline = app_state.pipeline.clone();
    let engine = pipeline.rules();
    let mut scope = Scope {
        tenant_id: TENANTS[0].id,
        user_id: Uuid::nil(),
    };
    {
        let mut tx = tenancy::begin(&pool, scope).await?;
        scope.user_id =
            sqlx::query_scalar("select id from users where email = 'manager@acme.test'")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
    }
    add_rules(&pool, scope).await?;
    let task = add_history(&pool, scope).await?;

    // The draft: the quality gate raised to 80, saved as the workspace's copy of the built-in.
    let mut tx = tenancy::begin(&pool, scope).await?;
    let gate: Uuid = sqlx::query_scalar(
        "select id from ai_decision_rules where tenant_id is null and name = 'Quality gate'",
    )
    .fetch_one(&mut *tx)
    .await?;
    let input = RuleInput {
        name: "Quality gate".into(),
        description: String::new(),
        category: RuleCategory::Approval,
        priority: 50,
        condition: json!({"and": [{">=": [{"var": "quality.overall"}, 80]}, {"var": "quality.compliance.passed"}]}),
        action: RuleAction::Approve,
        note: "Raise the bar".into(),
    };
    let saved = rulebook::service::save(&mut tx, scope, engine, Some((gate, 1)), &input).await?;
    let live = work::load_rules(&mut tx, scope.tenant_id).await?;
    tx.commit().await?;
    let with = sets::With::Rule(saved.id);

    let runs = 7;
    let (mut whole, mut read, mut replay) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..runs {
        let mut tx = tenancy::begin(&pool, scope).await?;
        let t = Instant::now();
        let sim = rulebook::simulate::simulate(
            &mut tx,
            scope.tenant_id,
            engine,
            with,
            Some(DRAFTS as u32),
        )
        .await?;
        whole.push(t.elapsed());
        let t = Instant::now();
        let rows = rulebook::db::replay(&mut tx, scope.tenant_id, DRAFTS).await?;
        read.push(t.elapsed());
        let draft = sets::resolve(&mut tx, scope.tenant_id, with).await?;
        tx.commit().await?;
        let t = Instant::now();
        let again = rulebook::simulate::compare(engine, &live, &draft.rules, &rows);
        replay.push(t.elapsed());
        assert_eq!(
            again.changed_count, sim.changed_count,
            "one evaluation path"
        );
        last = Some(sim);
    }
    let sim = last.ok_or("no run")?;
    println!(
        "| simulation of {} drafts, {} live rules against the set with 1 draft ({runs} runs) | p50 |",
        sim.total,
        live.len()
    );
    println!("|---|---|");
    println!(
        "| `simulate`: the server function's whole work ({} decisions change, {} settled by reviewers) | {:.1} ms |",
        sim.changed_count,
        sim.agreement.settled,
        p50_ms(&mut whole)
    );
    println!(
        "| floor: reading the same rows with their verdicts alone (`db::replay`) | {:.1} ms |",
        p50_ms(&mut read)
    );
    println!(
        "| the replay alone: 2 × {} rule-set evaluations (`simulate::compare`) | {:.1} ms |",
        sim.total,
        p50_ms(&mut replay)
    );
    println!(
        "| ratio: simulate / reading the rows | {:.2}x |",
        p50_ms(&mut whole) / p50_ms(&mut read).max(f64::EPSILON)
    );
    println!();

    // Evaluations per second: the bench's path against the worker's, same rules and draft.
    let mut tx = tenancy::begin(&pool, scope).await?;
    let row = work::load_task(&mut tx, task).await?;
    tx.commit().await?;
    let instructions: AiInstructions = serde_json::from_value(row.instructions.clone())?;
    let report = pipeline
        .score_draft(scope, None, &row.customer, &instructions, &[], DRAFT)
        .await;
    let facts = TaskFacts {
        title: &row.title,
        instructions: &instructions,
        max_attempts: row.max_attempts,
        age_hours: row.age_hours,
    };
    let rules = twenty_rules();
    let context = decision::context(&facts, &row.customer, &report, 1, "gpt-5.2");
    let worker_decision = pipeline.judge(&facts, &row.customer, &report, 1, "gpt-5.2", &rules);
    let (bench_decision, _) = sets::evaluate(engine, &rules, &context);
    assert_eq!(
        worker_decision, bench_decision,
        "the bench decides as the worker does"
    );
    let n = 50_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(sets::evaluate(engine, &rules, &context));
    }
    let bench_rate = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(pipeline.judge(&facts, &row.customer, &report, 1, "gpt-5.2", &rules));
    }
    let worker_rate = n as f64 / t.elapsed().as_secs_f64();
    println!(
        "| rule-set evaluations, 20 rules, one thread, with the trace in words | evaluations/s |"
    );
    println!("|---|---|");
    println!("| bench path: `sets::evaluate` on a stored context | {bench_rate:.0} |");
    println!("| worker path: `Pipeline::judge` (builds the context, then the same decision) | {worker_rate:.0} |");
    println!(
        "| ratio: bench / worker | {:.2}x |",
        bench_rate / worker_rate.max(f64::EPSILON)
    );
    Ok(())
}
