//! Which model answers: the one resolution order, as a pure function.
//!
//! 1. an operator's emergency override from the environment;
//! 2. an active experiment that assigned this call to its candidate model;
//! 3. the user's setting for the task's tier;
//! 4. the workspace's setting for the tier;
//! 5. the prompt's model;
//! 6. the tier's default (`SMARTCRM_MODEL`, `SMARTCRM_FAST_MODEL`, `SMARTCRM_THINKING_MODEL`,
//!    else the catalog's recommended model).
//!
//! Then the budget may step the choice down: past 80% of the workspace's monthly limit, thinking
//! and default tasks go to the fast tier's model; at 100%, every task goes to the local model.
//! The gateway applies the result; the AI settings page shows it, reason and all.
use super::Tier;
use serde::{Deserialize, Serialize};

/// The levels of the resolution order, first to last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Override,
    Experiment,
    User,
    Workspace,
    Prompt,
    TierDefault,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Override,
        Level::Experiment,
        Level::User,
        Level::Workspace,
        Level::Prompt,
        Level::TierDefault,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Override => "override",
            Level::Experiment => "experiment",
            Level::User => "user",
            Level::Workspace => "workspace",
            Level::Prompt => "prompt",
            Level::TierDefault => "tier_default",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::Override => "Operator's emergency override",
            Level::Experiment => "Experiment",
            Level::User => "User's setting",
            Level::Workspace => "Workspace's setting",
            Level::Prompt => "Prompt's model",
            Level::TierDefault => "Tier default",
        }
    }
}

/// How far the month's spend has gone into the workspace's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetStep {
    /// Under 80% of the hard limit, or no budget.
    None,
    /// At 80% or more: thinking and default tasks use the fast tier.
    Cheaper,
    /// At 100% or more: every task uses the local model.
    Local,
}

impl BudgetStep {
    /// The step for `spent` of a `limit` (none without a limit).
    pub fn of(spent: f64, limit: Option<f64>) -> BudgetStep {
        match limit {
            Some(l) if l > 0.0 && spent >= l => BudgetStep::Local,
            Some(l) if l > 0.0 && spent >= 0.8 * l => BudgetStep::Cheaper,
            _ => BudgetStep::None,
        }
    }
}

/// Everything the order looks at for one call; each level is `None` when it says nothing.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub tier: Tier,
    pub env_override: Option<&'a str>,
    /// The candidate model, when an experiment assigned this call to it.
    pub experiment: Option<&'a str>,
    pub user: Option<&'a str>,
    pub workspace: Option<&'a str>,
    pub prompt: Option<&'a str>,
    pub tier_default: Option<&'a str>,
    pub budget: BudgetStep,
    /// What the budget steps a thinking or default task down to: the fast tier's model.
    pub cheaper: Option<&'a str>,
    /// The local chat model, where the budget's last step goes.
    pub local: &'a str,
}

/// The model, the level that chose it, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub model: String,
    pub level: Level,
    /// The model the level chose, before the budget stepped it down (same as `model` if not).
    pub chosen: String,
    pub budget: BudgetStep,
    pub reason: String,
}

/// Runs the order. `None` when no level names a model (no tier default either).
pub fn resolve(i: &Inputs<'_>) -> Option<Resolution> {
    let (level, chosen) = [
        (Level::Override, i.env_override),
        (Level::Experiment, i.experiment),
        (Level::User, i.user),
        (Level::Workspace, i.workspace),
        (Level::Prompt, i.prompt),
        (Level::TierDefault, i.tier_default),
    ]
    .into_iter()
    .find_map(|(level, model)| model.filter(|m| !m.is_empty()).map(|m| (level, m)))?;
    let mut reason = match level {
        Level::Override => format!(
            "the operator's emergency override for the {} tier is set",
            i.tier.as_str()
        ),
        Level::Experiment => "an experiment assigned this call to its candidate model".to_owned(),
        Level::User => format!("the user chose it for {} tasks", i.tier.as_str()),
        Level::Workspace => format!("the workspace set it for {} tasks", i.tier.as_str()),
        Level::Prompt => "the prompt names it".to_owned(),
        Level::TierDefault => format!("it is the {} tier's default", i.tier.as_str()),
    };
    // The emergency override is the operator's word: the budget does not move it.
    let step = if level == Level::Override {
        BudgetStep::None
    } else {
        i.budget
    };
    let model = match step {
        BudgetStep::Local if chosen != i.local => {
            reason.push_str("; the monthly budget is spent, so the local model answers");
            i.local
        }
        BudgetStep::Cheaper if i.tier != Tier::Fast => match i.cheaper {
            Some(fast) if fast != chosen => {
                reason.push_str(
                    "; 80% of the monthly budget is spent, so the fast tier's model answers",
                );
                fast
            }
            _ => chosen,
        },
        _ => chosen,
    };
    Some(Resolution {
        model: model.to_owned(),
        level,
        chosen: chosen.to_owned(),
        budget: step,
        reason,
    })
}

