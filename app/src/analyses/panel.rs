//! The AI Relationship Manager panel on the contact page.
use super::{format_age, server_fns::analyze_contact, AnalysisEvent, AnalysisKind};
use crate::ai::{AiFailure, LOCAL_MODEL_NOTICE};
use futures::StreamExt;
use leptos::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Default)]
enum Status {
    #[default]
    Idle,
    Connecting,
    Waiting(String),
    /// The local model is answering this many requests before ours.
    Queued(u64),
    Streaming,
    Done {
        latency_ms: u64,
        fallback_used: bool,
        truncated: bool,
    },
    Cached {
        age_secs: u64,
    },
    Failed(AiFailure),
    NotConfigured(String),
    /// The request itself failed (signed out, not found, network down).
    Error(String),
}

impl Status {
    fn busy(&self) -> bool {
        matches!(
            self,
            Status::Connecting | Status::Waiting(_) | Status::Queued(_) | Status::Streaming
        )
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Analysis {
    status: Status,
    text: String,
    model: String,
    provider: String,
    /// Why the text so far was dropped and the answer started over.
    restarted: Option<String>,
    /// After a failed refresh: the age of the previous answer, shown in `text`.
    kept_age: Option<u64>,
}

impl Analysis {
    fn apply(&mut self, event: AnalysisEvent) {
        match event {
            AnalysisEvent::Cached {
                text,
                model,
                provider,
                age_secs,
            } => {
                self.text = text;
                self.model = model;
                self.provider = provider;
                self.status = Status::Cached { age_secs };
            }
            AnalysisEvent::Waiting { message } => self.status = Status::Waiting(message),
            AnalysisEvent::Started { model, provider } => {
                self.model = model;
                self.provider = provider;
                self.status = Status::Streaming;
            }
            AnalysisEvent::Queued { ahead } => {
                self.status = if ahead > 0 {
                    Status::Queued(ahead)
                } else {
                    Status::Streaming
                };
            }
            AnalysisEvent::Delta { text } => {
                self.text.push_str(&text);
                self.status = Status::Streaming;
            }
            AnalysisEvent::Restarted { message } => {
                self.text.clear();
                self.restarted = Some(message);
                self.status = Status::Streaming;
            }
            AnalysisEvent::Done {
                model,
                provider,
                latency_ms,
                fallback_used,
                truncated,
            } => {
                self.model = model;
                self.provider = provider;
                self.restarted = None;
                self.status = Status::Done {
                    latency_ms,
                    fallback_used,
                    truncated,
                };
            }
            AnalysisEvent::Failed { failure, kept } => {
                self.restarted = None;
                match kept {
                    Some(kept) => {
                        self.text = kept.text;
                        self.kept_age = Some(kept.age_secs);
                    }
                    None => self.text.clear(),
                }
                self.status = Status::Failed(failure);
            }
            AnalysisEvent::NotConfigured { message } => {
                self.status = Status::NotConfigured(message)
            }
        }
    }
}

/// Reads the newline-delimited events of one analysis into `state`.
async fn run(contact_id: Uuid, kind: AnalysisKind, refresh: bool, state: RwSignal<Analysis>) {
    state.try_update(|s| {
        *s = Analysis {
            status: Status::Connecting,
            ..Analysis::default()
        };
    });
    let stream = match analyze_contact(contact_id, kind, refresh).await {
        Ok(stream) => stream,
        Err(err) => {
            state.try_update(|s| s.status = Status::Error(err.to_string()));
            return;
        }
    };
    let mut stream = stream.into_inner();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let bytes = match chunk {
            Ok(bytes) => bytes,
            Err(err) => {
                state.try_update(|s| {
                    s.status = Status::Error(format!("The connection broke: {err}"))
                });
                return;
            }
        };
        buf.extend_from_slice(&bytes);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            match serde_json::from_slice::<AnalysisEvent>(&line) {
                Ok(event) => {
                    if state.try_update(|s| s.apply(event)).is_none() {
                        return; // the page is gone
                    }
                }
                Err(err) => {
                    state.try_update(|s| {
                        s.status =
                            Status::Error(format!("Unreadable answer from the server: {err}"))
                    });
                    return;
                }
            }
        }
    }
    state.try_update(|s| {
        if s.status.busy() {
            s.status = Status::Error("The connection closed before the analysis finished.".into());
        }
    });
}

