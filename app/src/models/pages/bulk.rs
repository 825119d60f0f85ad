//! The prompts listing's bulk reassignment (admins): with prompts selected, choose a target
//! model, read the cost forecast, confirm in a dialog, see the summary and undo it in one click.
use super::dollars;
use crate::{
    error::AppError,
    layout::{BUTTON, SECONDARY},
    models::{
        server_fns::{forecast_reassignment, reassign_prompts, undo_reassignment},
        BulkSummary, Forecast, ModelOption, Selection,
    },
};
use leptos::prelude::*;

/// "+$0.1234" or "−$0.1234".
fn signed(v: f64) -> String {
    if v < 0.0 {
        format!("−{}", dollars(-v))
    } else {
        format!("+{}", dollars(v))
    }
}

fn delta_class(v: f64) -> &'static str {
    if v > 0.0 {
        "text-rose-700"
    } else if v < 0.0 {
        "text-emerald-700"
    } else {
        "text-slate-600"
    }
}

fn forecast_table(f: &Forecast) -> impl IntoView {
    let (delta, monthly_delta, monthly_target) = (f.delta(), f.monthly_delta(), f.monthly_target());
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="forecast-table">
                <caption class="sr-only">"Cost forecast per prompt over the last 30 days"</caption>
                <thead class="text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Prompt"</th>
                        <th scope="col" class="px-3 py-2">"Now on"</th>
                        <th scope="col" class="px-3 py-2 text-right">"Calls (30 days)"</th>
                        <th scope="col" class="px-3 py-2 text-right">"Cost (30 days)"</th>
                        <th scope="col" class="px-3 py-2 text-right">{format!("On {}", f.target.id)}</th>
                        <th scope="col" class="px-3 py-2 text-right">"Change"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {f.rows.iter().map(|r| { let d = r.delta(); view! {
                        <tr data-testid=format!("forecast-{}", r.name)>
                            <td class="px-3 py-2 font-medium">{r.name.clone()}</td>
                            <td class="px-3 py-2 font-mono text-xs">{r.current_model.clone()}</td>
                            <td class="px-3 py-2 text-right">{r.calls}</td>
                            <td class="px-3 py-2 text-right">{dollars(r.cost_now)}</td>
                            <td class="px-3 py-2 text-right">{dollars(r.cost_target)}</td>
                            <td class=format!("px-3 py-2 text-right {}", delta_class(d))>
                                {match &r.skip { Some(why) => format!("skipped: {why}"), None => signed(d) }}
                            </td>
                        </tr>
                    }}).collect_view()}
                </tbody>
                <tfoot class="font-medium">
                    <tr>
                        <th scope="row" colspan="5" class="px-3 py-2 text-right">"Total change over the last 30 days"</th>
                        <td class=format!("px-3 py-2 text-right {}", delta_class(delta)) data-testid="forecast-total">{signed(delta)}</td>
                    </tr>
                    <tr>
                        <th scope="row" colspan="5" class="px-3 py-2 text-right">"Projected per month"</th>
                        <td class=format!("px-3 py-2 text-right {}", delta_class(monthly_delta)) data-testid="forecast-monthly">
                            {format!("{} ({} a month on the new model)", signed(monthly_delta), dollars(monthly_target))}
                        </td>
                    </tr>
                </tfoot>
            </table>
        </div>
    }
}

