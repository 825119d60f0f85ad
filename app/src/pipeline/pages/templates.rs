//! `/templates`: every template the worker may draft from (the workspace's and the built-ins),
//! filtered by content type, industry, purpose and status, in keyset pages by name.
use super::{type_label, BUTTON};
use crate::{
    domain::humanize,
    layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader},
    pipeline::{
        instructions::OUTPUT_TYPES,
        templates::{server_fns::load_templates, TemplateFilter, PURPOSES, STATUSES},
    },
};
use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
    params::ParamsMap,
};
use uuid::Uuid;

fn filter_of(q: &ParamsMap) -> TemplateFilter {
    let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
    TemplateFilter {
        output_type: get("type"),
        industry: get("industry"),
        purpose: get("purpose"),
        status: get("status"),
        after: q.get("after").and_then(|a| a.parse().ok()),
    }
}

fn href(f: &TemplateFilter, after: Option<Uuid>) -> String {
    super::list_href(
        "/templates",
        &[
            ("type", &f.output_type),
            ("industry", &f.industry),
            ("purpose", &f.purpose),
            ("status", &f.status),
        ],
        after,
    )
}

pub(crate) fn status_badge(status: &str) -> impl IntoView {
    let colour = match status {
        "active" => "bg-emerald-50 text-emerald-800 ring-emerald-200",
        "draft" => "bg-amber-50 text-amber-800 ring-amber-200",
        _ => "bg-slate-100 text-slate-700 ring-slate-200",
    };
    view! {
        <span class=format!("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colour}") data-testid="template-status">
            {humanize(status)}
        </span>
    }
}

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_of));
    let page = Resource::new(
        move || filter.get(),
        |f| load_templates(f.output_type, f.industry, f.purpose, f.status, f.after),
    );
    let select = move |name, label, any, options, current| {
        super::filter_select(filter, name, label, any, options, current)
    };
    let types = OUTPUT_TYPES
        .iter()
        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
        .collect();
    let purposes = PURPOSES
        .iter()
        .map(|p| ((*p).to_owned(), humanize(p)))
        .collect();
    let statuses = STATUSES
        .iter()
        .map(|s| ((*s).to_owned(), humanize(s)))
        .collect();
    view! {
        <PageHeader title="Templates" subtitle="The structures the AI drafts into, with their guidelines. Each save is a version you can roll back to.">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    page.await.ok().filter(|p| p.can_edit).map(|_| view! {
                        <A href="/templates/new" attr:class=BUTTON attr:data-testid="new-template">"New template"</A>
                    })
                })}
            </Transition>
        </PageHeader>
        <Form method="GET" action="" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:aria-label="Filter templates">
            {select("type", "Content type", "Any type", types, |f| f.output_type.clone())}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let industries: Vec<(String, String)> = page.await.map(|p| p.industries.into_iter().map(|i| (i.clone(), i)).collect()).unwrap_or_default();
                    select("industry", "Industry", "Any industry", industries, |f| f.industry.clone())
                })}
            </Transition>
            {select("purpose", "Purpose", "Any purpose", purposes, |f| f.purpose.clone())}
            {select("status", "Status", "Any status", statuses, |f| f.status.clone())}
            <button type="submit" class=BUTTON>"Filter"</button>
            <Show when=move || filter.with(|f| f.output_type.is_some() || f.industry.is_some() || f.purpose.is_some() || f.status.is_some())>
                <A href="/templates" attr:class="pb-2 text-sm font-medium text-slate-600 hover:underline">"Clear"</A>
            </Show>
        </Form>
        <Transition fallback=|| view! { <LoadingBlock label="Loading templates…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let current = filter.get_untracked();
                    page.await.map(|page| {
                        if page.rows.is_empty() {
                            return view! { <EmptyState title="No templates match" body="Try another type, industry, purpose or status, or clear the filters."/> }.into_any();
                        }
                        let next = page.next_after.map(|a| href(&current, Some(a)));
                        let first = current.after.is_some().then(|| href(&current, None));
                        view! {
                            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                                <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="templates-table">
                                    <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                                        <tr>
                                            <th scope="col" class="px-4 py-3">"Name"</th>
                                            <th scope="col" class="px-4 py-3">"Type"</th>
                                            <th scope="col" class="hidden px-4 py-3 md:table-cell">"Industry"</th>
                                            <th scope="col" class="hidden px-4 py-3 md:table-cell">"Purpose"</th>
                                            <th scope="col" class="px-4 py-3">"Status"</th>
                                            <th scope="col" class="hidden px-4 py-3 lg:table-cell">"Versions"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {page.rows.into_iter().map(|t| view! {
                                            <tr class="hover:bg-slate-50">
                                                <td class="px-4 py-3">
                                                    <A href=format!("/templates/{}", t.id) attr:class="font-medium text-indigo-700 hover:underline">{t.name.clone()}</A>
                                                    {t.builtin.then(|| view! { <span class="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">"Built-in"</span> })}
                                                </td>
                                                <td class="px-4 py-3">{type_label(&t.output_type)}</td>
                                                <td class="hidden px-4 py-3 text-slate-600 md:table-cell">{if t.industry.is_empty() { "Any".to_owned() } else { t.industry.clone() }}</td>
                                                <td class="hidden px-4 py-3 text-slate-600 md:table-cell">{humanize(&t.purpose)}</td>
                                                <td class="px-4 py-3">{status_badge(&t.status)}</td>
                                                <td class="hidden px-4 py-3 text-xs text-slate-500 lg:table-cell">
                                                    {t.active_version.map(|v| format!("v{v} live · ")).unwrap_or_default()}
                                                    {format!("{} saved · {}", t.latest_version, format_time(t.updated_at))}
                                                </td>
                                            </tr>
                                        }.into_any()).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="mt-4 flex justify-between text-sm" aria-label="Template pages">
                                <span>{first.map(|h| view! { <A href=h attr:class="font-medium text-indigo-700 hover:underline">"← First page"</A> })}</span>
                                <span>{next.map(|h| view! { <A href=h attr:class="font-medium text-indigo-700 hover:underline">"Next page →"</A> })}</span>
                            </nav>
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
