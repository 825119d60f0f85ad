use super::{AiOverview, ProviderCheck, ProviderTest};
use crate::error::AppError;
use leptos::prelude::*;

/// Providers, their state and the routing table (admins only). Loads the local models if they
/// have not loaded yet, so the page reports what they really do.
#[server(endpoint = "load_ai_overview")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_ai_overview() -> Result<AiOverview, AppError> {
    use super::{ProviderState, ProviderStatus, Route};
    use crate::{
        ai::{gateway::REMOTE_HINT, local, TaskKind},
        auth::guard::authorize,
        domain::Role,
        ssr::{from_context, respond},
    };
    respond(
        async move {
            let auth = authorize(&[Role::Admin]).await?;
            let scope = auth.scope();
            auth.tx.commit().await?;
            let gateway: std::sync::Arc<crate::ai::gateway::Gateway> = from_context()?;
            let local_provider = gateway.local();
            let (chat, embedder) = tokio::join!(local_provider.chat(), local_provider.embedder());
            let mut providers = vec![
                match chat {
                    Ok(chat) => ProviderStatus {
                        check: ProviderCheck::LocalChat,
                        name: "Built-in chat model".into(),
                        provider: "local".into(),
                        model: local::CHAT_MODEL.into(),
                        state: ProviderState::Ready,
                        detail: format!(
                            "{}, {}-token context window, loaded in {} ms; {} request(s) waiting",
                            chat.info.display_name,
                            chat.info.context_window,
                            chat.info.load_ms,
                            chat.queued()
                        ),
                    },
                    Err(why) => ProviderStatus {
                        check: ProviderCheck::LocalChat,
                        name: "Built-in chat model".into(),
                        provider: "local".into(),
                        model: local::CHAT_MODEL.into(),
                        state: ProviderState::Unavailable,
                        detail: why.to_string(),
                    },
                },
                match embedder {
                    Ok(e) => ProviderStatus {
                        check: ProviderCheck::LocalEmbedding,
                        name: "Built-in embedding model".into(),
                        provider: "local".into(),
                        model: local::EMBEDDING_MODEL.into(),
                        state: ProviderState::Ready,
                        detail: format!(
                            "all-MiniLM-L6-v2, {} dimensions, loaded in {} ms",
                            local::EMBEDDING_DIMS,
                            e.load_ms
                        ),
                    },
                    Err(why) => ProviderStatus {
                        check: ProviderCheck::LocalEmbedding,
                        name: "Built-in embedding model".into(),
                        provider: "local".into(),
                        model: local::EMBEDDING_MODEL.into(),
                        state: ProviderState::Unavailable,
                        detail: why.to_string(),
                    },
                },
            ];
            let remote_chat_model = gateway
                .tier_default(crate::ai::Tier::Fast)
                .filter(|m| !local::is_local(m))
                .or_else(|| {
                    gateway
                        .catalog()
                        .recommended(crate::ai::Tier::Fast)
                        .map(|m| m.id.clone())
                })
                .unwrap_or_default();
            providers.push(ProviderStatus {
                check: ProviderCheck::RemoteChat,
                name: "Remote chat provider".into(),
                provider: gateway.remote_provider().to_owned(),
                model: remote_chat_model,
                state: if gateway.has_remote() {
                    ProviderState::Configured
                } else {
                    ProviderState::NotConfigured
                },
                detail: match gateway.remote_base_url().as_deref() {
                    Some(url) => format!("OpenAI-compatible endpoint {url}"),
                    None => {
                        "No remote provider: every AI task uses the built-in local model.".into()
                    }
                },
            });
            let embedding_model = gateway.embedding_model().to_owned();
            if !local::is_local(&embedding_model) {
                providers.push(ProviderStatus {
                    check: ProviderCheck::RemoteEmbedding,
                    name: "Remote embedding model".into(),
                    provider: gateway.remote_provider().to_owned(),
                    model: embedding_model.clone(),
                    state: if gateway.has_remote() {
                        ProviderState::Configured
                    } else {
                        ProviderState::NotConfigured
                    },
                    detail: format!("Asked for {} dimensions", local::EMBEDDING_DIMS),
                });
            }
            let routes = [
                crate::ai::Tier::Fast,
                crate::ai::Tier::Default,
                crate::ai::Tier::Thinking,
            ]
            .into_iter()
            .map(|tier| {
                let task = match tier {
                    crate::ai::Tier::Fast => TaskKind::Summary,
                    crate::ai::Tier::Default => TaskKind::Communication,
                    crate::ai::Tier::Thinking => TaskKind::Research,
                };
                let query = crate::ai::gateway::RouteQuery {
                    task,
                    prompt: None,
                    subject: None,
                };
                let model = gateway
                    .decide(scope, &query, &Default::default())
                    .map(|r| r.model)
                    .unwrap_or_else(|why| format!("(none: {why})"));
                Route {
                    tier: tier.as_str().to_owned(),
                    provider: gateway.provider_of(&model).to_owned(),
                    model,
                }
            })
            .collect();
            Ok(AiOverview {
                providers,
                routes,
                embedding_model,
                remote_hint: (!gateway.has_remote()).then(|| REMOTE_HINT.to_owned()),
            })
        }
        .await,
    )
}

