//! `/rules/bench`: the rule-testing bench. A context from a real task's scored draft or the
//! sample, edited as JSON; the live rules or the live rules with drafts in them; the decision,
//! every rule's part with the values it saw, and the trace in words. Contexts are kept as
//! test cases, which run on every save of a rule and gate activation.
use super::{BUTTON, INPUT, SECONDARY};
use crate::{
    layout::{confirm_first, error_fallback, LoadingBlock, PageHeader},
    pipeline::rulebook::{
        server_fns::{
            bench_start, bench_task_context, run_rule_bench, BenchSetup, DeleteRuleTestCase,
            SaveRuleTestCase,
        },
        BenchRun, OUTCOMES,
    },
};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn RuleBenchPage() -> impl IntoView {
    let save_case = ServerAction::<SaveRuleTestCase>::new();
    let delete_case = ServerAction::<DeleteRuleTestCase>::new();
    let setup = Resource::new(
        move || (save_case.version().get(), delete_case.version().get()),
        |_| bench_start(),
    );
    view! {
        <PageHeader title="Rule testing bench" subtitle="Run the rules on a context and see every step; keep contexts as test cases that every rule change must pass">
            <A href="/rules" attr:class=SECONDARY>"← Rules"</A>
        </PageHeader>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the bench…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { setup.await.map(|s| view! { <Bench s save_case delete_case/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Bench(
    s: BenchSetup,
    save_case: ServerAction<SaveRuleTestCase>,
    delete_case: ServerAction<DeleteRuleTestCase>,
) -> impl IntoView {
    let context = RwSignal::new(s.sample.clone());
    let with = RwSignal::new("live".to_owned());
    let sample = s.sample.clone();
    let load = Action::new(move |task: &String| {
        let task = task.clone();
        async move {
            match task.parse() {
                Ok(id) => bench_task_context(id).await.map(Some),
                Err(_) => Ok(None),
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(found)) = load.value().get() {
            context.set(found.unwrap_or_else(|| sample.clone()));
        }
    });
    let run = Action::new(move |(c, w): &(String, String)| {
        let (c, w) = (c.clone(), w.clone());
        async move { run_rule_bench(c, w).await }
    });
    let pending = run.pending();
    let case_error = move || {
        save_case
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let expected = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(r)) = run.value().get() {
            expected.set(r.outcome.clone());
        }
    });
    view! {
        <div class="grid gap-6 lg:grid-cols-2">
            <section class="space-y-4 rounded-xl border border-slate-200 bg-white p-5">
                <div class="grid gap-3 sm:grid-cols-2">
                    <label class="flex flex-col text-xs font-medium text-slate-600">"Start from"
                        <select class=INPUT data-testid="bench-task" on:change=move |ev| { load.dispatch(event_target_value(&ev)); }>
                            <option value="">"The sample context"</option>
                            {s.tasks.into_iter().map(|(id, title)| view! { <option value=id.to_string()>{format!("Task: {title}")}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="flex flex-col text-xs font-medium text-slate-600">"Rules"
                        <select class=INPUT data-testid="bench-with" on:change=move |ev| with.set(event_target_value(&ev))>
                            <option value="live">"The live rules"</option>
                            {(!s.drafts.is_empty()).then(|| view! { <option value="drafts">"The live rules with every draft"</option> })}
                            {s.drafts.into_iter().map(|(id, label)| view! { <option value=id.to_string()>{format!("The live rules with {label}")}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                {move || load.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="text-sm text-rose-700">{e.to_string()}</p> })}
                <label class="block text-sm font-medium text-slate-700">"Context (JSON)"
                    <textarea rows="18" spellcheck="false" class=format!("{INPUT} font-mono text-xs") data-testid="bench-context"
                        prop:value=move || context.get() on:input=move |ev| context.set(event_target_value(&ev))></textarea>
                </label>
                <button type="button" class=BUTTON disabled=move || pending.get() data-testid="bench-run"
                    on:click=move |_| { run.dispatch((context.get_untracked(), with.get_untracked())); }>
                    {move || if pending.get() { "Running…" } else { "Run the rules" }}
                </button>
                <ActionForm action=save_case attr:class="space-y-2 border-t border-slate-100 pt-4" attr:aria-label="Save as a test case">
                    <h2 class="text-sm font-semibold text-slate-900">"Save this context as a test case"</h2>
                    <input type="hidden" name="context" prop:value=move || context.get()/>
                    <div class="flex flex-wrap items-end gap-2">
                        <label class="flex flex-1 flex-col text-xs font-medium text-slate-600">"Name"
                            <input type="text" name="name" required maxlength="120" class=INPUT data-testid="case-name" placeholder="A 78 passes the gate"/>
                        </label>
                        <label class="flex flex-col text-xs font-medium text-slate-600">"Expected decision"
                            <select name="expected" class=INPUT data-testid="case-expected">
                                {OUTCOMES.iter().map(|o| view! { <option value=*o selected=move || expected.get() == *o>{*o}</option> }).collect_view()}
                            </select>
                        </label>
                        <button type="submit" class=SECONDARY data-testid="case-save">"Save test case"</button>
                    </div>
                    {move || case_error().map(|e| view! { <p role="alert" class="text-sm text-rose-700" data-testid="case-error">{e}</p> })}
                </ActionForm>
            </section>
            <div class="space-y-6">
                <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="bench-result">
                    <h2 class="mb-2 text-base font-semibold text-slate-900">"Result"</h2>
                    {move || match run.value().get() {
                        None => view! { <p class="text-sm text-slate-500">"Run the rules to see the decision and every step."</p> }.into_any(),
                        Some(Err(e)) => view! { <p role="alert" class="text-sm text-rose-700">{e.to_string()}</p> }.into_any(),
                        Some(Ok(r)) => view! { <RunView r/> }.into_any(),
                    }}
                </section>
                <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="test-cases">
                    <h2 class="mb-2 text-base font-semibold text-slate-900">"Test cases (against the live rules)"</h2>
                    {if s.cases.is_empty() {
                        view! { <p class="text-sm text-slate-500">"No test cases yet. Save a context with the decision it must get; every rule change then runs it."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="divide-y divide-slate-100 text-sm">
                                {s.cases.into_iter().map(|(c, r)| {
                                    let text = c.context.clone();
                                    view! {
                                        <li class="flex items-center justify-between gap-2 py-2" data-testid="test-case">
                                            <div>
                                                <span class=if r.passed { "text-emerald-700" } else { "text-rose-700" }>{if r.passed { "✓ " } else { "✗ " }}</span>
                                                <span class="font-medium">{c.name.clone()}</span>
                                                <span class="text-slate-500">{format!(" · expects {}, gets {}", c.expected, r.got)}</span>
                                            </div>
                                            <div class="flex gap-3">
                                                <button type="button" class="text-xs text-indigo-700 hover:underline" on:click=move |_| context.set(text.clone())>"Load"</button>
                                                <ActionForm action=delete_case>
                                                    <input type="hidden" name="id" value=c.id.to_string()/>
                                                    <button type="submit" class="text-xs text-rose-700 hover:underline" on:click=confirm_first("Delete this test case?")>"Delete"</button>
                                                </ActionForm>
                                            </div>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>
            </div>
        </div>
    }
}

#[component]
fn RunView(r: BenchRun) -> impl IntoView {
    view! {
        <p class="text-lg font-semibold text-slate-900" data-testid="bench-outcome">{format!("Decision: {}", r.outcome)}</p>
        <p class="text-sm text-slate-700">{r.summary.clone()}</p>
        {(!r.drafts.is_empty()).then(|| view! { <p class="mt-1 text-xs text-amber-800">{format!("With drafts: {}", r.drafts.join(", "))}</p> })}
        <table class="mt-3 w-full text-xs" data-testid="bench-trace">
            <thead class="text-left uppercase tracking-wide text-slate-500"><tr><th class="py-1">"Rule"</th><th>"Category"</th><th>"Outcome"</th><th>"Values seen"</th></tr></thead>
            <tbody>
                {r.trace.iter().map(|t| view! {
                    <tr class="border-t border-slate-100 align-top">
                        <td class="py-1">{format!("{} v{}", t.rule, t.version)}{t.draft.then_some(" (draft)")}</td>
                        <td>{t.category.clone()}</td>
                        <td class=if t.outcome == "matched" { "font-semibold text-emerald-700" } else if t.outcome == "error" { "text-rose-700" } else { "text-slate-600" }>{t.outcome.clone()}</td>
                        <td class="font-mono">{t.values.iter().map(|(p, v)| format!("{p} = {v}")).collect::<Vec<_>>().join(", ")}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <ol class="mt-3 list-decimal space-y-0.5 pl-5 text-sm text-slate-700" data-testid="bench-words">
            {r.trace.into_iter().map(|t| view! { <li>{t.sentence}</li> }).collect_view()}
        </ol>
    }
}
