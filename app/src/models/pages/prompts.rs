//! `/prompts`: every prompt the AI runs with the version that serves it and its model, filtered
//! by model, provider and task, and searched by name and description, a page at a time. Admins
//! select prompts (on this page, or every one the filter matches) to move them to another model.
use super::{bulk::BulkBar, provider_pill};
use crate::{
    domain::humanize,
    layout::{error_fallback, EmptyState, LoadingBlock, PageHeader, BUTTON},
    models::{server_fns::load_prompts, ModelOption, PromptFilter, Selection},
};
use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
    params::ParamsMap,
};
use std::collections::BTreeSet;

fn page_of(q: &ParamsMap) -> u32 {
    q.get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// The listing's address for another page under the same filter.
fn page_href(f: &PromptFilter, page: usize) -> String {
    let mut parts = vec![format!("page={page}")];
    for (k, v) in [
        ("model", &f.model),
        ("provider", &f.provider),
        ("task", &f.task),
        ("q", &f.q),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}={}", crate::domain::urlencode(v)));
        }
    }
    format!("/prompts?{}", parts.join("&"))
}

fn filter_of(q: &ParamsMap) -> PromptFilter {
    let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
    PromptFilter {
        model: get("model"),
        provider: get("provider"),
        task: get("task"),
        q: get("q"),
    }
}

