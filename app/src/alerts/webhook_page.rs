//! The webhook card on `/alerts/rules`: where alerts are sent, the secret that signs them (shown
//! once), a test, and the delivery log.
use super::{
    server_fns::{load_webhook, save_webhook, test_webhook},
    webhook::{Delivery, WebhookForm, WebhookPage, MAX_URL_CHARS},
};
use crate::layout::{
    error_fallback, format_time, FormErrors, LoadingBlock, BUTTON, INPUT, SECONDARY,
};
use crate::live::{on_change, Topic};
use leptos::prelude::*;

#[component]
pub fn WebhookCard() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let page = Resource::new(move || changed.get(), |_| load_webhook());
    // A delivery follows every alert change: show it.
    on_change(move |batch| {
        if batch.touches(Topic::Alerts) {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <section class="mt-8 rounded-xl border border-slate-200 bg-white p-4" aria-labelledby="webhook-heading" data-testid="webhook">
            <h2 id="webhook-heading" class="font-semibold text-slate-900">"Webhook"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "Each alert opened, acknowledged or resolved is posted as JSON to this address, signed in "
                <code class="text-xs">"X-SmartCRM-Signature"</code>
                " (t=unix time, v1=HMAC-SHA256 of \"t.body\" with the secret). A failed try is retried after 30 s, 1, 2, 4 and 8 minutes."
            </p>
            <Transition fallback=|| view! { <LoadingBlock label="Loading the webhook…"/> }>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        page.await.map(|p| view! { <WebhookEditor page=p changed/> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn WebhookEditor(page: WebhookPage, changed: RwSignal<u32>) -> impl IntoView {
    let current = page.webhook.clone();
    let url = RwSignal::new(current.as_ref().map(|w| w.url.clone()).unwrap_or_default());
    let enabled = RwSignal::new(current.as_ref().is_none_or(|w| w.enabled));
    let severity = RwSignal::new(
        current
            .as_ref()
            .map(|w| w.min_severity.clone())
            .unwrap_or_else(|| "warning".into()),
    );
    let version = current.as_ref().map_or(0, |w| w.version);
    let tail = current.as_ref().map(|w| w.secret_tail.clone());
    let save = Action::new(move |rotate: &bool| {
        let form = WebhookForm {
            url: url.get_untracked(),
            enabled: enabled.get_untracked(),
            min_severity: severity.get_untracked(),
            version,
        };
        save_webhook(form, *rotate)
    });
    let secret: RwSignal<Option<String>> = RwSignal::new(None);
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            secret.set(saved.secret);
            changed.update(|n| *n += 1);
        }
    });
    let test = Action::new(|_: &()| test_webhook());
    let errors = FormErrors::new(Signal::derive(move || {
        save.value().get().and_then(Result::err)
    }));
    let can_edit = page.can_edit;
    let has_webhook = current.is_some();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(false);
    };
    let rotate = move |_| {
        let sure = window()
            .confirm_with_message("Make a new secret? Deliveries are signed with it at once; the receiver must be given it.")
            .unwrap_or(false);
        if sure {
            save.dispatch(true);
        }
    };
    view! {
        <form on:submit=submit novalidate class="mt-4 grid gap-3 md:grid-cols-3" aria-label="Webhook">
            <label class="text-sm font-medium text-slate-700 md:col-span-2">"Address"
                <input type="url" class=INPUT maxlength=MAX_URL_CHARS placeholder="https://hooks.example.com/smartcrm" data-testid="webhook-url"
                    disabled=!can_edit aria-invalid=errors.invalid("url")
                    prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                <span class="block text-xs text-rose-700" data-testid="error-url">{errors.message("url")}</span>
            </label>
            <label class="text-sm font-medium text-slate-700">"Send"
                <select class=INPUT disabled=!can_edit data-testid="webhook-severity" on:change=move |ev| severity.set(event_target_value(&ev))>
                    <option value="warning" selected=move || severity.get() == "warning">"Every alert"</option>
                    <option value="critical" selected=move || severity.get() == "critical">"Critical alerts only"</option>
                </select>
            </label>
            <label class="flex items-center gap-2 text-sm text-slate-700">
                <input type="checkbox" disabled=!can_edit data-testid="webhook-enabled" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                "On"
            </label>
            <p class="text-sm text-slate-600 md:col-span-2">
                {tail.map(|t| format!("Secret ending …{t}.")).unwrap_or_else(|| "A secret is made when you first save.".into())}
            </p>
            <p role="alert" class="text-sm text-rose-700 md:col-span-3">{errors.summary()}</p>
            <p role="alert" class="text-sm text-rose-700 md:col-span-3">{errors.message("version")}</p>
            {move || secret.get().map(|s| view! {
                <div role="status" class="rounded-md bg-amber-50 p-3 text-sm text-amber-900 md:col-span-3" data-testid="webhook-secret">
                    <p class="font-medium">"Give this secret to the receiver now: it is not shown again."</p>
                    <code class="mt-1 block break-all text-xs" data-testid="webhook-secret-value">{s}</code>
                </div>
            })}
            <Show when=move || can_edit>
                <div class="flex flex-wrap gap-2 md:col-span-3">
                    <button type="submit" class=BUTTON data-testid="save-webhook" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save webhook" }}
                    </button>
                    <Show when=move || has_webhook>
                        <button type="button" class=SECONDARY data-testid="rotate-secret" on:click=rotate disabled=move || save.pending().get()>"New secret…"</button>
                        <button type="button" class=SECONDARY data-testid="test-webhook" on:click=move |_| { test.dispatch(()); } disabled=move || test.pending().get()>
                            {move || if test.pending().get() { "Queueing…" } else { "Send a test" }}
                        </button>
                    </Show>
                </div>
            </Show>
            {move || test.value().get().map(|r| match r {
                Ok(()) => view! { <p role="status" class="text-sm text-emerald-800 md:col-span-3" data-testid="test-queued">"Test queued: it is sent within 10 s and appears in the log below."</p> }.into_any(),
                Err(e) => view! { <p role="alert" class="text-sm text-rose-700 md:col-span-3">{e.to_string()}</p> }.into_any(),
            })}
        </form>
        <DeliveryLog deliveries=page.deliveries/>
    }
}

#[component]
fn DeliveryLog(deliveries: Vec<Delivery>) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="mt-4 text-sm text-slate-500" data-testid="deliveries-empty">"No deliveries yet."</p> }.into_any();
    }
    let rows = deliveries
        .into_iter()
        .map(|d| {
            let (badge, label) = match d.state.as_str() {
                "delivered" => ("bg-emerald-50 text-emerald-800 ring-emerald-200", "Delivered"),
                "failed" => ("bg-rose-50 text-rose-800 ring-rose-200", "Failed"),
                _ => ("bg-amber-50 text-amber-800 ring-amber-200", "Pending"),
            };
            let outcome = match (d.last_status, d.last_error) {
                (_, Some(e)) => e,
                (Some(s), None) => format!("HTTP {s}"),
                (None, None) => String::new(),
            };
            view! {
                <tr data-testid="delivery" data-state=d.state.clone()>
                    <td class="whitespace-nowrap px-3 py-2 text-slate-500">{format_time(d.created_at)}</td>
                    <td class="px-3 py-2"><span class="font-mono text-xs">{d.event}</span><span class="block text-slate-600">{d.alert_title.unwrap_or_default()}</span></td>
                    <td class="px-3 py-2"><span class=format!("rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {badge}")>{label}</span></td>
                    <td class="px-3 py-2 text-right tabular-nums">{d.attempts}</td>
                    <td class="px-3 py-2 text-slate-600">{outcome}{d.next_attempt_at.map(|t| format!(" Next try {}.", format_time(t)))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="mt-4 overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="deliveries">
                <caption class="mb-2 text-left text-sm font-medium text-slate-700">"Latest deliveries"</caption>
                <thead class="text-left text-xs uppercase text-slate-500">
                    <tr><th scope="col" class="px-3 py-2">"When"</th><th scope="col" class="px-3 py-2">"Event"</th><th scope="col" class="px-3 py-2">"State"</th><th scope="col" class="px-3 py-2 text-right">"Tries"</th><th scope="col" class="px-3 py-2">"Outcome"</th></tr>
                </thead>
                <tbody class="divide-y divide-slate-100">{rows}</tbody>
            </table>
        </div>
    }.into_any()
}
