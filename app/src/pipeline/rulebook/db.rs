//! Rule management's SQL. Every statement names the tenant as well as running under its
//! row-level security; built-ins (no tenant) are read-only.
use super::{form::RuleInput, RuleVersion, VersionInfo};
use crate::{
    pipeline::rules::{DecisionRule, RuleAction, RuleCategory},
    ssr::tenancy::Tx,
};
use serde_json::Value;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// A rule row: the live version's fields and where it stands.
#[derive(Debug, Clone)]
pub struct Head {
    pub id: Uuid,
    pub builtin: bool,
    pub name: String,
    pub description: String,
    pub category: String,
    pub priority: i32,
    pub action: Value,
    pub enabled: bool,
    pub live: bool,
    pub version: i32,
    pub latest_version: i32,
    pub replaces: Option<Uuid>,
    pub replaces_name: Option<String>,
}

/// The workspace's rules and the built-ins it has no copy of, by category and priority.
pub async fn list(tx: &mut Tx, tenant: Uuid) -> Result<Vec<Head>, sqlx::Error> {
    sqlx::query_as!(
        Head,
        r#"select r.id, r.tenant_id is null as "builtin!", r.name, r.description, r.category, r.priority,
                  r.action, r.enabled, r.live, r.version, r.latest_version, r.replaces, b.name as "replaces_name?"
             from ai_decision_rules r
             left join ai_decision_rules b on b.id = r.replaces
            where (r.tenant_id = $1
                   or (r.tenant_id is null
                       and not exists (select 1 from ai_decision_rules w where w.tenant_id = $1 and w.replaces = r.id)))
            order by r.priority, r.name, r.id
            limit 1000"#,
        tenant
    )
    .fetch_all(&mut **tx)
    .await
}

/// One rule the workspace can see (`own`: only one of its own).
pub async fn head(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    own: bool,
) -> Result<Option<Head>, sqlx::Error> {
    sqlx::query_as!(
        Head,
        r#"select r.id, r.tenant_id is null as "builtin!", r.name, r.description, r.category, r.priority,
                  r.action, r.enabled, r.live, r.version, r.latest_version, r.replaces, b.name as "replaces_name?"
             from ai_decision_rules r
             left join ai_decision_rules b on b.id = r.replaces
            where r.id = $2 and (r.tenant_id = $1 or (not $3 and r.tenant_id is null))"#,
        tenant,
        id,
        own
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The workspace's own copy of a built-in rule, if it made one.
pub async fn copy_of(
    tx: &mut Tx,
    tenant: Uuid,
    builtin: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from ai_decision_rules where tenant_id = $1 and replaces = $2",
        tenant,
        builtin
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Whether another of the workspace's rules has this name (any case).
pub async fn name_taken(
    tx: &mut Tx,
    tenant: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from ai_decision_rules
                          where tenant_id = $1 and lower(name) = lower($2) and id is distinct from $3) as "e!""#,
        tenant,
        name,
        except
    )
    .fetch_one(&mut **tx)
    .await
}

/// How many drafts were decided over the last 30 days, and how many each rule matched.
pub async fn matches_30d(
    tx: &mut Tx,
    tenant: Uuid,
) -> Result<(i64, HashMap<Uuid, i64>), sqlx::Error> {
    let decided = sqlx::query_scalar!(
        r#"select count(*) as "n!" from project_deliverables
            where tenant_id = $1 and decision is not null and created_at > now() - interval '30 days'"#,
        tenant
    )
    .fetch_one(&mut **tx)
    .await?;
    let rows = sqlx::query!(
        r#"select e.value ->> 'rule_id' as "rule_id!", count(*) as "n!"
             from project_deliverables d,
                  jsonb_array_elements(case when jsonb_typeof(d.decision_trace -> 'trace') = 'array'
                                            then d.decision_trace -> 'trace' else '[]'::jsonb end) e
            where d.tenant_id = $1 and d.decision is not null and d.created_at > now() - interval '30 days'
              and e.value -> 'outcome' ->> 'kind' = 'matched' and e.value ->> 'rule_id' is not null
            group by 1"#,
        tenant
    )
    .fetch_all(&mut **tx)
    .await?;
    let counts = rows
        .into_iter()
        .filter_map(|r| r.rule_id.parse().ok().map(|id| (id, r.n)))
        .collect();
    Ok((decided, counts))
}

pub async fn versions(tx: &mut Tx, id: Uuid) -> Result<Vec<VersionInfo>, sqlx::Error> {
    sqlx::query_as!(
        VersionInfo,
        r#"select v.version, v.note, u.display_name as "author?", v.created_at
             from ai_decision_rule_versions v left join users u on u.id = v.created_by
            where v.rule_id = $1 order by v.version desc limit $2"#,
        id,
        super::MAX_VERSIONS_LISTED
    )
    .fetch_all(&mut **tx)
    .await
}

/// A stored version as the engine takes it.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub rule_id: Uuid,
    pub version: i32,
    pub name: String,
    pub description: String,
    pub category: String,
    pub priority: i32,
    pub condition: Value,
    pub action: Value,
    pub note: String,
    /// The rule's switch, and the built-in it stands in for.
    pub enabled: bool,
    pub replaces: Option<Uuid>,
}

