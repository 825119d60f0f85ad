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
use crate::domain::humanize;
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) use crate::layout::{VersionDiff, BUTTON, INPUT, SECONDARY};

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
