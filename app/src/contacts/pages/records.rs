//! The contact page's editing parts: its deals (add, edit, archive), the log-an-activity form
//! and the archive controls. Each posts through an `ActionForm` and, once the server agrees,
//! asks the page to reload what it shows, so the change appears at once.
use super::{
    editor::{BUTTON, INPUT, SECONDARY},
    stage_badge,
};
use crate::{
    contacts::{
        form::{
            amount_text, outcomes, DealForm, ACTIVITY_KINDS, DIRECTIONS, MAX_DEAL_NAME_CHARS,
            MAX_SUMMARY_CHARS,
        },
        records::{ArchiveContact, ArchiveDeal, LogActivity, SaveDeal},
    },
    crm::{Deal, DEAL_STAGES},
    domain::humanize,
    layout::{confirm_first, format_time, FormErrors},
};
use leptos::prelude::*;
use uuid::Uuid;

const DANGER: &str = "rounded-md border border-rose-300 bg-white px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-rose-500";

/// Runs `then` each time `action` answers without an error.
fn on_success<S>(action: ServerAction<S>, then: Callback<()>)
where
    S: leptos::server_fn::ServerFn<Error = crate::error::AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            then.run(());
        }
    });
}

#[component]
pub fn DealsCard(
    contact_id: Uuid,
    deals: Signal<Vec<Deal>>,
    can_edit: Signal<bool>,
    on_change: Callback<()>,
) -> impl IntoView {
    let archive = ServerAction::<ArchiveDeal>::new();
    on_success(archive, on_change);
    let confirm = confirm_first(
        "Archive this deal? It leaves this page and the AI's context; its history is kept.",
    );
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm" data-testid="deals">
            <h2 class="mb-3 text-base font-semibold text-slate-900">"Deals"</h2>
            {move || {
                let deals = deals.get();
                if deals.is_empty() {
                    return view! { <p class="text-sm text-slate-500">"No deals with this contact yet."</p> }.into_any();
                }
                view! {
                    <ul class="divide-y divide-slate-100 text-sm">
                        {deals.into_iter().map(|d| {
                            let form = DealForm::of(contact_id, &d);
                            view! {
                                <li class="py-2" data-testid="deal">
                                    <div class="flex flex-wrap items-center justify-between gap-2">
                                        <span class="font-medium text-slate-900">{d.name.clone()}</span>
                                        <span class="flex items-center gap-3 text-slate-600">
                                            {d.amount()}
                                            {d.expected_close.map(|c| view! { <span class="text-xs text-slate-500">"close " {c.to_string()}</span> })}
                                            {stage_badge(&d.stage)}
                                        </span>
                                    </div>
                                    <Show when=move || can_edit.get()>
                                        <details class="mt-2">
                                            <summary class="cursor-pointer text-xs font-medium text-indigo-700">"Edit or archive"</summary>
                                            <div class="mt-2 space-y-3">
                                                <DealEditor form=form.clone() on_saved=on_change/>
                                                <ActionForm action=archive>
                                                    <input type="hidden" name="contact_id" value=contact_id.to_string()/>
                                                    <input type="hidden" name="id" value=d.id.to_string()/>
                                                    <button type="submit" class=DANGER on:click=confirm data-testid="archive-deal">"Archive deal"</button>
                                                </ActionForm>
                                            </div>
                                        </details>
                                    </Show>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <Show when=move || can_edit.get()>
                <details class="mt-3" data-testid="add-deal">
                    <summary class="cursor-pointer text-sm font-medium text-indigo-700">"Add a deal"</summary>
                    <div class="mt-2">
                        <DealEditor form=DealForm { contact_id: contact_id.to_string(), amount: amount_text(0), currency: "USD".into(), ..Default::default() } on_saved=on_change/>
                    </div>
                </details>
            </Show>
        </section>
    }
}

#[component]
fn DealEditor(form: DealForm, on_saved: Callback<()>) -> impl IntoView {
    let save = ServerAction::<SaveDeal>::new();
    on_success(save, on_saved);
    let errors = FormErrors::of(save);
    let pending = save.pending();
    let is_new = form.id.is_empty();
    // Ids are per form: a page holds one form per deal.
    let key = if is_new {
        "new".to_owned()
    } else {
        form.id.clone()
    };
    let field = move |name: &'static str,
                      label: &'static str,
                      value: String,
                      kind: &'static str| {
        let id = format!("deal-{key}-{name}");
        view! {
            <div>
                <label for=id.clone() class="block text-xs font-medium text-slate-700">{label}</label>
                <input id=id name=format!("form[{name}]") type=kind class=INPUT value=value
                    aria-invalid=errors.invalid(name)/>
                <p class="mt-1 text-xs text-rose-600" data-testid=format!("error-deal-{name}")>{errors.message(name)}</p>
            </div>
        }
    };
    let stage = form.stage.clone();
    let key2 = if is_new {
        "new".to_owned()
    } else {
        form.id.clone()
    };
    view! {
        <ActionForm action=save attr:class="space-y-3" attr:novalidate=true attr:aria-label=if is_new { "New deal" } else { "Edit deal" }>
            <input type="hidden" name="form[id]" value=form.id.clone()/>
            <input type="hidden" name="form[contact_id]" value=form.contact_id.clone()/>
            <input type="hidden" name="form[version]" value=form.version.clone()/>
            <div class="grid gap-3 sm:grid-cols-2">
                <div class="sm:col-span-2">
                    <label for=format!("deal-{key2}-name") class="block text-xs font-medium text-slate-700">"Name"</label>
                    <input id=format!("deal-{key2}-name") name="form[name]" type="text" class=INPUT value=form.name.clone()
                        maxlength=MAX_DEAL_NAME_CHARS aria-invalid=errors.invalid("name")/>
                    <p class="mt-1 text-xs text-rose-600" data-testid="error-deal-name">{errors.message("name")}</p>
                </div>
                <div>
                    <label for=format!("deal-{key2}-stage") class="block text-xs font-medium text-slate-700">"Stage"</label>
                    <select id=format!("deal-{key2}-stage") name="form[stage]" class=INPUT>
                        {DEAL_STAGES.into_iter().map(|s| view! { <option value=s selected=s == stage>{humanize(s)}</option> }).collect_view()}
                    </select>
                    <p class="mt-1 text-xs text-rose-600">{errors.message("stage")}</p>
                </div>
                {field("expected_close", "Expected close", form.expected_close.clone(), "date")}
                {field("amount", "Amount", form.amount.clone(), "text")}
                {field("currency", "Currency", form.currency.clone(), "text")}
            </div>
            <Show when=move || errors.summary()().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{errors.summary()}</p>
            </Show>
            <button type="submit" class=BUTTON disabled=move || pending.get() data-testid="save-deal">
                {move || match (pending.get(), is_new) {
                    (true, _) => "Saving…",
                    (false, true) => "Add deal",
                    (false, false) => "Save deal",
                }}
            </button>
        </ActionForm>
    }
}

/// The log-an-activity form, above the timeline.
#[component]
pub fn LogActivityForm(contact_id: Uuid, on_logged: Callback<()>) -> impl IntoView {
    let log = ServerAction::<LogActivity>::new();
    on_success(log, on_logged);
    let errors = FormErrors::of(log);
    let pending = log.pending();
    let kind = RwSignal::new("call".to_owned());
    // A logged activity clears the summary for the next one.
    let summary = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = log.value().get() {
            summary.set(String::new());
        }
    });
    let label = "block text-xs font-medium text-slate-700";
    view! {
        <ActionForm action=log attr:class="mb-4 space-y-3 rounded-lg bg-slate-50 p-3" attr:novalidate=true attr:aria-label="Log activity">
            <input type="hidden" name="form[contact_id]" value=contact_id.to_string()/>
            <div class="grid gap-3 sm:grid-cols-4">
                <div>
                    <label for="activity-kind" class=label>"Kind"</label>
                    <select id="activity-kind" name="form[kind]" class=INPUT on:change=move |ev| kind.set(event_target_value(&ev))>
                        {ACTIVITY_KINDS.into_iter().map(|k| view! { <option value=k selected=k == "call">{humanize(k)}</option> }).collect_view()}
                    </select>
                    <p class="mt-1 text-xs text-rose-600">{errors.message("kind")}</p>
                </div>
                <div>
                    <label for="activity-direction" class=label>"Direction"</label>
                    <select id="activity-direction" name="form[direction]" class=INPUT disabled=move || kind.get() == "note"
                        aria-invalid=errors.invalid("direction")>
                        {DIRECTIONS.into_iter().map(|d| view! { <option value=d>{humanize(d)}</option> }).collect_view()}
                    </select>
                    <p class="mt-1 text-xs text-rose-600" data-testid="error-direction">{errors.message("direction")}</p>
                </div>
                <div>
                    <label for="activity-when" class=label>"When (UTC)"</label>
                    <input id="activity-when" name="form[occurred_at]" type="datetime-local" class=INPUT
                        aria-invalid=errors.invalid("occurred_at") aria-describedby="activity-when-hint"/>
                    <p id="activity-when-hint" class="mt-1 text-xs text-slate-500">"Empty means now."</p>
                    <p class="mt-1 text-xs text-rose-600" data-testid="error-occurred_at">{errors.message("occurred_at")}</p>
                </div>
                <div>
                    <label for="activity-outcome" class=label>"Outcome"</label>
                    <select id="activity-outcome" name="form[outcome]" class=INPUT disabled=move || outcomes(&kind.get()).is_empty()>
                        <option value="">"Not recorded"</option>
                        {move || outcomes(&kind.get()).iter().map(|o| view! { <option value=*o>{humanize(o)}</option> }).collect_view()}
                    </select>
                    <p class="mt-1 text-xs text-rose-600">{errors.message("outcome")}</p>
                </div>
            </div>
            <div>
                <label for="activity-summary" class=label>"Summary"</label>
                <textarea id="activity-summary" name="form[summary]" rows="2" class=INPUT maxlength=MAX_SUMMARY_CHARS
                    placeholder="What was said or done, and what comes next"
                    prop:value=move || summary.get() on:input=move |ev| summary.set(event_target_value(&ev))
                    aria-invalid=errors.invalid("summary")></textarea>
                <p class="mt-1 text-xs text-rose-600" data-testid="error-summary">{errors.message("summary")}</p>
            </div>
            <Show when=move || errors.summary()().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{errors.summary()}</p>
            </Show>
            <button type="submit" class=BUTTON disabled=move || pending.get() data-testid="log-activity">
                {move || if pending.get() { "Logging…" } else { "Log activity" }}
            </button>
        </ActionForm>
    }
}

/// Archive (with a confirmation) or, once archived, a banner with Restore.
#[component]
pub fn ArchiveControls(
    contact_id: Uuid,
    archived_at: Option<time::OffsetDateTime>,
    on_change: Callback<()>,
) -> impl IntoView {
    let archive = ServerAction::<ArchiveContact>::new();
    on_success(archive, on_change);
    let error = move || {
        archive
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let confirm = confirm_first(
        "Archive this contact? They leave the contacts list and the AI's context. Deals, activities and analyses are kept, and you can restore them.",
    );
    let form = move |archived: bool| {
        view! {
            <ActionForm action=archive attr:class="inline">
                <input type="hidden" name="id" value=contact_id.to_string()/>
                <input type="hidden" name="archived" value=archived.to_string()/>
                {if archived {
                    view! { <button type="submit" class=DANGER on:click=confirm data-testid="archive-contact">"Archive"</button> }.into_any()
                } else {
                    view! { <button type="submit" class=SECONDARY data-testid="restore-contact">"Restore"</button> }.into_any()
                }}
            </ActionForm>
        }
    };
    view! {
        {match archived_at {
            Some(at) => view! {
                <div role="status" class="mb-4 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="archived-banner">
                    <span>"Archived " {format_time(at)} ". Out of the contacts list and the AI's context; the history is kept."</span>
                    {form(false)}
                </div>
            }.into_any(),
            None => form(true).into_any(),
        }}
        {move || error().map(|e| view! { <p role="alert" class="text-sm text-rose-700">{e}</p> })}
    }
}
