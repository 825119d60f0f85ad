//! Evaluating a workspace's rules: each rule's query gives the conditions that hold now
//! (`Firing`), `apply` upserts them by dedup key (one live alert per condition) and
//! auto-resolves the live alerts of the rules' kinds whose condition no longer holds.
use super::{
    rules::{duration_label, AlertRules, STUCK_STATES},
    AlertKind, Evaluation, STUCK_REASON_PREFIX,
};
use crate::ssr::tenancy::{self, Tx};
use sqlx::PgPool;
use uuid::Uuid;

/// A condition that holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub kind: AlertKind,
    pub key: String,
    pub critical: bool,
    pub title: String,
    pub detail: String,
    pub link: Option<String>,
}

/// The most alerts one rule opens in one evaluation (the oldest stuck tasks first).
pub const MAX_FIRING_PER_RULE: i64 = 50;

impl Firing {
    fn severity(&self) -> &'static str {
        if self.critical {
            "critical"
        } else {
            "warning"
        }
    }
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Opens an alert for `f`, or counts another occurrence of its live one. Returns whether it
/// opened a new one. Features raise one-off alerts (a migration guard) through this.
pub async fn raise(tx: &mut Tx, tenant_id: Uuid, f: &Firing) -> Result<bool, sqlx::Error> {
    let (opened, _) = upsert(tx, tenant_id, std::slice::from_ref(f)).await?;
    Ok(opened > 0)
}

/// (opened, updated)
async fn upsert(
    tx: &mut Tx,
    tenant_id: Uuid,
    firing: &[Firing],
) -> Result<(u64, u64), sqlx::Error> {
    if firing.is_empty() {
        return Ok((0, 0));
    }
    let kinds: Vec<String> = firing.iter().map(|f| f.kind.as_str().to_owned()).collect();
    let keys: Vec<String> = firing.iter().map(|f| clip(&f.key, 200)).collect();
    let severities: Vec<String> = firing.iter().map(|f| f.severity().to_owned()).collect();
    let titles: Vec<String> = firing.iter().map(|f| clip(&f.title, 300)).collect();
    let details: Vec<String> = firing.iter().map(|f| clip(&f.detail, 4000)).collect();
    let links: Vec<Option<String>> = firing.iter().map(|f| f.link.clone()).collect();
    let inserted = sqlx::query_scalar!(
        r#"insert into alerts (tenant_id, kind, dedup_key, severity, title, detail, link)
           select $1, k, d, s, t, de, l
             from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) as u(k, d, s, t, de, l)
           on conflict (tenant_id, dedup_key) where state in ('open', 'acknowledged')
           do update set last_seen_at = now(), occurrences = alerts.occurrences + 1,
                         severity = excluded.severity, title = excluded.title,
                         detail = excluded.detail, link = excluded.link
           returning (xmax = 0) as "inserted!""#,
        tenant_id,
        &kinds,
        &keys,
        &severities,
        &titles,
        &details,
        &links as &[Option<String>],
    )
    .fetch_all(&mut **tx)
    .await?;
    let opened = inserted.iter().filter(|i| **i).count() as u64;
    Ok((opened, inserted.len() as u64 - opened))
}

/// Evaluates every rule of one workspace and applies the result.
#[tracing::instrument(skip_all, fields(%tenant_id))]
pub async fn evaluate(tx: &mut Tx, tenant_id: Uuid) -> Result<Evaluation, sqlx::Error> {
    let (rules, _) = super::db::rules(tx, tenant_id).await?;
    let mut firing = Vec::new();
    for kind in AlertKind::RULES {
        if rules.enabled(kind) {
            firing.extend(check(tx, tenant_id, &rules, kind).await?);
        }
    }
    let (opened, updated) = upsert(tx, tenant_id, &firing).await?;
    let kinds: Vec<String> = AlertKind::RULES
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    let live: Vec<String> = firing.iter().map(|f| clip(&f.key, 200)).collect();
    let resolved = sqlx::query!(
        "update alerts set state = 'auto_resolved', resolved_at = now(), resolution = 'cleared',
                resolution_note = 'The condition cleared.', version = version + 1
         where tenant_id = $1 and state in ('open', 'acknowledged') and kind = any($2)
           and not (dedup_key = any($3))",
        tenant_id,
        &kinds,
        &live
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(Evaluation {
        opened,
        updated,
        resolved,
    })
}

/// The evaluate-alerts job: every workspace, one transaction each. A workspace whose
/// evaluation fails is logged and the others still run. Returns the alerts changed.
pub async fn evaluate_all(pool: &PgPool) -> Result<u64, sqlx::Error> {
    tenancy::for_each_workspace(pool, "evaluating alert rules", |tx, tenant_id| {
        Box::pin(async move { Ok(evaluate(tx, tenant_id).await?.total()) })
    })
    .await
}

/// A task past its state's limit, oldest first (the stuck-task rule and the detector).
#[derive(Debug, Clone)]
pub struct StuckTask {
    pub id: Uuid,
    pub title: String,
    pub state: String,
    pub version: i32,
    pub age_secs: i64,
    pub limit_secs: i64,
}

impl StuckTask {
    pub fn state_label(&self) -> &'static str {
        STUCK_STATES
            .iter()
            .find(|(s, _)| *s == self.state)
            .map_or("an unknown state", |(_, l)| l)
    }

    /// "in Generating for 2 h 5 min (limit 15 min)".
    pub fn describe(&self) -> String {
        format!(
            "in {} for {} (limit {})",
            self.state_label(),
            duration_label(self.age_secs),
            duration_label(self.limit_secs)
        )
    }
}

