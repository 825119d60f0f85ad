//! The contacts list and the contact page.
use super::{
    humanize,
    server_fns::{contact_timeline, get_contact, list_contacts},
    Activity, ContactContext, ContactFilter, Customer, Deal, LIFECYCLE_STAGES,
};
use crate::{
    ai::components::AiPanel,
    layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};
use uuid::Uuid;

fn stage_badge(stage: &str) -> impl IntoView {
    let colour = match stage {
        "customer" | "closed_won" => "bg-emerald-50 text-emerald-800 ring-emerald-200",
        "prospect" | "proposal" | "negotiation" => "bg-indigo-50 text-indigo-800 ring-indigo-200",
        "churned" | "closed_lost" => "bg-rose-50 text-rose-800 ring-rose-200",
        _ => "bg-slate-100 text-slate-700 ring-slate-200",
    };
    view! {
        <span class=format!("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colour}")>
            {humanize(stage)}
        </span>
    }
}

/// `/contacts?q=&stage=&mine=1&after=` → the filter, ignoring what does not parse.
fn filter_from_query(query: &leptos_router::params::ParamsMap) -> ContactFilter {
    ContactFilter {
        q: query.get("q").filter(|q| !q.trim().is_empty()),
        stage: query.get("stage").filter(|s| !s.is_empty()),
        mine: query.get("mine").is_some_and(|m| m == "1"),
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
    if let Some(a) = after {
        parts.push(format!("after={a}"));
    }
    if parts.is_empty() {
        "/contacts".to_owned()
    } else {
        format!("/contacts?{}", parts.join("&"))
    }
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_from_query));
    let page = Resource::new(
        move || filter.get(),
        |f| list_contacts(f.q, f.stage, Some(f.mine), f.after),
    );
    view! {
        <PageHeader title="Contacts" subtitle="Everyone at the businesses you work with"/>
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
            <button type="submit" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                "Search"
            </button>
            <Show when=move || filter.with(|f| f.q.is_some() || f.stage.is_some() || f.mine)>
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
                            return if filtered {
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

#[component]
pub fn ContactPage() -> impl IntoView {
    let params = use_params_map();
    let id =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|raw| raw.parse::<Uuid>().ok())));
    let contact = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_contact(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <LoadingBlock label="Loading the contact…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { contact.await.map(|ctx| view! { <ContactView ctx/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn ContactView(ctx: ContactContext) -> impl IntoView {
    let c = ctx.contact.clone();
    let name = c.full_name();
    let subtitle = match &c.title {
        Some(t) => format!("{t} at {}", ctx.customer.name),
        None => ctx.customer.name.clone(),
    };
    view! {
        <Title text=name.clone()/>
        <nav class="mb-2 text-sm"><A href="/contacts" attr:class="text-indigo-700 hover:underline">"← Contacts"</A></nav>
        <header class="mb-6 flex flex-wrap items-start justify-between gap-3">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight text-slate-900" data-testid="contact-name">{name}</h1>
                <p class="mt-1 text-sm text-slate-600">{subtitle}</p>
                <p class="mt-1 flex flex-wrap gap-x-4 text-sm text-slate-500">
                    {c.email.clone().map(|e| view! { <a href=format!("mailto:{e}") class="hover:underline">{e.clone()}</a> })}
                    {c.phone.clone().map(|p| view! { <span>{p}</span> })}
                    {c.owner_name.clone().map(|o| view! { <span>"Owner: " {o}</span> })}
                </p>
            </div>
            {stage_badge(&c.lifecycle_stage)}
        </header>
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                <AiPanel contact_id=c.id/>
                <FactsCard ctx=ctx.clone()/>
                <DealsCard deals=ctx.deals.clone()/>
                <Timeline contact_id=c.id/>
            </div>
            <div class="space-y-6">
                <CustomerCard customer=ctx.customer.clone()/>
            </div>
        </div>
    }
}

#[component]
fn Card(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
            <h2 class="mb-3 text-base font-semibold text-slate-900">{title}</h2>
            {children()}
        </section>
    }
}

