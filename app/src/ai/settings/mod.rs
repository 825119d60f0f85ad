//! The AI settings page (admins): which providers are configured and reachable, where each
//! tier routes, and a "test provider" button that makes a real round trip.
pub mod components;
pub mod server_fns;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderState {
    /// Loaded and able to answer.
    Ready,
    /// Configured; whether it answers is what the test button finds out.
    Configured,
    NotConfigured,
    Unavailable,
}

impl ProviderState {
    pub fn label(self) -> &'static str {
        match self {
            ProviderState::Ready => "Ready",
            ProviderState::Configured => "Configured",
            ProviderState::NotConfigured => "Not configured",
            ProviderState::Unavailable => "Unavailable",
        }
    }
}

/// What the test button can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderCheck {
    LocalChat,
    LocalEmbedding,
    RemoteChat,
    RemoteEmbedding,
}

impl ProviderCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderCheck::LocalChat => "local_chat",
            ProviderCheck::LocalEmbedding => "local_embedding",
            ProviderCheck::RemoteChat => "remote_chat",
            ProviderCheck::RemoteEmbedding => "remote_embedding",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderStatus {
    pub check: ProviderCheck,
    pub name: String,
    pub provider: String,
    pub model: String,
    pub state: ProviderState,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub tier: String,
    pub model: String,
    pub provider: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiOverview {
    pub providers: Vec<ProviderStatus>,
    pub routes: Vec<Route>,
    pub embedding_model: String,
    pub remote_hint: Option<String>,
}

/// The result of one real round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderTest {
    pub ok: bool,
    pub latency_ms: u64,
    pub model: String,
    pub provider: String,
    /// The reply, the vector size, or the real error.
    pub detail: String,
}

/// One prompt's route for one member: "for user X, task Y goes to model Z because …".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingRow {
    pub prompt: String,
    pub task: String,
    pub tier: String,
    pub model: String,
    /// The level that chose (`ai::routing::Level::label`), or "" when none could.
    pub level: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingTable {
    pub user_id: uuid::Uuid,
    pub user_name: String,
    /// Every member, for the picker.
    pub members: Vec<(uuid::Uuid, String)>,
    pub rows: Vec<RoutingRow>,
    /// The operator's emergency overrides in force: tier and model.
    pub overrides: Vec<(String, String)>,
    /// This month's spend and the budget, when one is set.
    pub spent_usd: f64,
    pub budget_usd: Option<f64>,
}