impl StoredVersion {
    /// For the page: the condition pretty-printed and the action read.
    pub fn shown(&self) -> RuleVersion {
        RuleVersion {
            version: self.version,
            name: self.name.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            priority: self.priority,
            condition: serde_json::to_string_pretty(&self.condition).unwrap_or_default(),
            action: serde_json::from_value(self.action.clone()).unwrap_or(RuleAction::Review {
                reason: String::new(),
            }),
            note: self.note.clone(),
        }
    }

    /// The version as a rule the engine runs; None when its stored category or action cannot
    /// be read (the database's checks make that a corrupted row).
    pub fn rule(&self) -> Option<DecisionRule> {
        Some(DecisionRule {
            id: self.rule_id,
            name: self.name.clone(),
            category: RuleCategory::parse(&self.category)?,
            priority: self.priority,
            condition: self.condition.clone(),
            action: serde_json::from_value(self.action.clone()).ok()?,
            enabled: self.enabled,
            version: self.version,
        })
    }
}

/// Versions by (rule, version), for the rules the workspace can see.
pub async fn stored_versions(
    tx: &mut Tx,
    tenant: Uuid,
    wanted: &[(Uuid, i32)],
) -> Result<Vec<StoredVersion>, sqlx::Error> {
    let ids: Vec<Uuid> = wanted.iter().map(|w| w.0).collect();
    let numbers: Vec<i32> = wanted.iter().map(|w| w.1).collect();
    sqlx::query_as!(
        StoredVersion,
        r#"select v.rule_id, v.version, v.name, v.description, v.category, v.priority, v.condition, v.action,
                  v.note, r.enabled, r.replaces
             from unnest($2::uuid[], $3::int[]) w(rule_id, version)
             join ai_decision_rule_versions v on v.rule_id = w.rule_id and v.version = w.version
             join ai_decision_rules r on r.id = v.rule_id
            where r.tenant_id = $1 or r.tenant_id is null"#,
        tenant,
        &ids,
        &numbers
    )
    .fetch_all(&mut **tx)
    .await
}

/// The workspace's drafts: each rule's newest version where it is not the live one.
pub async fn drafts(tx: &mut Tx, tenant: Uuid) -> Result<Vec<(Uuid, i32)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, latest_version from ai_decision_rules
          where tenant_id = $1 and (not live or latest_version <> version)
          order by priority, name limit 1000",
        tenant
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.latest_version)).collect())
}

/// A new rule of the workspace, not live yet; `replaces` when it is a built-in's copy.
pub async fn insert_rule(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    v: &RuleInput,
    replaces: Option<Uuid>,
) -> Result<Uuid, sqlx::Error> {
    let action = serde_json::to_value(&v.action).unwrap_or(Value::Null);
    let id = sqlx::query_scalar!(
        "insert into ai_decision_rules
           (tenant_id, name, description, category, priority, condition, action, live, version, latest_version, replaces, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, false, 1, 1, $8, $9) returning id",
        tenant,
        v.name,
        v.description,
        v.category.as_str(),
        v.priority,
        v.condition,
        action,
        replaces,
        user
    )
    .fetch_one(&mut **tx)
    .await?;
    insert_version(tx, tenant, id, 1, user, v).await?;
    Ok(id)
}

