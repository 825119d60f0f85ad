//! Choosing the model for one call: what the database says (the user's and the workspace's
//! settings, a running experiment, the month's spend against the budget) put through the one
//! resolution order in `ai::routing`.
use super::*;
use crate::ai::routing::{self, BudgetStep, Inputs, Level, Resolution};
use crate::ssr::tenancy::Tx;

/// A fast, default and thinking model, any of them unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierModels {
    pub fast: Option<String>,
    pub default: Option<String>,
    pub thinking: Option<String>,
}

impl TierModels {
    pub fn get(&self, tier: Tier) -> Option<&str> {
        match tier {
            Tier::Fast => self.fast.as_deref(),
            Tier::Default => self.default.as_deref(),
            Tier::Thinking => self.thinking.as_deref(),
        }
    }
}

/// The experiment running on a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningExperiment {
    pub id: Uuid,
    pub candidate: String,
    pub percent: u8,
    /// `workspace`, `contact` or `user`.
    pub sticky_by: String,
}

/// What the database says about one call's levels.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    pub user: TierModels,
    pub workspace: TierModels,
    pub experiment: Option<RunningExperiment>,
    pub budget_usd: Option<f64>,
    pub spent_usd: f64,
    /// The workspace's AI requests a minute; `None`: no settings row, so the default.
    pub requests_per_minute: Option<u32>,
}

/// The request rate of a workspace without settings (the column's default).
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 120;

/// The call being routed.
#[derive(Debug, Clone, Copy)]
pub struct RouteQuery<'a> {
    pub task: TaskKind,
    /// The prompt's name and model.
    pub prompt: Option<(&'a str, &'a str)>,
    /// The contact (or task) the call is about: the sticky key of a contact experiment.
    pub subject: Option<Uuid>,
}

/// What `ai_calls` records about the routing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTag {
    pub experiment_id: Option<Uuid>,
    /// `control` or `candidate`.
    pub arm: Option<&'static str>,
    /// The level that chose the model, `+budget` when the budget stepped it down, `+local` when
    /// no remote provider could answer.
    pub routed_by: Option<String>,
}

/// The model for a call, why, and what to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub model: String,
    pub resolution: Resolution,
    pub tag: RouteTag,
    /// The workspace's request rate, for `Gateway::admit`.
    pub requests_per_minute: u32,
}

struct Row {
    user_fast: Option<String>,
    user_default: Option<String>,
    user_thinking: Option<String>,
    ws_fast: Option<String>,
    ws_default: Option<String>,
    ws_thinking: Option<String>,
    budget: Option<f64>,
    soft: Option<f64>,
    alerted: Option<bool>,
    rpm: Option<i32>,
    experiment_id: Option<Uuid>,
    candidate: Option<String>,
    percent: Option<i16>,
    sticky_by: Option<String>,
}

/// How long a workspace's month-to-date spend is reused before it is summed again.
const SPEND_TTL: Duration = Duration::from_secs(10);

