//! `/customers/:id`: the business context editor, then the customer's projects, recent tasks
//! and delivered content.
use super::editor::BusinessContextEditor;
use crate::{
    crm::industry_line,
    customers::{form::BusinessContextForm, server_fns::get_customer, CustomerDetail},
    domain::humanize,
    layout::{error_fallback, format_time, EmptyState, LoadingBlock},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};
use uuid::Uuid;

#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let detail = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_customer(id).await,
            None => Err(crate::error::AppError::NotFound),
        }
    });
    view! {
        <nav class="mb-2 text-sm"><A href="/customers" attr:class="text-indigo-700 hover:underline">"← Customers"</A></nav>
        <Suspense fallback=|| view! { <LoadingBlock label="Loading the customer…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { detail.await.map(|d| view! { <Customer detail=d/> }) })}
            </ErrorBoundary>
        </Suspense>
    }
}

#[component]
fn Customer(detail: CustomerDetail) -> impl IntoView {
    let c = &detail.customer;
    let industry = industry_line(&c.industry_category, &c.industry_subcategory);
    let subtitle = if industry.is_empty() {
        "Business context, projects and content".to_owned()
    } else {
        industry
    };
    let form = BusinessContextForm::from_customer(c);
    let title = c.name.clone();
    view! {
        <Title text=format!("{title} · SmartCRM")/>
        <div class="mb-6">
            <h1 class="text-2xl font-semibold tracking-tight text-slate-900">
                {c.name.clone()}
                {c.is_vip.then(|| view! { <span class="ml-2 align-middle rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-inset ring-amber-200">"VIP"</span> })}
            </h1>
            <p class="mt-1 text-sm text-slate-500">{subtitle}</p>
        </div>
        <div class="grid gap-6 lg:grid-cols-3">
            <section class="lg:col-span-2" aria-labelledby="context-heading">
                <h2 id="context-heading" class="mb-2 text-base font-semibold text-slate-900">"Business context"</h2>
                <p class="mb-3 text-sm text-slate-600">"Every analysis and draft for this customer is written from this. A change applies to the next one."</p>
                <BusinessContextEditor form can_edit=detail.can_edit/>
            </section>
            <div class="space-y-6">
                <Projects detail=detail.clone()/>
                <Tasks detail=detail.clone()/>
            </div>
        </div>
        <Delivered detail/>
    }
}

const CARD: &str = "rounded-xl border border-slate-200 bg-white";
const HEADING: &str = "mb-2 text-base font-semibold text-slate-900";

#[component]
fn Projects(detail: CustomerDetail) -> impl IntoView {
    view! {
        <section aria-labelledby="projects-heading">
            <h2 id="projects-heading" class=HEADING>"Projects"</h2>
            {if detail.projects.is_empty() {
                view! { <EmptyState title="No projects yet" body="A project starts with the first content task for this customer."/> }.into_any()
            } else {
                view! {
                    <ul class=format!("{CARD} divide-y divide-slate-100 text-sm") data-testid="projects">
                        {detail.projects.into_iter().map(|p| view! {
                            <li class="flex justify-between px-4 py-2">
                                <span class="font-medium text-slate-800">{p.name}</span>
                                <span class="text-slate-500">{format!("{} tasks, {} open", p.tasks, p.open_tasks)}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Tasks(detail: CustomerDetail) -> impl IntoView {
    view! {
        <section aria-labelledby="tasks-heading">
            <h2 id="tasks-heading" class=HEADING>"Recent tasks"</h2>
            {if detail.tasks.is_empty() {
                view! { <EmptyState title="No tasks yet" body="Content tasks for this customer will be listed here."/> }.into_any()
            } else {
                view! {
                    <ul class=format!("{CARD} divide-y divide-slate-100 text-sm") data-testid="tasks">
                        {detail.tasks.into_iter().map(|t| view! {
                            <li class="px-4 py-2">
                                <A href=format!("/pipeline/tasks/{}", t.id) attr:class="font-medium text-indigo-700 hover:underline">{t.title}</A>
                                <div class="flex justify-between text-xs text-slate-500">
                                    <span>{t.project}</span>
                                    <span class="rounded-full bg-slate-100 px-2 py-0.5 text-slate-700">{humanize(&t.state)}</span>
                                </div>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Delivered(detail: CustomerDetail) -> impl IntoView {
    view! {
        <section class="mt-8" aria-labelledby="delivered-heading">
            <h2 id="delivered-heading" class=HEADING>"Delivered content"</h2>
            {if detail.delivered.is_empty() {
                view! { <EmptyState title="Nothing delivered yet" body="Approved content appears here once it is delivered."/> }.into_any()
            } else {
                view! {
                    <ul class="grid gap-4 md:grid-cols-2" data-testid="delivered">
                        {detail.delivered.into_iter().map(|d| view! {
                            <li class=format!("{CARD} p-4 text-sm")>
                                <div class="flex justify-between gap-2">
                                    <A href=format!("/pipeline/tasks/{}", d.task_id) attr:class="font-medium text-indigo-700 hover:underline">{d.title}</A>
                                    <span class="whitespace-nowrap text-xs text-slate-500">{format_time(d.delivered_at)}</span>
                                </div>
                                <p class="mt-2 whitespace-pre-line text-slate-700">{d.excerpt}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
