//! `/settings/models`: a member's own fast/default/thinking models (among those the workspace
//! allows). `/models/workspace`: the workspace's models, allowed models, monthly budget, soft
//! limit and request rate (admins edit, with this month's use against the budget).
use super::dollars;
use crate::{
    layout::{error_fallback, FormErrors, LoadingBlock, PageHeader, BUTTON},
    models::{
        server_fns::{load_model_settings, save_my_models, save_workspace_models},
        settings::{ModelSettingsPage, MyModelsForm, TierChoice, WorkspaceModelsForm},
        tokens_label, ModelOption,
    },
};
use leptos::prelude::*;

const SELECT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900";
const FIELD: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 aria-[invalid=true]:border-rose-500";

/// Three dropdowns, one per tier; "" is "not set" (the next level decides).
fn tier_pickers(
    options: Vec<ModelOption>,
    values: [RwSignal<String>; 3],
    errors: FormErrors,
    unset: &'static str,
) -> impl IntoView {
    let tiers = [
        ("fast", "Fast tasks", "fast_model"),
        ("default", "Default tasks", "default_model"),
        ("thinking", "Thinking tasks", "thinking_model"),
    ];
    tiers
        .into_iter()
        .zip(values)
        .map(|((tier, label, field), value)| {
            let options = options.clone();
            // A model set earlier that is no longer offered (legacy, or no longer allowed) stays
            // selectable, so saving the form does not clear it unasked.
            let kept = value.get_untracked();
            let kept = (!kept.is_empty() && !options.iter().any(|m| m.id == kept)).then_some(kept);
            view! {
                <label class="block text-sm font-medium text-slate-700">{label}
                    <select class=SELECT data-testid=field aria-invalid=errors.invalid(field)
                        on:change=move |ev| value.set(event_target_value(&ev))>
                        <option value="" selected=move || value.with(String::is_empty)>{unset}</option>
                        {kept.map(|id| { let shown = id.clone(); let sel = id.clone(); view! {
                            <option value=id selected=move || value.get() == sel>{format!("{shown} (set earlier; no longer offered)")}</option>
                        }})}
                        {options.into_iter().map(|m| { let id = m.id.clone(); view! {
                            <option value=m.id.clone() selected=move || value.get() == id>
                                {format!("{} ({} tier, {})", m.id, m.tier, m.provider)}
                            </option>
                        }}).collect_view()}
                    </select>
                    <span class="block text-xs text-slate-500">{format!("The {tier} tier")}</span>
                    <span class="block text-xs text-rose-700">{errors.message(field)}</span>
                </label>
            }
        })
        .collect_view()
}

fn signals(c: &TierChoice) -> [RwSignal<String>; 3] {
    [
        RwSignal::new(c.fast.clone().unwrap_or_default()),
        RwSignal::new(c.default.clone().unwrap_or_default()),
        RwSignal::new(c.thinking.clone().unwrap_or_default()),
    ]
}

/// This month's use against the budget.
pub fn month_use(p: &ModelSettingsPage) -> impl IntoView {
    let share = p.budget_share();
    let over_soft = p.over_soft_limit();
    let u = p.usage.clone();
    let budget = p.workspace.monthly_budget_usd;
    let soft = p.workspace.soft_limit_usd;
    view! {
        <section aria-labelledby="use-title" class="rounded-xl border border-slate-200 bg-white p-4" data-testid="month-use">
            <h2 id="use-title" class="font-semibold text-slate-900">"This month"</h2>
            <p class="mt-1 text-sm text-slate-700">
                {format!("{} calls, {} tokens, {} cache hits · spent {}", u.calls, tokens_label(u.tokens), u.cache_hits, dollars(u.spent_usd))}
                {budget.map(|b| format!(" of a {} budget", dollars(b)))}
            </p>
            {share.map(|s| { let pct = (s * 100.0).min(100.0); let bar = if s >= 0.8 { "h-2 rounded-full bg-rose-500" } else { "h-2 rounded-full bg-indigo-500" }; view! {
                <div class="mt-2 h-2 w-full rounded-full bg-slate-100" role="progressbar" aria-label="Budget used"
                    aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")>
                    <div class=bar style=format!("width: {pct:.1}%")></div>
                </div>
                <p class="mt-1 text-xs text-slate-500">
                    {format!("{:.0}% used. From 80%, thinking and default tasks use the fast tier; from 100%, every task uses the free local model.", s * 100.0)}
                </p>
            }})}
            {over_soft.then(|| view! {
                <p role="alert" class="mt-2 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="soft-limit-alert">
                    {format!("Spending has passed the soft limit of {}.", soft.map(dollars).unwrap_or_default())}
                </p>
            })}
        </section>
    }
}

