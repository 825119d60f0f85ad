//! `/prompts`: every prompt the AI runs with the version that serves it and its model, filtered
//! by model, provider and task, and searched by name and description.
use super::provider_pill;
use crate::{
    domain::humanize,
    layout::{error_fallback, EmptyState, LoadingBlock, PageHeader, BUTTON},
    models::{server_fns::load_prompts, PromptFilter},
};
use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
    params::ParamsMap,
};

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
    let page = Resource::new(
        move || filter.get(),
        |f| load_prompts(f.model, f.provider, f.task, f.q),
    );
    view! {
        <PageHeader title="Prompts" subtitle="What the AI is asked, on which model. Each save is a version; labels say which version serves."/>
        <Transition fallback=|| view! { <LoadingBlock label="Loading prompts…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let f = filter.get_untracked();
                    page.await.map(|p| {
                        let mut providers: Vec<String> = p.models.iter().map(|m| m.provider.clone()).collect();
                        providers.sort();
                        providers.dedup();
                        let models = p.models.iter().map(|m| (m.id.clone(), format!("{} ({})", m.display_name, m.id))).collect();
                        let providers = providers.into_iter().map(|p| (p.clone(), p)).collect();
                        let tasks = p.tasks.iter().map(|t| (t.clone(), humanize(t))).collect();
                        let filtered = f.model.is_some() || f.provider.is_some() || f.task.is_some() || f.q.is_some();
                        view! {
                            <Form method="GET" action="" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:aria-label="Filter prompts">
                                {picker("model", "Model", "Any model", models, f.model.clone())}
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
                                    <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                                        <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="prompts-table">
                                            <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                                                <tr>
                                                    <th scope="col" class="px-4 py-3">"Prompt"</th>
                                                    <th scope="col" class="px-4 py-3">"Task"</th>
                                                    <th scope="col" class="px-4 py-3">"Model"</th>
                                                    <th scope="col" class="px-4 py-3">"Version"</th>
                                                </tr>
                                            </thead>
                                            <tbody class="divide-y divide-slate-100">
                                                {p.rows.into_iter().map(|r| { let testid = format!("prompt-{}", r.name); view! {
                                                    <tr data-testid=testid>
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
                                }.into_any()
                            }}
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
