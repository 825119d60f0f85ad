//! Saving rule versions (each save runs every test case), activation gated by the test cases
//! (an admin may override with a reason), rollback, the enabled switch and diffs. Every change
//! is audited. The bench and the test cases themselves are in `bench.rs`.
use super::{
    db, form::RuleInput, sets, CaseResult, DiffLine, RuleDetail, RuleDiff, RuleRow, RuleSaved,
    RulesPage,
};
use crate::{
    error::AppError,
    pipeline::{
        rule_check,
        rules::{lookup, sample_context, RuleCategory, RuleEngine},
    },
    ssr::{
        audit::{self, Change, Target},
        tenancy::{Scope, Tx},
    },
};
use serde_json::Value;
use uuid::Uuid;

fn target(id: Uuid, name: &str) -> Target<'_> {
    Target {
        kind: "decision rule",
        id,
        label: name,
    }
}

/// An activation's way past failing test cases: the reason given, and whether this user may.
#[derive(Debug, Clone, Copy)]
pub struct Override<'a> {
    pub reason: Option<&'a str>,
    pub allowed: bool,
}

/// The list: rules by category in the order categories decide, each by priority, with their
/// 30-day match counts (a copy counts its built-in's matches too), and the running shadow run.
pub async fn page(tx: &mut Tx, tenant: Uuid, can_edit: bool) -> Result<RulesPage, AppError> {
    let heads = db::list(tx, tenant).await?;
    let (decided_30d, counts) = db::matches_30d(tx, tenant).await?;
    let mut groups: Vec<(String, Vec<RuleRow>)> = RuleCategory::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), Vec::new()))
        .collect();
    for h in heads {
        let matched = counts.get(&h.id).copied().unwrap_or(0)
            + h.replaces
                .and_then(|b| counts.get(&b))
                .copied()
                .unwrap_or(0);
        let row = RuleRow {
            id: h.id,
            name: h.name,
            description: h.description,
            action: h
                .action
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            enabled: h.enabled,
            live_version: h.live.then_some(h.version),
            latest_version: h.latest_version,
            builtin: h.builtin,
            replaces: h.replaces_name,
            matched_30d: matched,
            priority: h.priority,
            category: h.category.clone(),
        };
        if let Some(g) = groups.iter_mut().find(|g| g.0 == h.category) {
            g.1.push(row);
        }
    }
    let shadow = match db::running_shadow(tx, tenant).await? {
        Some(row) => {
            let drafts = sets::drafted(tx, tenant, &row.pinned()).await?.drafts;
            Some(row.info(drafts))
        }
        None => None,
    };
    Ok(RulesPage {
        groups,
        decided_30d,
        test_cases: db::count_cases(tx, tenant).await?,
        shadow,
        can_edit,
    })
}

/// The context variables a condition may read, each with its sample value.
pub fn variables() -> Vec<(String, String)> {
    let sample = sample_context();
    rule_check::known_paths()
        .into_iter()
        .filter_map(|p| {
            let v = lookup(&sample, &p)?;
            (!v.is_object()).then(|| (p.clone(), v.to_string()))
        })
        .collect()
}

