//! `/alerts`: the workspace's alerts with their history, filters, "Check now", and acknowledge
//! and resolve; `/alerts/rules`: the rules' thresholds; `AlertsBadge`: the header's open count.
use super::{
    rules::{AlertRulesForm, FIELDS},
    server_fns::{
        acknowledge_alert, check_alerts_now, list_alerts, load_alert_rules, open_alert_count,
        resolve_alert, save_alert_rules,
    },
    Alert, AlertKind, AlertState, AlertsPage, Resolution, StateFilter,
};
use crate::layout::{
    error_fallback, format_time, EmptyState, FormErrors, LoadingBlock, PageHeader, BUTTON, INPUT,
    SECONDARY,
};
use crate::live::{on_change, Topic};
use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::{use_location, use_query_map},
};

const SELECT: &str =
    "mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900";

/// The open-alert count beside the navigation, for managers and admins; read again on every
/// navigation. Only the browser asks for it (an effect, after hydration): the server renders
/// nothing here, so no page waits for it and hydration always matches.
#[component]
pub fn AlertsBadge() -> impl IntoView {
    let location = use_location();
    let count = RwSignal::new(None::<i64>);
    // Recounted on every navigation and whenever an alert opens or closes (live updates).
    let changed = RwSignal::new(0u32);
    on_change(move |batch| {
        if batch.touches(Topic::Alerts) {
            changed.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        location.pathname.track();
        changed.track();
        leptos::task::spawn_local(async move {
            if let Ok(n) = open_alert_count().await {
                count.try_set(n);
            }
        });
    });
    move || {
        count.get().map(|n| {
            let label = format!("{n} open alert{}", if n == 1 { "" } else { "s" });
            let class = if n > 0 {
                "inline-flex items-center gap-1 rounded-full bg-rose-600 px-2 py-1 text-xs font-semibold text-white hover:bg-rose-500"
            } else {
                "inline-flex items-center gap-1 rounded-full bg-slate-100 px-2 py-1 text-xs font-medium text-slate-600 hover:bg-slate-200"
            };
            view! {
                <A href="/alerts" attr:class=class attr:data-testid="alerts-badge" attr:aria-label=label.clone() attr:title=label>
                    <svg aria-hidden="true" viewBox="0 0 20 20" class="h-4 w-4" fill="currentColor">
                        <path d="M10 2a5 5 0 0 0-5 5v3.6L3.3 13.3A1 1 0 0 0 4.1 15h11.8a1 1 0 0 0 .8-1.7L15 10.6V7a5 5 0 0 0-5-5zm0 16a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 10 18z"/>
                    </svg>
                    <span data-testid="alerts-badge-count">{n}</span>
                </A>
            }
        })
    }
}

#[component]
pub fn AlertsListPage() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        query.with(|q| {
            (
                q.get("state").unwrap_or_default(),
                q.get("kind").unwrap_or_default(),
                q.get("page")
                    .and_then(|p| p.parse::<i64>().ok())
                    .unwrap_or(0),
            )
        })
    };
    let page = Resource::new(params, |(s, k, p)| list_alerts(s, k, p));
    // Later answers (after an action here, or a live update) go to the list in place: rows
    // keep their state (a half-written resolution) unless their own alert changed.
    let fresh: RwSignal<Option<AlertsPage>> = RwSignal::new(None);
    let changed = RwSignal::new(0u32);
    Effect::new(move |first: Option<()>| {
        changed.track();
        if first.is_some() {
            let (s, k, p) = untrack(params);
            leptos::task::spawn_local(async move {
                if let Ok(page) = list_alerts(s, k, p).await {
                    fresh.try_set(Some(page));
                }
            });
        }
    });
    on_change(move |batch| {
        if batch.touches(Topic::Alerts) {
            changed.update(|n| *n += 1);
        }
    });
    let check = Action::new(|_: &()| check_alerts_now());
    Effect::new(move |_| {
        if check.value().get().is_some() {
            changed.update(|n| *n += 1);
        }
    });
    let state_now = move || StateFilter::from_param(&params().0);
    let kind_now = move || params().1;
    view! {
        <PageHeader title="Alerts" subtitle="What needs a person's attention, and what was done about it"/>
        <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
            <Form method="GET" action="" attr:class="flex flex-wrap items-end gap-3" attr:aria-label="Filter alerts">
                <label class="flex flex-col text-xs font-medium text-slate-600">"State"
                    <select name="state" class=SELECT data-testid="filter-alert-state">
                        {[StateFilter::Live, StateFilter::Only(AlertState::Open), StateFilter::Only(AlertState::Acknowledged),
                          StateFilter::Only(AlertState::Resolved), StateFilter::Only(AlertState::AutoResolved), StateFilter::All]
                            .into_iter().map(|f| {
                                let label = match f {
                                    StateFilter::Live => "Open or acknowledged",
                                    StateFilter::Only(s) => s.label(),
                                    StateFilter::All => "All",
                                };
                                view! { <option value=f.param() selected=move || state_now() == f>{label}</option> }
                            }).collect_view()}
                    </select>
                </label>
                <label class="flex flex-col text-xs font-medium text-slate-600">"Kind"
                    <select name="kind" class=SELECT data-testid="filter-alert-kind">
                        <option value="">"Any kind"</option>
                        {AlertKind::ALL.into_iter().map(|k| view! {
                            <option value=k.as_str() selected=move || kind_now() == k.as_str()>{k.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class=SECONDARY>"Filter"</button>
            </Form>
            <div class="flex flex-wrap items-center gap-2">
                <A href="/alerts/rules" attr:class=SECONDARY attr:data-testid="alert-rules-link">"Rules"</A>
                <button type="button" class=BUTTON data-testid="check-alerts" disabled=move || check.pending().get()
                    on:click=move |_| { check.dispatch(()); }>
                    {move || if check.pending().get() { "Checking…" } else { "Check now" }}
                </button>
            </div>
        </div>
        {move || check.value().get().map(|r| match r {
            Ok(e) => view! { <p role="status" class="mb-3 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="check-summary">{e.summary()}</p> }.into_any(),
            Err(e) => view! { <p role="alert" class="mb-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-900">{e.to_string()}</p> }.into_any(),
        })}
        <Transition fallback=|| view! { <LoadingBlock label="Loading alerts…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    page.await.map(|p| view! { <AlertList p changed fresh/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn AlertList(
    p: AlertsPage,
    changed: RwSignal<u32>,
    fresh: RwSignal<Option<AlertsPage>>,
) -> impl IntoView {
    let query = use_query_map();
    let page_href = move |n: i64| {
        query.with(|q| {
            let s = q.get("state").unwrap_or_default();
            let k = q.get("kind").unwrap_or_default();
            format!("/alerts?state={s}&kind={k}&page={n}")
        })
    };
    let (prev, next) = (
        (p.page > 0).then(|| page_href(p.page - 1)),
        p.has_more.then(|| page_href(p.page + 1)),
    );
    let can_act = p.can_act;
    let counts = RwSignal::new((p.open, p.acknowledged));
    let alerts = RwSignal::new(p.alerts);
    // Only answers that come after this list was drawn (not one left from another filter).
    Effect::new(move |first: Option<()>| {
        let latest = fresh.get();
        if first.is_some() {
            if let Some(latest) = latest {
                counts.set((latest.open, latest.acknowledged));
                alerts.set(latest.alerts);
            }
        }
    });
    view! {
        <p class="mb-3 text-sm text-slate-600" data-testid="alert-counts">
            {move || { let (o, a) = counts.get(); format!("{o} open · {a} acknowledged") }}
        </p>
        {move || alerts.with(Vec::is_empty).then(|| view! { <EmptyState title="No alerts here" body="Nothing matches this filter. Open alerts show up here as soon as a rule fires."/> })}
        <ul class="space-y-3" data-testid="alert-list">
            <For each=move || alerts.get() key=|a| (a.id, a.version) children=move |a: Alert| view! { <AlertItem a can_act changed/> }/>
        </ul>
        <nav aria-label="Pages" class="mt-4 flex gap-2">
            {prev.map(|h| view! { <A href=h attr:class=SECONDARY>"Newer"</A> })}
            {next.map(|h| view! { <A href=h attr:class=SECONDARY>"Older"</A> })}
        </nav>
    }
}

#[component]
fn AlertItem(a: Alert, can_act: bool, changed: RwSignal<u32>) -> impl IntoView {
    let (id, version) = (a.id, a.version);
    let ack = Action::new(move |_: &()| acknowledge_alert(id, version));
    let resolve = Action::new(move |(how, note): &(String, String)| {
        resolve_alert(id, version, how.clone(), note.clone())
    });
    Effect::new(move |_| {
        if matches!(ack.value().get(), Some(Ok(())))
            || matches!(resolve.value().get(), Some(Ok(())))
        {
            changed.update(|n| *n += 1);
        }
    });
    let errors = FormErrors::new(Signal::derive(move || {
        resolve.value().get().and_then(Result::err)
    }));
    let resolving = RwSignal::new(false);
    let how = RwSignal::new(Resolution::Fixed.as_str().to_owned());
    let note = RwSignal::new(String::new());
    let badge = match a.state {
        AlertState::Open if a.severity == "critical" => "bg-rose-100 text-rose-800",
        AlertState::Open => "bg-amber-100 text-amber-900",
        AlertState::Acknowledged => "bg-indigo-100 text-indigo-800",
        _ => "bg-slate-100 text-slate-700",
    };
    let live = a.state.is_live();
    let who = match (a.state, &a.acknowledged_by, &a.resolved_by) {
        (AlertState::Acknowledged, Some(n), _) => Some(format!(
            "Acknowledged by {n} {}",
            a.acknowledged_at.map(format_time).unwrap_or_default()
        )),
        (AlertState::Resolved, _, Some(n)) => Some(format!(
            "Resolved by {n} {} ({}): {}",
            a.resolved_at.map(format_time).unwrap_or_default(),
            a.resolution
                .as_deref()
                .and_then(Resolution::parse)
                .map_or("", |r| r.label()),
            a.resolution_note
        )),
        (AlertState::AutoResolved, _, _) => Some(format!(
            "Cleared by itself {}",
            a.resolved_at.map(format_time).unwrap_or_default()
        )),
        _ => None,
    };
    let seen = if a.occurrences > 1 {
        format!(
            "Opened {} · seen {} times, last {}",
            format_time(a.opened_at),
            a.occurrences,
            format_time(a.last_seen_at)
        )
    } else {
        format!("Opened {}", format_time(a.opened_at))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        resolve.dispatch((how.get_untracked(), note.get_untracked()));
    };
    let refused = move || {
        ack.value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <li class="rounded-xl border border-slate-200 bg-white p-4" data-testid="alert-item" data-state=a.state.as_str() data-kind=a.kind.as_str()>
            <div class="flex flex-wrap items-start justify-between gap-2">
                <div>
                    <p class="text-xs font-medium uppercase tracking-wide text-slate-500">{a.kind.label()} " · " {a.severity.clone()}</p>
                    <h2 class="mt-1 font-semibold text-slate-900" data-testid="alert-title">{a.title.clone()}</h2>
                    {(!a.detail.is_empty()).then(|| view! { <p class="mt-1 text-sm text-slate-700">{a.detail.clone()}</p> })}
                    <p class="mt-1 text-xs text-slate-500">{seen}</p>
                    {who.map(|w| view! { <p class="mt-1 text-xs text-slate-600" data-testid="alert-outcome">{w}</p> })}
                </div>
                <div class="flex flex-wrap items-center gap-2">
                    <span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {badge}") data-testid="alert-state">{a.state.label()}</span>
                    {a.link.clone().map(|href| view! { <A href=href attr:class="text-sm font-medium text-indigo-700 underline">"Look"</A> })}
                    {(can_act && a.state == AlertState::Open).then(|| view! {
                        <button type="button" class=SECONDARY data-testid="acknowledge" disabled=move || ack.pending().get()
                            on:click=move |_| { ack.dispatch(()); }>"Acknowledge"</button>
                    })}
                    {(can_act && live).then(|| view! {
                        <button type="button" class=SECONDARY data-testid="resolve" aria-expanded=move || resolving.get().to_string()
                            on:click=move |_| resolving.update(|r| *r = !*r)>"Resolve…"</button>
                    })}
                </div>
            </div>
            {move || refused().map(|m| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{m}</p> })}
            <Show when=move || resolving.get()>
                <form on:submit=submit class="mt-3 grid gap-3 border-t border-slate-100 pt-3 md:grid-cols-[14rem_1fr_auto]" data-testid="resolve-form">
                    <label class="text-sm font-medium text-slate-700">"How"
                        <select class=INPUT data-testid="resolution" aria-invalid=errors.invalid("resolution")
                            on:change=move |ev| how.set(event_target_value(&ev))>
                            {Resolution::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=move || how.get() == r.as_str()>{r.label()}</option> }).collect_view()}
                        </select>
                        <span class="block text-xs text-rose-700">{errors.message("resolution")}</span>
                    </label>
                    <label class="text-sm font-medium text-slate-700">"Note"
                        <textarea class=INPUT rows="2" maxlength="2000" data-testid="resolution-note" aria-invalid=errors.invalid("note")
                            prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                        <span class="block text-xs text-slate-500">"If the condition still holds at the next check, a new alert opens."</span>
                        <span class="block text-xs text-rose-700" data-testid="error-note">{errors.message("note")}</span>
                    </label>
                    <div class="self-end">
                        <button type="submit" class=BUTTON data-testid="confirm-resolve" disabled=move || resolve.pending().get()>
                            {move || if resolve.pending().get() { "Resolving…" } else { "Resolve" }}
                        </button>
                    </div>
                    <p role="alert" class="text-sm text-rose-700 md:col-span-3">{errors.summary()}</p>
                </form>
            </Show>
        </li>
    }
}

#[component]
pub fn AlertRulesPage() -> impl IntoView {
    let loaded = Resource::new(|| (), |_| load_alert_rules());
    view! {
        <PageHeader title="Alert rules" subtitle="When an alert opens, for this workspace"/>
        <p class="mb-4 text-sm"><A href="/alerts" attr:class="font-medium text-indigo-700 underline">"Back to alerts"</A></p>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the rules…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { loaded.await.map(|p| view! { <RulesForm form=p.form/> }) })}
            </ErrorBoundary>
        </Transition>
        <super::webhook_page::WebhookCard/>
    }
}

#[component]
fn RulesForm(form: AlertRulesForm) -> impl IntoView {
    let version = RwSignal::new(form.version);
    let enabled: Vec<(AlertKind, RwSignal<bool>)> = AlertKind::RULES
        .into_iter()
        .map(|k| (k, RwSignal::new(form.enabled.contains(&k))))
        .collect();
    let values: Vec<(&'static str, RwSignal<String>)> = FIELDS
        .iter()
        .map(|f| {
            let v = form
                .values
                .iter()
                .find(|(k, _)| k == f.key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (f.key, RwSignal::new(v))
        })
        .collect();
    let save = Action::new(|f: &AlertRulesForm| save_alert_rules(f.clone()));
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let errors = FormErrors::new(Signal::derive(move || {
        save.value().get().and_then(Result::err)
    }));
    let (en, vals) = (enabled.clone(), values.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(AlertRulesForm {
            enabled: en
                .iter()
                .filter(|(_, s)| s.get_untracked())
                .map(|(k, _)| *k)
                .collect(),
            values: vals
                .iter()
                .map(|(k, s)| ((*k).to_owned(), s.get_untracked()))
                .collect(),
            version: version.get_untracked(),
        });
    };
    let sections = enabled.into_iter().map(|(kind, on)| {
        let fields = FIELDS.iter().filter(|f| f.kind == kind).map(|f| {
            let value = values.iter().find(|(k, _)| *k == f.key).map(|(_, s)| *s).unwrap_or_else(|| RwSignal::new(String::new()));
            let key = f.key;
            view! {
                <label class="block text-sm font-medium text-slate-700">{f.label}
                    <span class="mt-1 flex items-center gap-2">
                        <input type="number" class=INPUT min=f.min max=f.max step="1" data-testid=key aria-invalid=errors.invalid(key)
                            prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
                        <span class="whitespace-nowrap text-xs text-slate-500">{f.unit}</span>
                    </span>
                    <span class="block text-xs text-rose-700">{errors.message(key)}</span>
                </label>
            }
        }).collect_view();
        view! {
            <fieldset class="rounded-xl border border-slate-200 bg-white p-4" data-testid=format!("rule-{}", kind.as_str())>
                <legend class="px-1 font-semibold text-slate-900">{kind.label()}</legend>
                <label class="flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))/>
                    "On"
                </label>
                <p class="mt-1 text-sm text-slate-600">{kind.explain()}</p>
                <div class="mt-3 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">{fields}</div>
            </fieldset>
        }
    }).collect_view();
    view! {
        <form on:submit=submit novalidate class="space-y-4" data-testid="alert-rules">
            {sections}
            <p role="alert" class="text-sm text-rose-700">{errors.summary()}</p>
            <p role="alert" class="text-sm text-rose-700">{errors.message("version")}</p>
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <p role="status" class="text-sm text-emerald-800" data-testid="rules-saved">"Saved. The next check uses these thresholds."</p> })}
            <button type="submit" class=BUTTON data-testid="save-alert-rules" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "Saving…" } else { "Save rules" }}
            </button>
        </form>
    }
}