/// One real round trip to a provider: a tiny chat answer or one embedding. Recorded in
/// `ai_calls` like any call. Returns the latency and the reply, or the real error.
#[server(endpoint = "test_provider")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn test_provider(check: ProviderCheck) -> Result<ProviderTest, AppError> {
    use crate::{
        ai::{
            gateway::{CallMeta, ChatRequest, GatewayEvent},
            local, TaskKind,
        },
        auth::guard::authorize,
        domain::Role,
        error::current_request_id,
        ssr::{from_context, respond},
    };
    use std::time::Instant;
    respond(
        async move {
            let auth = authorize(&[Role::Admin]).await?;
            let scope = auth.scope();
            auth.tx.commit().await?;
            let gateway: std::sync::Arc<crate::ai::gateway::Gateway> = from_context()?;
            let meta = CallMeta {
                scope,
                task: TaskKind::UiHelper,
                prompt_name: Some(format!("provider_test:{}", check.as_str())),
                prompt_version: None,
                subject_id: None,
                request_id: Some(current_request_id()),
                route: Default::default(),
            };
            let started = Instant::now();
            let chat_model = match check {
                ProviderCheck::LocalChat => Some(local::CHAT_MODEL.to_owned()),
                ProviderCheck::RemoteChat => {
                    if !gateway.has_remote() {
                        return Err(AppError::validation(
                            "check",
                            "No remote provider is configured, so there is nothing to test.",
                        ));
                    }
                    Some(
                        gateway
                            .tier_default(crate::ai::Tier::Fast)
                            .filter(|m| !local::is_local(m))
                            .ok_or_else(|| {
                                AppError::validation(
                                    "check",
                                    "No remote model is the fast tier's default or recommended one.",
                                )
                            })?,
                    )
                }
                ProviderCheck::LocalEmbedding | ProviderCheck::RemoteEmbedding => None,
            };
            if let Some(model) = chat_model {
                let provider = gateway.provider_of(&model).to_owned();
                let request = ChatRequest {
                    model: model.clone(),
                    system: "You are a connectivity check. Answer in one word.".into(),
                    user: "Reply with the single word: ready".into(),
                    max_tokens: 48,
                    temperature: 0.0,
                    meta,
                };
                let mut events = gateway.stream(request);
                let mut reply = String::new();
                while let Some(event) = events.recv().await {
                    match event {
                        GatewayEvent::Delta(text) => reply.push_str(&text),
                        GatewayEvent::Restart { .. } => reply.clear(),
                        GatewayEvent::Done(outcome) => {
                            return Ok(ProviderTest {
                                ok: true,
                                latency_ms: outcome.latency.as_millis() as u64,
                                model: outcome.model,
                                provider: outcome.provider,
                                detail: format!(
                                    "Replied {:?}",
                                    reply.trim().chars().take(80).collect::<String>()
                                ),
                            })
                        }
                        GatewayEvent::Failed(failure) => {
                            return Ok(ProviderTest {
                                ok: false,
                                latency_ms: failure.after_ms,
                                model: failure.model.clone(),
                                provider: failure.provider.clone(),
                                detail: failure.to_string(),
                            })
                        }
                        GatewayEvent::Attempt { .. } | GatewayEvent::Queued { .. } => {}
                    }
                }
                return Ok(ProviderTest {
                    ok: false,
                    latency_ms: started.elapsed().as_millis() as u64,
                    model,
                    provider,
                    detail: "the call stopped without an answer".into(),
                });
            }
            let model = match check {
                ProviderCheck::LocalEmbedding => local::EMBEDDING_MODEL.to_owned(),
                _ => gateway.embedding_model().to_owned(),
            };
            let texts = vec!["SmartCRM provider check".to_owned()];
            Ok(match gateway.embed_with(&model, &meta, &texts).await {
                Ok(embedded) => ProviderTest {
                    ok: true,
                    latency_ms: started.elapsed().as_millis() as u64,
                    provider: gateway.provider_of(&embedded.model).to_owned(),
                    detail: format!(
                        "Returned a {}-dimensional vector",
                        embedded.vectors.first().map_or(0, Vec::len)
                    ),
                    model: embedded.model,
                },
                Err(failure) => ProviderTest {
                    ok: false,
                    latency_ms: failure.after_ms,
                    model: failure.model.clone(),
                    provider: failure.provider.clone(),
                    detail: failure.to_string(),
                },
            })
        }
        .await,
    )
}

