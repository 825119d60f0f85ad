//! The testing bench and the workspace's test cases: a context run through the live rules or
//! the rules with drafts, decided as the worker decides, and contexts kept with the decision
//! they must get. Every change to a case is audited.
use super::{db, sets, BenchRun, CaseResult, TestCase, TraceLine};
use crate::{
    error::AppError,
    pipeline::rules::{RuleEngine, TraceOutcome},
    ssr::{
        audit::{self, Change, Target},
        tenancy::{Scope, Tx},
    },
};
use serde_json::Value;
use uuid::Uuid;

/// A context as typed on the bench or for a test case: a JSON object of at most 64 KiB.
pub fn parse_context(field: &str, text: &str) -> Result<Value, AppError> {
    if text.len() > 64 * 1024 {
        return Err(AppError::validation(field, "Keep the context to 64 KiB."));
    }
    if text.trim().is_empty() {
        return Err(AppError::validation(
            field,
            "Give a context: a JSON object with task, customer, quality, attempt and deliverable.",
        ));
    }
    let v = super::form::parse_condition(text).map_err(|m| AppError::validation(field, m))?;
    if !v.is_object() {
        return Err(AppError::validation(
            field,
            "The context must be a JSON object with task, customer, quality, attempt and deliverable.",
        ));
    }
    Ok(v)
}

/// The workspace's test cases, each with its result against the live set.
pub async fn cases(
    tx: &mut Tx,
    tenant: Uuid,
    engine: &RuleEngine,
) -> Result<Vec<(TestCase, CaseResult)>, AppError> {
    let rows = db::cases(tx, tenant).await?;
    let live = sets::drafted(tx, tenant, &[]).await?;
    let results = sets::run_cases(engine, &live.rules, &rows);
    Ok(rows
        .into_iter()
        .zip(results)
        .map(|(c, r)| {
            let case = TestCase {
                id: c.id,
                name: c.name,
                expected: c.expected,
                context: serde_json::to_string_pretty(&c.context).unwrap_or_default(),
            };
            (case, r)
        })
        .collect())
}

pub async fn save_case(
    tx: &mut Tx,
    scope: Scope,
    name: &str,
    context: &str,
    expected: &str,
) -> Result<Uuid, AppError> {
    let tenant = scope.tenant_id;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(AppError::validation(
            "name",
            "Name the case in 1 to 120 characters, such as \"VIP at 90 goes to review\".",
        ));
    }
    if !super::OUTCOMES.contains(&expected) {
        return Err(AppError::validation(
            "expected",
            "Choose the decision the case expects: approve, review, retry, reject or escalate.",
        ));
    }
    let context = parse_context("context", context)?;
    if db::count_cases(tx, tenant).await? >= super::MAX_TEST_CASES {
        return Err(AppError::validation(
            "",
            format!(
                "A workspace keeps at most {} test cases: delete one first.",
                super::MAX_TEST_CASES
            ),
        ));
    }
    let id = db::insert_case(tx, tenant, scope.user_id, name, &context, expected)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d)
                if d.constraint() == Some("ai_rule_test_cases_name_unique") =>
            {
                AppError::validation("name", format!("A test case is already called \"{name}\"."))
            }
            _ => e.into(),
        })?;
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        "rule_test_case.saved",
        Target {
            kind: "rule test case",
            id,
            label: name,
        },
        &[Change::new("Expects", "", expected)],
    )
    .await?;
    Ok(id)
}

pub async fn delete_case(tx: &mut Tx, scope: Scope, id: Uuid) -> Result<(), AppError> {
    let name = db::delete_case(tx, scope.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record_about(
        tx,
        scope.tenant_id,
        Some(scope.user_id),
        "rule_test_case.deleted",
        Target {
            kind: "rule test case",
            id,
            label: &name,
        },
        &[],
    )
    .await?;
    Ok(())
}

/// A bench run: the set `with` names, on `context`, decided as the worker decides.
pub async fn bench(
    tx: &mut Tx,
    tenant: Uuid,
    engine: &RuleEngine,
    context: &Value,
    with: sets::With,
) -> Result<BenchRun, AppError> {
    let drafted = sets::resolve(tx, tenant, with).await?;
    let (decision, outcome) = sets::evaluate(engine, &drafted.rules, context);
    let trace = decision
        .trace
        .iter()
        .map(|t| TraceLine {
            rule: t.rule.clone(),
            version: t.version,
            category: t.category.as_str().to_owned(),
            outcome: match t.outcome {
                TraceOutcome::Matched => "matched",
                TraceOutcome::NotMatched => "not matched",
                TraceOutcome::Skipped => "not run",
                TraceOutcome::Error { .. } => "error",
            }
            .to_owned(),
            values: t
                .values
                .iter()
                .map(|(p, v)| (p.clone(), v.to_string()))
                .collect(),
            sentence: t.sentence(),
            draft: drafted.versions.contains(&(t.rule_id, t.version)),
        })
        .collect();
    Ok(BenchRun {
        outcome: outcome.to_owned(),
        summary: decision.summary(),
        trace,
        drafts: drafted.drafts,
    })
}