#[component]
fn MyModels(p: ModelSettingsPage) -> impl IntoView {
    let values = signals(&p.mine);
    let save = Action::new(|f: &MyModelsForm| save_my_models(f.clone()));
    let errors = FormErrors::new(Signal::derive(move || {
        save.value().get().and_then(Result::err)
    }));
    let version = RwSignal::new(p.my_version);
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let [f, d, t] = values;
        save.dispatch(MyModelsForm {
            fast_model: f.get_untracked(),
            default_model: d.get_untracked(),
            thinking_model: t.get_untracked(),
            version: version.get_untracked().to_string(),
        });
    };
    view! {
        <form on:submit=submit class="rounded-xl border border-slate-200 bg-white p-4" aria-labelledby="mine-title" data-testid="my-models">
            <h2 id="mine-title" class="font-semibold text-slate-900">"My models"</h2>
            <p class="mt-1 text-sm text-slate-600">"Your choice comes before the workspace's and the prompt's. Leave a tier unset to follow them."</p>
            <div class="mt-3 grid gap-3 md:grid-cols-3">
                {tier_pickers(p.allowed.clone(), values, errors, "Follow the workspace")}
            </div>
            <p role="alert" class="mt-2 text-sm text-rose-700">{errors.summary()}</p>
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <p role="status" class="mt-2 text-sm text-emerald-800" data-testid="my-models-saved">"Saved."</p> })}
            <button type="submit" class=format!("{BUTTON} mt-3") data-testid="save-my-models" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "Saving…" } else { "Save my models" }}
            </button>
        </form>
    }
}

