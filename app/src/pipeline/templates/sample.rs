//! "Generate a sample": the preview's prompt sent through the gateway as the worker would send
//! it, the draft streamed back, then scored and judged by the worker's own `score_draft` and
//! `judge`. Nothing is stored, delivered or counted as an attempt.
use super::{service, SampleEvent};
use crate::{
    ai::gateway::{CallMeta, ChatRequest, Gateway, GatewayEvent},
    ai::TaskKind,
    error::AppError,
    pipeline::{db::work, decision::TaskFacts, worker::Pipeline},
    ssr::tenancy::{self, Scope},
};
use std::sync::Arc;
use tokio::sync::mpsc;

fn line(e: &SampleEvent) -> String {
    let mut s = serde_json::to_string(e).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

/// Starts the sample; its events arrive as newline-delimited JSON on the returned channel.
pub async fn generate(
    pool: sqlx::PgPool,
    gateway: Arc<Gateway>,
    pipeline: Arc<Pipeline>,
    scope: Scope,
    of: service::PreviewOf,
) -> Result<mpsc::Receiver<String>, AppError> {
    let task_id = of.task_id;
    let p = service::prepare(&pool, &gateway, scope, of).await?;
    let model = p
        .route
        .clone()
        .map_err(|why| AppError::validation("", format!("No model can write the sample: {why}")))?;
    let mut tx = tenancy::begin(&pool, scope).await?;
    let rules = work::load_rules(&mut tx, scope.tenant_id).await?;
    tx.commit().await?;
    let request = ChatRequest {
        model,
        system: p.preview.system.clone(),
        user: p.preview.user.clone(),
        max_tokens: u32::try_from(p.prompt.max_tokens).unwrap_or(1200),
        temperature: p.prompt.temperature,
        meta: CallMeta {
            scope,
            task: TaskKind::ContentGeneration,
            prompt_name: Some(p.prompt.name.clone()),
            prompt_version: Some(p.prompt.version),
            subject_id: task_id,
            request_id: Some(crate::error::current_request_id()),
            route: p.tag.clone(),
        },
    };
    let (out, rx) = mpsc::channel::<String>(64);
    tokio::spawn(async move {
        let mut events = gateway.stream(request);
        let mut text = String::new();
        while let Some(event) = events.recv().await {
            let sent = match event {
                GatewayEvent::Attempt {
                    model, provider, ..
                } => {
                    out.send(line(&SampleEvent::Started { model, provider }))
                        .await
                }
                GatewayEvent::Delta(d) => {
                    text.push_str(&d);
                    out.send(line(&SampleEvent::Delta { text: d })).await
                }
                GatewayEvent::Restart { reason } => {
                    text.clear();
                    out.send(line(&SampleEvent::Restart { reason })).await
                }
                GatewayEvent::Queued { .. } => Ok(()),
                GatewayEvent::Failed(f) => {
                    let _ = out
                        .send(line(&SampleEvent::Failed {
                            provider: f.provider.clone(),
                            model: f.model.clone(),
                            after_ms: f.after_ms,
                            message: f.message.clone(),
                        }))
                        .await;
                    return;
                }
                GatewayEvent::Done(outcome) => {
                    let content = text.trim().to_owned();
                    let quality = pipeline
                        .score_draft(
                            scope,
                            task_id,
                            &p.customer,
                            &p.instructions,
                            &p.examples,
                            &content,
                        )
                        .await;
                    let facts = TaskFacts {
                        title: "Sample",
                        instructions: &p.instructions,
                        max_attempts: 3,
                        age_hours: 0.0,
                    };
                    let decision =
                        pipeline.judge(&facts, &p.customer, &quality, 1, &outcome.model, &rules);
                    let _ = out
                        .send(line(&SampleEvent::Scored {
                            model: outcome.model,
                            latency_ms: outcome.latency.as_millis() as u64,
                            quality,
                            decision,
                        }))
                        .await;
                    return;
                }
            };
            // The listener went away: stop reading (the gateway stops when we drop it).
            if sent.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}
