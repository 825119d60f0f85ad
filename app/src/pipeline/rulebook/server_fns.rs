//! Rule management's server functions. Admins and managers edit rules; only admins activate
//! over failing test cases; QA reads, runs the bench and simulations, and keeps test cases.
//! Each one authorises, checks its input and works in one tenant-scoped transaction.
use super::{
    form::RuleForm, BenchRun, CaseResult, RuleDetail, RuleDiff, RuleSaved, RulesPage, ShadowPage,
    Simulation, TestCase,
};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::domain::Role;

#[cfg(feature = "ssr")]
const VIEWERS: [Role; 3] = [Role::Admin, Role::Manager, Role::Qa];
#[cfg(feature = "ssr")]
const EDITORS: [Role; 2] = [Role::Admin, Role::Manager];

/// The engine the workers decide with (one per process).
#[cfg(feature = "ssr")]
fn engine() -> Result<std::sync::Arc<crate::pipeline::worker::Pipeline>, AppError> {
    crate::ssr::from_context()
}

#[server(endpoint = "load_rules_page")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_rules_page() -> Result<RulesPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let can_edit = EDITORS.contains(&auth.user.role);
            let page = super::service::page(&mut auth.tx, auth.user.tenant_id, can_edit).await?;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// A rule with its history and one version (the newest by default); no id: a new rule.
#[server(endpoint = "get_rule")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn get_rule(id: Option<Uuid>, version: Option<i32>) -> Result<RuleDetail, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let can_edit = EDITORS.contains(&auth.user.role);
            let can_override = auth.user.role == Role::Admin;
            let detail = match id {
                Some(id) => {
                    super::service::detail(
                        &mut auth.tx,
                        auth.user.tenant_id,
                        id,
                        version,
                        can_edit,
                        can_override,
                    )
                    .await?
                }
                None => super::service::blank(can_edit, can_override),
            };
            auth.tx.commit().await?;
            Ok(detail)
        }
        .await,
    )
}

/// Saves the editor as a new version (a new rule, or a built-in's copy) and runs every test
/// case with it. It is not live until activated.
#[server(endpoint = "save_rule")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_rule(form: RuleForm) -> Result<RuleSaved, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&EDITORS).await?;
            let target = form
                .target()
                .map_err(|e| AppError::Fields { errors: vec![e] })?;
            let input = form.parse().map_err(|errors| AppError::Fields { errors })?;
            let scope = auth.scope();
            let pipeline = engine()?;
            let saved =
                super::service::save(&mut auth.tx, scope, pipeline.rules(), target, &input).await?;
            auth.tx.commit().await?;
            Ok(saved)
        }
        .await,
    )
}

/// Makes a version live (an older one: a rollback) once every test case passes with it; an
/// admin may override failing cases by giving a reason.
#[server(endpoint = "activate_rule")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id, version)))]
pub async fn activate_rule(
    id: Uuid,
    version: i32,
    override_reason: Option<String>,
) -> Result<Vec<CaseResult>, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            let overriding = super::service::Override {
                reason: override_reason.as_deref(),
                allowed: auth.user.role == Role::Admin,
            };
            let pipeline = engine()?;
            let results = super::service::activate(
                &mut auth.tx,
                scope,
                pipeline.rules(),
                id,
                version,
                overriding,
            )
            .await?;
            auth.tx.commit().await?;
            Ok(results)
        }
        .await,
    )
}

/// Turns a rule on or off; answers the rule switched (a built-in's copy, for a built-in).
#[server(endpoint = "set_rule_enabled")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id, enabled)))]
pub async fn set_rule_enabled(id: Uuid, enabled: bool) -> Result<Uuid, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            let own = super::service::set_enabled(&mut auth.tx, scope, id, enabled).await?;
            auth.tx.commit().await?;
            Ok(own)
        }
        .await,
    )
}

#[server(endpoint = "compare_rule_versions")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn compare_rule_versions(id: Uuid, from: i32, to: i32) -> Result<RuleDiff, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let diff =
                super::service::diff(&mut auth.tx, auth.user.tenant_id, id, from, to).await?;
            auth.tx.commit().await?;
            Ok(diff)
        }
        .await,
    )
}

/// What the bench starts from: tasks whose drafts kept their context, the sample context, the
/// rules with drafts, and the saved test cases with their results against the live set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchSetup {
    pub tasks: Vec<(Uuid, String)>,
    pub sample: String,
    /// Rules with a draft: (rule id, "Quality gate v3").
    pub drafts: Vec<(Uuid, String)>,
    pub cases: Vec<(TestCase, CaseResult)>,
}

