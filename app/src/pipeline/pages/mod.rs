//! The pipeline pages, one per file: the live board, a new task, a task's story, the
//! escalation queue, and the templates the drafts are written from. This file holds what they share.
pub mod board;
pub mod example;
pub mod examples;
pub mod import;
pub mod new_task;
pub mod queue;
pub mod rule;
pub mod rule_bench;
pub mod rule_sim;
pub mod rules;
pub mod task;
pub mod template;
pub mod templates;

use super::{instructions::OUTPUT_TYPES, state::TaskState};
use crate::{domain::humanize, error::AppError};
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 \
                     focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 aria-[invalid=true]:border-rose-400";
pub(crate) const BUTTON: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 \
                      focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60";
pub(crate) const SECONDARY: &str = "rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-700 \
                         hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60";

pub fn state_badge(state: TaskState) -> impl IntoView {
    let colour = match state {
        TaskState::Delivered | TaskState::Approved => {
            "bg-emerald-50 text-emerald-800 ring-emerald-200"
        }
        TaskState::Escalated | TaskState::Failed | TaskState::Rejected => {
            "bg-rose-50 text-rose-800 ring-rose-200"
        }
        TaskState::AwaitingReview | TaskState::RetryScheduled => {
            "bg-amber-50 text-amber-800 ring-amber-200"
        }
        TaskState::ContextLoading | TaskState::Generating | TaskState::Evaluating => {
            "bg-indigo-50 text-indigo-800 ring-indigo-200"
        }
        TaskState::Pending | TaskState::Cancelled => "bg-slate-100 text-slate-700 ring-slate-200",
    };
    view! {
        <span
            data-testid="task-state"
            data-state=state.as_str()
            class=format!("inline-flex items-center whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colour}")
        >
            {state.label()}
        </span>
    }
}

pub(crate) fn type_label(t: &str) -> String {
    OUTPUT_TYPES
        .iter()
        .find(|(k, _)| *k == t)
        .map(|(_, l)| (*l).to_owned())
        .unwrap_or_else(|| humanize(t))
}

/// Calls `tick` every `POLL` in the browser while the component lives.
pub(crate) fn poll(tick: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(tick, POLL) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    drop(tick);
}

/// A list page's address: `base` with the filters that are set and the page cursor.
pub(crate) fn list_href(
    base: &str,
    filters: &[(&str, &Option<String>)],
    after: Option<uuid::Uuid>,
) -> String {
    let mut parts: Vec<String> = filters
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| format!("{k}={}", crate::domain::urlencode(v)))
        })
        .collect();
    if let Some(a) = after {
        parts.push(format!("after={a}"));
    }
    if parts.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", parts.join("&"))
    }
}

/// One of a list page's filter pickers, a GET form field named `name`, showing the value set
/// in `filter` (as `current` reads it) selected.
pub(crate) fn filter_select<F>(
    filter: Memo<F>,
    name: &'static str,
    label: &'static str,
    any: &'static str,
    options: Vec<(String, String)>,
    current: fn(&F) -> Option<String>,
) -> impl IntoView
where
    F: Clone + PartialEq + Send + Sync + 'static,
{
    view! {
        <label class="flex flex-col text-xs font-medium text-slate-600">
            {label}
            <select name=name class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900">
                <option value="">{any}</option>
                {options.into_iter().map(|(v, l)| {
                    let v2 = v.clone();
                    view! { <option value=v selected=move || filter.with(|f| current(f).as_deref() == Some(v2.as_str()))>{l}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// Two version pickers and the line diff between them; `fetch` asks the server for it.
#[component]
pub(crate) fn VersionDiff<F, Fut>(latest: i32, fetch: F) -> impl IntoView
where
    F: Fn(i32, i32) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<(char, String)>, AppError>> + Send + 'static,
{
    let from = RwSignal::new((latest - 1).max(1));
    let to = RwSignal::new(latest);
    let diff = Action::new(move |&(f, t): &(i32, i32)| fetch(f, t));
    let picker = move |label: &'static str, sig: RwSignal<i32>| {
        view! {
            <label class="flex flex-col text-xs font-medium text-slate-600">{label}
                <select class=INPUT on:change=move |ev| sig.set(event_target_value(&ev).parse().unwrap_or(1))>
                    {(1..=latest).rev().map(|v| view! { <option value=v.to_string() selected=move || sig.get() == v>{format!("v{v}")}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5">
            <h2 class="mb-3 text-base font-semibold text-slate-900">"Compare versions"</h2>
            {if latest < 2 {
                view! { <p class="text-sm text-slate-500">"Only one version so far."</p> }.into_any()
            } else {
                view! {
                    <div class="flex items-end gap-2">
                        {picker("From", from)}
                        {picker("To", to)}
                        <button type="button" class=SECONDARY data-testid="compare" on:click=move |_| { diff.dispatch((from.get(), to.get())); }>"Compare"</button>
                    </div>
                    {move || diff.value().get().map(|r| match r {
                        Ok(lines) => view! {
                            <pre class="mt-3 max-h-96 overflow-auto rounded bg-slate-50 p-2 text-xs" data-testid="diff">
                                {lines.into_iter().map(|(tag, text)| {
                                    let class = match tag { '+' => "block bg-emerald-50 text-emerald-900", '-' => "block bg-rose-50 text-rose-900", _ => "block text-slate-600" };
                                    view! { <span class=class>{format!("{tag} {text}")}</span> }
                                }).collect_view()}
                            </pre>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.to_string()}</p> }.into_any(),
                    })}
                }.into_any()
            }}
        </section>
    }
}
