//! Embeddings: every vector in the product is made here, tagged with the model that made it.
use super::*;

impl Gateway {
    /// Embeds texts with the configured embedding model, recorded in `ai_calls` like any call.
    /// Remote models are asked for 384 dimensions so one `vector(384)` column serves both.
    pub async fn embed(&self, meta: &CallMeta, texts: &[String]) -> Result<Embedded, AiFailure> {
        self.embed_with(self.embedding_model(), meta, texts).await
    }

    /// Embeds with a given embedding model (the settings page tests each one).
    pub async fn embed_with(
        &self,
        model: &str,
        meta: &CallMeta,
        texts: &[String],
    ) -> Result<Embedded, AiFailure> {
        let model = model.to_owned();
        let provider = self.provider_of(&model).to_owned();
        let started = Instant::now();
        let span = tracing::info_span!(
            "ai_call", task = "embedding", tenant_id = %meta.scope.tenant_id, model = %model, provider = %provider,
            texts = texts.len(), status = Empty, latency_ms = Empty, prompt_tokens = Empty, cost_usd = Empty,
        );
        let result = async {
            if self.catalog().usable(&model, "embedding").is_none() {
                return Err(format!("{model} is not an embedding model in the catalog"));
            }
            if local::is_local(&model) {
                let out = self.local.embed(texts.to_vec()).await?;
                Ok::<_, String>((out.vectors, out.tokens as u32))
            } else {
                self.embed_remote(&model, texts).await
            }
        }
        .instrument(span.clone())
        .await;
        let latency_ms = started.elapsed().as_millis() as i32;
        span.record("latency_ms", latency_ms);
        let mut record = CallRecord::new(meta, &model, &provider, "ok");
        record.latency_ms = latency_ms;
        record.attempts = 1;
        let outcome = match result {
            Ok((vectors, tokens)) => {
                let cost = self.catalog().get(&model).map(|m| m.cost(tokens, 0));
                span.record("status", "ok");
                span.record("prompt_tokens", tokens);
                if let Some(c) = cost {
                    span.record("cost_usd", c);
                }
                record.model = Some(model.clone());
                record.prompt_tokens = Some(tokens as i32);
                record.cost_usd = cost;
                Ok(Embedded { model, vectors })
            }
            Err(message) => {
                span.record("status", "error");
                tracing::warn!(parent: &span, error = %message, "embedding failed");
                record.status = "error";
                record.error = Some(message.clone());
                Err(AiFailure {
                    provider,
                    model,
                    message,
                    after_ms: latency_ms as u64,
                    attempts: 1,
                })
            }
        };
        self.recorder.record(record);
        outcome
    }

    async fn embed_remote(
        &self,
        model: &str,
        texts: &[String],
    ) -> Result<(Vec<Vec<f32>>, u32), String> {
        let Some(client) = &self.client else {
            return Err(format!(
                "{model} is a remote model and no remote provider is configured. {REMOTE_HINT}"
            ));
        };
        #[derive(Serialize)]
        struct Body<'a> {
            model: &'a str,
            input: &'a [String],
            dimensions: usize,
            encoding_format: &'static str,
        }
        #[derive(Deserialize)]
        struct Item {
            index: usize,
            embedding: Vec<f32>,
        }
        #[derive(Deserialize)]
        struct EmbedUsage {
            #[serde(default)]
            prompt_tokens: u32,
        }
        #[derive(Deserialize)]
        struct Response {
            data: Vec<Item>,
            #[serde(default)]
            usage: Option<EmbedUsage>,
        }
        let body = Body {
            model,
            input: texts,
            dimensions: local::EMBEDDING_DIMS,
            encoding_format: "float",
        };
        let timeout = self.config.timeout;
        let response: Response =
            tokio::time::timeout(timeout, client.embeddings().create_byot(body))
                .await
                .map_err(|_| format!("timed out after {:.1} s", timeout.as_secs_f64()))?
                .map_err(|e| AttemptError::from_openai(e).message)?;
        let mut vectors = vec![Vec::new(); texts.len()];
        for item in response.data {
            if item.embedding.len() != local::EMBEDDING_DIMS {
                return Err(format!(
                    "the provider returned {}-dimensional vectors; SmartCRM stores {}",
                    item.embedding.len(),
                    local::EMBEDDING_DIMS
                ));
            }
            match vectors.get_mut(item.index) {
                Some(slot) => *slot = item.embedding,
                None => {
                    return Err(format!(
                        "the provider returned a vector for input {} of {}",
                        item.index,
                        texts.len()
                    ))
                }
            }
        }
        if vectors.iter().any(Vec::is_empty) {
            return Err("the provider returned fewer vectors than texts".into());
        }
        Ok((vectors, response.usage.map_or(0, |u| u.prompt_tokens)))
    }
}