#[component]
pub fn AiPanel(contact_id: Uuid) -> impl IntoView {
    // The buttons work once the page is interactive; until then they are visibly disabled.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let states: Vec<(AnalysisKind, RwSignal<Analysis>)> = AnalysisKind::ALL
        .into_iter()
        .map(|k| (k, RwSignal::new(Analysis::default())))
        .collect();
    let start = move |kind: AnalysisKind, state: RwSignal<Analysis>, refresh: bool| {
        if state.with_untracked(|s| s.status.busy()) {
            return;
        }
        leptos::task::spawn_local(run(contact_id, kind, refresh, state));
    };
    view! {
        <section aria-labelledby="ai-panel-title" class="rounded-xl border border-indigo-200 bg-white p-5 shadow-sm">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 id="ai-panel-title" class="text-base font-semibold text-slate-900">"AI Relationship Manager"</h2>
                <p class="text-xs text-slate-500">"Answers are cached for everyone for 5 minutes and renewed when the record changes."</p>
            </div>
            <div class="mt-4 grid gap-2 sm:grid-cols-3">
                {states.iter().map(|&(kind, state)| view! {
                    <button
                        type="button"
                        data-testid=format!("ai-run-{}", kind.as_str())
                        class="rounded-lg border border-indigo-200 bg-indigo-50 px-3 py-2 text-left text-sm font-medium text-indigo-900 hover:bg-indigo-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:cursor-not-allowed disabled:opacity-60"
                        disabled=move || !hydrated.get() || state.with(|s| s.status.busy())
                        title=kind.blurb()
                        on:click=move |_| start(kind, state, false)
                    >
                        {kind.label()}
                        <span class="mt-0.5 block text-xs font-normal text-indigo-700">{kind.blurb()}</span>
                    </button>
                }).collect_view()}
            </div>
            <div class="mt-4 space-y-3">
                {states.into_iter().map(|(kind, state)| view! {
                    <AnalysisCard kind state on_refresh=move || start(kind, state, true) on_retry=move || {
                        // Retrying a failed refresh refreshes again: the kept answer is already shown.
                        let refresh = state.with_untracked(|s| s.kept_age.is_some());
                        start(kind, state, refresh)
                    }/>
                }).collect_view()}
            </div>
        </section>
    }
}

