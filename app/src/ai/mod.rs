//! Shared AI infrastructure, used by every feature: the gateway (routing, providers, retries,
//! recording), the built-in local models, the prompt store with its one renderer, and the admin
//! page that shows the providers. No feature lives here.
#[cfg(feature = "ssr")]
pub mod gateway;
#[cfg(feature = "ssr")]
pub mod local;
#[cfg(feature = "ssr")]
pub mod prompts;
pub mod routing;
pub mod settings;

use serde::{Deserialize, Serialize};

/// What the panel says under an answer from the built-in local model.
pub const LOCAL_MODEL_NOTICE: &str =
    "local SmolLM2-135M: fast and free, low quality — configure a remote model for production";

/// What an AI call is for; each kind routes to a model tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Research,
    Communication,
    Summary,
    UiHelper,
    /// Drafting content in the pipeline.
    ContentGeneration,
}

impl TaskKind {
    pub const ALL: [TaskKind; 5] = [
        TaskKind::Research,
        TaskKind::Communication,
        TaskKind::Summary,
        TaskKind::UiHelper,
        TaskKind::ContentGeneration,
    ];

    /// The kind stored as `as_str` gives it.
    pub fn parse(s: &str) -> Option<TaskKind> {
        TaskKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Research => "research",
            TaskKind::Communication => "communication",
            TaskKind::Summary => "summary",
            TaskKind::UiHelper => "ui_helper",
            TaskKind::ContentGeneration => "content_generation",
        }
    }

    pub fn tier(self) -> Tier {
        match self {
            TaskKind::Research => Tier::Thinking,
            TaskKind::Communication | TaskKind::ContentGeneration => Tier::Default,
            TaskKind::Summary | TaskKind::UiHelper => Tier::Fast,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Fast,
    Default,
    Thinking,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Fast => "fast",
            Tier::Default => "default",
            Tier::Thinking => "thinking",
        }
    }

    /// The environment variable that sets this tier's default model.
    pub fn env_var(self) -> &'static str {
        match self {
            Tier::Fast => "SMARTCRM_FAST_MODEL",
            Tier::Default => "SMARTCRM_MODEL",
            Tier::Thinking => "SMARTCRM_THINKING_MODEL",
        }
    }

    /// The environment variable of the operator's emergency override for this tier.
    pub fn override_var(self) -> &'static str {
        match self {
            Tier::Fast => "SMARTCRM_OVERRIDE_FAST_MODEL",
            Tier::Default => "SMARTCRM_OVERRIDE_MODEL",
            Tier::Thinking => "SMARTCRM_OVERRIDE_THINKING_MODEL",
        }
    }

    pub const ALL: [Tier; 3] = [Tier::Fast, Tier::Default, Tier::Thinking];

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Why an AI call produced no answer, as the user sees it: what failed, where, after how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiFailure {
    pub provider: String,
    pub model: String,
    pub message: String,
    pub after_ms: u64,
    pub attempts: u32,
}

impl std::fmt::Display for AiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (provider {}, model {}, after {:.1} s, {} attempt{})",
            self.message,
            self.provider,
            self.model,
            self.after_ms as f64 / 1000.0,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_provider_model_and_time() {
        let f = AiFailure {
            provider: "openai".into(),
            model: "gpt-5.2".into(),
            message: "timed out".into(),
            after_ms: 1500,
            attempts: 3,
        };
        assert_eq!(
            f.to_string(),
            "timed out (provider openai, model gpt-5.2, after 1.5 s, 3 attempts)"
        );
    }

    #[test]
    fn tiers_route_by_task() {
        assert_eq!(TaskKind::Research.tier(), Tier::Thinking);
        assert_eq!(TaskKind::Summary.tier(), Tier::Fast);
        assert_eq!(TaskKind::Communication.tier(), Tier::Default);
    }
}
