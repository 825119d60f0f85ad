//! `/models/plans`: legacy model migrations (admins). A plan maps legacy models to their
//! replacements; its dry run lists what it would change; apply and roll back are confirmed
//! first; the guard's state shows on each applied plan.
use super::status_pill;
use crate::{
    layout::{
        confirm_first, error_fallback, format_time, EmptyState, FormErrors, LoadingBlock,
        PageHeader, BUTTON, INPUT, SECONDARY,
    },
    models::{
        form::PlanForm,
        server_fns::{create_model_plan, load_model_plans, run_model_plan},
        ModelOption, PlanChange, PlanRow,
    },
};
use leptos::prelude::*;
use leptos_router::components::A;

fn target_label(c: &PlanChange) -> String {
    match c.target.as_str() {
        "prompt" => "Prompt".into(),
        "workspace_setting" => format!("Workspace setting ({} tier)", c.tier),
        _ => format!("Member setting ({} tier)", c.tier),
    }
}

fn changes_table(title: &'static str, changes: Vec<PlanChange>) -> impl IntoView {
    view! {
        <h3 class="mt-3 text-sm font-semibold text-slate-800">{title}</h3>
        {if changes.is_empty() {
            view! { <p class="mt-1 text-sm text-slate-600" data-testid="plan-no-changes">"Nothing uses these models."</p> }.into_any()
        } else {
            view! {
                <table class="mt-1 min-w-full divide-y divide-slate-200 text-sm" data-testid="plan-changes">
                    <thead class="text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                        <tr><th scope="col" class="px-3 py-2">"What"</th><th scope="col" class="px-3 py-2">"Which"</th><th scope="col" class="px-3 py-2">"From"</th><th scope="col" class="px-3 py-2">"To"</th></tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {changes.into_iter().map(|c| view! {
                            <tr data-testid="plan-change">
                                <td class="px-3 py-2">{target_label(&c)}</td>
                                <td class="px-3 py-2 font-medium">{c.label.clone()}</td>
                                <td class="px-3 py-2 font-mono text-xs">{c.from.clone()}</td>
                                <td class="px-3 py-2 font-mono text-xs">{c.to.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

#[component]
fn PlanCard(plan: PlanRow, on_done: Callback<()>) -> impl IntoView {
    let run = Action::new(move |(id, rollback): &(uuid::Uuid, bool)| {
        run_model_plan(Some(*id), Some(*rollback))
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = run.value().get() {
            on_done.run(());
        }
    });
    let id = plan.id;
    let status = plan.status.clone();
    let guard = format!(
        "Guard: the next {} calls on the new models; trips above {:.0}% errors{}{}.",
        plan.guard_calls,
        plan.guard_max_error_rate * 100.0,
        plan.guard_min_quality
            .map(|q| format!(" or below a mean quality of {q:.0}"))
            .unwrap_or_default(),
        if plan.guard_auto_rollback {
            ", and then rolls back"
        } else {
            ""
        }
    );
    let tripped = plan.guard_state.as_deref() == Some("tripped");
    let when = match (&plan.rolled_back_at, &plan.applied_at) {
        (Some(r), _) => format!("Rolled back {}", format_time(*r)),
        (None, Some(a)) => format!("Applied {}", format_time(*a)),
        _ => format!("Drafted {}", format_time(plan.created_at)),
    };
    let title = if status == "draft" {
        "Dry run: what applying would change now"
    } else {
        "What it changed"
    };
    view! {
        <article class="rounded-xl border border-slate-200 bg-white p-4" data-testid="plan" data-plan-status=status.clone()>
            <div class="flex flex-wrap items-start justify-between gap-2">
                <div>
                    <h2 class="font-semibold text-slate-900">{plan.name.clone()}</h2>
                    <p class="text-xs text-slate-500">{when}</p>
                </div>
                {status_pill(status.replace('_', " "))}
            </div>
            <ul class="mt-2 flex flex-wrap gap-2 text-xs" aria-label="Models it replaces">
                {plan.mapping.iter().map(|(f, t)| view! { <li class="rounded bg-slate-100 px-2 py-1 font-mono">{format!("{f} → {t}")}</li> }).collect_view()}
            </ul>
            <p class="mt-2 text-xs text-slate-600">{guard}</p>
            {plan.guard_note.clone().map(|n| view! {
                <p role=if tripped { "alert" } else { "status" } data-testid="plan-guard"
                    class=if tripped { "mt-2 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800" } else { "mt-2 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" }>
                    {n}
                </p>
            })}
            {(plan.guard_state.as_deref() == Some("watching")).then(|| view! { <p class="mt-2 text-sm text-slate-700" data-testid="plan-guard">"The guard is watching the new models' calls."</p> })}
            {changes_table(title, plan.changes)}
            <div class="mt-3 flex gap-2">
                {(status == "draft").then(|| view! {
                    <button type="button" class=BUTTON data-testid="plan-apply" disabled=move || run.pending().get()
                        on:click=move |ev| { confirm_first("Apply this plan? Every row listed changes now, with a backup to roll back from.")(ev.clone()); if !ev.default_prevented() { run.dispatch((id, false)); } }>
                        {move || if run.pending().get() { "Applying…" } else { "Apply" }}
                    </button>
                })}
                {(status == "applied").then(|| view! {
                    <button type="button" class=SECONDARY data-testid="plan-rollback" disabled=move || run.pending().get()
                        on:click=move |ev| { confirm_first("Roll this plan back? What it changed goes back, unless someone changed it since.")(ev.clone()); if !ev.default_prevented() { run.dispatch((id, true)); } }>
                        {move || if run.pending().get() { "Rolling back…" } else { "Roll back" }}
                    </button>
                })}
            </div>
            {move || run.value().get().map(|r| match r {
                Ok(m) => view! { <p role="status" class="mt-2 text-sm text-emerald-800" data-testid="plan-message">{m}</p> }.into_any(),
                Err(e) => view! { <p role="alert" class="mt-2 text-sm text-rose-700" data-testid="plan-message">{e.to_string()}</p> }.into_any(),
            })}
        </article>
    }
}

/// The new-plan form: each legacy or deprecated chat model with a replacement preset to its
/// tier's recommended model.
#[component]
fn NewPlan(models: Vec<ModelOption>, on_done: Callback<()>) -> impl IntoView {
    let legacy: Vec<ModelOption> = models
        .iter()
        .filter(|m| m.status != "active")
        .cloned()
        .collect();
    let active: Vec<ModelOption> = models
        .iter()
        .filter(|m| m.status == "active")
        .cloned()
        .collect();
    let name = RwSignal::new("Upgrade legacy models".to_owned());
    let picks: Vec<(String, RwSignal<String>)> = legacy
        .iter()
        .map(|m| {
            let preset = active
                .iter()
                .find(|a| a.tier == m.tier && a.recommended)
                .map(|a| a.id.clone())
                .unwrap_or_default();
            (m.id.clone(), RwSignal::new(preset))
        })
        .collect();
    let calls = RwSignal::new("50".to_owned());
    let max_error = RwSignal::new("20".to_owned());
    let min_quality = RwSignal::new(String::new());
    let auto = RwSignal::new(false);
    let save = Action::new(|form: &PlanForm| create_model_plan(form.clone()));
    let errors = FormErrors::new(Signal::derive(move || {
        save.value().get().and_then(Result::err)
    }));
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            on_done.run(());
        }
    });
    let submit = {
        let picks = picks.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            save.dispatch(PlanForm {
                name: name.get_untracked(),
                mapping: picks
                    .iter()
                    .map(|(f, t)| (f.clone(), t.get_untracked()))
                    .collect(),
                guard_calls: calls.get_untracked(),
                guard_max_error_pct: max_error.get_untracked(),
                guard_min_quality: min_quality.get_untracked(),
                guard_auto_rollback: auto.get_untracked(),
            });
        }
    };
    let field = |label: &'static str,
                 id: &'static str,
                 value: RwSignal<String>,
                 hint: &'static str| {
        view! {
            <label class="block text-sm font-medium text-slate-700" for=id>{label}
                <input id=id type="text" class=INPUT prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                    aria-invalid=errors.invalid(id) data-testid=id/>
                <span class="text-xs font-normal text-slate-500">{hint}</span>
                <span class="block text-xs text-rose-700">{errors.message(id)}</span>
            </label>
        }
    };
    view! {
        <form class="rounded-xl border border-slate-200 bg-white p-4" on:submit=submit aria-labelledby="new-plan-title" data-testid="new-plan">
            <h2 id="new-plan-title" class="font-semibold text-slate-900">"New migration plan"</h2>
            <p class="mt-1 text-sm text-slate-600">"Saving makes a draft: its dry run shows what it would change before anything does."</p>
            <div class="mt-3 grid gap-3 md:grid-cols-2">
                {field("Name", "name", name, "")}
            </div>
            <fieldset class="mt-3">
                <legend class="text-sm font-medium text-slate-700">"Replace"</legend>
                {if picks.is_empty() { Some(view! { <p class="text-sm text-slate-600">"No legacy or deprecated models in the catalog."</p> }) } else { None }}
                <div class="mt-1 grid gap-2 md:grid-cols-2">
                    {picks.iter().map(|(from, to)| { let to = *to; let from = from.clone(); let active = active.clone(); view! {
                        <label class="flex items-center gap-2 text-sm">
                            <span class="w-40 font-mono text-xs">{from.clone()}</span>"→"
                            <select class="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm" aria-label=format!("Replacement for {from}")
                                data-testid=format!("plan-map-{from}") on:change=move |ev| to.set(event_target_value(&ev))>
                                <option value="" selected=move || to.with(String::is_empty)>"(leave it)"</option>
                                {active.into_iter().map(|m| { let id = m.id.clone(); view! { <option value=m.id.clone() selected=move || to.get() == id>{m.id.clone()}</option> }}).collect_view()}
                            </select>
                        </label>
                    }}).collect_view()}
                </div>
                <span class="block text-xs text-rose-700">{errors.message("mapping")}</span>
            </fieldset>
            <div class="mt-3 grid gap-3 md:grid-cols-3">
                {field("Guard: calls to watch", "guard_calls", calls, "5 to 100000")}
                {field("Guard: highest error rate (%)", "guard_max_error_pct", max_error, "")}
                {field("Guard: lowest mean quality", "guard_min_quality", min_quality, "0 to 100; empty: not watched")}
            </div>
            <label class="mt-3 flex items-center gap-2 text-sm text-slate-700">
                <input type="checkbox" prop:checked=move || auto.get() on:change=move |ev| auto.set(event_target_checked(&ev)) data-testid="guard_auto_rollback"/>
                "Roll back automatically when the guard trips"
            </label>
            <p role="alert" class="mt-2 text-sm text-rose-700">{errors.summary()}</p>
            <button type="submit" class=format!("{BUTTON} mt-3") data-testid="plan-save" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "Saving…" } else { "Save draft plan" }}
            </button>
        </form>
    }
}

#[component]
pub fn PlansPage() -> impl IntoView {
    let page = Resource::new(|| (), |()| load_model_plans());
    let on_done = Callback::new(move |()| page.refetch());
    view! {
        <PageHeader title="Legacy model migrations" subtitle="Move every prompt and model setting off a legacy model in one step, watched by a guard, and roll it back from its backup."/>
        <p class="-mt-2 mb-4 text-sm"><A href="/models" attr:class="font-medium text-indigo-700 hover:underline">"← Model catalog"</A></p>
        <Transition fallback=|| view! { <LoadingBlock label="Loading plans…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    page.await.map(|p| view! {
                        <div class="space-y-4">
                            <NewPlan models=p.models.clone() on_done=on_done/>
                            {if p.plans.is_empty() {
                                view! { <EmptyState title="No plans yet" body="Save a plan above to see its dry run."/> }.into_any()
                            } else {
                                p.plans.into_iter().map(|plan| view! { <PlanCard plan=plan on_done=on_done/> }).collect_view().into_any()
                            }}
                        </div>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
