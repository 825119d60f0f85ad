//! `/customers`: search by name, filter by industry and open tasks, keyset pages.
use crate::{
    customers::server_fns::load_customers,
    domain::urlencode,
    layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader},
};
use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
    params::ParamsMap,
};
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq)]
struct Filter {
    q: Option<String>,
    industry: Option<String>,
    open_tasks: bool,
    after: Option<Uuid>,
}

impl Filter {
    fn from_query(query: &ParamsMap) -> Self {
        Self {
            q: query.get("q").filter(|q| !q.trim().is_empty()),
            industry: query.get("industry").filter(|s| !s.is_empty()),
            open_tasks: query.get("open").is_some_and(|m| m == "1"),
            after: query.get("after").and_then(|a| a.parse().ok()),
        }
    }

    fn is_filtered(&self) -> bool {
        self.q.is_some() || self.industry.is_some() || self.open_tasks
    }

    fn href(&self, after: Option<Uuid>) -> String {
        let mut parts = Vec::new();
        if let Some(q) = &self.q {
            parts.push(format!("q={}", urlencode(q)));
        }
        if let Some(i) = &self.industry {
            parts.push(format!("industry={}", urlencode(i)));
        }
        if self.open_tasks {
            parts.push("open=1".to_owned());
        }
        if let Some(a) = after {
            parts.push(format!("after={a}"));
        }
        if parts.is_empty() {
            "/customers".to_owned()
        } else {
            format!("/customers?{}", parts.join("&"))
        }
    }
}

const FIELD: &str =
    "mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 \
                     focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";

#[component]
pub fn CustomersPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(Filter::from_query));
    let page = Resource::new(
        move || filter.get(),
        |f| load_customers(f.q, f.industry, Some(f.open_tasks), f.after),
    );
    view! {
        <PageHeader title="Customers" subtitle="The businesses you write for, and the context the AI writes from"/>
        <Transition fallback=|| view! { <LoadingBlock label="Loading customers…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let current = filter.get_untracked();
                    page.await.map(|page| {
                        let form = view! { <FilterForm filter=current.clone() industries=page.industries.clone()/> };
                        if page.rows.is_empty() {
                            let empty = if current.is_filtered() {
                                view! { <EmptyState title="No customers match" body="Try a shorter name, another industry, or clear the filters."/> }.into_any()
                            } else {
                                view! { <EmptyState title="No customers yet" body="Customers come with the workspace's CRM records."/> }.into_any()
                            };
                            return view! { {form} {empty} }.into_any();
                        }
                        let next = page.next_after.map(|after| current.href(Some(after)));
                        let first = current.after.is_some().then(|| current.href(None));
                        view! {
                            {form}
                            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                                <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="customers-table">
                                    <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                                        <tr>
                                            <th scope="col" class="px-4 py-3">"Customer"</th>
                                            <th scope="col" class="px-4 py-3">"Industry"</th>
                                            <th scope="col" class="px-4 py-3 text-right">"Contacts"</th>
                                            <th scope="col" class="px-4 py-3 text-right">"Open tasks"</th>
                                            <th scope="col" class="hidden px-4 py-3 md:table-cell">"Updated"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {page.rows.into_iter().map(|c| view! {
                                            <tr class="hover:bg-slate-50">
                                                <td class="px-4 py-3">
                                                    <A href=format!("/customers/{}", c.id) attr:class="font-medium text-indigo-700 hover:underline">{c.name.clone()}</A>
                                                    {c.is_vip.then(|| view! { <span class="ml-2 rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-inset ring-amber-200">"VIP"</span> })}
                                                </td>
                                                <td class="px-4 py-3 text-slate-600">{if c.industry.is_empty() { "—".to_owned() } else { c.industry.clone() }}</td>
                                                <td class="px-4 py-3 text-right tabular-nums">{c.contacts}</td>
                                                <td class="px-4 py-3 text-right tabular-nums">{c.open_tasks}</td>
                                                <td class="hidden whitespace-nowrap px-4 py-3 text-slate-500 md:table-cell">{format_time(c.updated_at)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="mt-4 flex justify-between text-sm" aria-label="Customer pages">
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

/// The search and filter form, drawn with the page it filters.
#[component]
fn FilterForm(filter: Filter, industries: Vec<String>) -> impl IntoView {
    view! {
        <Form method="GET" action="" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:role="search">
            <label class="flex min-w-[14rem] flex-1 flex-col text-xs font-medium text-slate-600">
                "Search"
                <input type="search" name="q" maxlength="100" placeholder="Customer name" class=FIELD
                    value=filter.q.clone().unwrap_or_default()/>
            </label>
            <label class="flex flex-col text-xs font-medium text-slate-600">
                "Industry"
                <select name="industry" class=FIELD data-testid="industry-filter">
                    <option value="">"Any industry"</option>
                    {industries.into_iter().map(|i| {
                        let selected = filter.industry.as_deref() == Some(i.as_str());
                        view! { <option value=i.clone() selected=selected>{i.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="flex items-center gap-2 pb-2 text-sm text-slate-700">
                <input type="checkbox" name="open" value="1" checked=filter.open_tasks class="h-4 w-4 rounded border-slate-300"/>
                "With open tasks"
            </label>
            <button type="submit" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                "Search"
            </button>
            {filter.is_filtered().then(|| view! {
                <A href="/customers" attr:class="pb-2 text-sm font-medium text-slate-600 hover:underline">"Clear"</A>
            })}
        </Form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_the_filters() {
        let f = Filter {
            q: Some("bright & co".into()),
            industry: Some("Home services".into()),
            open_tasks: true,
            after: None,
        };
        let id = Uuid::nil();
        assert_eq!(
            f.href(Some(id)),
            format!("/customers?q=bright+%26+co&industry=Home+services&open=1&after={id}")
        );
        assert_eq!(Filter::default().href(None), "/customers");
    }
}