fn picker(
    name: &'static str,
    label: &'static str,
    any: &'static str,
    options: Vec<(String, String)>,
    current: Option<String>,
) -> impl IntoView {
    view! {
        <label class="flex flex-col text-xs font-medium text-slate-600">
            {label}
            <select name=name class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900" data-testid=format!("filter-{name}")>
                <option value="">{any}</option>
                {options.into_iter().map(|(v, l)| {
                    let selected = current.as_deref() == Some(v.as_str());
                    view! { <option value=v selected=selected>{l}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

#[component]
pub fn PromptsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_of));
    let page_no = Memo::new(move |_| query.with(page_of));
    let page = Resource::new(
        move || (filter.get(), page_no.get()),
        |(f, n)| load_prompts(f.model, f.provider, f.task, f.q, Some(n)),
    );
    // The selection: names ticked, or every prompt the filter matches.
    let ticked = RwSignal::new(BTreeSet::<String>::new());
    let all_matching = RwSignal::new(false);
    let total = RwSignal::new(0usize);
    let models = RwSignal::new(Vec::<ModelOption>::new());
    let can_edit = RwSignal::new(false);
    Effect::new(move |_| {
        filter.track();
        ticked.set(BTreeSet::new());
        all_matching.set(false);
    });
    let selection = Signal::derive(move || Selection {
        names: ticked.get().into_iter().collect(),
        all_matching: all_matching.get().then(|| filter.get()),
    });
    let count = Signal::derive(move || {
        if all_matching.get() {
            total.get()
        } else {
            ticked.with(BTreeSet::len)
        }
    });
    let on_done = Callback::new(move |()| {
        ticked.set(BTreeSet::new());
        all_matching.set(false);
        page.refetch();
    });
    view! {
        <PageHeader title="Prompts" subtitle="What the AI is asked, on which model. Each save is a version; labels say which version serves."/>
        {move || can_edit.get().then(|| view! {
            <p class="-mt-2 mb-4 text-sm">
                <A href="/models/plans" attr:class="font-medium text-indigo-700 hover:underline">"Legacy model migrations →"</A>
            </p>
            <BulkBar selection=selection count=count models=models.get() on_done=on_done/>
        })}
        <Transition fallback=|| view! { <LoadingBlock label="Loading prompts…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let f = filter.get_untracked();
                    page.await.map(|p| {
                        total.set(p.total);
                        // Set only on a change: the bulk bar (and its summary) is rebuilt when it changes.
                        if can_edit.get_untracked() != p.can_edit {
                            can_edit.set(p.can_edit);
                        }
                        if models.with_untracked(Vec::is_empty) {
                            models.set(p.models.clone());
                        }
                        let mut providers: Vec<String> = p.models.iter().map(|m| m.provider.clone()).collect();
                        providers.sort();
                        providers.dedup();
                        let model_choices = p.models.iter().map(|m| (m.id.clone(), format!("{} ({})", m.display_name, m.id))).collect();
                        let providers = providers.into_iter().map(|p| (p.clone(), p)).collect();
                        let tasks = p.tasks.iter().map(|t| (t.clone(), humanize(t))).collect();
                        let filtered = f.model.is_some() || f.provider.is_some() || f.task.is_some() || f.q.is_some();
                        let on_page: Vec<String> = p.rows.iter().map(|r| r.name.clone()).collect();
                        let page_all = {
                            let on_page = on_page.clone();
                            move || all_matching.get() || (!on_page.is_empty() && ticked.with(|t| on_page.iter().all(|n| t.contains(n))))
                        };
                        let toggle_page = {
                            let on_page = on_page.clone();
                            move |ev: leptos::ev::Event| {
                                all_matching.set(false);
                                let on = event_target_checked(&ev);
                                ticked.update(|t| for n in &on_page { if on { t.insert(n.clone()); } else { t.remove(n); } });
                            }
                        };
                        let (total_n, rows_n) = (p.total, p.rows.len());
                        let prev = (p.page > 1).then(|| page_href(&f, p.page - 1));
                        let next = (p.page < p.pages).then(|| page_href(&f, p.page + 1));
                        let pager = format!("Page {} of {} · {} prompts", p.page, p.pages, p.total);
                        let edit = p.can_edit;
                        view! {
                            <Form method="GET" action="" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:aria-label="Filter prompts">
                                {picker("model", "Model", "Any model", model_choices, f.model.clone())}
                                {picker("provider", "Provider", "Any provider", providers, f.provider.clone())}
                                {picker("task", "Task", "Any task", tasks, f.task.clone())}
                                <label class="flex flex-col text-xs font-medium text-slate-600">"Search"
                                    <input type="search" name="q" value=f.q.clone().unwrap_or_default() placeholder="Name or description"
                                        class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900"/>
                                </label>
                                <button type="submit" class=BUTTON data-testid="apply-filter">"Filter"</button>
                                {filtered.then(|| view! { <A href="/prompts" attr:class="pb-2 text-sm font-medium text-slate-600 hover:underline">"Clear"</A> })}
                            </Form>
                            {if p.rows.is_empty() {
                                view! { <EmptyState title="No prompts match" body="Try another model, provider or task, or clear the filters."/> }.into_any()
                            } else {
                                view! {
                                    {(edit && total_n > rows_n).then(|| view! {
                                        <p class="mb-2 text-sm text-slate-700" data-testid="select-all-matching">
                                            {move || if all_matching.get() {
                                                view! { {format!("All {total_n} matching prompts are selected. ")}
                                                    <button type="button" class="font-medium text-indigo-700 hover:underline" on:click=move |_| { all_matching.set(false); ticked.set(BTreeSet::new()); }>"Clear the selection"</button> }.into_any()
                                            } else {
                                                view! { <button type="button" class="font-medium text-indigo-700 hover:underline" on:click=move |_| all_matching.set(true)>
                                                    {format!("Select all {total_n} prompts that match")}</button> }.into_any()
                                            }}
                                        </p>
                                    })}
                                    <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                                        <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="prompts-table">
                                            <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                                                <tr>
                                                    {edit.then(|| view! {
                                                        <th scope="col" class="w-10 px-4 py-3">
                                                            <input type="checkbox" aria-label="Select every prompt on this page" data-testid="select-page"
                                                                prop:checked=page_all on:change=toggle_page/>
                                                        </th>
                                                    })}
                                                    <th scope="col" class="px-4 py-3">"Prompt"</th>
                                                    <th scope="col" class="px-4 py-3">"Task"</th>
                                                    <th scope="col" class="px-4 py-3">"Model"</th>
                                                    <th scope="col" class="px-4 py-3">"Version"</th>
                                                </tr>
                                            </thead>
                                            <tbody class="divide-y divide-slate-100">
                                                {p.rows.into_iter().map(|r| { let testid = format!("prompt-{}", r.name); let name = r.name.clone(); let name2 = r.name.clone(); view! {
                                                    <tr data-testid=testid>
                                                        {edit.then(|| view! {
                                                            <td class="px-4 py-3">
                                                                <input type="checkbox" aria-label=format!("Select {}", r.name) data-testid="select-prompt"
                                                                    prop:checked=move || all_matching.get() || ticked.with(|t| t.contains(&name))
                                                                    on:change=move |ev| {
                                                                        let on = event_target_checked(&ev);
                                                                        if all_matching.get_untracked() {
                                                                            // Leaving "all matching": keep this page's others ticked.
                                                                            all_matching.set(false);
                                                                        }
                                                                        ticked.update(|t| { if on { t.insert(name2.clone()); } else { t.remove(&name2); } });
                                                                    }/>
                                                            </td>
                                                        })}
                                                        <td class="px-4 py-3">
                                                            <A href=format!("/prompts/{}", r.name) attr:class="font-medium text-indigo-700 hover:underline">{r.name.clone()}</A>
                                                            <p class="text-xs text-slate-500">{r.description.clone()}</p>
                                                        </td>
                                                        <td class="px-4 py-3">{humanize(&r.task_kind)} <span class="block text-xs text-slate-500">{format!("{} tier", r.tier)}</span></td>
                                                        <td class="px-4 py-3" title=r.model.describe() data-testid="prompt-model">
                                                            {provider_pill(r.model.provider.clone())}
                                                            <span class="ml-2 font-mono text-xs">{r.model.id.clone()}</span>
                                                            {(r.model.status != "active").then(|| view! { <span class="ml-1 text-xs text-amber-700">{format!("({})", r.model.status)}</span> })}
                                                        </td>
                                                        <td class="px-4 py-3 text-xs text-slate-600">
                                                            {format!("v{} in production", r.version)}
                                                            {r.builtin.then_some(" (built-in)")}
                                                            {r.staging.map(|s| format!(" · v{s} staged"))}
                                                        </td>
                                                    </tr>
                                                }}).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                    <nav class="mt-4 flex items-center justify-between text-sm" aria-label="Prompt pages">
                                        <span>{prev.map(|h| view! { <A href=h attr:class="font-medium text-indigo-700 hover:underline">"← Previous page"</A> })}</span>
                                        <span class="text-slate-500" data-testid="prompts-pager">{pager}</span>
                                        <span>{next.map(|h| view! { <A href=h attr:class="font-medium text-indigo-700 hover:underline">"Next page →"</A> })}</span>
                                    </nav>
                                }.into_any()
                            }}
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
