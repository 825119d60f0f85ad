//! `/contacts`: word-prefix search, filters and keyset pages.
use super::stage_badge;
use crate::{
    contacts::server_fns::list_contacts,
    crm::{ContactFilter, LIFECYCLE_STAGES},
    domain::{humanize, urlencode},
    layout::{error_fallback, EmptyState, LoadingBlock, PageHeader},
};
use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};
use uuid::Uuid;

/// `/contacts?q=&stage=&mine=1&after=` → the filter, ignoring what does not parse.
fn filter_from_query(query: &leptos_router::params::ParamsMap) -> ContactFilter {
    ContactFilter {
        q: query.get("q").filter(|q| !q.trim().is_empty()),
        stage: query.get("stage").filter(|s| !s.is_empty()),
        mine: query.get("mine").is_some_and(|m| m == "1"),
        archived: query.get("archived").is_some_and(|m| m == "1"),
        after: query.get("after").and_then(|a| a.parse().ok()),
    }
}

fn contacts_href(filter: &ContactFilter, after: Option<Uuid>) -> String {
    let mut parts = Vec::new();
    if let Some(q) = &filter.q {
        parts.push(format!("q={}", urlencode(q)));
    }
    if let Some(s) = &filter.stage {
        parts.push(format!("stage={}", urlencode(s)));
    }
    if filter.mine {
        parts.push("mine=1".to_owned());
    }
    if filter.archived {
        parts.push("archived=1".to_owned());
    }
    if let Some(a) = after {
        parts.push(format!("after={a}"));
    }
    if parts.is_empty() {
        "/contacts".to_owned()
    } else {
        format!("/contacts?{}", parts.join("&"))
    }
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_from_query));
    let page = Resource::new(
        move || filter.get(),
        |f| list_contacts(f.q, f.stage, Some(f.mine), Some(f.archived), f.after),
    );
    view! {
        <PageHeader title="Contacts" subtitle="Everyone at the businesses you work with">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    page.await.ok().filter(|p| p.can_edit).map(|_| view! {
                        <div class="flex flex-wrap gap-2">
                            <A href="/contacts/import" attr:class="rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">"Import CSV"</A>
                            <A href="/contacts/new" attr:class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500" attr:data-testid="new-contact">"New contact"</A>
                        </div>
                    })
                })}
            </Transition>
        </PageHeader>
        <Form method="GET" action="" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:role="search">
            <label class="flex min-w-[16rem] flex-1 flex-col text-xs font-medium text-slate-600">
                "Search"
                <input
                    type="search"
                    name="q"
                    maxlength="100"
                    placeholder="Name, email, title or company"
                    prop:value=move || filter.with(|f| f.q.clone().unwrap_or_default())
                    class="mt-1 rounded-md border border-slate-300 px-3 py-2 text-sm text-slate-900 focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500"
                />
            </label>
            <label class="flex flex-col text-xs font-medium text-slate-600">
                "Stage"
                <select name="stage" class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900">
                    <option value="" selected=move || filter.with(|f| f.stage.is_none())>"Any stage"</option>
                    {LIFECYCLE_STAGES.iter().map(|s| view! {
                        <option value=*s selected=move || filter.with(|f| f.stage.as_deref() == Some(*s))>{humanize(s)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="flex items-center gap-2 pb-2 text-sm text-slate-700">
                <input type="checkbox" name="mine" value="1" prop:checked=move || filter.with(|f| f.mine) class="h-4 w-4 rounded border-slate-300"/>
                "Mine only"
            </label>
            <label class="flex items-center gap-2 pb-2 text-sm text-slate-700">
                <input type="checkbox" name="archived" value="1" prop:checked=move || filter.with(|f| f.archived) class="h-4 w-4 rounded border-slate-300"/>
                "Archived"
            </label>
            <button type="submit" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                "Search"
            </button>
            <Show when=move || filter.with(|f| f.q.is_some() || f.stage.is_some() || f.mine || f.archived)>
                <A href="/contacts" attr:class="pb-2 text-sm font-medium text-slate-600 hover:underline">"Clear"</A>
            </Show>
        </Form>
        <Transition fallback=|| view! { <LoadingBlock label="Loading contacts…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let current = filter.get_untracked();
                    page.await.map(|page| {
                        if page.rows.is_empty() {
                            let filtered = current.q.is_some() || current.stage.is_some() || current.mine;
                            return if current.archived && !filtered {
                                view! { <EmptyState title="No archived contacts" body="Contacts you archive are kept here with their history, and can be restored."/> }.into_any()
                            } else if filtered {
                                view! { <EmptyState title="No contacts match" body="Try fewer or shorter words, another stage, or clear the filters."/> }.into_any()
                            } else {
                                view! { <EmptyState title="No contacts yet" body="Contacts you add or import will be listed here."/> }.into_any()
                            };
                        }
                        let next = page.next_after.map(|after| contacts_href(&current, Some(after)));
                        let first = current.after.is_some().then(|| contacts_href(&current, None));
                        view! {
                            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                                <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="contacts-table">
                                    <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                                        <tr>
                                            <th scope="col" class="px-4 py-3">"Name"</th>
                                            <th scope="col" class="px-4 py-3">"Company"</th>
                                            <th scope="col" class="hidden px-4 py-3 md:table-cell">"Title"</th>
                                            <th scope="col" class="px-4 py-3">"Stage"</th>
                                            <th scope="col" class="hidden px-4 py-3 lg:table-cell">"Owner"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {page.rows.into_iter().map(|c| {
                                            let (href, name) = (format!("/contacts/{}", c.id), c.full_name());
                                            view! {
                                            <tr class="hover:bg-slate-50">
                                                <td class="px-4 py-3">
                                                    <A href=href attr:class="font-medium text-indigo-700 hover:underline">{name}</A>
                                                    <div class="text-xs text-slate-500">{c.email.clone().unwrap_or_default()}</div>
                                                </td>
                                                <td class="px-4 py-3">{c.company.clone()}</td>
                                                <td class="hidden px-4 py-3 text-slate-600 md:table-cell">{c.title.clone().unwrap_or_default()}</td>
                                                <td class="px-4 py-3">{stage_badge(&c.lifecycle_stage)}</td>
                                                <td class="hidden px-4 py-3 text-slate-600 lg:table-cell">{c.owner_name.clone().unwrap_or_else(|| "—".into())}</td>
                                            </tr>
                                        }}).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="mt-4 flex justify-between text-sm" aria-label="Contact pages">
                                <span>{first.map(|href| view! { <A href=href attr:class="font-medium text-indigo-700 hover:underline">"← First page"</A> })}</span>
                                <span>{next.map(|href| view! { <A href=href attr:class="font-medium text-indigo-700 hover:underline">"Next page →"</A> })}</span>
                            </nav>
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filters_and_encode_the_search() {
        let f = ContactFilter {
            q: Some("ann & co".into()),
            stage: Some("lead".into()),
            mine: true,
            archived: false,
            after: None,
        };
        let id = Uuid::nil();
        assert_eq!(
            contacts_href(&f, Some(id)),
            format!("/contacts?q=ann+%26+co&stage=lead&mine=1&after={id}")
        );
        assert_eq!(contacts_href(&ContactFilter::default(), None), "/contacts");
    }
}