/// Tasks past their state's limit. A pending or rescheduled task counts from the time it was
/// due, not from when it was scheduled.
pub async fn stuck_tasks(
    tx: &mut Tx,
    tenant_id: Uuid,
    rules: &AlertRules,
) -> Result<Vec<StuckTask>, sqlx::Error> {
    let (states, limits): (Vec<String>, Vec<i32>) = rules.stuck_limits().into_iter().unzip();
    sqlx::query_as!(
        StuckTask,
        r#"select t.id, t.title, t.execution_state as state, t.version,
                  age.secs as "age_secs!", l.limit_secs::int8 as "limit_secs!"
           from unnest($2::text[], $3::int4[]) as l(state, limit_secs)
           join project_tasks t on t.tenant_id = $1 and t.execution_state = l.state
                and t.state_entered_at < now() - make_interval(secs => l.limit_secs)
           cross join lateral (
             select extract(epoch from now() - greatest(t.state_entered_at,
                      case when t.execution_state in ('pending', 'retry_scheduled') then t.run_after
                           else t.state_entered_at end))::int8 as secs) age
           where age.secs > l.limit_secs
           order by age.secs desc
           limit $4"#,
        tenant_id,
        &states,
        &limits,
        MAX_FIRING_PER_RULE
    )
    .fetch_all(&mut **tx)
    .await
}

