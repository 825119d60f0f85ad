//! The dashboard page: member counts, then the operations view (pipeline, AI, spend, trend
//! charts with table views) over 7 or 30 days, with "Refresh" for managers and admins.
use super::{
    server_fns::{load_dashboard, RefreshDashboard},
    AiFigures, Chart, DashboardStats, ModelFigures, Operations, Period, PipelineFigures,
};
use crate::alerts::rules::duration_label;
use crate::audit::AuditEntry;
use crate::layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader, SECONDARY};
use crate::live::{on_change, Topic};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = use_query_map();
    let period = move || query.with(|q| Period::from_query(q.get("days").as_deref()));
    let refresh = ServerAction::<RefreshDashboard>::new();
    let stats = Resource::new(
        move || (period(), refresh.version().get()),
        |(period, _)| load_dashboard(period),
    );
    // The figures were rebuilt (the job, or someone's Refresh): show them.
    on_change(move |batch| {
        if batch.touches(Topic::Dashboard) {
            stats.refetch();
        }
    });
    view! {
        <PageHeader title="Dashboard" subtitle="Your workspace at a glance">
            <PeriodSwitch current=Signal::derive(period)/>
        </PageHeader>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the dashboard…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    stats.await.map(|stats| view! { <Overview stats=stats.clone()/> <OperationsView ops=stats.operations refresh/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// "7 days | 30 days" as links, so it works before hydration and the address can be shared.
#[component]
fn PeriodSwitch(current: Signal<Period>) -> impl IntoView {
    let link = move |p: Period, label: &'static str| {
        let href = format!("/dashboard?days={}", p.days());
        view! {
            <A href=href attr:aria-current=move || (current.get() == p).then_some("page")
               attr:class=move || if current.get() == p {
                   "rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white"
               } else {
                   "rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100"
               }>{label}</A>
        }
    };
    view! {
        <nav aria-label="Period" class="flex gap-1 rounded-lg border border-slate-200 bg-white p-1">
            {link(Period::Week, "7 days")}
            {link(Period::Month, "30 days")}
        </nav>
    }
}

#[component]
fn StatCard(
    label: &'static str,
    #[prop(into)] value: String,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm" data-testid=testid>
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
            <StatCard label="Members" value=stats.members_total().to_string() hint=roles/>
            <StatCard label="Sign-ins (7 days)" value=stats.sign_ins_7d.to_string()/>
            <StatCard label="Active members (7 days)" value=stats.active_members_7d.to_string()/>
            {events.map(|n| view! { <StatCard label="Audit events (7 days)" value=n.to_string()/> })}
        </dl>
        // The audit log is for admins; the server sends it to no one else.
        {audit.map(|a| view! { <RecentActivity recent=a.recent/> })}
    }
}

fn pct(share: Option<f64>) -> String {
    share.map_or_else(|| "—".to_owned(), |s| format!("{:.0}%", s * 100.0))
}

fn secs(v: Option<f64>) -> String {
    match v {
        None => "—".to_owned(),
        Some(s) if s < 60.0 => format!("{s:.0} s"),
        Some(s) => duration_label(s.round() as i64),
    }
}

fn millis(v: Option<f64>) -> String {
    match v {
        None => "—".to_owned(),
        Some(ms) if ms < 1000.0 => format!("{ms:.0} ms"),
        Some(ms) => format!("{:.1} s", ms / 1000.0),
    }
}

fn usd(v: f64) -> String {
    if v != 0.0 && v.abs() < 1.0 {
        format!("${v:.4}")
    } else {
        format!("${v:.2}")
    }
}

fn count(n: i64) -> String {
    match n {
        n if n >= 10_000_000 => format!("{:.0}M", n as f64 / 1e6),
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.0}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

#[component]
fn OperationsView(ops: Operations, refresh: ServerAction<RefreshDashboard>) -> impl IntoView {
    let as_of = ops.refreshed_at.map(format_time);
    let days = ops.period.days();
    view! {
        <section class="mt-10" aria-labelledby="ops-heading" data-testid="operations">
            <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
                <div>
                    <h2 id="ops-heading" class="text-lg font-semibold">"Operations · " {ops.period.label()}</h2>
                    <p class="text-sm text-slate-500" data-testid="figures-age">
                        {match as_of {
                            Some(t) => format!("Figures as of {t}; the rollups are rebuilt every minute."),
                            None => "The figures are being prepared: the first rollup runs within a minute.".to_owned(),
                        }}
                    </p>
                </div>
                {ops.can_refresh.then(|| view! {
                    <ActionForm action=refresh>
                        <button type="submit" class=SECONDARY disabled=move || refresh.pending().get()>
                            {move || if refresh.pending().get() { "Refreshing…" } else { "Refresh figures" }}
                        </button>
                    </ActionForm>
                })}
            </div>
            <PipelineView p=ops.pipeline days/>
            {ops.ai.map(|ai| view! { <AiView ai/> })}
            <h3 class="mb-3 mt-8 text-base font-semibold">"Trends"</h3>
            <div class="grid grid-cols-1 gap-4 xl:grid-cols-2">
                {ops.charts.into_iter().map(|chart| view! { <ChartCard chart/> }).collect_view()}
            </div>
        </section>
    }
}

#[component]
fn PipelineView(p: PipelineFigures, days: i64) -> impl IntoView {
    let delivered_hint = format!(
        "Time to delivery: p50 {}, p90 {}",
        secs(p.delivery_p50_secs),
        secs(p.delivery_p90_secs)
    );
    let backlog_hint = p.backlog_oldest_secs.map_or_else(
        || "Nothing waits for a person.".to_owned(),
        |s| format!("Oldest waiting {}", duration_label(s)),
    );
    let quality_hint = p
        .parts
        .iter()
        .map(|(label, v)| {
            format!(
                "{label} {}",
                v.map_or("—".to_owned(), |v| format!("{v:.0}"))
            )
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let total: i64 = p.tasks_by_state.iter().map(|s| s.2).sum();
    view! {
        <dl class="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4" aria-label="Pipeline figures">
            <StatCard label="Tasks delivered" value=count(p.delivered) hint=delivered_hint testid="delivered"/>
            <StatCard label="Drafts decided" value=count(p.scored) hint=format!("in the last {days} days")/>
            <StatCard label="Mean quality score" value=p.quality.map_or("—".to_owned(), |q| format!("{q:.1}")) hint=quality_hint/>
            <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm" data-testid="backlog">
                <dt class="text-sm font-medium text-slate-500">"Escalation backlog"</dt>
                <dd class="mt-2 text-3xl font-semibold tracking-tight text-slate-900">
                    <A href="/escalations" attr:class="hover:text-indigo-700">{count(p.backlog)}</A>
                </dd>
                <p class="mt-1 text-xs text-slate-500">{backlog_hint}</p>
            </div>
        </dl>
        <div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-2">
            <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
                <h3 class="text-sm font-medium text-slate-500">"Decisions on drafts"</h3>
                <table class="mt-2 w-full text-sm" data-testid="decision-rates">
                    <thead class="sr-only"><tr><th>"Decision"</th><th>"Drafts"</th><th>"Share"</th></tr></thead>
                    <tbody class="divide-y divide-slate-100">
                        {p.rates.into_iter().map(|r| view! {
                            <tr>
                                <th scope="row" class="py-1.5 text-left font-normal">{r.label}</th>
                                <td class="py-1.5 text-right tabular-nums text-slate-500">{count(r.count)}</td>
                                <td class="w-16 py-1.5 text-right font-medium tabular-nums">{pct(r.share)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
                <h3 class="text-sm font-medium text-slate-500">"Tasks by state (now)"</h3>
                {if p.tasks_by_state.is_empty() {
                    view! { <p class="mt-2 text-sm text-slate-500">"No tasks yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-2 space-y-1.5 text-sm" data-testid="tasks-by-state">
                            {p.tasks_by_state.into_iter().map(|(state, label, n)| {
                                let width = format!("width: {:.1}%", n as f64 / total.max(1) as f64 * 100.0);
                                view! {
                                    <li class="grid grid-cols-[9rem_1fr_4rem] items-center gap-2">
                                        <A href=format!("/pipeline?state={state}") attr:class="truncate hover:text-indigo-700">{label}</A>
                                        <span class="h-2 rounded bg-slate-100" aria-hidden="true"><span class="block h-2 rounded bg-indigo-500" style=width></span></span>
                                        <span class="text-right tabular-nums">{count(n)}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </div>
        </div>
    }
}

#[component]
fn AiView(ai: AiFigures) -> impl IntoView {
    let budget = match ai.budget_usd {
        None => view! {
            <p class="mt-1 text-xs text-slate-500">"No monthly budget is set. "
                <A href="/models/workspace" attr:class="text-indigo-700 hover:underline">"Set one"</A></p>
        }
        .into_any(),
        Some(b) => {
        let share = (ai.month_spend_usd / b).clamp(0.0, 1.0);
        let bar = if share >= 1.0 {
            "bg-rose-600"
        } else if share >= 0.8 {
            "bg-amber-500"
        } else {
            "bg-emerald-500"
        };
        let soft = ai
            .soft_limit_usd
            .map(|s| format!(" · soft limit {}", usd(s)))
            .unwrap_or_default();
        view! {
            <div class="mt-2 h-2 rounded bg-slate-100" role="meter" aria-label="Monthly budget used"
                 aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{:.0}", share * 100.0)>
                <div class=format!("h-2 rounded {bar}") style=format!("width: {:.1}%", share * 100.0)></div>
            </div>
            <p class="mt-1 text-xs text-slate-500">{format!("{:.0}% of {}{soft}", share * 100.0, usd(b))}</p>
        }
        .into_any()
        }
    };
    view! {
        <h3 class="mb-3 mt-8 text-base font-semibold">"AI models"</h3>
        <div class="grid grid-cols-1 gap-4 lg:grid-cols-4">
            <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm" data-testid="spend">
                <h4 class="text-sm font-medium text-slate-500">"Spend this month"</h4>
                <p class="mt-2 text-3xl font-semibold tracking-tight">{usd(ai.month_spend_usd)}</p>
                {budget}
            </div>
            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm lg:col-span-3">
                {if ai.models.is_empty() {
                    view! { <EmptyState title="No AI calls in this period" body="Calls to any model will show up here, with their latency, errors and cost."/> }.into_any()
                } else {
                    view! { <ModelTable models=ai.models/> }.into_any()
                }}
            </div>
        </div>
    }
}

#[component]
fn ModelTable(models: Vec<ModelFigures>) -> impl IntoView {
    let th = "px-3 py-2 text-right font-medium";
    view! {
        <table class="min-w-full text-sm" data-testid="model-table">
            <caption class="sr-only">"Each model's calls, latency, errors, tokens, cost and cache hits"</caption>
            <thead class="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                <tr>
                    <th scope="col" class="px-3 py-2 text-left font-medium">"Model"</th>
                    <th scope="col" class=th>"Calls"</th>
                    <th scope="col" class=th>"p50"</th>
                    <th scope="col" class=th>"p95"</th>
                    <th scope="col" class=th>"Errors"</th>
                    <th scope="col" class=th>"Tokens in / out"</th>
                    <th scope="col" class=th>"Cost"</th>
                    <th scope="col" class=th>"Cache hits"</th>
                </tr>
            </thead>
            <tbody class="divide-y divide-slate-100 tabular-nums">
                {models.into_iter().map(|m| view! {
                    <tr>
                        <th scope="row" class="px-3 py-2 text-left font-medium">
                            {m.model} <span class="block text-xs font-normal text-slate-500">{m.provider}</span>
                        </th>
                        <td class="px-3 py-2 text-right">{count(m.calls)}</td>
                        <td class="px-3 py-2 text-right">{millis(m.latency_p50_ms)}</td>
                        <td class="px-3 py-2 text-right">{millis(m.latency_p95_ms)}</td>
                        <td class="px-3 py-2 text-right">{pct(Some(m.error_rate))}</td>
                        <td class="px-3 py-2 text-right">{format!("{} / {}", count(m.prompt_tokens), count(m.completion_tokens))}</td>
                        <td class="px-3 py-2 text-right">{usd(m.cost_usd)}</td>
                        <td class="px-3 py-2 text-right">{pct(Some(m.cache_hit_rate))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A chart drawn by the server (numbers only go into it), with its figures as a table.
#[component]
fn ChartCard(chart: Chart) -> impl IntoView {
    let heading = format!("chart-{}", chart.id);
    view! {
        <figure class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm" data-testid=format!("chart-{}", chart.id)>
            <figcaption id=heading.clone() class="mb-2 text-sm font-medium text-slate-700">{chart.title.clone()}</figcaption>
            <div role="img" aria-labelledby=heading class="[&>svg]:h-auto [&>svg]:w-full" inner_html=chart.svg></div>
            <details class="mt-2 text-sm">
                <summary class="cursor-pointer text-indigo-700 hover:underline">"Show as table"</summary>
                <table class="mt-2 w-full text-sm">
                    <caption class="sr-only">{chart.title}</caption>
                    <thead><tr class="text-left text-xs text-slate-500">
                        <th scope="col" class="py-1">"Day"</th>
                        <th scope="col" class="py-1 text-right">{chart.unit}</th>
                    </tr></thead>
                    <tbody class="divide-y divide-slate-100 tabular-nums">
                        {chart.rows.into_iter().map(|(day, v)| view! {
                            <tr><th scope="row" class="py-1 text-left font-normal">{day}</th><td class="py-1 text-right">{v}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
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
