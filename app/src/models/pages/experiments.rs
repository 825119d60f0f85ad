//! A prompt's A/B experiments (on `/prompts/:name`): start one (admins), see the arms side by
//! side with their samples and a plain verdict per metric, and promote or stop it.
use crate::{
    layout::{confirm_first, format_time, BUTTON, SECONDARY},
    models::{
        experiment_stats::Verdict,
        server_fns::{end_experiment, load_experiments, start_experiment},
        ExperimentView, ModelOption,
    },
};
use leptos::prelude::*;

const SELECT: &str =
    "mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900";

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Significant => "text-indigo-800 font-medium",
        Verdict::NoClearDifference => "text-slate-600",
        Verdict::NotEnoughData => "text-slate-500 italic",
    }
}

#[component]
fn ExperimentCard(e: ExperimentView, can_edit: bool, on_done: Callback<()>) -> impl IntoView {
    let end = Action::new(move |(id, promote): &(uuid::Uuid, bool)| {
        end_experiment(Some(*id), Some(*promote))
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = end.value().get() {
            on_done.run(());
        }
    });
    let id = e.id;
    let running = e.status == "running";
    let when = match e.ended_at {
        Some(at) => format!(
            "{} {} (started {})",
            e.status,
            format_time(at),
            format_time(e.started_at)
        ),
        None => format!("running since {}", format_time(e.started_at)),
    };
    view! {
        <article class="rounded-lg border border-slate-200 p-3" data-testid="experiment" data-status=e.status.clone()>
            <p class="text-sm font-medium text-slate-900">
                {format!("{}% of calls to {} (control: {}), sticky by {}", e.percent, e.candidate_model, e.control_model, e.sticky_by)}
            </p>
            <p class="text-xs text-slate-500">{when}</p>
            <div class="mt-2 overflow-x-auto">
                <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="experiment-metrics">
                    <thead class="text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                        <tr>
                            <th scope="col" class="px-2 py-1">"Metric"</th>
                            <th scope="col" class="px-2 py-1">{format!("Control ({})", e.control_model)}</th>
                            <th scope="col" class="px-2 py-1">{format!("Candidate ({})", e.candidate_model)}</th>
                            <th scope="col" class="px-2 py-1">"Samples"</th>
                            <th scope="col" class="px-2 py-1">"Verdict"</th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {e.metrics.into_iter().map(|m| view! {
                            <tr>
                                <th scope="row" class="px-2 py-1 text-left font-medium">{m.metric.clone()}</th>
                                <td class="px-2 py-1">{m.control.clone()}</td>
                                <td class="px-2 py-1">{m.candidate.clone()}</td>
                                <td class="px-2 py-1 text-xs text-slate-500">{format!("{} / {}", m.samples.0, m.samples.1)}</td>
                                <td class=format!("px-2 py-1 text-xs {}", verdict_class(m.verdict))>{m.verdict.label()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {(running && can_edit).then(|| view! {
                <div class="mt-2 flex gap-2">
                    <button type="button" class=BUTTON data-testid="experiment-promote" disabled=move || end.pending().get()
                        on:click=move |ev| { confirm_first("Promote the candidate? It becomes the prompt's model in production.")(ev.clone()); if !ev.default_prevented() { end.dispatch((id, true)); } }>
                        "Promote"
                    </button>
                    <button type="button" class=SECONDARY data-testid="experiment-stop" disabled=move || end.pending().get()
                        on:click=move |ev| { confirm_first("Stop the experiment? Every call goes back to the prompt's model.")(ev.clone()); if !ev.default_prevented() { end.dispatch((id, false)); } }>
                        "Stop"
                    </button>
                </div>
            })}
            {move || end.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.to_string()}</p> })}
        </article>
    }
}

#[component]
pub fn Experiments(name: String, models: Vec<ModelOption>, can_edit: bool) -> impl IntoView {
    let key = name.clone();
    let list = Resource::new(move || key.clone(), load_experiments);
    let on_done = Callback::new(move |()| list.refetch());
    let candidate = RwSignal::new(String::new());
    let percent = RwSignal::new("10".to_owned());
    let sticky = RwSignal::new("contact".to_owned());
    let start_name = name.clone();
    let start = Action::new(move |(c, p, s): &(String, String, String)| {
        start_experiment(
            start_name.clone(),
            c.clone(),
            p.trim().parse().ok(),
            s.clone(),
        )
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = start.value().get() {
            list.refetch();
        }
    });
    let active: Vec<ModelOption> = models
        .into_iter()
        .filter(|m| m.status == "active")
        .collect();
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="experiments" aria-labelledby="experiments-title">
            <h2 id="experiments-title" class="font-semibold text-slate-900">"A/B rollout"</h2>
            <p class="mt-1 text-sm text-slate-600">"Send part of this prompt's calls to another model, then compare the arms before promoting it."</p>
            {can_edit.then(|| view! {
                <form class="mt-3 flex flex-wrap items-end gap-3" data-testid="experiment-start"
                    on:submit=move |ev| { ev.prevent_default(); start.dispatch((candidate.get_untracked(), percent.get_untracked(), sticky.get_untracked())); }>
                    <label class="flex flex-col text-xs font-medium text-slate-600">"Candidate model"
                        <select class=SELECT data-testid="experiment-candidate" on:change=move |ev| candidate.set(event_target_value(&ev))>
                            <option value="">"Choose a model"</option>
                            {active.iter().map(|m| view! { <option value=m.id.clone()>{m.describe()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="flex flex-col text-xs font-medium text-slate-600">"Share of calls (%)"
                        <input type="number" min="1" max="99" class=SELECT data-testid="experiment-percent"
                            prop:value=move || percent.get() on:input=move |ev| percent.set(event_target_value(&ev))/>
                    </label>
                    <label class="flex flex-col text-xs font-medium text-slate-600">"Keep each"
                        <select class=SELECT data-testid="experiment-sticky" on:change=move |ev| sticky.set(event_target_value(&ev))>
                            <option value="contact" selected=true>"contact on one arm"</option>
                            <option value="user">"user on one arm"</option>
                            <option value="workspace">"workspace on one arm"</option>
                        </select>
                    </label>
                    <button type="submit" class=BUTTON data-testid="experiment-start-button" disabled=move || start.pending().get() || candidate.with(String::is_empty)>"Start"</button>
                </form>
            })}
            {move || start.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-700" data-testid="experiment-error">{e.to_string()}</p> })}
            <Suspense fallback=|| view! { <p class="mt-3 text-sm text-slate-500">"Loading experiments…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.is_empty() => view! { <p class="mt-3 text-sm text-slate-600">"No experiments on this prompt yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="mt-3 space-y-3">
                                {list.into_iter().map(|e| view! { <ExperimentCard e=e can_edit=can_edit on_done=on_done/> }).collect_view()}
                            </div>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="mt-3 text-sm text-rose-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
