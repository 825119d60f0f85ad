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

impl Gateway {
    /// Keeps this instance's catalog current: every change to `ai_models` or `ai_model_prices`
    /// notifies `ai_catalog` (a trigger), and every instance listening reloads. The listener has
    /// its own connection (not one of the pool's); after a lost connection it reconnects and
    /// reloads, since a change may have come meanwhile. Ends when `stop` is cancelled.
    pub fn watch_catalog(self: &Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let this = Arc::downgrade(self);
        let options = (*self.pool.connect_options()).clone();
        tokio::spawn(async move {
            let own = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect_lazy_with(options);
            loop {
                let listening = async {
                    let mut l = sqlx::postgres::PgListener::connect_with(&own).await?;
                    l.listen("ai_catalog").await?;
                    Ok::<_, sqlx::Error>(l)
                };
                let mut listener = tokio::select! {
                    _ = stop.cancelled() => break,
                    l = listening => match l {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot listen for catalog changes; retrying in 5 s");
                            tokio::select! {
                                _ = stop.cancelled() => break,
                                _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                            }
                        }
                    },
                };
                loop {
                    let Some(gateway) = this.upgrade() else {
                        return;
                    };
                    if let Err(e) = gateway.reload_catalog().await {
                        tracing::warn!(error = %e, "cannot reload the model catalog");
                    }
                    drop(gateway);
                    let next = tokio::select! {
                        _ = stop.cancelled() => None,
                        n = listener.try_recv() => Some(n),
                    };
                    match next {
                        None => {
                            own.close().await;
                            return;
                        }
                        // A change: reload. A lost connection (`None`): reload too, and the
                        // next receive reconnects.
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "lost the catalog listener; reconnecting");
                            break;
                        }
                    }
                }
            }
            own.close().await;
        });
    }
}
