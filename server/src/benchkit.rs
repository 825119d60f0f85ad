//! What the benchmark and abuse binaries share: percentiles, an OpenAI-compatible mock
//! provider on loopback that waits and then streams a short, complete answer, and a 20-rule set.
use app::pipeline::rules::{DecisionRule, RuleAction, RuleCategory};
use axum::{body::Body, routing::post, Router};
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

/// The `p` quantile (0 to 1) of `samples`, sorting them in place; zero when there are none.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx.min(samples.len() - 1)]
}

/// `v` scaled to length 1 (as embeddings are, for cosine distance).
pub fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// A vector as pgvector's text input, `[0.1,0.2,…]`.
pub fn vector_text(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.5}")).collect();
    format!("[{}]", parts.join(","))
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// A streamed chat answer made of `words`, with a stop reason, usage and `[DONE]`.
pub fn sse_answer(words: &[&str], prompt_tokens: u32, completion_tokens: u32) -> String {
    let mut b = String::new();
    for word in words {
        let chunk = serde_json::json!({"id": "b", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": word}}]});
        b.push_str(&format!("data: {chunk}\n\n"));
    }
    b.push_str("data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    let usage = serde_json::json!({"id": "b", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}});
    b.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    b
}

/// Serves `body` as every chat completion after `delay`, on a loopback port; returns the base
/// URL (`http://127.0.0.1:port/v1`).
pub async fn mock_provider(delay: Duration, body: String) -> std::io::Result<String> {
    let handler = move || {
        let body = body.clone();
        async move {
            // A thread's sleep is exact to tens of microseconds; tokio's timer rounds up to the
            // next millisecond tick, which would be counted as overhead.
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(delay)).await;
            ([("content-type", "text/event-stream")], Body::from(body))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            Router::new().route("/v1/chat/completions", post(handler)),
        )
        .await;
    });
    Ok(format!("http://{addr}/v1"))
}

/// 20 rules: the five built-ins and fifteen of the kinds people write.
pub fn twenty_rules() -> Vec<DecisionRule> {
    let mut rules = Vec::new();
    let mut add = |name: String,
                   category: RuleCategory,
                   priority: i32,
                   condition: Value,
                   action: RuleAction| {
        rules.push(DecisionRule {
            id: Uuid::new_v4(),
            name,
            category,
            priority,
            condition,
            action,
            enabled: true,
            version: 1,
        });
    };
    add(
        "Out of attempts".into(),
        RuleCategory::Escalation,
        10,
        json!({"and": [{">=": [{"var": "attempt"}, {"var": "task.max_attempts"}]}, {"or": [{"!": {"var": "quality.compliance.passed"}}, {"<": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}]}]}),
        RuleAction::Escalate {
            reason: "out of attempts".into(),
        },
    );
    add(
        "Compliance failure".into(),
        RuleCategory::Retry,
        20,
        json!({"!": {"var": "quality.compliance.passed"}}),
        RuleAction::Retry {
            guidance: "fix".into(),
        },
    );
    add(
        "Low quality".into(),
        RuleCategory::Retry,
        30,
        json!({"<": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}),
        RuleAction::Retry {
            guidance: "better".into(),
        },
    );
    add(
        "VIP customer".into(),
        RuleCategory::Approval,
        40,
        json!({"==": [{"var": "customer.is_vip"}, true]}),
        RuleAction::Review {
            reason: "vip".into(),
        },
    );
    add(
        "Quality gate".into(),
        RuleCategory::Approval,
        50,
        json!({"and": [{">=": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}, {"var": "quality.compliance.passed"}]}),
        RuleAction::Approve,
    );
    for i in 0..15 {
        let (category, condition) = match i % 5 {
            0 => (
                RuleCategory::Escalation,
                json!({"and": [{"in": [{"var": "customer.industry"}, ["legal", "finance", "healthcare"]]}, {"<": [{"var": "quality.brand"}, 40 + i]}]}),
            ),
            1 => (
                RuleCategory::Retry,
                json!({"<": [{"var": "quality.readability"}, 30 + i]}),
            ),
            2 => (
                RuleCategory::Approval,
                json!({"and": [{"==": [{"var": "task.output_type"}, "sms"]}, {">=": [{"var": "quality.overall"}, 90]}]}),
            ),
            3 => (
                RuleCategory::Escalation,
                json!({">": [{"var": "task.age_hours"}, 48 + i]}),
            ),
            _ => (
                RuleCategory::Retry,
                json!({"and": [{"==": [{"var": "quality.sentiment_label"}, "negative"]}, {"<": [{"var": "attempt"}, 3]}]}),
            ),
        };
        add(
            format!("Custom rule {i}"),
            category,
            60 + i,
            condition,
            RuleAction::Retry {
                guidance: "adjust".into(),
            },
        );
    }
    rules
}

/// `n` email tasks in `tenant` for its first customer, under a project named "Bench", whose
/// drafts must reach `min_overall`.
pub async fn add_bench_tasks(
    tx: &mut app::ssr::tenancy::Tx,
    tenant: Uuid,
    n: i32,
    min_overall: u8,
) -> Result<(), sqlx::Error> {
    let (customer, project): (Uuid, Uuid) = sqlx::query_as(
        "with c as (select id from customers order by name limit 1)
         insert into projects (tenant_id, customer_id, name) select $1, id, 'Bench' from c
         on conflict (tenant_id, customer_id, lower(name)) do update set name = projects.name
         returning customer_id, id",
    )
    .bind(tenant)
    .fetch_one(&mut **tx)
    .await?;
    let instructions = json!({
        "brief": "Invite past clients to book a spring service this month.",
        "output_type": "email", "output_format": "plain_text",
        "output_length": {"min_words": 20, "max_words": 200},
        "must_include": ["CTA"], "must_not_include": ["guaranteed results"], "context_sources": [],
        "success_criteria": {"readability_score_min": 50.0, "sentiment_target": "positive", "cta_present": true},
        "quality_thresholds": {"min_overall": min_overall, "min_brand_alignment": 0}
    });
    sqlx::query(
        "insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions)
         select $1, $2, $3, 'Bench task ' || g, $4 from generate_series(1, $5) g",
    )
    .bind(tenant)
    .bind(project)
    .bind(customer)
    .bind(instructions)
    .bind(n)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
