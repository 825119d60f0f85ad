//! `/rules/new` and `/rules/:id?version=N`: the rule editor (every save a new version, which
//! runs every test case), the condition in words beside it, the variables it may read, the
//! history with activation (blocked by failing test cases) and rollback, and diffs.
use super::{rule_sim::SimulationPanel, VersionDiff, BUTTON, INPUT, SECONDARY};
use crate::{
    domain::humanize,
    layout::{error_fallback, format_time, FormErrors, LoadingBlock},
    pipeline::{
        rulebook::{
            form::{action_text_label, parse_condition, RuleForm, ACTIONS},
            server_fns::{compare_rule_versions, get_rule, ActivateRule, SaveRule},
            CaseResult, RuleDetail,
        },
        rules::{explain, sample_context, RuleCategory},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use uuid::Uuid;

#[component]
pub fn NewRulePage() -> impl IntoView {
    let detail = Resource::new(|| (), |_| get_rule(None, None));
    view! {
        <Transition fallback=|| view! { <LoadingBlock label="Loading the editor…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { detail.await.map(|d| view! { <RuleView d on_change=Callback::new(|()| {})/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
pub fn RulePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<Uuid>().ok())));
    let version =
        Memo::new(move |_| query.with(|q| q.get("version").and_then(|v| v.parse::<i32>().ok())));
    let bump = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id.get(), version.get(), bump.get()),
        |(id, version, _)| async move {
            match id {
                Some(id) => get_rule(Some(id), version).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <LoadingBlock label="Loading the rule…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    detail.await.map(|d| view! { <RuleView d on_change=Callback::new(move |()| bump.update(|b| *b += 1))/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn RuleView(d: RuleDetail, on_change: Callback<()>) -> impl IntoView {
    let shown = d.shown.clone();
    let form = RuleForm::of(d.id, d.latest_version, &shown);
    // The rule the simulation replays: this one, or the one a save just wrote (a built-in's
    // copy, a new rule).
    let sim_rule = RwSignal::new(d.id.filter(|_| !d.builtin));
    let title = if d.id.is_none() {
        "New rule".to_owned()
    } else {
        shown.name.clone()
    };
    view! {
        <Title text=title.clone()/>
        <nav class="mb-2 text-sm"><A href="/rules" attr:class="text-indigo-700 hover:underline">"← Rules"</A></nav>
        <header class="mb-6">
            <h1 class="text-2xl font-semibold tracking-tight text-slate-900" data-testid="rule-name">{title}</h1>
            {d.id.map(|_| view! {
                <p class="mt-1 text-sm text-slate-600" data-testid="rule-status">
                    {format!("Version {} of {}", shown.version, d.latest_version)}
                    {d.live_version.map(|v| format!(" · v{v} is live")).unwrap_or_else(|| " · no version is live".into())}
                    {(!d.enabled).then_some(" · switched off")}
                </p>
            })}
        </header>
        {d.builtin.then(|| view! {
            <p class="mb-4 rounded-lg border border-indigo-200 bg-indigo-50 px-4 py-3 text-sm text-indigo-900">
                "Built-in rules are shared by every workspace. Saving a change makes this workspace's own copy, a draft; once you make it live it replaces the built-in here."
            </p>
        })}
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                <RuleEditor form builtin=d.builtin can_edit=d.can_edit variables=d.variables.clone() sim_rule on_change/>
                <SimulationPanel rule=sim_rule/>
            </div>
            <div class="space-y-6">
                {d.id.map(|_| view! { <Versions d=d.clone() on_change/> })}
                {d.id.filter(|_| d.latest_version > 1).map(|id| view! { <VersionDiff latest=d.latest_version fetch=move |f, t| async move { compare_rule_versions(id, f, t).await.map(|d| d.lines.into_iter().map(|l| (l.tag, l.text)).collect()) }/> })}
            </div>
        </div>
    }
}

/// The condition as typed: where its JSON breaks, or what it says in words on the sample context.
fn condition_in_words(text: &str) -> Result<String, String> {
    parse_condition(text).map(|v| explain(&v, &sample_context()))
}

#[component]
fn RuleEditor(
    form: RuleForm,
    builtin: bool,
    can_edit: bool,
    variables: Vec<(String, String)>,
    sim_rule: RwSignal<Option<Uuid>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let save = ServerAction::<SaveRule>::new();
    let errors = FormErrors::of(save);
    let pending = save.pending();
    let label = "block text-sm font-medium text-slate-700";
    let error_line = move |field: &'static str| view! { <p class="mt-1 text-sm text-rose-600" data-testid=format!("error-{field}")>{errors.message(field)}</p> };
    let f = form;
    let condition = RwSignal::new(f.condition.clone());
    let action = RwSignal::new(f.action.clone());
    let (category, new) = (f.category.clone(), f.id.is_empty());
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            sim_rule.set(Some(saved.id));
        }
    });
    view! {
        <ActionForm action=save attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-6" attr:aria-label="Rule" attr:novalidate=true>
            <input type="hidden" name="form[id]" value=f.id.clone()/>
            <input type="hidden" name="form[base_version]" value=f.base_version.clone()/>
            <fieldset disabled=!can_edit class="space-y-4">
                <div class="grid gap-4 md:grid-cols-3">
                    <div class="md:col-span-2">
                        <label for="rule-name" class=label>"Name"</label>
                        <input id="rule-name" name="form[name]" type="text" maxlength="120" class=INPUT value=f.name.clone() aria-invalid=errors.invalid("name")/>
                        {error_line("name")}
                    </div>
                    <div>
                        <label for="rule-priority" class=label>"Priority (lower runs first)"</label>
                        <input id="rule-priority" name="form[priority]" type="number" min="0" max="100000" class=INPUT value=f.priority.clone() aria-invalid=errors.invalid("priority")/>
                        {error_line("priority")}
                    </div>
                    <div>
                        <label for="rule-category" class=label>"Category"</label>
                        <select id="rule-category" name="form[category]" class=INPUT aria-invalid=errors.invalid("category")>
                            {RuleCategory::ALL.iter().map(|c| view! { <option value=c.as_str() selected=c.as_str() == category>{humanize(c.as_str())}</option> }).collect_view()}
                        </select>
                        {error_line("category")}
                    </div>
                    <div>
                        <label for="rule-action" class=label>"When it matches"</label>
                        <select id="rule-action" name="form[action]" class=INPUT aria-invalid=errors.invalid("action")
                            on:change=move |ev| action.set(event_target_value(&ev))>
                            {ACTIONS.iter().map(|a| view! { <option value=*a selected=move || action.get() == *a>{humanize(a)}</option> }).collect_view()}
                        </select>
                        {error_line("action")}
                    </div>
                    <div class="md:col-span-3" class:hidden=move || action_text_label(&action.get()).is_none()>
                        <label for="rule-action-text" class=label>{move || action_text_label(&action.get()).unwrap_or("")}</label>
                        <input id="rule-action-text" name="form[action_text]" type="text" maxlength="1000" class=INPUT value=f.action_text.clone() aria-invalid=errors.invalid("action_text")/>
                        {error_line("action_text")}
                    </div>
                    <div class="md:col-span-3">
                        <label for="rule-description" class=label>"Description"</label>
                        <input id="rule-description" name="form[description]" type="text" maxlength="1000" class=INPUT value=f.description.clone()/>
                        {error_line("description")}
                    </div>
                </div>
                <div>
                    <label for="rule-condition" class=label>"Condition (JSON Logic)"</label>
                    <textarea id="rule-condition" name="form[condition]" rows="8" spellcheck="false" class=format!("{INPUT} font-mono")
                        aria-invalid=move || (errors.invalid("condition")() == "true" || condition_in_words(&condition.get()).is_err()).to_string()
                        aria-describedby="rule-condition-words"
                        on:input=move |ev| condition.set(event_target_value(&ev))>{f.condition.clone()}</textarea>
                    <div id="rule-condition-words" class="mt-1 text-sm" data-testid="condition-words">
                        {move || match condition_in_words(&condition.get()) {
                            Ok(words) => view! { <p class="text-slate-700"><span class="font-medium">"In words, on the sample: "</span>{words}</p> }.into_any(),
                            Err(e) => view! { <p class="text-rose-600">{e}</p> }.into_any(),
                        }}
                    </div>
                    {error_line("condition")}
                    <details class="mt-2 text-xs text-slate-600">
                        <summary class="cursor-pointer">"Variables a condition may read, with sample values"</summary>
                        <table class="mt-1 w-full" data-testid="rule-variables">
                            {variables.into_iter().map(|(p, v)| view! { <tr><td class="pr-4 font-mono">{p}</td><td class="font-mono text-slate-500">{v}</td></tr> }).collect_view()}
                        </table>
                    </details>
                </div>
                <div>
                    <label for="rule-note" class=label>"What changed in this version"</label>
                    <input id="rule-note" name="form[note]" type="text" maxlength="300" class=INPUT placeholder="Raise the bar to 80"/>
                    {error_line("note")}
                </div>
            </fieldset>
            <Show when=move || errors.summary()().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="form-errors">{errors.summary()}</p>
            </Show>
            {can_edit.then(|| view! {
                <button type="submit" class=BUTTON disabled=move || pending.get() data-testid="save-rule">
                    {move || if pending.get() { "Saving…" } else if builtin { "Save as this workspace's copy" } else if new { "Create rule" } else { "Save as new version" }}
                </button>
            })}
            {(!can_edit).then(|| view! { <p class="text-sm text-slate-500">"Managers and admins can change rules."</p> })}
            {move || save.value().get().and_then(Result::ok).map(|s| view! { <Saved id=s.id version=s.version cases=s.cases on_change/> })}
        </ActionForm>
    }
}