impl Gateway {
    /// The levels for calls by `scope`'s user on the prompt `prompt_name`, in one statement
    /// (the spend, summed only when the workspace has a budget, is reused for 10 s).
    pub async fn levels(
        &self,
        tx: &mut Tx,
        scope: Scope,
        prompt_name: Option<&str>,
    ) -> Result<Levels, sqlx::Error> {
        let row = sqlx::query_as!(
            Row,
            r#"select u.fast_model as user_fast, u.default_model as user_default, u.thinking_model as user_thinking,
                      w.fast_model as ws_fast, w.default_model as ws_default, w.thinking_model as ws_thinking,
                      w.monthly_budget_usd::float8 as budget, w.requests_per_minute as "rpm?",
                      w.soft_limit_usd::float8 as soft,
                      w.soft_alerted_month is not distinct from (date_trunc('month', now() at time zone 'utc'))::date as alerted,
                      e.id as "experiment_id?", e.candidate_model as "candidate?", e.percent as "percent?",
                      e.sticky_by as "sticky_by?"
               from (select 1) one
               left join ai_user_settings u on u.tenant_id = $1 and u.user_id = $2
               left join ai_workspace_settings w on w.tenant_id = $1
               left join ai_experiments e on e.tenant_id = $1 and e.prompt_name = $3 and e.status = 'running'"#,
            scope.tenant_id,
            scope.user_id,
            prompt_name.unwrap_or("")
        )
        .fetch_one(&mut **tx)
        .await?;
        let spent_usd = match row.budget {
            Some(_) => self.spent_this_month(tx, scope.tenant_id).await?,
            None => 0.0,
        };
        if let (Some(soft), Some(false)) = (row.soft, row.alerted) {
            if spent_usd >= soft {
                self.soft_limit_reached(tx, scope.tenant_id, spent_usd, soft)
                    .await?;
            }
        }
        let experiment = match (row.experiment_id, row.candidate, row.percent, row.sticky_by) {
            (Some(id), Some(candidate), Some(percent), Some(sticky_by)) => {
                Some(RunningExperiment {
                    id,
                    candidate,
                    percent: u8::try_from(percent).unwrap_or(0),
                    sticky_by,
                })
            }
            _ => None,
        };
        Ok(Levels {
            user: TierModels {
                fast: row.user_fast,
                default: row.user_default,
                thinking: row.user_thinking,
            },
            workspace: TierModels {
                fast: row.ws_fast,
                default: row.ws_default,
                thinking: row.ws_thinking,
            },
            experiment,
            budget_usd: row.budget,
            spent_usd,
            requests_per_minute: row.rpm.and_then(|r| u32::try_from(r).ok()),
        })
    }

