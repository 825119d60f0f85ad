//! The AI Relationship Manager: three analyses of a contact, streamed from the AI gateway and
//! shared through a cache every app instance reads.
#[cfg(feature = "ssr")]
pub mod cache;
pub mod components;
#[cfg(feature = "ssr")]
pub mod gateway;
#[cfg(feature = "ssr")]
pub mod local;
#[cfg(feature = "ssr")]
pub mod prompts;
pub mod server_fns;
pub mod settings;

use serde::{Deserialize, Serialize};

/// What the panel says under an answer from the built-in local model.
pub const LOCAL_MODEL_NOTICE: &str =
    "local SmolLM2-135M: fast and free, low quality — configure a remote model for production";

/// The three buttons of the AI panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisKind {
    SmartEngagementTips,
    RelationshipHealth,
    ContextualResearch,
}

impl AnalysisKind {
    pub const ALL: [AnalysisKind; 3] = [
        AnalysisKind::SmartEngagementTips,
        AnalysisKind::RelationshipHealth,
        AnalysisKind::ContextualResearch,
    ];

    /// The prompt name and the cache kind.
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisKind::SmartEngagementTips => "smart_engagement_tips",
            AnalysisKind::RelationshipHealth => "relationship_health",
            AnalysisKind::ContextualResearch => "contextual_research",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AnalysisKind::SmartEngagementTips => "Smart Engagement Tips",
            AnalysisKind::RelationshipHealth => "Relationship Health",
            AnalysisKind::ContextualResearch => "Contextual Research",
        }
    }

    pub fn blurb(self) -> &'static str {
        match self {
            AnalysisKind::SmartEngagementTips => {
                "Next best action, talking points and an opener in their brand voice."
            }
            AnalysisKind::RelationshipHealth => {
                "How healthy the relationship is, and why, from the activity record."
            }
            AnalysisKind::ContextualResearch => {
                "A research brief on the contact and their business before you talk."
            }
        }
    }

    /// The task kind the gateway routes by (seed 000: research needs deep reasoning, health
    /// summaries are quick, engagement advice is everyday communication).
    pub fn task(self) -> TaskKind {
        match self {
            AnalysisKind::SmartEngagementTips => TaskKind::Communication,
            AnalysisKind::RelationshipHealth => TaskKind::Summary,
            AnalysisKind::ContextualResearch => TaskKind::Research,
        }
    }
}

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

    /// The environment variable that overrides this tier's model.
    pub fn env_var(self) -> &'static str {
        match self {
            Tier::Fast => "SMARTCRM_FAST_MODEL",
            Tier::Default => "SMARTCRM_MODEL",
            Tier::Thinking => "SMARTCRM_THINKING_MODEL",
        }
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

/// One line of an analysis stream (newline-delimited JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnalysisEvent {
    /// Served from the shared cache.
    Cached {
        text: String,
        model: String,
        provider: String,
        age_secs: u64,
    },
    /// Another request (possibly on another app instance) is generating this analysis.
    Waiting {
        message: String,
    },
    /// The model started answering.
    Started {
        model: String,
        provider: String,
    },
    /// The local model answers one request at a time; this many are ahead of ours.
    Queued {
        ahead: u64,
    },
    Delta {
        text: String,
    },
    Done {
        model: String,
        provider: String,
        latency_ms: u64,
        fallback_used: bool,
    },
    Failed {
        failure: AiFailure,
    },
    /// No provider is configured; `message` says how to configure one.
    NotConfigured {
        message: String,
    },
}

impl AnalysisEvent {
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"type":"failed","failure":{{"provider":"-","model":"-","message":"could not encode event: {e}","after_ms":0,"attempts":0}}}}"#)
        });
        line.push('\n');
        line
    }
}

/// "just now", "45 s ago", "2 min ago", "1 h ago"
pub fn format_age(secs: u64) -> String {
    match secs {
        0..=4 => "just now".to_owned(),
        5..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_one_json_object_per_line() {
        let line = AnalysisEvent::Delta {
            text: "a\nb".into(),
        }
        .to_line();
        assert_eq!(line, "{\"type\":\"delta\",\"text\":\"a\\nb\"}\n");
        let back: AnalysisEvent = serde_json::from_str(line.trim_end()).expect("decodes");
        assert_eq!(
            back,
            AnalysisEvent::Delta {
                text: "a\nb".into()
            }
        );
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(format_age(0), "just now");
        assert_eq!(format_age(45), "45 s ago");
        assert_eq!(format_age(150), "2 min ago");
        assert_eq!(format_age(7300), "2 h ago");
    }

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
    fn research_routes_to_the_thinking_tier() {
        assert_eq!(
            AnalysisKind::ContextualResearch.task().tier(),
            Tier::Thinking
        );
        assert_eq!(AnalysisKind::RelationshipHealth.task().tier(), Tier::Fast);
        assert_eq!(
            AnalysisKind::SmartEngagementTips.task().tier(),
            Tier::Default
        );
    }
}
