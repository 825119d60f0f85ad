//! The audit log page, newest first, one keyset page at a time.
use super::server_fns::list_audit;
use crate::layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

/// The fields one change touched, folded away until asked for.
#[component]
fn Changes(changes: Vec<super::AuditChange>) -> impl IntoView {
    let n = changes.len();
    view! {
        <details class="mt-1 text-xs">
            <summary class="cursor-pointer text-indigo-700">{format!("{n} field{} changed", if n == 1 { "" } else { "s" })}</summary>
            <dl class="mt-1 space-y-1">
                {changes.into_iter().map(|c| view! {
                    <div>
                        <dt class="font-medium text-slate-700">{c.field}</dt>
                        <dd class="text-slate-600">
                            <del class="bg-rose-50 text-rose-800">{if c.from.is_empty() { "(empty)".to_owned() } else { c.from }}</del>
                            " → "
                            <ins class="bg-emerald-50 text-emerald-800 no-underline">{if c.to.is_empty() { "(empty)".to_owned() } else { c.to }}</ins>
                        </dd>
                    </div>
                }).collect_view()}
            </dl>
        </details>
    }
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let page = Resource::new(before, list_audit);
    view! {
        <PageHeader title="Audit log" subtitle="Sign-ins and configuration changes in this workspace"/>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the audit log…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    page.await.map(|page| {
                        if page.entries.is_empty() {
                            return view! { <EmptyState title="Nothing logged yet" body="Sign-ins and changes will be listed here."/> }.into_any();
                        }
                        view! {
                            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                                <table class="min-w-full divide-y divide-slate-200 text-sm">
                                    <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                                        <tr>
                                            <th scope="col" class="px-4 py-3">"When"</th>
                                            <th scope="col" class="px-4 py-3">"Who"</th>
                                            <th scope="col" class="px-4 py-3">"What"</th>
                                            <th scope="col" class="px-4 py-3">"Target"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {page.entries.into_iter().map(|e| view! {
                                            <tr>
                                                <td class="whitespace-nowrap px-4 py-3 text-slate-500">{format_time(e.at)}</td>
                                                <td class="px-4 py-3 font-medium">{e.actor_name.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td class="px-4 py-3">
                                                    {e.describe()}
                                                    {(!e.changes.is_empty()).then(|| view! { <Changes changes=e.changes.clone()/> })}
                                                </td>
                                                <td class="px-4 py-3 text-slate-600">
                                                    {match (e.link.clone(), e.target.clone()) {
                                                        (Some(href), Some(label)) => view! { <A href=href attr:class="font-medium text-indigo-700 hover:underline">{label}</A> }.into_any(),
                                                        (_, label) => label.unwrap_or_default().into_any(),
                                                    }}
                                                </td>
                                            </tr>
                                        }.into_any()).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="mt-4 flex justify-between text-sm" aria-label="Audit log pages">
                                <A href="/audit" attr:class="font-medium text-indigo-700 hover:underline">"Newest"</A>
                                {page.next_before.map(|b| view! {
                                    <A href=format!("/audit?before={b}") attr:class="font-medium text-indigo-700 hover:underline">"Older entries →"</A>
                                })}
                            </nav>
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
