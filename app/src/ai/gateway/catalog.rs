//! The `ai_models` catalog: every model the gateway may route to, with its tier, status and
//! prices over time. Every instance reloads it when `ai_catalog` is notified.
use super::*;
use time::OffsetDateTime;

/// A price from `effective_from` on, in US dollars per 1,000 tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub effective_from: OffsetDateTime,
    pub input_cost_per_1k: f64,
    pub output_cost_per_1k: f64,
}

/// One entry of the `ai_models` catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub id: String,
    pub provider: String,
    pub display_name: String,
    pub context_window: i32,
    pub tier: String,
    pub recommended: bool,
    /// `active`, `deprecated` or `legacy`. Every model answers the prompts that name it; only an
    /// active one is offered for a new choice.
    pub status: String,
    /// `chat` or `embedding`.
    pub kind: String,
    pub dimensions: Option<i32>,
    /// Oldest first.
    pub prices: Vec<Price>,
}

impl ModelInfo {
    /// The price in effect at `at` (the oldest one before any was in effect).
    pub fn price_at(&self, at: OffsetDateTime) -> Option<&Price> {
        self.prices
            .iter()
            .rev()
            .find(|p| p.effective_from <= at)
            .or_else(|| self.prices.first())
    }

    /// The cost of a call made at `at`.
    pub fn cost_at(&self, at: OffsetDateTime, prompt_tokens: u32, completion_tokens: u32) -> f64 {
        self.price_at(at).map_or(0.0, |p| {
            (f64::from(prompt_tokens) * p.input_cost_per_1k
                + f64::from(completion_tokens) * p.output_cost_per_1k)
                / 1000.0
        })
    }

    /// The cost of a call made now.
    pub fn cost(&self, prompt_tokens: u32, completion_tokens: u32) -> f64 {
        self.cost_at(OffsetDateTime::now_utc(), prompt_tokens, completion_tokens)
    }

    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: HashMap<String, ModelInfo>,
}

struct PriceRow {
    model_id: String,
    effective_from: OffsetDateTime,
    input_cost_per_1k: f64,
    output_cost_per_1k: f64,
}

impl Catalog {
    pub async fn load(pool: &PgPool) -> Result<Catalog, sqlx::Error> {
        let rows = sqlx::query!(
            "select id, provider, display_name, context_window, tier, recommended, status, kind, dimensions
             from ai_models"
        )
        .fetch_all(pool)
        .await?;
        let prices = sqlx::query_as!(
            PriceRow,
            "select model_id, effective_from, input_cost_per_1k, output_cost_per_1k
             from ai_model_prices order by model_id, effective_from"
        )
        .fetch_all(pool)
        .await?;
        let mut models: HashMap<String, ModelInfo> = rows
            .into_iter()
            .map(|r| {
                let m = ModelInfo {
                    id: r.id,
                    provider: r.provider,
                    display_name: r.display_name,
                    context_window: r.context_window,
                    tier: r.tier,
                    recommended: r.recommended,
                    status: r.status,
                    kind: r.kind,
                    dimensions: r.dimensions,
                    prices: Vec::new(),
                };
                (m.id.clone(), m)
            })
            .collect();
        for p in prices {
            if let Some(m) = models.get_mut(&p.model_id) {
                m.prices.push(Price {
                    effective_from: p.effective_from,
                    input_cost_per_1k: p.input_cost_per_1k,
                    output_cost_per_1k: p.output_cost_per_1k,
                });
            }
        }
        Ok(Catalog { models })
    }

    /// A catalog of exactly these models (benchmarks and tests).
    pub fn of(models: Vec<ModelInfo>) -> Catalog {
        Catalog {
            models: models.into_iter().map(|m| (m.id.clone(), m)).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&ModelInfo> {
        self.models.get(id)
    }

    /// A model of this kind (`chat` or `embedding`) that calls may be routed to: any status.
    pub fn usable(&self, id: &str, kind: &str) -> Option<&ModelInfo> {
        self.models.get(id).filter(|m| m.kind == kind)
    }

    pub fn recommended(&self, tier: Tier) -> Option<&ModelInfo> {
        self.models
            .values()
            .find(|m| m.is_active() && m.recommended && m.kind == "chat" && m.tier == tier.as_str())
    }

    /// Model ids of one kind, sorted, for error messages.
    pub fn known_ids(&self, kind: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .models
            .values()
            .filter(|m| m.kind == kind)
            .map(|m| m.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Every model, sorted by kind, tier and id.
    pub fn all(&self) -> Vec<&ModelInfo> {
        let mut all: Vec<&ModelInfo> = self.models.values().collect();
        all.sort_by(|a, b| (&a.kind, &a.tier, &a.id).cmp(&(&b.kind, &b.tier, &b.id)));
        all
    }
}