#[component]
fn WorkspaceModels(p: ModelSettingsPage) -> impl IntoView {
    let w = p.workspace.clone();
    let values = signals(&w.models);
    let allowed = RwSignal::new(w.allowed.clone());
    let budget = RwSignal::new(
        w.monthly_budget_usd
            .map(|b| format!("{b:.2}"))
            .unwrap_or_default(),
    );
    let soft = RwSignal::new(
        w.soft_limit_usd
            .map(|b| format!("{b:.2}"))
            .unwrap_or_default(),
    );
    let rpm = RwSignal::new(w.requests_per_minute.to_string());
    let version = RwSignal::new(w.version);
    let save = Action::new(|f: &WorkspaceModelsForm| save_workspace_models(f.clone()));
    let errors = FormErrors::new(Signal::derive(move || {
        save.value().get().and_then(Result::err)
    }));
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let edit = p.can_edit_workspace;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let [f, d, t] = values;
        save.dispatch(WorkspaceModelsForm {
            fast_model: f.get_untracked(),
            default_model: d.get_untracked(),
            thinking_model: t.get_untracked(),
            allowed_models: allowed.get_untracked(),
            monthly_budget_usd: budget.get_untracked(),
            soft_limit_usd: soft.get_untracked(),
            requests_per_minute: rpm.get_untracked(),
            version: version.get_untracked().to_string(),
        });
    };
    let active: Vec<ModelOption> = p
        .models
        .iter()
        .filter(|m| m.status == "active")
        .cloned()
        .collect();
    let text = move |label: &'static str,
                     field: &'static str,
                     value: RwSignal<String>,
                     hint: &'static str| {
        view! {
            <label class="block text-sm font-medium text-slate-700">{label}
                <input type="text" inputmode="decimal" class=FIELD data-testid=field aria-invalid=errors.invalid(field)
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) disabled=!edit/>
                <span class="block text-xs text-slate-500">{hint}</span>
                <span class="block text-xs text-rose-700">{errors.message(field)}</span>
            </label>
        }
    };
    view! {
        <form on:submit=submit class="rounded-xl border border-slate-200 bg-white p-4" aria-labelledby="ws-title" data-testid="workspace-models">
            <h2 id="ws-title" class="font-semibold text-slate-900">"Workspace models"</h2>
            <p class="mt-1 text-sm text-slate-600">"The workspace's choice comes before each prompt's own model; a member's choice comes before it."</p>
            <fieldset disabled=!edit class="mt-3 grid gap-3 md:grid-cols-3">
                {tier_pickers(p.models.clone(), values, errors, "Follow each prompt")}
            </fieldset>
            <fieldset disabled=!edit class="mt-4">
                <legend class="text-sm font-medium text-slate-700">"Models members may choose"</legend>
                <p class="text-xs text-slate-500">"None ticked: every active model."</p>
                <div class="mt-1 grid gap-1 md:grid-cols-3">
                    {active.into_iter().map(|m| { let id = m.id.clone(); let id2 = m.id.clone(); view! {
                        <label class="flex items-center gap-2 text-sm">
                            <input type="checkbox" data-testid=format!("allow-{}", m.id)
                                prop:checked=move || allowed.with(|a| a.contains(&id))
                                on:change=move |ev| { let on = event_target_checked(&ev); allowed.update(|a| { a.retain(|x| x != &id2); if on { a.push(id2.clone()); } }); }/>
                            <span class="font-mono text-xs">{m.id.clone()}</span>
                        </label>
                    }}).collect_view()}
                </div>
                <span class="block text-xs text-rose-700">{errors.message("allowed_models")}</span>
            </fieldset>
            <div class="mt-4 grid gap-3 md:grid-cols-3">
                {text("Monthly budget (US$)", "monthly_budget_usd", budget, "Empty: no budget")}
                {text("Soft limit (US$)", "soft_limit_usd", soft, "An alert when spending passes it")}
                {text("AI requests a minute", "requests_per_minute", rpm, "Past it, requests wait a few seconds, then are refused")}
            </div>
            <p role="alert" class="mt-2 text-sm text-rose-700">{errors.summary()}</p>
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <p role="status" class="mt-2 text-sm text-emerald-800" data-testid="workspace-models-saved">"Saved."</p> })}
            {edit.then(|| view! {
                <button type="submit" class=format!("{BUTTON} mt-3") data-testid="save-workspace-models" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save workspace settings" }}
                </button>
            })}
        </form>
    }
}

#[component]
pub fn MyModelsPage() -> impl IntoView {
    let page = Resource::new(|| (), |()| load_model_settings());
    view! {
        <PageHeader title="My AI models" subtitle="Which model answers your fast, default and thinking tasks"/>
        <Transition fallback=|| view! { <LoadingBlock label="Loading your settings…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { page.await.map(|p| view! { <MyModels p=p/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
pub fn WorkspaceModelsPage() -> impl IntoView {
    let page = Resource::new(|| (), |()| load_model_settings());
    view! {
        <PageHeader title="Workspace models and budget" subtitle="The workspace's models, what members may choose, the monthly budget and the request rate"/>
        <Transition fallback=|| view! { <LoadingBlock label="Loading workspace settings…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { page.await.map(|p| view! {
                    <div class="space-y-4">
                        {month_use(&p)}
                        <WorkspaceModels p=p/>
                    </div>
                }) })}
            </ErrorBoundary>
        </Transition>
    }
}
