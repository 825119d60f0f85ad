//! The AI Relationship Manager: three analyses of a contact (Smart Engagement Tips,
//! Relationship Health, Contextual Research), streamed from the AI gateway and shared through a
//! cache every app instance reads. The contact page shows its panel.
#[cfg(feature = "ssr")]
pub mod cache;
#[cfg(feature = "ssr")]
pub mod limits;
#[cfg(feature = "ssr")]
pub mod ndjson;
pub mod panel;
#[cfg(feature = "ssr")]
pub mod prompt;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

pub use panel::AiPanel;

use crate::ai::{AiFailure, TaskKind};
use serde::{Deserialize, Serialize};

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
    /// The attempt that wrote the text so far failed and another starts: drop that text.
    Restarted {
        message: String,
    },
    Done {
        model: String,
        provider: String,
        latency_ms: u64,
        fallback_used: bool,
        /// The model stopped at the token limit: the answer is cut (and not cached).
        #[serde(default)]
        truncated: bool,
    },
    Failed {
        failure: AiFailure,
        /// The previous good answer, still in the cache, when a refresh failed.
        #[serde(default)]
        kept: Option<KeptAnswer>,
    },
    /// No provider is configured; `message` says how to configure one.
    NotConfigured {
        message: String,
    },
}

/// An earlier answer that a failed refresh left in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptAnswer {
    pub text: String,
    pub model: String,
    pub provider: String,
    pub age_secs: u64,
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
    use crate::ai::Tier;

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
