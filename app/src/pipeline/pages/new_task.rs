//! `/pipeline/new`: a task with structured AI instructions. The form posts through an
//! `ActionForm`, so it works before the page is hydrated (and with JavaScript off). It checks
//! nothing itself: the server's `NewTaskForm::parse` does, and every message it returns is
//! shown beside its field.
use super::{BUTTON, INPUT, SECONDARY};
use crate::{
    domain::humanize,
    layout::{error_fallback, FormErrors, LoadingBlock, PageHeader},
    pipeline::{
        instructions::{
            NewTaskForm, CONTEXT_SOURCES, MAX_ATTEMPTS_LIMIT, OUTPUT_FORMATS, OUTPUT_TYPES,
            SENTIMENTS,
        },
        model::CustomerOption,
        server_fns::{new_task_options, CreateTask},
    },
};
use leptos::prelude::*;
use leptos_router::components::A;

/// Only those who may create tasks get the form; anyone else gets the 403 "Not allowed" panel,
/// as on every other page they cannot use.
#[component]
pub fn NewTaskPage() -> impl IntoView {
    let customers = Resource::new(|| (), |_| new_task_options());
    view! {
        <PageHeader title="New task" subtitle="Structured instructions the AI drafts from, with the customer's business context"/>
        <Suspense fallback=|| view! { <LoadingBlock label="Loading the form…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    customers.await.map(|customers| view! { <TaskForm customers/> })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

#[component]
fn TaskForm(customers: Vec<CustomerOption>) -> impl IntoView {
    let create = ServerAction::<CreateTask>::new();
    let defaults = NewTaskForm::defaults();
    let errors = FormErrors::of(create);
    let error_for = move |field: &'static str| errors.message(field);
    let invalid = move |field: &'static str| errors.invalid(field);
    let form_error = errors.summary();
    let pending = create.pending();
    // One labelled input named `form[<name>]`, with its error under it.
    let text_field = move |name: &'static str,
                           label: &'static str,
                           field: &'static str,
                           value: String,
                           kind: &'static str| {
        view! {
            <div>
                <label for=name class="block text-sm font-medium text-slate-700">{label}</label>
                <input id=name name=format!("form[{name}]") type=kind class=INPUT value=value
                    aria-invalid=invalid(field) aria-describedby=format!("{name}-error")/>
                <p id=format!("{name}-error") class="mt-1 text-sm text-rose-600" data-testid=format!("error-{name}")>{error_for(field)}</p>
            </div>
        }
    };
    let d = defaults.clone();
    view! {
        <ActionForm action=create attr:class="space-y-6 rounded-xl border border-slate-200 bg-white p-6" attr:aria-label="New task" attr:novalidate=true>
            <div class="grid gap-4 md:grid-cols-2">
                <div>
                    <label for="customer" class="block text-sm font-medium text-slate-700">"Customer"</label>
                    <select id="customer" name="form[customer_id]" class=INPUT aria-invalid=invalid("customer_id") aria-describedby="customer-error">
                        <option value="">"Choose a customer"</option>
                        {customers.into_iter().map(|c| view! { <option value=c.id.to_string()>{c.name}</option> }).collect_view()}
                    </select>
                    <p id="customer-error" class="mt-1 text-sm text-rose-600" data-testid="error-customer">{error_for("customer_id")}</p>
                </div>
                {text_field("project", "Project", "project", d.project.clone(), "text")}
                {text_field("title", "Title", "title", d.title.clone(), "text")}
                {text_field("max_attempts", "Attempts allowed", "max_attempts", d.max_attempts.clone(), "number")}
            </div>
            <p class="-mt-4 text-xs text-slate-500">{format!("Between 1 and {MAX_ATTEMPTS_LIMIT} attempts.")}</p>
            <div>
                <label for="brief" class="block text-sm font-medium text-slate-700">"Brief"</label>
                <textarea id="brief" name="form[brief]" rows="3" class=INPUT placeholder="What should the AI write, for whom, and why now?"
                    aria-invalid=invalid("brief") aria-describedby="brief-error"></textarea>
                <p id="brief-error" class="mt-1 text-sm text-rose-600" data-testid="error-brief">{error_for("brief")}</p>
            </div>
            <fieldset class="grid gap-4 md:grid-cols-4">
                <legend class="mb-2 text-sm font-semibold text-slate-900">"Output"</legend>
                <div>
                    <label for="output_type" class="block text-sm font-medium text-slate-700">"Type"</label>
                    <select id="output_type" name="form[output_type]" class=INPUT aria-invalid=invalid("output_type")>
                        {OUTPUT_TYPES.into_iter().map(|(k, l)| view! { <option value=k selected=k == defaults.output_type>{l}</option> }).collect_view()}
                    </select>
                    <p class="mt-1 text-sm text-rose-600">{error_for("output_type")}</p>
                </div>
                <div>
                    <label for="output_format" class="block text-sm font-medium text-slate-700">"Format"</label>
                    <select id="output_format" name="form[output_format]" class=INPUT aria-invalid=invalid("output_format")>
                        {OUTPUT_FORMATS.into_iter().map(|k| view! { <option value=k selected=k == defaults.output_format>{humanize(k)}</option> }).collect_view()}
                    </select>
                    <p class="mt-1 text-sm text-rose-600">{error_for("output_format")}</p>
                </div>
                {text_field("min_words", "Minimum words", "output_length.min_words", d.min_words.clone(), "number")}
                {text_field("max_words", "Maximum words", "output_length.max_words", d.max_words.clone(), "number")}
            </fieldset>
            <div class="grid gap-4 md:grid-cols-2">
                <div>
                    <label for="must_include" class="block text-sm font-medium text-slate-700">"Must include"</label>
                    <textarea id="must_include" name="form[must_include]" rows="2" class=INPUT aria-invalid=invalid("must_include")>{d.must_include.clone()}</textarea>
                    <p class="mt-1 text-xs text-slate-500">"Comma-separated. \"business name\", \"CTA\", \"contact info\" and \"website\" are checked by meaning; anything else word for word."</p>
                    <p class="mt-1 text-sm text-rose-600">{error_for("must_include")}</p>
                </div>
                <div>
                    <label for="must_not" class="block text-sm font-medium text-slate-700">"Must not include"</label>
                    <textarea id="must_not" name="form[must_not_include]" rows="2" class=INPUT aria-invalid=invalid("must_not_include")>{d.must_not_include.clone()}</textarea>
                    <p class="mt-1 text-xs text-slate-500">"Comma-separated. \"competitor names\" checks the customer's competitors."</p>
                    <p class="mt-1 text-sm text-rose-600">{error_for("must_not_include")}</p>
                </div>
            </div>
            <fieldset>
                <legend class="mb-2 text-sm font-semibold text-slate-900">"Context the AI may use"</legend>
                <div class="flex flex-wrap gap-x-6 gap-y-2">
                    {CONTEXT_SOURCES.into_iter().map(|s| view! {
                        <label class="flex items-center gap-2 text-sm text-slate-700">
                            <input type="checkbox" name="form[context_sources][]" value=s class="h-4 w-4 rounded border-slate-300"
                                checked=defaults.context_sources.iter().any(|x| x == s)/>
                            {humanize(&s.replace("customer.", "").replace('.', " "))}
                        </label>
                    }).collect_view()}
                </div>
                <p class="mt-1 text-sm text-rose-600">{error_for("context_sources")}</p>
            </fieldset>
            <fieldset class="grid gap-4 md:grid-cols-4">
                <legend class="mb-2 text-sm font-semibold text-slate-900">"Success criteria"</legend>
                {text_field("readability", "Reading ease at least", "success_criteria.readability_score_min", d.readability.clone(), "number")}
                <div>
                    <label for="sentiment" class="block text-sm font-medium text-slate-700">"Tone"</label>
                    <select id="sentiment" name="form[sentiment]" class=INPUT>
                        <option value="">"Any"</option>
                        {SENTIMENTS.into_iter().map(|k| view! { <option value=k selected=k == defaults.sentiment>{humanize(k)}</option> }).collect_view()}
                    </select>
                </div>
                {text_field("min_overall", "Approve at quality", "quality_thresholds.min_overall", d.min_overall.clone(), "number")}
                <label class="flex items-center gap-2 self-end pb-2 text-sm text-slate-700">
                    <input type="checkbox" name="form[cta]" value="on" class="h-4 w-4 rounded border-slate-300" checked=defaults.cta.is_some()/>
                    "Needs a call to action"
                </label>
            </fieldset>
            <Show when=move || form_error().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="form-errors">{form_error}</p>
            </Show>
            <div class="flex gap-3">
                <button type="submit" class=BUTTON disabled=move || pending.get() data-testid="create-task">
                    {move || if pending.get() { "Creating…" } else { "Create task" }}
                </button>
                <A href="/pipeline" attr:class=SECONDARY>"Cancel"</A>
            </div>
        </ActionForm>
    }
}