async fn check(
    tx: &mut Tx,
    tenant_id: Uuid,
    rules: &AlertRules,
    kind: AlertKind,
) -> Result<Vec<Firing>, sqlx::Error> {
    let fire =
        |key: String, critical: bool, title: String, detail: String, link: Option<&str>| Firing {
            kind,
            key,
            critical,
            title,
            detail,
            link: link.map(str::to_owned),
        };
    let mut out = Vec::new();
    match kind {
        AlertKind::StuckTask => {
            for t in stuck_tasks(tx, tenant_id, rules).await? {
                out.push(fire(
                    format!("stuck_task:{}", t.id),
                    t.age_secs >= 2 * t.limit_secs,
                    format!("“{}” is stuck {}", t.title, t.describe()),
                    "The detect-stuck-tasks job escalates it to a person on its next run."
                        .to_owned(),
                    Some(&format!("/pipeline/tasks/{}", t.id)),
                ));
            }
            // Escalated by the detector: the alert stays until a person settles the task.
            let escalated = sqlx::query!(
                r#"select id, title, status_reason as "reason!" from project_tasks
                   where tenant_id = $1 and execution_state = 'escalated' and starts_with(status_reason, $2)
                   order by state_entered_at limit $3"#,
                tenant_id,
                STUCK_REASON_PREFIX,
                MAX_FIRING_PER_RULE
            )
            .fetch_all(&mut **tx)
            .await?;
            for t in escalated {
                if out.iter().any(|f| f.key == format!("stuck_task:{}", t.id)) {
                    continue;
                }
                out.push(fire(
                    format!("stuck_task:{}", t.id),
                    false,
                    format!("“{}” was stuck and waits in the escalation queue", t.title),
                    t.reason,
                    Some(&format!("/pipeline/tasks/{}", t.id)),
                ));
            }
        }
        AlertKind::FailureRate => {
            let window = rules.get("failure.window_minutes");
            let r = sqlx::query!(
                r#"select count(*) filter (where to_state = 'failed' or (to_state = 'retry_scheduled' and actor = 'system')) as "failed!",
                          count(*) as "attempts!"
                   from task_state_transitions
                   where tenant_id = $1 and at > now() - make_interval(mins => $2)
                     and to_state in ('failed', 'approved', 'awaiting_review', 'rejected', 'escalated', 'retry_scheduled')
                     and from_state in ('context_loading', 'generating', 'evaluating')"#,
                tenant_id,
                window
            )
            .fetch_one(&mut **tx)
            .await?;
            let pct = if r.attempts > 0 {
                r.failed as f64 * 100.0 / r.attempts as f64
            } else {
                0.0
            };
            let limit = f64::from(rules.get("failure.percent"));
            if r.attempts >= i64::from(rules.get("failure.min_attempts")) && pct > limit {
                out.push(fire(
                    "failure_rate".into(),
                    pct >= 50.0,
                    format!(
                        "{pct:.0}% of attempts failed in the last {}",
                        duration_label(i64::from(window) * 60)
                    ),
                    format!(
                        "{} of {} attempts failed (the rule allows {limit:.0}%).",
                        r.failed, r.attempts
                    ),
                    Some("/pipeline"),
                ));
            }
        }
        AlertKind::EscalationBacklog => {
            let r = sqlx::query!(
                r#"select count(*) as "n!", extract(epoch from now() - min(state_entered_at))::int8 as oldest_secs
                   from project_tasks
                   where tenant_id = $1 and execution_state in ('awaiting_review', 'escalated', 'failed')"#,
                tenant_id
            )
            .fetch_one(&mut **tx)
            .await?;
            let max = i64::from(rules.get("escalations.max_pending"));
            if r.n > max {
                out.push(fire(
                    "escalation_backlog:count".into(),
                    r.n > 2 * max,
                    format!("{} tasks wait for a person (the rule allows {max})", r.n),
                    "Work the escalation queue, or send some back with guidance.".into(),
                    Some("/escalations"),
                ));
            }
            let max_age = i64::from(rules.get("escalations.max_age_hours")) * 3600;
            if let Some(oldest) = r.oldest_secs.filter(|s| *s > max_age) {
                out.push(fire(
                    "escalation_backlog:age".into(),
                    oldest > 2 * max_age,
                    format!(
                        "The oldest task in the escalation queue has waited {}",
                        duration_label(oldest)
                    ),
                    format!("The rule allows {}.", duration_label(max_age)),
                    Some("/escalations"),
                ));
            }
        }
        AlertKind::QualityDrift => {
            let (window, days) = (
                rules.get("drift.window_hours"),
                rules.get("drift.baseline_days"),
            );
            let r = sqlx::query!(
                r#"select avg(quality_score) filter (where created_at > now() - make_interval(hours => $2))::float8 as recent,
                          count(*) filter (where created_at > now() - make_interval(hours => $2)) as "recent_n!",
                          avg(quality_score) filter (where created_at <= now() - make_interval(hours => $2))::float8 as base,
                          count(*) filter (where created_at <= now() - make_interval(hours => $2)) as "base_n!"
                   from project_deliverables
                   where tenant_id = $1 and quality_score is not null
                     and created_at > now() - make_interval(hours => $2) - make_interval(days => $3)"#,
                tenant_id,
                window,
                days
            )
            .fetch_one(&mut **tx)
            .await?;
            let min = i64::from(rules.get("drift.min_samples"));
            if let (Some(recent), Some(base)) = (r.recent, r.base) {
                let drop = base - recent;
                let limit = f64::from(rules.get("drift.drop_points"));
                if r.recent_n >= min && r.base_n >= min && drop >= limit {
                    out.push(fire(
                        "quality_drift".into(),
                        drop >= 2.0 * limit,
                        format!("Mean quality fell {drop:.1} points: {recent:.1} in the last {} against {base:.1}", duration_label(i64::from(window) * 3600)),
                        format!("{} recent drafts against {} in the {days} days before.", r.recent_n, r.base_n),
                        Some("/pipeline"),
                    ));
                }
            }
        }
        AlertKind::Budget => out.extend(budget(tx, tenant_id, rules).await?),
        AlertKind::ProviderErrors => {
            let window = rules.get("errors.window_minutes");
            let rows = sqlx::query!(
                r#"select provider, count(*) as "n!", (array_agg(error order by id desc))[1] as last_error
                   from ai_calls
                   where tenant_id = $1 and created_at > now() - make_interval(mins => $2) and status = 'error'
                   group by provider having count(*) >= $3
                   order by 2 desc limit $4"#,
                tenant_id,
                window,
                i64::from(rules.get("errors.count")),
                MAX_FIRING_PER_RULE
            )
            .fetch_all(&mut **tx)
            .await?;
            for r in rows {
                out.push(fire(
                    format!("provider_errors:{}", r.provider),
                    false,
                    format!(
                        "{} errors from {} in the last {}",
                        r.n,
                        r.provider,
                        duration_label(i64::from(window) * 60)
                    ),
                    r.last_error
                        .map(|e| format!("The latest: {}", clip(&e, 500)))
                        .unwrap_or_default(),
                    Some("/settings/ai"),
                ));
            }
        }
        AlertKind::LatencySla => {
            let window = rules.get("latency.window_minutes");
            let sla = rules.get("latency.p95_ms");
            let rows = sqlx::query!(
                r#"select coalesce(model, requested_model) as "model!", count(*) as "n!",
                          percentile_cont(0.95) within group (order by latency_ms) as "p95!"
                   from ai_calls
                   where tenant_id = $1 and created_at > now() - make_interval(mins => $2)
                     and status = 'ok' and not cache_hit
                   group by 1 having count(*) >= $3
                   order by 3 desc limit $4"#,
                tenant_id,
                window,
                i64::from(rules.get("latency.min_calls")),
                MAX_FIRING_PER_RULE
            )
            .fetch_all(&mut **tx)
            .await?;
            for r in rows.into_iter().filter(|r| r.p95 > f64::from(sla)) {
                out.push(fire(
                    format!("latency_sla:{}", r.model),
                    r.p95 > 2.0 * f64::from(sla),
                    format!(
                        "{}: p95 latency {:.0} ms over its {sla} ms SLA",
                        r.model, r.p95
                    ),
                    format!(
                        "{} calls in the last {}.",
                        r.n,
                        duration_label(i64::from(window) * 60)
                    ),
                    Some("/models"),
                ));
            }
        }
        AlertKind::ModelPlanGuard => {}
    }
    Ok(out)
}