/// What a save wrote, and every test case's result with it.
#[component]
fn Saved(id: Uuid, version: i32, cases: Vec<CaseResult>, on_change: Callback<()>) -> impl IntoView {
    let failing = cases.iter().filter(|c| !c.passed).count();
    let headline = match (cases.len(), failing) {
        (0, _) => format!("Saved as v{version}, a draft. There are no test cases yet: add some on the testing bench."),
        (n, 0) => format!("Saved as v{version}, a draft. All {n} test cases pass with it."),
        (n, f) => format!("Saved as v{version}, a draft. {f} of {n} test cases fail with it: it cannot be made live until they pass."),
    };
    view! {
        <div class="rounded-lg border border-slate-200 bg-slate-50 p-4 text-sm" role="status" data-testid="save-result">
            <p class="font-medium text-slate-900">{headline}</p>
            <ul class="mt-2 space-y-1">
                {cases.into_iter().map(|c| view! {
                    <li class=if c.passed { "text-emerald-800" } else { "text-rose-700" } data-testid="case-result">
                        {if c.passed { "✓ " } else { "✗ " }}{format!("{}: expects {}, gets {}", c.name, c.expected, c.got)}
                    </li>
                }).collect_view()}
            </ul>
            <p class="mt-2"><A href=format!("/rules/{id}?version={version}") attr:class="text-indigo-700 hover:underline" on:click=move |_| on_change.run(())>{format!("Open v{version} and its history")}</A></p>
        </div>
    }
}