/// Writes version `version` and makes it the newest.
pub async fn insert_version(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    version: i32,
    user: Uuid,
    v: &RuleInput,
) -> Result<(), sqlx::Error> {
    let action = serde_json::to_value(&v.action).unwrap_or(Value::Null);
    sqlx::query!(
        "insert into ai_decision_rule_versions
           (tenant_id, rule_id, version, name, description, category, priority, condition, action, note, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        tenant,
        id,
        version,
        v.name,
        v.description,
        v.category.as_str(),
        v.priority,
        v.condition,
        action,
        v.note,
        user
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "update ai_decision_rules set latest_version = $3, updated_at = now() where tenant_id = $1 and id = $2",
        tenant,
        id,
        version
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Makes `version` the live one: its fields become the rule's.
pub async fn activate(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    version: i32,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update ai_decision_rules r
            set name = v.name, description = v.description, category = v.category, priority = v.priority,
                condition = v.condition, action = v.action, version = v.version, live = true, updated_at = now()
           from ai_decision_rule_versions v
          where r.tenant_id = $1 and r.id = $2 and v.rule_id = r.id and v.version = $3",
        tenant,
        id,
        version
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_enabled(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update ai_decision_rules set enabled = $3, updated_at = now() where tenant_id = $1 and id = $2",
        tenant,
        id,
        enabled
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A saved test case, as the runner takes it.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: Uuid,
    pub name: String,
    pub context: Value,
    pub expected: String,
}

pub async fn cases(tx: &mut Tx, tenant: Uuid) -> Result<Vec<CaseRow>, sqlx::Error> {
    sqlx::query_as!(
        CaseRow,
        "select id, name, context, expected from ai_rule_test_cases where tenant_id = $1 order by name limit $2",
        tenant,
        super::MAX_TEST_CASES
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn count_cases(tx: &mut Tx, tenant: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from ai_rule_test_cases where tenant_id = $1"#,
        tenant
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn insert_case(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    name: &str,
    context: &Value,
    expected: &str,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into ai_rule_test_cases (tenant_id, name, context, expected, created_by)
         values ($1, $2, $3, $4, $5) returning id",
        tenant,
        name,
        context,
        expected,
        user
    )
    .fetch_one(&mut **tx)
    .await
}

/// Deletes a case; its name when there was one.
pub async fn delete_case(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "delete from ai_rule_test_cases where tenant_id = $1 and id = $2 returning name",
        tenant,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// An evaluated draft a simulation replays.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub task_id: Uuid,
    pub title: String,
    pub context: Value,
    pub created_at: OffsetDateTime,
    /// The reviewer's verdict on it, if a person settled it.
    pub verdict: Option<String>,
}

/// The newest `limit` evaluated drafts that kept their context, newest first.
pub async fn replay(tx: &mut Tx, tenant: Uuid, limit: i64) -> Result<Vec<Replayed>, sqlx::Error> {
    sqlx::query_as!(
        Replayed,
        r#"select d.task_id, t.title, d.decision_context as "context!", d.created_at,
                  (select f.verdict from ai_content_feedback f
                    where f.deliverable_id = d.id order by f.created_at desc limit 1) as "verdict?"
             from project_deliverables d join project_tasks t on t.id = d.task_id and t.tenant_id = d.tenant_id
            where d.tenant_id = $1 and d.decision is not null and d.decision_context is not null
            order by d.created_at desc limit $2"#,
        tenant,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

/// The context the rules saw on a task's newest evaluated draft.
pub async fn task_context(
    tx: &mut Tx,
    tenant: Uuid,
    task: Uuid,
) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select decision_context as "c!" from project_deliverables
            where tenant_id = $1 and task_id = $2 and decision_context is not null
            order by attempt desc limit 1"#,
        tenant,
        task
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Tasks whose drafts kept a context, newest first, for the bench's picker.
pub async fn tasks_with_context(
    tx: &mut Tx,
    tenant: Uuid,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select t.id, t.title from project_tasks t
          where t.tenant_id = $1
            and exists (select 1 from project_deliverables d
                         where d.tenant_id = $1 and d.task_id = t.id and d.decision_context is not null)
          order by t.updated_at desc limit 50",
        tenant
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title)).collect())
}

/// A running shadow run.
#[derive(Debug, Clone)]
pub struct ShadowRow {
    pub id: Uuid,
    pub rules: Value,
    pub started_at: OffsetDateTime,
    pub started_by: Option<String>,
    pub evaluated: i32,
    pub disagreed: i32,
}

impl ShadowRow {
    /// The run as the pages show it, with its drafts by name.
    pub fn info(self, drafts: Vec<String>) -> super::ShadowInfo {
        super::ShadowInfo {
            id: self.id,
            started_at: self.started_at,
            started_by: self.started_by,
            drafts,
            evaluated: self.evaluated,
            disagreed: self.disagreed,
        }
    }

    /// The versions the run pins, as stored: [{"rule_id": ..., "version": ...}].
    pub fn pinned(&self) -> Vec<(Uuid, i32)> {
        self.rules
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| {
                        let id = r.get("rule_id")?.as_str()?.parse().ok()?;
                        let v = i32::try_from(r.get("version")?.as_i64()?).ok()?;
                        Some((id, v))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn running_shadow(tx: &mut Tx, tenant: Uuid) -> Result<Option<ShadowRow>, sqlx::Error> {
    sqlx::query_as!(
        ShadowRow,
        r#"select s.id, s.rules, s.started_at, u.display_name as "started_by?", s.evaluated, s.disagreed
             from ai_rule_shadows s left join users u on u.id = s.started_by
            where s.tenant_id = $1 and s.ended_at is null"#,
        tenant
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Starts a shadow run; false when one is already running.
pub async fn start_shadow(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    rules: &Value,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "insert into ai_rule_shadows (tenant_id, rules, started_by) values ($1, $2, $3)
         on conflict (tenant_id) where ended_at is null do nothing",
        tenant,
        rules,
        user
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn end_shadow(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    outcome: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update ai_rule_shadows set ended_at = now(), outcome = $3 where tenant_id = $1 and id = $2 and ended_at is null",
        tenant,
        id,
        outcome
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What a shadow set decided on one draft, against the live set.
pub struct ShadowVerdict<'a> {
    pub shadow_id: Uuid,
    pub task_id: Uuid,
    pub deliverable_id: Uuid,
    pub live: &'a str,
    pub shadow: &'a str,
    pub live_rule: Option<&'a str>,
    pub shadow_rule: Option<&'a str>,
    pub trace: Value,
}

/// Counts a shadow evaluation, and keeps a disagreement (up to MAX_DISAGREEMENTS_KEPT).
pub async fn record_shadow(
    tx: &mut Tx,
    tenant: Uuid,
    v: &ShadowVerdict<'_>,
) -> Result<(), sqlx::Error> {
    let differs = v.live != v.shadow;
    let kept = sqlx::query_scalar!(
        r#"update ai_rule_shadows set evaluated = evaluated + 1, disagreed = disagreed + $3::bool::int
            where tenant_id = $1 and id = $2 and ended_at is null returning disagreed as "n!""#,
        tenant,
        v.shadow_id,
        differs
    )
    .fetch_optional(&mut **tx)
    .await?;
    if differs && kept.is_some_and(|n| n <= super::MAX_DISAGREEMENTS_KEPT) {
        sqlx::query!(
            "insert into ai_rule_shadow_disagreements
               (tenant_id, shadow_id, task_id, deliverable_id, live_decision, shadow_decision, live_rule, shadow_rule, shadow_trace)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            tenant,
            v.shadow_id,
            v.task_id,
            v.deliverable_id,
            v.live,
            v.shadow,
            v.live_rule,
            v.shadow_rule,
            v.trace
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn disagreements(
    tx: &mut Tx,
    tenant: Uuid,
    shadow: Uuid,
    limit: i64,
) -> Result<Vec<super::Disagreement>, sqlx::Error> {
    sqlx::query_as!(
        super::Disagreement,
        r#"select d.task_id, t.title, d.live_decision as live, d.shadow_decision as shadow, d.live_rule, d.shadow_rule,
                  d.created_at as at
             from ai_rule_shadow_disagreements d join project_tasks t on t.id = d.task_id and t.tenant_id = d.tenant_id
            where d.tenant_id = $1 and d.shadow_id = $2
            order by d.created_at desc limit $3"#,
        tenant,
        shadow,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}
