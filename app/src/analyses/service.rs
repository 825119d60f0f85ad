//! One analysis of a contact, as a service: the context and the prompt, the model, the shared
//! cache, and either an answer now (cached, or why there is none) or the stream of one being
//! written. The server function only authorises and encodes.
use super::{
    cache::{AnalysisHub, Job, Key, Snapshot},
    prompt, AnalysisEvent, AnalysisKind,
};
use crate::{
    ai::{
        gateway::{CallMeta, CallRecord, ChatRequest, Gateway, RouteQuery, REMOTE_HINT},
        local, prompts, AiFailure,
    },
    auth::guard::Authorized,
    crm::context,
    error::{current_request_id, AppError},
    ssr::{from_context, tenancy},
};
use std::{sync::Arc, time::Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// What an analysis request gets.
pub enum Analysis {
    /// A single event: the cached answer, or why no model can answer.
    Now(AnalysisEvent),
    /// The answer as it is written (joined with any identical request in flight).
    Stream(watch::Receiver<Snapshot>),
}

/// Runs (or serves from the cache) `kind` for the contact, as the signed-in member `auth`.
#[tracing::instrument(skip_all, fields(%contact_id, kind = kind.as_str(), refresh))]
pub async fn analyze(
    mut auth: Authorized,
    contact_id: Uuid,
    kind: AnalysisKind,
    refresh: bool,
) -> Result<Analysis, AppError> {
    let started = Instant::now();
    let scope = auth.scope();
    let limits: Arc<super::limits::UserLimits> = from_context()?;
    limits.admit(scope.user_id, refresh)?;
    let pool: sqlx::PgPool = from_context()?;
    let gateway: Arc<Gateway> = from_context()?;
    let hub: Arc<AnalysisHub> = from_context()?;
    let now = time::OffsetDateTime::now_utc();
    // The authorising transaction reads the prompt and ends before the context builder takes
    // its five connections: a request never holds one connection while it waits for others.
    let prompt = prompts::active(&mut auth.tx, scope.tenant_id, kind.as_str()).await?;
    let prompt = prompt.ok_or_else(|| {
        tracing::error!(prompt = kind.as_str(), "no active prompt");
        AppError::Internal {
            request_id: current_request_id(),
        }
    })?;
    let query = RouteQuery {
        task: kind.task(),
        prompt: Some((&prompt.name, &prompt.ai_model)),
        subject: Some(contact_id),
    };
    let routed = gateway.resolve(&mut auth.tx, scope, query).await?;
    auth.tx.commit().await?;
    let requests_per_minute = routed.as_ref().map(|r| r.requests_per_minute).ok();
    let built = context::build(&pool, scope, contact_id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let fail = |model: &str, message: String| AnalysisEvent::Failed {
        failure: AiFailure {
            provider: gateway.provider_of(model).to_owned(),
            model: model.to_owned(),
            message,
            after_ms: started.elapsed().as_millis() as u64,
            attempts: 0,
        },
        kept: None,
    };
    let (model, route) = match routed {
        Ok(r) => (r.model, r.tag),
        Err(why) => {
            return Ok(Analysis::Now(fail(
                &prompt.ai_model,
                format!("cannot choose a model: {why}"),
            )))
        }
    };
    if local::is_local(&model) {
        if let Err(why) = gateway.local().chat().await {
            let message = format!("The built-in local model is {why}. {REMOTE_HINT}");
            return Ok(Analysis::Now(AnalysisEvent::NotConfigured { message }));
        }
    }
    let sections = prompt::sections(&built.context);
    let user = match sections.render(&prompt.template) {
        Ok(text) => text,
        Err(why) => {
            return Ok(Analysis::Now(fail(
                &model,
                format!("the {} prompt template is broken: {why}", prompt.name),
            )))
        }
    };
    let fingerprint = prompt::fingerprint(&prompt, &model, &user);
    let key = Key {
        tenant_id: scope.tenant_id,
        contact_id,
        kind,
    };
    let meta = CallMeta {
        scope,
        task: kind.task(),
        prompt_name: Some(prompt.name.clone()),
        prompt_version: Some(prompt.version),
        subject_id: Some(contact_id),
        request_id: Some(current_request_id()),
        route,
    };
    if !refresh {
        let mut tx = tenancy::begin(&pool, scope).await?;
        let hit = hub.lookup(&mut tx, &key, &fingerprint).await?;
        tx.commit().await?;
        if let Some(hit) = hit {
            tracing::info!(
                contact_id = %contact_id, kind = kind.as_str(), cache = "hit", age_secs = hit.age_secs,
                fetch_us = built.fetch.as_micros() as u64, build_us = built.build.as_micros() as u64,
                "analysis served"
            );
            let mut record = CallRecord::new(&meta, &hit.model, &hit.provider, "ok");
            record.model = Some(hit.model.clone());
            record.latency_ms = started.elapsed().as_millis() as i32;
            record.cost_usd = Some(0.0);
            record.cache_hit = true;
            gateway.recorder().record(record);
            return Ok(Analysis::Now(AnalysisEvent::Cached {
                text: hit.text,
                model: hit.model,
                provider: hit.provider,
                age_secs: hit.age_secs,
            }));
        }
    }
    // The workspace's AI request rate counts what goes to a model (not cache hits): wait a
    // few seconds for a turn, else 429.
    if let Some(per_minute) = requests_per_minute {
        gateway
            .admit(scope.tenant_id, per_minute)
            .await
            .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })?;
    }
    tracing::info!(
        contact_id = %contact_id, kind = kind.as_str(), cache = if refresh { "refresh" } else { "miss" },
        fetch_us = built.fetch.as_micros() as u64, build_us = built.build.as_micros() as u64, model = %model,
        "analysis requested"
    );
    let request = ChatRequest {
        model,
        system: prompt.system_prompt,
        user,
        max_tokens: u32::try_from(prompt.max_tokens).unwrap_or(512),
        temperature: prompt.temperature,
        meta,
    };
    let rx = hub.join_or_start(
        gateway,
        pool,
        Job {
            key,
            scope,
            fingerprint,
            refresh,
            request,
        },
    );
    Ok(Analysis::Stream(rx))
}
