//! The `ai_models` catalog: every model the gateway may route to, with its tier and prices.
use super::*;

/// One entry of the `ai_models` catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub id: String,
    pub provider: String,
    pub display_name: String,
    pub input_cost_per_1k: f64,
    pub output_cost_per_1k: f64,
    pub context_window: i32,
    pub tier: String,
    pub recommended: bool,
    pub active: bool,
    /// `chat` or `embedding`.
    pub kind: String,
    pub dimensions: Option<i32>,
}

impl ModelInfo {
    pub fn cost(&self, prompt_tokens: u32, completion_tokens: u32) -> f64 {
        (f64::from(prompt_tokens) * self.input_cost_per_1k
            + f64::from(completion_tokens) * self.output_cost_per_1k)
            / 1000.0
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: HashMap<String, ModelInfo>,
}

impl Catalog {
    pub async fn load(pool: &PgPool) -> Result<Catalog, sqlx::Error> {
        let models = sqlx::query_as!(
            ModelInfo,
            "select id, provider, display_name, input_cost_per_1k, output_cost_per_1k, context_window, tier, recommended, active,
                    kind, dimensions
             from ai_models"
        )
        .fetch_all(pool)
        .await?;
        Ok(Catalog {
            models: models.into_iter().map(|m| (m.id.clone(), m)).collect(),
        })
    }

    pub fn get(&self, id: &str) -> Option<&ModelInfo> {
        self.models.get(id)
    }

    pub fn active(&self, id: &str) -> Option<&ModelInfo> {
        self.models.get(id).filter(|m| m.active)
    }

    /// An active model of this kind (`chat` or `embedding`).
    pub fn active_of(&self, id: &str, kind: &str) -> Option<&ModelInfo> {
        self.active(id).filter(|m| m.kind == kind)
    }

    pub fn recommended(&self, tier: Tier) -> Option<&ModelInfo> {
        self.models
            .values()
            .find(|m| m.active && m.recommended && m.kind == "chat" && m.tier == tier.as_str())
    }

    /// Active model ids of one kind, sorted, for error messages.
    pub fn known_ids(&self, kind: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .models
            .values()
            .filter(|m| m.active && m.kind == kind)
            .map(|m| m.id.clone())
            .collect();
        ids.sort();
        ids
    }
}
