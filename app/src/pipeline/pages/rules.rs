//! `/rules`: the decision rules by category, in the order they run, with their switches, live
//! and draft versions and how often each matched over the last 30 days; and shadow mode.
use super::{BUTTON, SECONDARY};
use crate::{
    domain::humanize,
    layout::{confirm_first, error_fallback, format_time, LoadingBlock, PageHeader},
    pipeline::rulebook::{
        server_fns::{load_rules_page, load_shadow, SetRuleEnabled, ShadowRules},
        RuleRow, RulesPage as Page, ShadowPage,
    },
};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn RulesPage() -> impl IntoView {
    let bump = RwSignal::new(0u32);
    let page = Resource::new(move || bump.get(), |_| load_rules_page());
    let changed = Callback::new(move |()| bump.update(|b| *b += 1));
    view! {
        <PageHeader title="Decision rules" subtitle="What the AI does with each scored draft: the first matching rule of each category speaks, escalation before retry before approval">
            <div class="flex gap-2">
                <A href="/rules/bench" attr:class=SECONDARY>"Testing bench"</A>
                <A href="/rules/new" attr:class=BUTTON>"New rule"</A>
            </div>
        </PageHeader>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the rules…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { page.await.map(|p| view! { <RuleGroups p changed/> }) })}
            </ErrorBoundary>
        </Transition>
        <ShadowPanel bump/>
    }
}