    /// The workspace's spend this calendar month (UTC), from `ai_calls`.
    pub async fn spent_this_month(&self, tx: &mut Tx, tenant: Uuid) -> Result<f64, sqlx::Error> {
        if let Ok(cache) = self.spend.lock() {
            if let Some((at, spent)) = cache.get(&tenant) {
                if at.elapsed() < SPEND_TTL {
                    return Ok(*spent);
                }
            }
        }
        let spent = sqlx::query_scalar!(
            r#"select coalesce(sum(cost_usd), 0)::float8 as "spent!" from ai_calls
               where tenant_id = $1 and created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc'"#,
            tenant
        )
        .fetch_one(&mut **tx)
        .await?;
        if let Ok(mut cache) = self.spend.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(tenant, (Instant::now(), spent));
        }
        Ok(spent)
    }

    /// Raises the soft-limit alert once a month: a warning in the log (`alert=budget_soft_limit`)
    /// and an audit row.
    async fn soft_limit_reached(
        &self,
        tx: &mut Tx,
        tenant: Uuid,
        spent: f64,
        soft: f64,
    ) -> Result<(), sqlx::Error> {
        let first = sqlx::query!(
            "update ai_workspace_settings set soft_alerted_month = (date_trunc('month', now() at time zone 'utc'))::date
             where tenant_id = $1
               and soft_alerted_month is distinct from (date_trunc('month', now() at time zone 'utc'))::date",
            tenant
        )
        .execute(&mut **tx)
        .await?
        .rows_affected()
            == 1;
        if first {
            tracing::warn!(alert = "budget_soft_limit", %tenant, spent, soft, "AI spend passed the workspace's soft limit");
            crate::ssr::audit::record_named(
                tx,
                tenant,
                None,
                "ai.budget_soft_limit_reached",
                "workspace",
                serde_json::json!({ "spent_usd": spent, "soft_limit_usd": soft }),
            )
            .await?;
        }
        Ok(())
    }

    /// Forgets a workspace's cached spend (after its budget changed).
    pub fn forget_spend(&self, tenant: Uuid) {
        if let Ok(mut cache) = self.spend.lock() {
            cache.remove(&tenant);
        }
    }

    /// The tier's default: the environment's `SMARTCRM_*MODEL`, else the catalog's recommended
    /// model for the tier.
    pub fn tier_default(&self, tier: Tier) -> Option<String> {
        self.config
            .tier_defaults
            .get(&tier)
            .cloned()
            .or_else(|| self.catalog().recommended(tier).map(|m| m.id.clone()))
    }

    /// The operator's emergency override for a tier, if one is set.
    pub fn emergency_override(&self, tier: Tier) -> Option<&str> {
        self.config.overrides.get(&tier).map(String::as_str)
    }

    /// Every emergency override in force, for the banner.
    pub fn emergency_overrides(&self) -> Vec<(Tier, String)> {
        let mut all: Vec<(Tier, String)> = self
            .config
            .overrides
            .iter()
            .map(|(t, m)| (*t, m.clone()))
            .collect();
        all.sort_by_key(|(t, _)| t.as_str());
        all
    }

    /// Runs the resolution order for one call on levels already read. Pure apart from the
    /// catalog: the benchmark measures this.
    pub fn decide(
        &self,
        scope: Scope,
        q: &RouteQuery<'_>,
        levels: &Levels,
    ) -> Result<Routed, String> {
        let tier = q.task.tier();
        let mut tag = RouteTag::default();
        let mut candidate = None;
        if let Some(e) = &levels.experiment {
            let key = match e.sticky_by.as_str() {
                "workspace" => scope.tenant_id,
                "contact" => q.subject.unwrap_or(scope.user_id),
                _ => scope.user_id,
            };
            let chosen = routing::in_candidate(e.id.as_bytes(), key.as_bytes(), e.percent);
            tag.experiment_id = Some(e.id);
            tag.arm = Some(if chosen { "candidate" } else { "control" });
            if chosen {
                candidate = Some(e.candidate.as_str());
            }
        }
        let tier_default = self.tier_default(tier);
        let fast_default = self.tier_default(Tier::Fast);
        let cheaper = levels
            .user
            .fast
            .as_deref()
            .or(levels.workspace.fast.as_deref())
            .or(fast_default.as_deref());
        let inputs = Inputs {
            tier,
            env_override: self.emergency_override(tier),
            experiment: candidate,
            user: levels.user.get(tier),
            workspace: levels.workspace.get(tier),
            prompt: q.prompt.map(|(_, m)| m),
            tier_default: tier_default.as_deref(),
            budget: BudgetStep::of(levels.spent_usd, levels.budget_usd),
            cheaper,
            local: local::CHAT_MODEL,
        };
        let mut resolution = routing::resolve(&inputs).ok_or_else(|| {
            format!(
                "no model is set or recommended for the {} tier",
                tier.as_str()
            )
        })?;
        if self.catalog().usable(&resolution.model, "chat").is_none() {
            return Err(format!(
                "model {:?} ({}) is not a chat model in the catalog",
                resolution.model,
                resolution.level.label().to_lowercase()
            ));
        }
        let mut routed_by = resolution.level.as_str().to_owned();
        if resolution.model != resolution.chosen {
            routed_by.push_str("+budget");
        }
        if !local::is_local(&resolution.model) && !self.has_remote() {
            resolution.model = local::CHAT_MODEL.to_owned();
            resolution.reason.push_str(
                "; no remote provider is configured, so the built-in local model answers",
            );
            routed_by.push_str("+local");
        }
        // Under the emergency override the experiment does not apply: the call is in no arm.
        if resolution.level == Level::Override {
            tag.arm = None;
            tag.experiment_id = None;
        }
        tag.routed_by = Some(routed_by);
        Ok(Routed {
            model: resolution.model.clone(),
            resolution,
            tag,
            requests_per_minute: levels
                .requests_per_minute
                .unwrap_or(DEFAULT_REQUESTS_PER_MINUTE),
        })
    }

    /// Reads the levels and decides: the model for one call. The outer error is the database's,
    /// the inner one why no model can be chosen.
    pub async fn resolve(
        &self,
        tx: &mut Tx,
        scope: Scope,
        q: RouteQuery<'_>,
    ) -> Result<Result<Routed, String>, sqlx::Error> {
        let levels = self.levels(tx, scope, q.prompt.map(|(n, _)| n)).await?;
        Ok(self.decide(scope, &q, &levels))
    }
}