/// Which model answers each prompt for one member, and why, through the same resolution order
/// the gateway applies (admins). `user` defaults to the caller.
#[server(endpoint = "load_routing_table")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn load_routing_table(user: Option<uuid::Uuid>) -> Result<super::RoutingTable, AppError> {
    use super::{RoutingRow, RoutingTable};
    use crate::{
        ai::{gateway::RouteQuery, TaskKind},
        auth::guard::authorize,
        domain::Role,
        ssr::{from_context, respond, tenancy::Scope},
    };
    respond(
        async move {
            let mut auth = authorize(&[Role::Admin]).await?;
            let tenant = auth.user.tenant_id;
            let gateway: std::sync::Arc<crate::ai::gateway::Gateway> = from_context()?;
            let members: Vec<(uuid::Uuid, String)> = sqlx::query!(
                "select u.id, u.display_name from memberships m join users u on u.id = m.user_id
                 where m.tenant_id = $1 order by u.display_name, u.id limit 500",
                tenant
            )
            .fetch_all(&mut *auth.tx)
            .await?
            .into_iter()
            .map(|r| (r.id, r.display_name))
            .collect();
            let user_id = user.unwrap_or(auth.user.user_id);
            let user_name = members
                .iter()
                .find(|(id, _)| *id == user_id)
                .map(|(_, n)| n.clone())
                .ok_or(AppError::NotFound)?;
            let scope = Scope {
                tenant_id: tenant,
                user_id,
            };
            let prompts = sqlx::query!(
                r#"select distinct on (l.name) l.name as "name!", p.ai_model, p.task_kind
                   from ai_prompt_labels l join ai_prompts p on p.id = l.prompt_id
                   where l.label = 'production' and (l.tenant_id = $1 or l.tenant_id is null)
                   order by l.name, l.tenant_id nulls last"#,
                tenant
            )
            .fetch_all(&mut *auth.tx)
            .await?;
            let mut rows = Vec::with_capacity(prompts.len());
            let mut spent_usd = 0.0;
            let mut budget_usd = None;
            for p in &prompts {
                let Some(task) = TaskKind::parse(&p.task_kind) else {
                    continue;
                };
                let levels = gateway.levels(&mut auth.tx, scope, Some(&p.name)).await?;
                (spent_usd, budget_usd) = (levels.spent_usd, levels.budget_usd);
                let query = RouteQuery {
                    task,
                    prompt: Some((p.name.as_str(), p.ai_model.as_str())),
                    subject: None,
                };
                let row = match gateway.decide(scope, &query, &levels) {
                    Ok(r) => RoutingRow {
                        prompt: p.name.clone(),
                        task: task.as_str().to_owned(),
                        tier: task.tier().as_str().to_owned(),
                        model: r.model,
                        level: r.resolution.level.label().to_owned(),
                        reason: r.resolution.reason,
                    },
                    Err(why) => RoutingRow {
                        prompt: p.name.clone(),
                        task: task.as_str().to_owned(),
                        tier: task.tier().as_str().to_owned(),
                        model: String::new(),
                        level: String::new(),
                        reason: why,
                    },
                };
                rows.push(row);
            }
            auth.tx.commit().await?;
            Ok(RoutingTable {
                user_id,
                user_name,
                members,
                rows,
                overrides: gateway
                    .emergency_overrides()
                    .into_iter()
                    .map(|(t, m)| (t.as_str().to_owned(), m))
                    .collect(),
                spent_usd,
                budget_usd,
            })
        }
        .await,
    )
}