/// A rule with its history and one version's content (the newest unless asked).
pub async fn detail(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    version: Option<i32>,
    can_edit: bool,
    can_override: bool,
) -> Result<RuleDetail, AppError> {
    let head = db::head(tx, tenant, id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = version.unwrap_or(head.latest_version);
    let shown = db::stored_versions(tx, tenant, &[(id, v)])
        .await?
        .pop()
        .ok_or_else(|| AppError::validation("version", format!("This rule has no version {v}.")))?
        .shown();
    Ok(RuleDetail {
        id: Some(id),
        builtin: head.builtin,
        enabled: head.enabled,
        live_version: head.live.then_some(head.version),
        latest_version: head.latest_version,
        versions: db::versions(tx, id).await?,
        shown,
        variables: variables(),
        can_edit,
        can_override,
    })
}

/// Writes a new rule (`target` None), a new version of one, or, for a built-in, the
/// workspace's own copy; then runs every test case with the new version in the live set.
pub async fn save(
    tx: &mut Tx,
    scope: Scope,
    engine: &RuleEngine,
    target_of: Option<(Uuid, i32)>,
    v: &RuleInput,
) -> Result<RuleSaved, AppError> {
    let (tenant, user) = (scope.tenant_id, scope.user_id);
    let (id, version) = match target_of {
        None => {
            if db::name_taken(tx, tenant, &v.name, None).await? {
                return Err(name_taken(&v.name));
            }
            (
                db::insert_rule(tx, tenant, user, v, None)
                    .await
                    .map_err(conflict)?,
                1,
            )
        }
        Some((id, base)) => {
            let head = db::head(tx, tenant, id, false)
                .await?
                .ok_or(AppError::NotFound)?;
            if head.latest_version != base {
                return Err(AppError::validation(
                    "",
                    format!(
                        "Version {} was saved after you opened version {base}. Reload to see it, then make your change again.",
                        head.latest_version
                    ),
                ));
            }
            let latest = db::stored_versions(tx, tenant, &[(id, base)])
                .await?
                .pop()
                .ok_or(AppError::NotFound)?;
            if v.same_as(&latest.shown()) {
                return Err(AppError::validation(
                    "",
                    format!("Nothing changed since version {base}: no new version was written."),
                ));
            }
            if head.builtin {
                if db::copy_of(tx, tenant, id).await?.is_some() {
                    return Err(AppError::validation(
                        "",
                        "This workspace already has its own copy of this built-in rule: open it from the rules list.",
                    ));
                }
                if db::name_taken(tx, tenant, &v.name, None).await? {
                    return Err(name_taken(&v.name));
                }
                (
                    db::insert_rule(tx, tenant, user, v, Some(id))
                        .await
                        .map_err(conflict)?,
                    1,
                )
            } else {
                if db::name_taken(tx, tenant, &v.name, Some(id)).await? {
                    return Err(name_taken(&v.name));
                }
                let next = head.latest_version + 1;
                db::insert_version(tx, tenant, id, next, user, v).await?;
                (id, next)
            }
        }
    };
    audit::record_about(
        tx,
        tenant,
        Some(user),
        "rule.version_saved",
        target(id, &v.name),
        &[Change::new(
            "Version",
            "",
            &format!("v{version}: {}", v.note),
        )],
    )
    .await?;
    let drafted = sets::drafted(tx, tenant, &[(id, version)]).await?;
    let cases = sets::run_cases(engine, &drafted.rules, &db::cases(tx, tenant).await?);
    Ok(RuleSaved { id, version, cases })
}

/// A write that lost a race to another: the same name, or a second copy of one built-in.
fn conflict(e: sqlx::Error) -> AppError {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("ai_decision_rules_name_unique") => {
            AppError::validation("name", "Another rule of this workspace has this name now. Choose another name.")
        }
        sqlx::Error::Database(d) if d.constraint() == Some("ai_decision_rules_one_copy") => AppError::validation(
            "",
            "This workspace already has its own copy of this built-in rule: open it from the rules list.",
        ),
        _ => e.into(),
    }
}

fn name_taken(name: &str) -> AppError {
    AppError::validation(
        "name",
        format!("Another rule of this workspace is called \"{name}\". Choose another name."),
    )
}

/// Runs every test case against `drafted`; failing ones block unless an admin overrides with
/// a reason, which is audited with the cases it overrode.
pub async fn gate(
    tx: &mut Tx,
    scope: Scope,
    engine: &RuleEngine,
    drafted: &sets::Drafted,
    overriding: Override<'_>,
) -> Result<Vec<CaseResult>, AppError> {
    let results = sets::run_cases(
        engine,
        &drafted.rules,
        &db::cases(tx, scope.tenant_id).await?,
    );
    let failing = CaseResult::failing(&results);
    if failing.is_empty() {
        return Ok(results);
    }
    let listed: Vec<String> = failing
        .iter()
        .take(5)
        .map(|c| format!("\"{}\" expects {} but gets {}", c.name, c.expected, c.got))
        .collect();
    let reason = overriding.reason.map(str::trim).filter(|r| !r.is_empty());
    let Some(reason) = reason else {
        return Err(AppError::validation(
            "cases",
            format!(
                "Activation blocked: {} of {} test cases fail with {}: {}. Fix the rule or the cases{}.",
                failing.len(),
                results.len(),
                drafted.drafts.join(", "),
                listed.join("; "),
                if overriding.allowed { ", or activate anyway giving a reason" } else { "; only an admin may activate anyway" }
            ),
        ));
    };
    if !overriding.allowed {
        return Err(AppError::forbidden(
            "only an admin may activate over failing test cases",
        ));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::validation(
            "override_reason",
            "Keep the reason to 500 characters.",
        ));
    }
    let names: Vec<&str> = failing.iter().map(|c| c.name.as_str()).collect();
    let label = drafted.drafts.join(", ");
    audit::record_about(
        tx,
        scope.tenant_id,
        Some(scope.user_id),
        "rules.activation_overridden",
        target(Uuid::nil(), &label),
        &[
            Change::new("Failing test cases", "", &names.join(", ")),
            Change::new("Reason", "", reason),
        ],
    )
    .await?;
    Ok(results)
}

