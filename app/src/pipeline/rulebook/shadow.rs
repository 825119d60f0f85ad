//! Shadow mode: the workspace's drafts, pinned when the run starts, decide beside the live set
//! on every new draft the worker scores. They never act; where they would have decided
//! otherwise the disagreement is kept. Promoting the run activates its versions through the
//! same test cases as any activation.
use super::{db, service, sets, ShadowPage};
use crate::{
    error::AppError,
    pipeline::rules::{Decision, DecisionRule, RuleEngine},
    ssr::{
        audit::{self, Change, Target},
        tenancy::{Scope, Tx},
    },
};
use serde_json::{json, Value};
use uuid::Uuid;

/// Disagreements the page lists, newest first.
pub const LISTED: i64 = 100;

/// A running shadow run as the worker uses it.
#[derive(Debug, Clone)]
pub struct Shadowing {
    pub id: Uuid,
    pub rules: Vec<DecisionRule>,
}

/// The workspace's running shadow set, built on `live` (the set the worker just read).
pub async fn running(
    tx: &mut Tx,
    tenant: Uuid,
    live: &[DecisionRule],
) -> Result<Option<Shadowing>, sqlx::Error> {
    let Some(row) = db::running_shadow(tx, tenant).await? else {
        return Ok(None);
    };
    let stored = db::stored_versions(tx, tenant, &row.pinned()).await?;
    Ok(Some(Shadowing {
        id: row.id,
        rules: sets::with_drafts(live.to_vec(), &stored).rules,
    }))
}

/// What the worker records after deciding a draft: the shadow set's decision beside the live one.
pub fn verdict<'a>(
    shadow: &'a Shadowing,
    task_id: Uuid,
    deliverable_id: Uuid,
    live: (&'a Decision, &'a str),
    decided: &'a (Decision, &'static str),
) -> db::ShadowVerdict<'a> {
    db::ShadowVerdict {
        shadow_id: shadow.id,
        task_id,
        deliverable_id,
        live: live.1,
        shadow: decided.1,
        live_rule: live.0.rule.as_deref(),
        shadow_rule: decided.0.rule.as_deref(),
        trace: serde_json::to_value(&decided.0).unwrap_or(Value::Null),
    }
}

/// Decides with the shadow set, through the one evaluation.
pub fn decide(
    engine: &RuleEngine,
    shadow: &Shadowing,
    context: &Value,
) -> (Decision, &'static str) {
    sets::evaluate(engine, &shadow.rules, context)
}

/// The running shadow run (with its disagreements) and the drafts a new one would take.
pub async fn page(
    tx: &mut Tx,
    tenant: Uuid,
    can_edit: bool,
    can_override: bool,
) -> Result<ShadowPage, AppError> {
    let (shadow, disagreements) = match db::running_shadow(tx, tenant).await? {
        Some(row) => {
            let drafts = sets::drafted(tx, tenant, &row.pinned()).await?.drafts;
            let listed = db::disagreements(tx, tenant, row.id, LISTED).await?;
            (Some(row.info(drafts)), listed)
        }
        None => (None, Vec::new()),
    };
    let wanted = db::drafts(tx, tenant).await?;
    let drafts = sets::drafted(tx, tenant, &wanted).await?.drafts;
    Ok(ShadowPage {
        shadow,
        disagreements,
        drafts,
        can_edit,
        can_override,
    })
}

fn target(id: Uuid) -> Target<'static> {
    Target {
        kind: "rule set",
        id,
        label: "shadow run",
    }
}

/// Starts shadowing the workspace's current drafts.
pub async fn start(tx: &mut Tx, scope: Scope) -> Result<(), AppError> {
    let tenant = scope.tenant_id;
    let wanted = db::drafts(tx, tenant).await?;
    if wanted.is_empty() {
        return Err(AppError::validation(
            "",
            "There are no drafts to shadow: save a new version of a rule first.",
        ));
    }
    let drafted = sets::drafted(tx, tenant, &wanted).await?;
    let rules = json!(wanted
        .iter()
        .map(|(id, v)| json!({"rule_id": id, "version": v}))
        .collect::<Vec<_>>());
    if !db::start_shadow(tx, tenant, scope.user_id, &rules).await? {
        return Err(AppError::validation(
            "",
            "A shadow run is already going: promote or stop it first.",
        ));
    }
    let row = db::running_shadow(tx, tenant)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        "rules.shadow_started",
        target(row.id),
        &[Change::new("Drafts", "", &drafted.drafts.join(", "))],
    )
    .await?;
    Ok(())
}

/// Stops the running shadow run without changing any rule.
pub async fn stop(tx: &mut Tx, scope: Scope, id: Uuid) -> Result<(), AppError> {
    if !db::end_shadow(tx, scope.tenant_id, id, "stopped").await? {
        return Err(AppError::validation(
            "",
            "That shadow run is not running any more.",
        ));
    }
    audit::record_about(
        tx,
        scope.tenant_id,
        Some(scope.user_id),
        "rules.shadow_stopped",
        target(id),
        &[],
    )
    .await?;
    Ok(())
}

/// Activates every version the run shadows, through the test cases (an admin may override
/// failing ones with a reason), and ends the run as promoted.
pub async fn promote(
    tx: &mut Tx,
    scope: Scope,
    engine: &RuleEngine,
    id: Uuid,
    overriding: service::Override<'_>,
) -> Result<(), AppError> {
    let tenant = scope.tenant_id;
    let row = db::running_shadow(tx, tenant)
        .await?
        .filter(|r| r.id == id)
        .ok_or_else(|| AppError::validation("", "That shadow run is not running any more."))?;
    let wanted = row.pinned();
    let drafted = sets::drafted(tx, tenant, &wanted).await?;
    service::gate(tx, scope, engine, &drafted, overriding).await?;
    for (rule, version) in &wanted {
        service::make_live(tx, scope, *rule, *version).await?;
    }
    db::end_shadow(tx, tenant, id, "promoted").await?;
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        "rules.shadow_promoted",
        target(id),
        &[Change::new("Made live", "", &drafted.drafts.join(", "))],
    )
    .await?;
    Ok(())
}