#[component]
fn AnalysisCard(
    kind: AnalysisKind,
    state: RwSignal<Analysis>,
    on_refresh: impl Fn() + Copy + Send + Sync + 'static,
    on_retry: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let key = kind.as_str();
    let visible = move || state.with(|s| s.status != Status::Idle);
    let status_line = move || {
        state.with(|s| match &s.status {
            Status::Idle => String::new(),
            Status::Connecting => "Preparing the contact's context…".to_owned(),
            Status::Waiting(message) => message.clone(),
            Status::Queued(ahead) => format!(
                "Queued: {} runs one request at a time and has {ahead} ahead of this one…",
                s.model
            ),
            Status::Streaming => match &s.restarted {
                Some(why) => format!(
                    "Starting over with {} ({}) — the last attempt failed: {why}",
                    s.model, s.provider
                ),
                None => format!("Writing with {} ({})…", s.model, s.provider),
            },
            Status::Done {
                latency_ms,
                fallback_used,
                truncated,
            } => {
                let fallback = if *fallback_used {
                    " — the fallback model answered after the routed one failed"
                } else {
                    ""
                };
                let truncated = if *truncated {
                    " — truncated: the answer reached the token limit"
                } else {
                    ""
                };
                format!(
                    "Answered by {} ({}) in {:.1} s{fallback}{truncated}",
                    s.model,
                    s.provider,
                    *latency_ms as f64 / 1000.0
                )
            }
            Status::Cached { age_secs } => format!(
                "Cached {} · {} ({})",
                format_age(*age_secs),
                s.model,
                s.provider
            ),
            Status::Failed(_) | Status::NotConfigured(_) | Status::Error(_) => String::new(),
        })
    };
    view! {
        <Show when=visible>
            <article data-testid=format!("ai-card-{key}") class="rounded-lg border border-slate-200 bg-slate-50 p-4">
                <div class="flex flex-wrap items-center justify-between gap-2">
                    <h3 class="text-sm font-semibold text-slate-900">{kind.label()}</h3>
                    <div class="flex items-center gap-3 text-xs text-slate-500">
                        <Show when=move || state.with(|s| s.status.busy())>
                            <span class="h-3 w-3 animate-spin rounded-full border-2 border-slate-300 border-t-indigo-600" aria-hidden="true"></span>
                        </Show>
                        <span data-testid=format!("ai-status-{key}") aria-live="polite">{status_line}</span>
                        <Show when=move || state.with(|s| matches!(s.status, Status::Cached { .. } | Status::Done { .. }))>
                            <button
                                type="button"
                                data-testid=format!("ai-refresh-{key}")
                                class="font-medium text-indigo-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                on:click=move |_| on_refresh()
                            >"Refresh"</button>
                        </Show>
                    </div>
                </div>
                <Show when=move || state.with(|s| {
                    s.provider == "local" && matches!(s.status, Status::Streaming | Status::Done { .. } | Status::Cached { .. })
                })>
                    <p data-testid=format!("ai-notice-{key}") class="mt-2 rounded bg-amber-50 px-2 py-1 text-xs text-amber-900">
                        {LOCAL_MODEL_NOTICE}
                    </p>
                </Show>
                {move || state.with(|s| match &s.status {
                    Status::Failed(failure) => {
                        let failure = failure.clone();
                        let kept = s.kept_age.map(|age| (age, s.text.clone()));
                        view! {
                            <div role="alert" data-testid=format!("ai-error-{key}") class="mt-3 rounded-md border border-rose-200 bg-rose-50 p-3 text-sm text-rose-900">
                                <p class="font-medium">{format!("{} failed: {}", kind.label(), failure.message)}</p>
                                <p class="mt-1 text-xs">
                                    {format!(
                                        "Provider {} · model {} · after {:.1} s · {} attempt{}",
                                        failure.provider, failure.model, failure.after_ms as f64 / 1000.0,
                                        failure.attempts, if failure.attempts == 1 { "" } else { "s" }
                                    )}
                                </p>
                                <button
                                    type="button"
                                    data-testid=format!("ai-retry-{key}")
                                    class="mt-2 rounded-md bg-rose-700 px-3 py-1.5 text-xs font-medium text-white hover:bg-rose-600 focus:outline-none focus-visible:ring-2 focus-visible:ring-rose-500"
                                    on:click=move |_| on_retry()
                                >"Retry"</button>
                            </div>
                            {kept.map(|(age, text)| view! {
                                <p data-testid=format!("ai-kept-{key}") class="mt-3 text-xs text-slate-500">
                                    {format!("The refresh failed, so the previous answer ({}) is kept:", format_age(age))}
                                </p>
                                <div data-testid=format!("ai-text-{key}") class="mt-1 whitespace-pre-wrap text-sm leading-6 text-slate-800">{text}</div>
                            })}
                        }.into_any()
                    }
                    Status::NotConfigured(message) | Status::Error(message) => {
                        let message = message.clone();
                        let retryable = matches!(s.status, Status::Error(_));
                        view! {
                            <div role="alert" data-testid=format!("ai-error-{key}") class="mt-3 rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
                                <p>{message}</p>
                                {retryable.then(|| view! {
                                    <button
                                        type="button"
                                        data-testid=format!("ai-retry-{key}")
                                        class="mt-2 rounded-md bg-amber-700 px-3 py-1.5 text-xs font-medium text-white hover:bg-amber-600"
                                        on:click=move |_| on_retry()
                                    >"Retry"</button>
                                })}
                            </div>
                        }.into_any()
                    }
                    _ => view! {
                        <div data-testid=format!("ai-text-{key}") class="mt-3 whitespace-pre-wrap text-sm leading-6 text-slate-800">{s.text.clone()}</div>
                    }.into_any(),
                })}
            </article>
        </Show>
    }
}