/// A sticky experiment bucket in 0..100 for `key` (the workspace, contact or user id) in
/// experiment `salt`: the same key always lands in the same bucket, and different experiments
/// split traffic independently. FNV-1a over the bytes, so it is stable across builds.
pub fn bucket(salt: &[u8], key: &[u8]) -> u8 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.iter().chain([0u8].iter()).chain(key) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Fold the high bits in: FNV's low bits alone mix poorly for short keys.
    ((h ^ (h >> 32)) % 100) as u8
}

/// Whether `key` goes to the candidate arm of an experiment sending `percent`% there.
pub fn in_candidate(salt: &[u8], key: &[u8], percent: u8) -> bool {
    bucket(salt, key) < percent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs<'static> {
        Inputs {
            tier: Tier::Default,
            env_override: Some("env"),
            experiment: Some("exp"),
            user: Some("user"),
            workspace: Some("ws"),
            prompt: Some("prompt"),
            tier_default: Some("tier"),
            budget: BudgetStep::None,
            cheaper: Some("fast"),
            local: "local",
        }
    }

    #[test]
    fn each_level_beats_the_ones_below_it() {
        let mut i = inputs();
        let expect = [
            (Level::Override, "env"),
            (Level::Experiment, "exp"),
            (Level::User, "user"),
            (Level::Workspace, "ws"),
            (Level::Prompt, "prompt"),
            (Level::TierDefault, "tier"),
        ];
        for (level, model) in expect {
            let r = resolve(&i).expect("resolves");
            assert_eq!((r.level, r.model.as_str()), (level, model));
            match level {
                Level::Override => i.env_override = None,
                Level::Experiment => i.experiment = None,
                Level::User => i.user = None,
                Level::Workspace => i.workspace = None,
                Level::Prompt => i.prompt = None,
                Level::TierDefault => i.tier_default = None,
            }
        }
        assert_eq!(resolve(&i), None);
    }

    #[test]
    fn the_budget_steps_down_but_never_moves_the_override() {
        let mut i = inputs();
        i.env_override = None;
        i.budget = BudgetStep::Cheaper;
        let r = resolve(&i).expect("resolves");
        assert_eq!((r.model.as_str(), r.chosen.as_str()), ("fast", "exp"));
        assert!(r.reason.contains("80%"), "{}", r.reason);
        i.tier = Tier::Fast;
        assert_eq!(resolve(&i).expect("resolves").model, "exp");
        i.budget = BudgetStep::Local;
        assert_eq!(resolve(&i).expect("resolves").model, "local");
        i.env_override = Some("env");
        let r = resolve(&i).expect("resolves");
        assert_eq!((r.model.as_str(), r.budget), ("env", BudgetStep::None));
    }

    #[test]
    fn budget_steps_start_at_80_and_100_percent() {
        assert_eq!(BudgetStep::of(79.99, Some(100.0)), BudgetStep::None);
        assert_eq!(BudgetStep::of(80.0, Some(100.0)), BudgetStep::Cheaper);
        assert_eq!(BudgetStep::of(100.0, Some(100.0)), BudgetStep::Local);
        assert_eq!(BudgetStep::of(1e9, None), BudgetStep::None);
    }

    #[test]
    fn assignment_is_sticky_and_near_the_percentage() {
        let salt = b"experiment-1";
        let mut candidates = 0;
        for n in 0..10_000u32 {
            let key = n.to_le_bytes();
            let first = in_candidate(salt, &key, 20);
            assert_eq!(first, in_candidate(salt, &key, 20), "sticky");
            candidates += usize::from(first);
        }
        assert!((1_800..=2_200).contains(&candidates), "{candidates}");
        // Raising the percentage only adds keys to the candidate arm.
        for n in 0..1_000u32 {
            let key = n.to_le_bytes();
            if in_candidate(salt, &key, 20) {
                assert!(in_candidate(salt, &key, 50));
            }
        }
        assert_eq!(bucket(b"a", b"key"), bucket(b"a", b"key"));
    }
}
