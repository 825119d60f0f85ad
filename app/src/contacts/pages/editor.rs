//! `/contacts/new` and `/contacts/:id/edit`: the contact form. It posts through an
//! `ActionForm` (so it works before hydration), checks nothing itself, shows each server error
//! beside its field, and opens the contact's page once saved.
use crate::{
    contacts::{
        form::{ContactForm, MAX_NAME_CHARS, MAX_PHONE_CHARS, MAX_TITLE_CHARS},
        records::{contact_form_data, SaveContact},
        ContactChoices,
    },
    crm::LIFECYCLE_STAGES,
    domain::humanize,
    layout::{error_fallback, FormErrors, LoadingBlock, PageHeader},
};
use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use uuid::Uuid;

pub(crate) const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 \
                     focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 \
                     aria-[invalid=true]:border-rose-500";
pub(crate) const BUTTON: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
pub(crate) const SECONDARY: &str = "rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

/// `/contacts/new?customer=<id>` opens with that company chosen.
#[component]
pub fn NewContactPage() -> impl IntoView {
    let query = use_query_map();
    let customer = query.with_untracked(|q| q.get("customer").and_then(|c| c.parse().ok()));
    let data = Resource::new(|| (), move |_| contact_form_data(None, customer));
    view! {
        <PageHeader title="New contact" subtitle="Someone at one of the businesses you work with"/>
        <Suspense fallback=|| view! { <LoadingBlock label="Loading the form…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    data.await.map(|(form, choices)| view! { <ContactEditor form choices cancel="/contacts".to_owned()/> })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

#[component]
pub fn EditContactPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").and_then(|raw| raw.parse::<Uuid>().ok()));
    let data = Resource::new(
        || (),
        move |_| async move {
            match id {
                Some(id) => contact_form_data(Some(id), None).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <PageHeader title="Edit contact"/>
        <Suspense fallback=|| view! { <LoadingBlock label="Loading the contact…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    data.await.map(|(form, choices)| {
                        let cancel = format!("/contacts/{}", form.id);
                        view! { <ContactEditor form choices cancel/> }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

#[component]
fn ContactEditor(form: ContactForm, choices: ContactChoices, cancel: String) -> impl IntoView {
    let save = ServerAction::<SaveContact>::new();
    let errors = FormErrors::of(save);
    let pending = save.pending();
    let is_new = form.id.is_empty();
    let field = move |name: &'static str,
                      label: &'static str,
                      value: String,
                      kind: &'static str,
                      max: usize,
                      autocomplete: &'static str| {
        view! {
            <div>
                <label for=name class="block text-sm font-medium text-slate-700">{label}</label>
                <input id=name name=format!("form[{name}]") type=kind class=INPUT value=value maxlength=max
                    autocomplete=autocomplete
                    aria-invalid=errors.invalid(name) aria-describedby=format!("{name}-error")/>
                <p id=format!("{name}-error") class="mt-1 text-sm text-rose-600" data-testid=format!("error-{name}")>{errors.message(name)}</p>
            </div>
        }
    };
    let f = form;
    let customer = f.customer_id.clone();
    let owner = f.owner_user_id.clone();
    let stage = f.lifecycle_stage.clone();
    let me = choices.me;
    view! {
        <ActionForm action=save attr:class="max-w-3xl space-y-6 rounded-xl border border-slate-200 bg-white p-6" attr:aria-label="Contact" attr:novalidate=true>
            <input type="hidden" name="form[id]" value=f.id.clone()/>
            <input type="hidden" name="form[version]" value=f.version.clone()/>
            <div class="grid gap-4 md:grid-cols-2">
                {field("first_name", "First name", f.first_name.clone(), "text", MAX_NAME_CHARS, "off")}
                {field("last_name", "Last name", f.last_name.clone(), "text", MAX_NAME_CHARS, "off")}
                {field("email", "Email", f.email.clone(), "email", 254, "off")}
                {field("phone", "Phone", f.phone.clone(), "tel", MAX_PHONE_CHARS, "off")}
                {field("title", "Job title", f.title.clone(), "text", MAX_TITLE_CHARS, "off")}
                <div>
                    <label for="customer_id" class="block text-sm font-medium text-slate-700">"Company"</label>
                    <select id="customer_id" name="form[customer_id]" class=INPUT aria-invalid=errors.invalid("customer_id") aria-describedby="customer_id-error">
                        <option value="">"Choose a company"</option>
                        {choices.customers.into_iter().map(|c| {
                            let v = c.id.to_string();
                            let selected = v == customer;
                            view! { <option value=v selected=selected>{c.label}</option> }
                        }).collect_view()}
                    </select>
                    <p id="customer_id-error" class="mt-1 text-sm text-rose-600" data-testid="error-customer_id">{errors.message("customer_id")}</p>
                </div>
                <div>
                    <label for="lifecycle_stage" class="block text-sm font-medium text-slate-700">"Stage"</label>
                    <select id="lifecycle_stage" name="form[lifecycle_stage]" class=INPUT aria-invalid=errors.invalid("lifecycle_stage")>
                        {LIFECYCLE_STAGES.into_iter().map(|s| view! { <option value=s selected=s == stage>{humanize(s)}</option> }).collect_view()}
                    </select>
                    <p class="mt-1 text-sm text-rose-600">{errors.message("lifecycle_stage")}</p>
                </div>
                <div>
                    <label for="owner_user_id" class="block text-sm font-medium text-slate-700">"Owner"</label>
                    <select id="owner_user_id" name="form[owner_user_id]" class=INPUT aria-invalid=errors.invalid("owner_user_id")>
                        <option value="">"Nobody yet"</option>
                        {choices.owners.into_iter().map(|o| {
                            let v = o.id.to_string();
                            let selected = v == owner;
                            let label = if o.id == me { format!("{} (you)", o.label) } else { o.label };
                            view! { <option value=v selected=selected>{label}</option> }
                        }).collect_view()}
                    </select>
                    <p class="mt-1 text-sm text-rose-600">{errors.message("owner_user_id")}</p>
                </div>
            </div>
            <Show when=move || errors.summary()().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="form-errors">{errors.summary()}</p>
            </Show>
            <div class="flex items-center gap-3">
                <button type="submit" class=BUTTON disabled=move || pending.get() data-testid="save-contact">
                    {move || match (pending.get(), is_new) {
                        (true, _) => "Saving…",
                        (false, true) => "Create contact",
                        (false, false) => "Save contact",
                    }}
                </button>
                <A href=cancel attr:class=SECONDARY>"Cancel"</A>
            </div>
        </ActionForm>
    }
}