/// This month's spend against the budget: past the whole budget (critical), else past the soft
/// limit or the warning share. The key carries the month, so a new month clears it. The spend
/// comes from the dashboard's daily rollup (a minute old at most, and a few rows however many
/// calls the month had).
async fn budget(
    tx: &mut Tx,
    tenant_id: Uuid,
    rules: &AlertRules,
) -> Result<Vec<Firing>, sqlx::Error> {
    let r = sqlx::query!(
        r#"select s.monthly_budget_usd::float8 as "budget!", s.soft_limit_usd::float8 as soft,
                  to_char(now() at time zone 'utc', 'YYYY-MM') as "month!",
                  (select coalesce(sum(d.cost_usd), 0) from dashboard_ai_daily d
                    where d.tenant_id = $1 and d.day >= date_trunc('month', now() at time zone 'utc')::date) as "spent!"
           from ai_workspace_settings s
           where s.tenant_id = $1 and s.monthly_budget_usd is not null"#,
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = r else { return Ok(Vec::new()) };
    let warn = f64::from(rules.get("budget.warn_percent")) / 100.0 * r.budget;
    let (key, critical, what) = if r.spent >= r.budget {
        ("100", true, "the whole monthly budget".to_owned())
    } else if r.soft.is_some_and(|s| r.spent >= s) {
        (
            "soft",
            false,
            format!("the soft limit of ${:.2}", r.soft.unwrap_or_default()),
        )
    } else if r.spent >= warn {
        (
            "warn",
            false,
            format!(
                "{}% of the monthly budget",
                rules.get("budget.warn_percent")
            ),
        )
    } else {
        return Ok(Vec::new());
    };
    Ok(vec![Firing {
        kind: AlertKind::Budget,
        key: format!("budget:{}:{key}", r.month),
        critical,
        title: format!(
            "AI spend has passed {what}: ${:.2} of ${:.2} this month",
            r.spent, r.budget
        ),
        detail: if critical {
            "Every task now runs on the free local model until the month ends or the budget grows."
                .into()
        } else {
            "From 80% of the budget, default and thinking tasks step down to the fast tier.".into()
        },
        link: Some("/models/workspace".into()),
    }])
}
