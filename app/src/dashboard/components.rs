//! The dashboard page.
use super::{server_fns::load_dashboard, DashboardStats};
use crate::audit::AuditEntry;
use crate::layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader};
use leptos::prelude::*;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let stats = Resource::new(|| (), |_| load_dashboard());
    view! {
        <PageHeader title="Dashboard" subtitle="Your workspace at a glance"/>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the dashboard…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { stats.await.map(|stats| view! { <Overview stats/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn StatCard(
    label: &'static str,
    value: i64,
    #[prop(optional)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
            <dt class="text-sm font-medium text-slate-500">{label}</dt>
            <dd class="mt-2 text-3xl font-semibold tracking-tight text-slate-900">{value}</dd>
            {hint.map(|h| view! { <p class="mt-1 text-xs text-slate-500">{h}</p> })}
        </div>
    }
}

#[component]
fn Overview(stats: DashboardStats) -> impl IntoView {
    let roles = stats
        .members_by_role
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(role, n)| format!("{n} {}", role.label()))
        .collect::<Vec<_>>()
        .join(" · ");
    let audit = stats.audit.clone();
    let events = audit.as_ref().map(|a| a.events_7d);
    view! {
        <dl class="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4" aria-label="Workspace counts">
            <StatCard label="Members" value=stats.members_total() hint=roles/>
            <StatCard label="Sign-ins (7 days)" value=stats.sign_ins_7d/>
            <StatCard label="Active members (7 days)" value=stats.active_members_7d/>
            {events.map(|n| view! { <StatCard label="Audit events (7 days)" value=n/> })}
        </dl>
        // The audit log is for admins; the server sends it to no one else.
        {audit.map(|a| view! { <RecentActivity recent=a.recent/> })}
    }
}

#[component]
fn RecentActivity(recent: Vec<AuditEntry>) -> impl IntoView {
    view! {
        <section class="mt-8" data-testid="recent-activity">
            <h2 class="mb-3 text-base font-semibold">"Recent activity"</h2>
            {if recent.is_empty() {
                view! { <EmptyState title="No activity yet" body="Sign-ins and changes in this workspace will show up here."/> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white">
                        {recent.into_iter().map(|entry| view! {
                            <li class="flex flex-wrap items-center justify-between gap-2 px-4 py-3 text-sm">
                                <span>
                                    <span class="font-medium">{entry.actor_name.clone().unwrap_or_else(|| "Someone".into())}</span>
                                    " " {entry.describe()}
                                </span>
                                <time class="text-xs text-slate-500">{format_time(entry.at)}</time>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