#[server(endpoint = "bench_start")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn bench_start() -> Result<BenchSetup, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let tenant = auth.user.tenant_id;
            let pipeline = engine()?;
            let tasks = super::db::tasks_with_context(&mut auth.tx, tenant).await?;
            let wanted = super::db::drafts(&mut auth.tx, tenant).await?;
            let drafted = super::sets::drafted(&mut auth.tx, tenant, &wanted).await?;
            let drafts = drafted
                .versions
                .iter()
                .map(|v| v.0)
                .zip(drafted.drafts)
                .collect();
            let cases = super::bench::cases(&mut auth.tx, tenant, pipeline.rules()).await?;
            auth.tx.commit().await?;
            let sample = serde_json::to_string_pretty(&crate::pipeline::rules::sample_context())
                .unwrap_or_default();
            Ok(BenchSetup {
                tasks,
                sample,
                drafts,
                cases,
            })
        }
        .await,
    )
}

/// The context the rules saw on a task's newest evaluated draft, pretty-printed.
#[server(endpoint = "bench_task_context")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%task_id)))]
pub async fn bench_task_context(task_id: Uuid) -> Result<String, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let found = super::db::task_context(&mut auth.tx, auth.user.tenant_id, task_id).await?;
            auth.tx.commit().await?;
            let context = found.ok_or_else(|| {
                AppError::validation(
                    "task",
                    "This task has no scored draft with a stored context yet.",
                )
            })?;
            Ok(serde_json::to_string_pretty(&context).unwrap_or_default())
        }
        .await,
    )
}

/// Runs a rule set on a context: `with` is "live", "drafts" or a rule's id (its newest version).
#[server(endpoint = "run_rule_bench")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn run_rule_bench(context: String, with: String) -> Result<BenchRun, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let context = super::bench::parse_context("context", &context)?;
            let with = super::sets::With::parse(&with)?;
            let pipeline = engine()?;
            let run = super::bench::bench(
                &mut auth.tx,
                auth.user.tenant_id,
                pipeline.rules(),
                &context,
                with,
            )
            .await?;
            auth.tx.commit().await?;
            Ok(run)
        }
        .await,
    )
}

#[server(endpoint = "save_rule_test_case")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_rule_test_case(
    name: String,
    context: String,
    expected: String,
) -> Result<Uuid, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let scope = auth.scope();
            let id =
                super::bench::save_case(&mut auth.tx, scope, &name, &context, &expected).await?;
            auth.tx.commit().await?;
            Ok(id)
        }
        .await,
    )
}

#[server(endpoint = "delete_rule_test_case")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%id)))]
pub async fn delete_rule_test_case(id: Uuid) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let scope = auth.scope();
            super::bench::delete_case(&mut auth.tx, scope, id).await?;
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}

/// Replays the newest `limit` evaluated drafts (500 by default, at most 10,000) through the
/// live set and the set `with` names ("drafts" or a rule's id).
#[server(endpoint = "simulate_rules")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn simulate_rules(with: String, limit: Option<u32>) -> Result<Simulation, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let with = super::sets::With::parse(&with)?;
            let pipeline = engine()?;
            let sim = super::simulate::simulate(
                &mut auth.tx,
                auth.user.tenant_id,
                pipeline.rules(),
                with,
                limit,
            )
            .await?;
            auth.tx.commit().await?;
            Ok(sim)
        }
        .await,
    )
}

#[server(endpoint = "load_shadow")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_shadow() -> Result<ShadowPage, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&VIEWERS).await?;
            let can_edit = EDITORS.contains(&auth.user.role);
            let can_override = auth.user.role == Role::Admin;
            let page =
                super::shadow::page(&mut auth.tx, auth.user.tenant_id, can_edit, can_override)
                    .await?;
            auth.tx.commit().await?;
            Ok(page)
        }
        .await,
    )
}

/// Starts shadowing the workspace's drafts ("start"), stops a run ("stop") or promotes it
/// ("promote", through the test cases; an admin may override with a reason).
#[server(endpoint = "shadow_rules")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(%what)))]
pub async fn shadow_rules(
    what: String,
    id: Option<Uuid>,
    override_reason: Option<String>,
) -> Result<(), AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&EDITORS).await?;
            let scope = auth.scope();
            let running = || id.ok_or_else(|| AppError::validation("id", "Name the shadow run."));
            match what.as_str() {
                "start" => super::shadow::start(&mut auth.tx, scope).await?,
                "stop" => super::shadow::stop(&mut auth.tx, scope, running()?).await?,
                "promote" => {
                    let overriding = super::service::Override {
                        reason: override_reason.as_deref(),
                        allowed: auth.user.role == Role::Admin,
                    };
                    let pipeline = engine()?;
                    super::shadow::promote(
                        &mut auth.tx,
                        scope,
                        pipeline.rules(),
                        running()?,
                        overriding,
                    )
                    .await?
                }
                _ => {
                    return Err(AppError::validation(
                        "what",
                        "Choose start, stop or promote.",
                    ))
                }
            }
            auth.tx.commit().await?;
            Ok(())
        }
        .await,
    )
}