/// Makes `version` the live one (an older one: a rollback), audited. No test cases here: the
/// callers gate first.
pub async fn make_live(tx: &mut Tx, scope: Scope, id: Uuid, version: i32) -> Result<(), AppError> {
    let tenant = scope.tenant_id;
    let head = db::head(tx, tenant, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    if head.live && head.version == version {
        return Ok(());
    }
    if !db::activate(tx, tenant, id, version)
        .await
        .map_err(conflict)?
    {
        return Err(AppError::validation(
            "version",
            format!("This rule has no version {version}."),
        ));
    }
    let from = if head.live {
        format!("v{}", head.version)
    } else {
        "none".to_owned()
    };
    let action = if head.live && version < head.version {
        "rule.rolled_back"
    } else {
        "rule.activated"
    };
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        action,
        target(id, &head.name),
        &[Change::new("Live version", &from, &format!("v{version}"))],
    )
    .await?;
    Ok(())
}

/// Activates (or rolls back to) `version` once the test cases pass with it in the live set.
pub async fn activate(
    tx: &mut Tx,
    scope: Scope,
    engine: &RuleEngine,
    id: Uuid,
    version: i32,
    overriding: Override<'_>,
) -> Result<Vec<CaseResult>, AppError> {
    let head = db::head(tx, scope.tenant_id, id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    if head.builtin {
        return Err(AppError::validation(
            "",
            "A built-in rule is always live. Save a change to make this workspace's own copy, then activate that.",
        ));
    }
    if head.live && head.version == version {
        return Ok(Vec::new());
    }
    let drafted = sets::drafted(tx, scope.tenant_id, &[(id, version)]).await?;
    let results = gate(tx, scope, engine, &drafted, overriding).await?;
    make_live(tx, scope, id, version).await?;
    Ok(results)
}

/// Turns a rule on or off. A built-in is switched through the workspace's own copy, which is
/// made live at once with the built-in's content.
pub async fn set_enabled(
    tx: &mut Tx,
    scope: Scope,
    id: Uuid,
    enabled: bool,
) -> Result<Uuid, AppError> {
    let tenant = scope.tenant_id;
    let head = db::head(tx, tenant, id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    if head.enabled == enabled {
        return Ok(id);
    }
    let own = if head.builtin {
        if let Some(copy) = db::copy_of(tx, tenant, id).await? {
            copy
        } else {
            let v = db::stored_versions(tx, tenant, &[(id, head.version)])
                .await?
                .pop()
                .ok_or(AppError::NotFound)?;
            let input = RuleInput {
                name: v.name.clone(),
                description: v.description.clone(),
                category: RuleCategory::parse(&v.category).unwrap_or(RuleCategory::Approval),
                priority: v.priority,
                condition: v.condition.clone(),
                action: serde_json::from_value(v.action.clone()).map_err(|e| {
                    AppError::validation("", format!("The built-in's action cannot be read: {e}"))
                })?,
                note: "Copied from the built-in rule".to_owned(),
            };
            let copy = db::insert_rule(tx, tenant, scope.user_id, &input, Some(id))
                .await
                .map_err(conflict)?;
            db::activate(tx, tenant, copy, 1).await?;
            copy
        }
    } else {
        id
    };
    db::set_enabled(tx, tenant, own, enabled).await?;
    let (from, to) = if enabled {
        ("off", "on")
    } else {
        ("on", "off")
    };
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        if enabled {
            "rule.enabled"
        } else {
            "rule.disabled"
        },
        target(own, &head.name),
        &[Change::new("Enabled", from, to)],
    )
    .await?;
    Ok(own)
}

/// Line by line, what changed from version `from` to version `to`.
pub async fn diff(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    from: i32,
    to: i32,
) -> Result<RuleDiff, AppError> {
    let found = db::stored_versions(tx, tenant, &[(id, from), (id, to)]).await?;
    let text = |v: i32| {
        found
            .iter()
            .find(|s| s.version == v)
            .map(|s| s.shown().as_text())
            .ok_or_else(|| {
                AppError::validation("version", format!("This rule has no version {v}."))
            })
    };
    let (a, b) = (text(from)?, text(to)?);
    let lines = similar::TextDiff::from_lines(&a, &b)
        .iter_all_changes()
        .map(|c| DiffLine {
            tag: match c.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            },
            text: c.value().trim_end_matches('\n').to_owned(),
        })
        .collect();
    Ok(RuleDiff { from, to, lines })
}

/// The editor for a new rule: a sensible start (an approval rule on the quality score).
pub fn blank(can_edit: bool, can_override: bool) -> RuleDetail {
    RuleDetail {
        id: None,
        builtin: false,
        enabled: true,
        live_version: None,
        latest_version: 0,
        versions: Vec::new(),
        shown: super::RuleVersion {
            version: 0,
            name: String::new(),
            description: String::new(),
            category: "approval".to_owned(),
            priority: 100,
            condition:
                "{\">=\": [{\"var\": \"quality.overall\"}, {\"var\": \"task.min_overall\"}]}"
                    .to_owned(),
            action: crate::pipeline::rules::RuleAction::Approve,
            note: String::new(),
        },
        variables: variables(),
        can_edit,
        can_override,
    }
}
