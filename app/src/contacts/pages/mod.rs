//! The contacts pages: the searchable list, a contact's page with its deal and activity forms,
//! and the contact form.
pub mod contact;
pub mod editor;
pub mod import;
pub mod list;
mod records;

use crate::domain::humanize;
use leptos::prelude::*;

pub(crate) fn stage_badge(stage: &str) -> impl IntoView {
    let colour = match stage {
        "customer" | "closed_won" => "bg-emerald-50 text-emerald-800 ring-emerald-200",
        "prospect" | "proposal" | "negotiation" => "bg-indigo-50 text-indigo-800 ring-indigo-200",
        "churned" | "closed_lost" => "bg-rose-50 text-rose-800 ring-rose-200",
        _ => "bg-slate-100 text-slate-700 ring-slate-200",
    };
    view! {
        <span class=format!("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colour}")>
            {humanize(stage)}
        </span>
    }
}