/// The bar under the filters while prompts are selected. `on_done` runs after a change or an
/// undo, so the listing reloads.
#[component]
pub fn BulkBar(
    selection: Signal<Selection>,
    count: Signal<usize>,
    models: Vec<ModelOption>,
    on_done: Callback<()>,
) -> impl IntoView {
    let target = RwSignal::new(String::new());
    let forecast = Action::new(move |(sel, target): &(Selection, String)| {
        forecast_reassignment(sel.clone(), target.clone())
    });
    let apply = Action::new(move |(sel, target): &(Selection, String)| {
        reassign_prompts(sel.clone(), target.clone())
    });
    let undo = Action::new(move |id: &uuid::Uuid| undo_reassignment(Some(*id)));
    let confirming = RwSignal::new(false);
    let summary = RwSignal::new(None::<BulkSummary>);
    let error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match apply.value().get() {
        Some(Ok(s)) => {
            summary.set(Some(s));
            error.set(None);
            forecast.value().set(None);
            on_done.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match undo.value().get() {
        Some(Ok(s)) => {
            summary.set(Some(BulkSummary {
                id: uuid::Uuid::nil(),
                ..s
            }));
            on_done.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    // A new selection or target invalidates the forecast.
    Effect::new(move |_| {
        selection.track();
        target.track();
        forecast.value().set(None);
        confirming.set(false);
    });
    let run_forecast = move |_| {
        summary.set(None);
        error.set(None);
        forecast.dispatch((selection.get_untracked(), target.get_untracked()));
    };
    let active: Vec<ModelOption> = models
        .into_iter()
        .filter(|m| m.status == "active")
        .collect();
    view! {
        <Show when=move || summary.get().is_some()>
            {move || summary.get().map(|s| { let id = s.id; view! {
                <div role="status" class="mb-4 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900" data-testid="bulk-summary">
                    <span>{s.message.clone()}</span>
                    {(!id.is_nil()).then(|| view! {
                        <button type="button" class=SECONDARY data-testid="bulk-undo" disabled=move || undo.pending().get()
                            on:click=move |_| { undo.dispatch(id); }>
                            {move || if undo.pending().get() { "Undoing…" } else { "Undo" }}
                        </button>
                    })}
                </div>
            }})}
        </Show>
        <Show when=move || { count.get() > 0 }>
            <section aria-label="Bulk reassignment" class="mb-4 rounded-xl border border-indigo-200 bg-indigo-50/50 p-4" data-testid="bulk-bar">
                <div class="flex flex-wrap items-end gap-3">
                    <p class="pb-2 text-sm font-medium text-slate-800" data-testid="bulk-count">{move || format!("{} selected", count.get())}</p>
                    <label class="flex flex-col text-xs font-medium text-slate-600">"Move them to"
                        <select class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900" data-testid="bulk-target"
                            on:change=move |ev| target.set(event_target_value(&ev)) prop:value=move || target.get()>
                            <option value="">"Choose a model"</option>
                            {active.iter().map(|m| view! { <option value=m.id.clone()>{m.describe()}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="button" class=BUTTON data-testid="bulk-forecast" on:click=run_forecast
                        disabled=move || target.with(String::is_empty) || forecast.pending().get()>
                        {move || if forecast.pending().get() { "Forecasting…" } else { "Forecast cost" }}
                    </button>
                </div>
                {move || match forecast.value().get() {
                    Some(Err(e)) => Some(view! { <p role="alert" class="mt-3 text-sm text-rose-700" data-testid="bulk-error">{e.to_string()}</p> }.into_any()),
                    Some(Ok(f)) => { let n = f.to_change(); let to = f.target.id.clone(); Some(view! {
                        <div class="mt-4 rounded-lg border border-slate-200 bg-white p-3" data-testid="forecast">
                            <h2 class="mb-2 text-sm font-semibold text-slate-800">{format!("Cost forecast: the last 30 days repriced at {}'s price", f.target.display_name)}</h2>
                            {forecast_table(&f)}
                            <div class="mt-3 flex justify-end">
                                <button type="button" class=BUTTON data-testid="bulk-apply" disabled=n == 0 on:click=move |_| confirming.set(true)>
                                    {format!("Reassign {n} prompts…")}
                                </button>
                            </div>
                            <Show when=move || confirming.get()>
                                <div role="dialog" aria-modal="true" aria-labelledby="bulk-confirm-title" class="mt-3 rounded-lg border border-amber-300 bg-amber-50 p-4" data-testid="bulk-confirm">
                                    <h3 id="bulk-confirm-title" class="font-semibold text-amber-900">{format!("Move {n} prompts to {to}?")}</h3>
                                    <p class="mt-1 text-sm text-amber-900">"Each gets a new version on that model, and production serves it at once. You can undo this from the summary."</p>
                                    <div class="mt-3 flex gap-2">
                                        <button type="button" class=BUTTON data-testid="bulk-confirm-yes" disabled=move || apply.pending().get()
                                            on:click=move |_| { confirming.set(false); apply.dispatch((selection.get_untracked(), target.get_untracked())); }>
                                            {move || if apply.pending().get() { "Reassigning…" } else { "Confirm" }}
                                        </button>
                                        <button type="button" class=SECONDARY on:click=move |_| confirming.set(false)>"Cancel"</button>
                                    </div>
                                </div>
                            </Show>
                        </div>
                    }.into_any()) }
                    None => None,
                }}
                {move || error.get().map(|e| view! { <p role="alert" class="mt-3 text-sm text-rose-700" data-testid="bulk-error">{e.to_string()}</p> })}
            </section>
        </Show>
    }
}