#[component]
fn Versions(d: RuleDetail, on_change: Callback<()>) -> impl IntoView {
    let activate = ServerAction::<ActivateRule>::new();
    Effect::new(move |_| {
        if matches!(activate.value().get(), Some(Ok(_))) {
            on_change.run(());
        }
    });
    let error = move || {
        activate
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let blocked = move || error().is_some_and(|e| e.starts_with("Activation blocked"));
    let (live, shown, editable, can_override) = (
        d.live_version,
        d.shown.version,
        d.can_edit && !d.builtin,
        d.can_override,
    );
    let Some(id) = d.id else { return ().into_any() };
    // The version the last activation asked for, for the override form.
    let asked = RwSignal::new(shown);
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="versions">
            <h2 class="mb-3 text-base font-semibold text-slate-900">"Versions"</h2>
            <ol class="space-y-2 text-sm">
                {d.versions.into_iter().map(|v| {
                    let is_live = live == Some(v.version);
                    let n = v.version;
                    view! {
                        <li class="flex flex-wrap items-center justify-between gap-2 rounded-md px-2 py-1" class=("bg-slate-50", n == shown) data-testid="version">
                            <div class="min-w-0">
                                <A href=format!("/rules/{id}?version={n}") attr:class="font-medium text-indigo-700 hover:underline">{format!("v{n}")}</A>
                                {is_live.then(|| view! { <span class="ml-2 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800">"Live"</span> })}
                                <p class="text-xs text-slate-500">{v.note.clone()} " · " {v.author.clone().unwrap_or_else(|| "SmartCRM".into())} " · " {format_time(v.created_at)}</p>
                            </div>
                            {(editable && !is_live).then(|| view! {
                                <ActionForm action=activate on:submit=move |_| asked.set(n)>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <input type="hidden" name="version" value=n.to_string()/>
                                    <button type="submit" class="text-xs font-medium text-indigo-700 hover:underline" data-testid=format!("activate-v{n}")>
                                        {if live.is_some_and(|l| n < l) { "Roll back to this" } else { "Make live" }}
                                    </button>
                                </ActionForm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
            {move || error().map(|e| view! { <p role="alert" class="mt-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="activation-error">{e}</p> })}
            {move || (blocked() && can_override).then(|| view! {
                <ActionForm action=activate attr:class="mt-3 space-y-2" attr:aria-label="Activate over failing test cases">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="version" value=asked.get().to_string()/>
                    <label class="block text-xs font-medium text-slate-700">"Reason for activating anyway (audited)"
                        <input type="text" name="override_reason" required maxlength="500" class=INPUT data-testid="override-reason"/>
                    </label>
                    <button type="submit" class=SECONDARY data-testid="override">{move || format!("Make v{} live anyway", asked.get())}</button>
                </ActionForm>
            })}
        </section>
    }
    .into_any()
}