#[component]
fn RuleGroups(p: Page, changed: Callback<()>) -> impl IntoView {
    let toggle = ServerAction::<SetRuleEnabled>::new();
    Effect::new(move |_| {
        if matches!(toggle.value().get(), Some(Ok(_))) {
            changed.run(());
        }
    });
    let error = move || {
        toggle
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let (can_edit, decided) = (p.can_edit, p.decided_30d);
    view! {
        <p class="mb-4 text-sm text-slate-600" data-testid="rules-summary">
            {format!("{decided} drafts decided in the last 30 days · {} saved test cases", p.test_cases)}
        </p>
        {move || error().map(|e| view! { <p role="alert" class="mb-3 text-sm text-rose-700">{e}</p> })}
        <div class="space-y-6">
            {p.groups.into_iter().map(|(category, rules)| view! {
                <section class="rounded-xl border border-slate-200 bg-white" data-testid=format!("rules-{category}")>
                    <h2 class="border-b border-slate-100 px-5 py-3 text-base font-semibold text-slate-900">{humanize(&category)}</h2>
                    {if rules.is_empty() {
                        view! { <p class="px-5 py-4 text-sm text-slate-500">"No rules in this category."</p> }.into_any()
                    } else {
                        view! {
                            <table class="w-full text-sm">
                                <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                                    <tr><th class="px-5 py-2">"Priority"</th><th class="px-2 py-2">"Rule"</th><th class="px-2 py-2">"Does"</th>
                                        <th class="px-2 py-2">"Version"</th><th class="px-2 py-2">"Matched (30 days)"</th><th class="px-5 py-2 text-right">"On"</th></tr>
                                </thead>
                                <tbody>{rules.into_iter().map(|r| view! { <Row r toggle can_edit decided/> }).collect_view()}</tbody>
                            </table>
                        }.into_any()
                    }}
                </section>
            }).collect_view()}
        </div>
    }
}

#[component]
fn Row(
    r: RuleRow,
    toggle: ServerAction<SetRuleEnabled>,
    can_edit: bool,
    decided: i64,
) -> impl IntoView {
    let version = match (r.live_version, r.latest_version) {
        (Some(l), n) if n > l => format!("v{l} live · v{n} draft"),
        (Some(l), _) => format!("v{l} live"),
        (None, n) => format!("v{n} draft, not live"),
    };
    let share = if decided > 0 {
        format!(
            "{} ({:.0}%)",
            r.matched_30d,
            100.0 * r.matched_30d as f64 / decided as f64
        )
    } else {
        r.matched_30d.to_string()
    };
    let RuleRow {
        id,
        name,
        description,
        priority,
        action,
        enabled,
        builtin,
        replaces,
        ..
    } = r;
    let (label, link) = (format!("{name} on"), name.clone());
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="rule-row" data-rule=name>
            <td class="px-5 py-2 tabular-nums text-slate-600">{priority}</td>
            <td class="px-2 py-2">
                <A href=format!("/rules/{id}") attr:class="font-medium text-indigo-700 hover:underline">{link}</A>
                {builtin.then(|| view! { <span class="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">"Built-in"</span> })}
                {replaces.map(|b| view! { <span class="ml-2 text-xs text-slate-500">{format!("(copy of built-in '{b}')")}</span> })}
                <p class="text-xs text-slate-500">{description}</p>
            </td>
            <td class="px-2 py-2">{humanize(&action)}</td>
            <td class="px-2 py-2 text-slate-600" data-testid="rule-version">{version}</td>
            <td class="px-2 py-2 tabular-nums" data-testid="rule-matches">{share}</td>
            <td class="px-5 py-2 text-right">
                <ActionForm action=toggle>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="enabled" value=(!enabled).to_string()/>
                    <button type="submit" role="switch" aria-checked=enabled.to_string() disabled=!can_edit
                        aria-label=label
                        class=if enabled { "rounded-full bg-emerald-600 px-3 py-0.5 text-xs font-medium text-white disabled:opacity-60" } else { "rounded-full bg-slate-200 px-3 py-0.5 text-xs font-medium text-slate-700 disabled:opacity-60" }>
                        {if enabled { "On" } else { "Off" }}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
fn ShadowPanel(bump: RwSignal<u32>) -> impl IntoView {
    let act = ServerAction::<ShadowRules>::new();
    let shadow = Resource::new(move || (bump.get(), act.version().get()), |_| load_shadow());
    let error = move || {
        act.value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <section class="mt-8 rounded-xl border border-slate-200 bg-white p-5" data-testid="shadow">
            <h2 class="text-base font-semibold text-slate-900">"Shadow mode"</h2>
            <p class="mb-3 text-sm text-slate-500">"Drafts decide beside the live rules on every new draft, without acting. Where they would decide otherwise, it is listed here. Promoting runs every test case first."</p>
            {move || error().map(|e| view! { <p role="alert" class="mb-3 text-sm text-rose-700" data-testid="shadow-error">{e}</p> })}
            <Transition fallback=|| view! { <LoadingBlock label="Loading shadow mode…"/> }>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { shadow.await.map(|s| view! { <Shadow s act/> }) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn Shadow(s: ShadowPage, act: ServerAction<ShadowRules>) -> impl IntoView {
    let Some(run) = s.shadow else {
        return view! {
            <p class="text-sm text-slate-600">
                {if s.drafts.is_empty() { "No shadow run. Save a new version of a rule to have a draft to shadow.".to_owned() }
                 else { format!("No shadow run. It would take: {}.", s.drafts.join(", ")) }}
            </p>
            {(s.can_edit && !s.drafts.is_empty()).then(|| view! {
                <ActionForm action=act attr:class="mt-3">
                    <input type="hidden" name="what" value="start"/>
                    <button type="submit" class=SECONDARY data-testid="shadow-start">"Start shadowing the drafts"</button>
                </ActionForm>
            })}
        }
        .into_any();
    };
    let (promote_id, stop_id) = (run.id.to_string(), run.id.to_string());
    view! {
        <p class="text-sm text-slate-700" data-testid="shadow-status">
            {format!("Shadowing {} since {}{}: {} drafts decided, {} disagreements.",
                run.drafts.join(", "), format_time(run.started_at),
                run.started_by.map(|b| format!(" (started by {b})")).unwrap_or_default(), run.evaluated, run.disagreed)}
        </p>
        {if s.disagreements.is_empty() {
            view! { <p class="mt-2 text-sm text-slate-500">"No disagreements yet."</p> }.into_any()
        } else {
            view! {
                <table class="mt-3 w-full text-sm" data-testid="shadow-disagreements">
                    <thead class="text-left text-xs uppercase tracking-wide text-slate-500"><tr><th class="py-1">"Task"</th><th>"Live"</th><th>"Shadow"</th><th>"When"</th></tr></thead>
                    <tbody>{s.disagreements.into_iter().map(|d| view! {
                        <tr class="border-t border-slate-100">
                            <td class="py-1"><A href=format!("/pipeline/tasks/{}", d.task_id) attr:class="text-indigo-700 hover:underline">{d.title}</A></td>
                            <td>{format!("{}{}", d.live, d.live_rule.map(|r| format!(" ({r})")).unwrap_or_default())}</td>
                            <td>{format!("{}{}", d.shadow, d.shadow_rule.map(|r| format!(" ({r})")).unwrap_or_default())}</td>
                            <td class="text-slate-500">{format_time(d.at)}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
        {s.can_edit.then(|| view! {
            <div class="mt-4 flex flex-wrap items-end gap-3">
                <ActionForm action=act attr:class="flex flex-wrap items-end gap-2">
                    <input type="hidden" name="what" value="promote"/>
                    <input type="hidden" name="id" value=promote_id/>
                    {s.can_override.then(|| view! {
                        <label class="flex flex-col text-xs font-medium text-slate-600">"Override reason (only if test cases fail)"
                            <input type="text" name="override_reason" maxlength="500" class="mt-1 rounded-md border border-slate-300 px-2 py-1 text-sm"/>
                        </label>
                    })}
                    <button type="submit" class=BUTTON data-testid="shadow-promote">"Promote: make the drafts live"</button>
                </ActionForm>
                <ActionForm action=act>
                    <input type="hidden" name="what" value="stop"/>
                    <input type="hidden" name="id" value=stop_id/>
                    <button type="submit" class=SECONDARY data-testid="shadow-stop" on:click=confirm_first("Stop the shadow run? Its disagreements stay, and no rule changes.")>"Stop"</button>
                </ActionForm>
            </div>
        })}
    }
    .into_any()
}
