//! `/contacts/:id`: the profile, the customer's business context, deals, relationship facts, the
//! activity timeline and, given by the root as `panel`, the AI Relationship Manager.
use super::{
    records::{ArchiveControls, DealsCard, LogActivityForm},
    stage_badge,
};
use crate::{
    contacts::{
        server_fns::{contact_timeline, get_contact},
        ContactDetail,
    },
    crm::{Activity, ContactContext, Customer},
    domain::humanize,
    layout::{error_fallback, format_time, LoadingBlock},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use uuid::Uuid;

/// What the page shows above the facts for a contact (the root passes the AI panel).
pub type Panel = fn(Uuid) -> AnyView;

#[component]
pub fn ContactPage(panel: Panel) -> impl IntoView {
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
                {move || Suspend::new(async move { contact.await.map(|detail| view! { <ContactView detail panel/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The page once loaded. Editing a record reloads the contact into `ctx` (the AI panel, made
/// once, keeps its state), and logging an activity also reloads the timeline.
#[component]
fn ContactView(detail: ContactDetail, panel: Panel) -> impl IntoView {
    let can_edit = detail.can_edit;
    let ctx = RwSignal::new(detail.context);
    let timeline_version = RwSignal::new(0u32);
    let id = ctx.with_untracked(|c| c.contact.id);
    let reload = Callback::new(move |()| {
        leptos::task::spawn_local(async move {
            if let Ok(d) = get_contact(id).await {
                ctx.set(d.context);
            }
        });
    });
    let logged = Callback::new(move |()| {
        timeline_version.update(|v| *v += 1);
        reload.run(());
    });
    let archived = Memo::new(move |_| ctx.with(|c| c.contact.archived_at));
    let editable = Signal::derive(move || can_edit && archived.get().is_none());
    view! {
        {move || view! { <ContactHeader ctx=ctx.get() can_edit on_change=reload/> }}
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                {panel(id)}
                {move || view! { <FactsCard ctx=ctx.get()/> }}
                <DealsCard contact_id=id deals=Signal::derive(move || ctx.with(|c| c.deals.clone())) can_edit=editable on_change=reload/>
                <Timeline contact_id=id version=timeline_version.read_only() editable on_logged=logged/>
            </div>
            <div class="space-y-6">
                {move || view! { <CustomerCard customer=ctx.with(|c| c.customer.clone())/> }}
            </div>
        </div>
    }
}

#[component]
fn ContactHeader(ctx: ContactContext, can_edit: bool, on_change: Callback<()>) -> impl IntoView {
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
            <div class="flex items-center gap-3">
                {stage_badge(&c.lifecycle_stage)}
                {(can_edit && c.archived_at.is_none()).then(|| view! {
                    <A href=format!("/contacts/{}/edit", c.id) attr:class="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50" attr:data-testid="edit-contact">"Edit"</A>
                })}
                {(can_edit && c.archived_at.is_none()).then(|| view! { <ArchiveControls contact_id=c.id archived_at=None on_change/> })}
            </div>
        </header>
        {match c.archived_at {
            Some(at) if can_edit => Some(view! { <ArchiveControls contact_id=c.id archived_at=Some(at) on_change/> }.into_any()),
            Some(at) => Some(view! { <p role="status" class="mb-4 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900">"Archived " {format_time(at)} "."</p> }.into_any()),
            None => None,
        }}
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

fn activity_icon(kind: &str) -> &'static str {
    match kind {
        "email" => "✉",
        "call" => "☎",
        "meeting" => "◷",
        _ => "✎",
    }
}

#[component]
fn Timeline(
    contact_id: Uuid,
    version: ReadSignal<u32>,
    editable: Signal<bool>,
    on_logged: Callback<()>,
) -> impl IntoView {
    let query = use_query_map();
    let before =
        Memo::new(move |_| query.with(|q| q.get("before").and_then(|b| b.parse::<i64>().ok())));
    let page = Resource::new(
        move || (before.get(), version.get()),
        move |(before, _)| contact_timeline(contact_id, before),
    );
    view! {
        <Card title="Activity">
            <Show when=move || editable.get()>
                <LogActivityForm contact_id on_logged/>
            </Show>
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