#[component]
fn FactsCard(ctx: ContactContext) -> impl IntoView {
    let f = ctx.facts;
    let last = match f.days_since_last_touch {
        Some(0) => "today".to_owned(),
        Some(1) => "1 day ago".to_owned(),
        Some(d) => format!("{d} days ago"),
        None => "never".to_owned(),
    };
    let reply = f
        .reply_rate()
        .map(|r| {
            format!(
                "{:.0}% ({} of {})",
                r * 100.0,
                f.replied_emails_90d,
                f.outbound_emails_90d
            )
        })
        .unwrap_or_else(|| "no emails sent".to_owned());
    let items = [
        ("Last touch", last),
        ("In / out (90 days)", f.balance()),
        ("Email reply rate (90 days)", reply),
        (
            "Activity trend",
            format!(
                "{} ({} vs {})",
                f.trend().label(),
                f.activities_last_30d,
                f.activities_prev_30d
            ),
        ),
        ("Open pipeline", f.open_pipeline.clone()),
    ];
    view! {
        <Card title="Relationship facts">
            <dl class="grid grid-cols-1 gap-3 text-sm sm:grid-cols-2" data-testid="contact-facts">
                {items.into_iter().map(|(label, value)| view! {
                    <div>
                        <dt class="text-xs font-medium text-slate-500">{label}</dt>
                        <dd class="mt-0.5 text-slate-900">{value}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </Card>
    }
}

#[component]
fn DealsCard(deals: Vec<Deal>) -> impl IntoView {
    view! {
        <Card title="Deals">
            {if deals.is_empty() {
                view! { <p class="text-sm text-slate-500">"No deals with this contact yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100 text-sm">
                        {deals.into_iter().map(|d| view! {
                            <li class="flex flex-wrap items-center justify-between gap-2 py-2">
                                <span class="font-medium text-slate-900">{d.name.clone()}</span>
                                <span class="flex items-center gap-3 text-slate-600">
                                    {d.amount()}
                                    {d.expected_close.map(|c| view! { <span class="text-xs text-slate-500">"close " {c.to_string()}</span> })}
                                    {stage_badge(&d.stage)}
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </Card>
    }
}

fn activity_icon(kind: &str) -> &'static str {
    match kind {
        "email" => "✉",
        "call" => "☎",
        "meeting" => "◷",
        _ => "✎",
    }
}

#[component]
fn Timeline(contact_id: Uuid) -> impl IntoView {
    let query = use_query_map();
    let before =
        Memo::new(move |_| query.with(|q| q.get("before").and_then(|b| b.parse::<i64>().ok())));
    let page = Resource::new(
        move || before.get(),
        move |before| contact_timeline(contact_id, before),
    );
    view! {
        <Card title="Activity">
            <Transition fallback=|| view! { <LoadingBlock label="Loading activity…"/> }>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        page.await.map(|page| {
                            if page.activities.is_empty() {
                                return view! { <p class="text-sm text-slate-500">"No activity recorded yet."</p> }.into_any();
                            }
                            let older = page.next_before.map(|b| format!("/contacts/{contact_id}?before={b}"));
                            let newest = before.get_untracked().is_some().then(|| format!("/contacts/{contact_id}"));
                            view! {
                                <ol class="space-y-3" data-testid="timeline">
                                    {page.activities.into_iter().map(|a: Activity| view! {
                                        <li class="flex gap-3 text-sm">
                                            <span class="mt-0.5 flex h-6 w-6 flex-none items-center justify-center rounded-full bg-slate-100 text-xs" aria-hidden="true">{activity_icon(&a.kind)}</span>
                                            <div class="min-w-0">
                                                <p class="text-xs text-slate-500">
                                                    {format_time(a.occurred_at)} " · " {humanize(&a.kind)}
                                                    {a.direction.clone().map(|d| format!(" · {d}"))}
                                                    {a.outcome.clone().map(|o| format!(" · {}", humanize(&o).to_lowercase()))}
                                                </p>
                                                <p class="text-slate-800">{a.summary.clone()}</p>
                                            </div>
                                        </li>
                                    }).collect_view()}
                                </ol>
                                <nav class="mt-4 flex justify-between text-sm" aria-label="Activity pages">
                                    <span>{newest.map(|href| view! { <A href=href attr:class="font-medium text-indigo-700 hover:underline">"← Newest"</A> })}</span>
                                    <span>{older.map(|href| view! { <A href=href attr:class="font-medium text-indigo-700 hover:underline">"Older activity →"</A> })}</span>
                                </nav>
                            }.into_any()
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </Card>
    }
}

#[component]
fn CustomerCard(customer: Customer) -> impl IntoView {
    let cu = customer;
    let industry = [
        cu.industry_category.clone(),
        cu.industry_subcategory.clone(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    let list = |items: Vec<String>| {
        view! { <ul class="list-disc space-y-0.5 pl-5">{items.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}</ul> }
    };
    let bv = cu.brand_voice.clone();
    view! {
        <Card title="Company and business context">
            <div class="space-y-3 text-sm text-slate-700" data-testid="customer-context">
                <div>
                    <p class="font-medium text-slate-900">{cu.name.clone()}
                        {cu.is_vip.then(|| view! { <span class="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-900">"VIP"</span> })}
                    </p>
                    <p class="text-xs text-slate-500">{industry}</p>
                    {cu.website.clone().map(|w| view! { <p class="text-xs text-slate-500">{w}</p> })}
                </div>
                {(!cu.business_description.is_empty()).then(|| view! { <p>{cu.business_description.clone()}</p> })}
                {(!cu.unique_selling_points.is_empty()).then(|| view! {
                    <div><h3 class="text-xs font-medium text-slate-500">"Unique selling points"</h3>{list(cu.unique_selling_points.clone())}</div>
                })}
                {(!cu.products_services.is_empty()).then(|| view! {
                    <div><h3 class="text-xs font-medium text-slate-500">"Products and services"</h3>
                        {list(cu.products_services.iter().map(|o| o.name.clone()).collect())}
                    </div>
                })}
                {(!cu.target_audience.description.is_empty()).then(|| view! {
                    <div><h3 class="text-xs font-medium text-slate-500">"Target audience"</h3><p>{cu.target_audience.description.clone()}</p></div>
                })}
                {(!bv.tone.is_empty()).then(|| view! {
                    <div><h3 class="text-xs font-medium text-slate-500">"Brand voice"</h3>
                        <p>{bv.tone.clone()} {(!bv.personality.is_empty()).then(|| format!(" — {}", bv.personality.join(", ")))}</p>
                        {(!bv.phrases_to_use.is_empty()).then(|| view! { <p class="text-xs">"Use: " {bv.phrases_to_use.join(" · ")}</p> })}
                        {(!bv.phrases_to_avoid.is_empty()).then(|| view! { <p class="text-xs">"Avoid: " {bv.phrases_to_avoid.join(" · ")}</p> })}
                    </div>
                })}
                {(!cu.business_hours.weekly.is_empty()).then(|| view! {
                    <div><h3 class="text-xs font-medium text-slate-500">{format!("Business hours ({})", cu.business_hours.timezone)}</h3>
                        <p class="text-xs">{cu.business_hours.weekly.iter().map(|(d, h)| format!("{d} {h}")).collect::<Vec<_>>().join(" · ")}</p>
                    </div>
                })}
            </div>
        </Card>
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
