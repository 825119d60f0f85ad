//! The simulation panel: a rule's draft replayed against the newest evaluated drafts, with the
//! decisions that would change, agreement with reviewers and the queue's load per day.
use super::{INPUT, SECONDARY};
use crate::pipeline::rulebook::{
    server_fns::simulate_rules, Simulation, DEFAULT_SIMULATED, MAX_SIMULATED, OUTCOMES,
};
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

fn percent(part: u32, whole: u32) -> String {
    if whole == 0 {
        "–".to_owned()
    } else {
        format!("{:.0}%", 100.0 * f64::from(part) / f64::from(whole))
    }
}

#[component]
pub fn SimulationPanel(rule: RwSignal<Option<Uuid>>) -> impl IntoView {
    let limit = RwSignal::new(DEFAULT_SIMULATED.to_string());
    let run = Action::new(move |(id, n): &(Uuid, String)| {
        let (id, n) = (*id, n.trim().parse::<u32>().ok());
        async move { simulate_rules(id.to_string(), n).await }
    });
    let pending = run.pending();
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="simulation">
            <h2 class="text-base font-semibold text-slate-900">"What would this change?"</h2>
            <p class="mb-3 text-sm text-slate-500">"Replays the newest scored drafts, each on the context the rules saw, through the live rules and through the live rules with this rule's newest version."</p>
            {move || match rule.get() {
                None => view! { <p class="text-sm text-slate-500">"Save a version first: the simulation replays saved drafts of a rule."</p> }.into_any(),
                Some(id) => view! {
                    <form class="flex flex-wrap items-end gap-2" on:submit=move |ev| { ev.prevent_default(); run.dispatch((id, limit.get_untracked())); }>
                        <label class="flex flex-col text-xs font-medium text-slate-600">{format!("Drafts to replay (1 to {MAX_SIMULATED})")}
                            <input type="number" min="1" max=MAX_SIMULATED.to_string() class=INPUT prop:value=move || limit.get()
                                on:input=move |ev| limit.set(event_target_value(&ev)) data-testid="simulation-limit"/>
                        </label>
                        <button type="submit" class=SECONDARY disabled=move || pending.get() data-testid="simulate">
                            {move || if pending.get() { "Simulating…" } else { "Simulate" }}
                        </button>
                    </form>
                }.into_any(),
            }}
            {move || run.value().get().map(|r| match r {
                Ok(sim) => view! { <Outcome sim/> }.into_any(),
                Err(e) => view! { <p role="alert" class="mt-3 text-sm text-rose-700" data-testid="simulation-error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Outcome(sim: Simulation) -> impl IntoView {
    let a = sim.agreement.clone();
    let headline = if sim.total == 0 {
        "There are no scored drafts with a stored context to replay yet.".to_owned()
    } else {
        format!(
            "{} of {} decisions would change with {}.",
            sim.changed_count,
            sim.total,
            sim.drafts.join(", ")
        )
    };
    view! {
        <div class="mt-4 space-y-4 text-sm">
            <p class="font-medium text-slate-900" data-testid="simulation-headline">{headline}</p>
            <table class="text-center text-xs" data-testid="simulation-matrix">
                <caption class="mb-1 text-left text-slate-500">"Rows: the live rules' decision · columns: with the draft"</caption>
                <thead><tr><th></th>{OUTCOMES.iter().map(|o| view! { <th class="px-2 py-1 font-medium">{*o}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {OUTCOMES.iter().enumerate().map(|(i, o)| view! {
                        <tr>
                            <th class="px-2 py-1 text-left font-medium">{*o}</th>
                            {(0..5).map(|j| {
                                let n = sim.matrix[i][j];
                                let class = if n == 0 { "px-2 py-1 text-slate-300" } else if i == j { "px-2 py-1 bg-slate-50" } else { "px-2 py-1 bg-amber-50 font-semibold text-amber-900" };
                                view! { <td class=class>{n}</td> }
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p data-testid="simulation-agreement">
                {if a.settled == 0 { "No replayed draft was settled by a reviewer, so agreement cannot be measured.".to_owned() } else {
                    format!("Where a reviewer settled the draft ({}): the live rules did what they did {} of the time and left {} to a person; with the draft, {} and {}.",
                        a.settled, percent(a.live_agreed, a.settled), a.live_deferred, percent(a.draft_agreed, a.settled), a.draft_deferred)
                }}
            </p>
            <p data-testid="simulation-queue">
                {format!("Review and escalation queue: {:.1} drafts a day now, {:.1} with the draft (over {:.1} days of drafts).", sim.queue_per_day_live, sim.queue_per_day_draft, sim.days)}
            </p>
            {(!sim.changed.is_empty()).then(|| view! {
                <details open>
                    <summary class="cursor-pointer font-medium">{format!("Tasks whose decision changes ({} listed)", sim.changed.len())}</summary>
                    <ul class="mt-1 space-y-0.5" data-testid="simulation-changed">
                        {sim.changed.into_iter().map(|c| view! {
                            <li><A href=format!("/pipeline/tasks/{}", c.task_id) attr:class="text-indigo-700 hover:underline">{c.title}</A>
                                {format!(": {} → {}", c.from, c.to)}</li>
                        }).collect_view()}
                    </ul>
                </details>
            })}
            <p class="text-xs text-slate-500">{format!("Replayed in {} ms on the server.", sim.elapsed_ms)}</p>
        </div>
    }
}
