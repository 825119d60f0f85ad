//! The model catalog (`/models`), the prompts listing (`/prompts`) and a prompt's page
//! (`/prompts/:name`).
pub mod bulk;
pub mod catalog;
pub mod experiments;
pub mod plans;
pub mod prompt;
pub mod prompts;
pub mod settings;

use super::provider_badge;
use leptos::prelude::*;

pub(crate) fn provider_pill(provider: String) -> impl IntoView {
    let colours = provider_badge(&provider);
    view! {
        <span data-testid="provider-badge" class=format!("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colours}")>
            {provider}
        </span>
    }
}

pub(crate) fn status_pill(status: String) -> impl IntoView {
    let colours = match status.as_str() {
        "active" => "bg-emerald-50 text-emerald-800 ring-emerald-200",
        "deprecated" => "bg-rose-50 text-rose-800 ring-rose-200",
        _ => "bg-amber-50 text-amber-800 ring-amber-200",
    };
    view! {
        <span data-testid="model-status" class=format!("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colours}")>
            {status}
        </span>
    }
}

/// "12.5%", or "–" for no data.
pub(crate) fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// "$1.2345", dollars with four decimals.
pub(crate) fn dollars(v: f64) -> String {
    format!("${v:.4}")
}
