//! The business context editor. It posts through an `ActionForm` (so it works before the page
//! is hydrated), checks nothing itself, and shows each server error beside its field. Viewers
//! who may not edit see the same fields, disabled.
use crate::{
    customers::{
        form::{BusinessContextForm, MAX_ITEMS, MAX_ITEM_CHARS},
        server_fns::SaveBusinessContext,
    },
    layout::FormErrors,
};
use leptos::prelude::*;

const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm text-slate-900 \
                     focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 \
                     aria-[invalid=true]:border-rose-500 disabled:bg-slate-50 disabled:text-slate-600";
const LEGEND: &str = "mb-2 text-sm font-semibold text-slate-900";

#[component]
pub fn BusinessContextEditor(form: BusinessContextForm, can_edit: bool) -> impl IntoView {
    let save = ServerAction::<SaveBusinessContext>::new();
    let version = RwSignal::new(form.version.clone());
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            version.set(saved.version);
        }
    });
    let errors = FormErrors::of(save);
    let error_for = move |field: &'static str| errors.message(field);
    let invalid = move |field: &'static str| errors.invalid(field);
    let form_error = errors.summary();
    let saved_note = move || {
        save.value().get().and_then(Result::ok).map(|s| {
            if s.changed.is_empty() {
                "Nothing changed.".to_owned()
            } else {
                format!(
                    "Saved. Changed: {}. New analyses and drafts use it from now on.",
                    s.changed.join(", ")
                )
            }
        })
    };
    let pending = save.pending();
    let field = move |name: &'static str,
                      label: &'static str,
                      value: String,
                      hint: &'static str| {
        view! {
            <div>
                <label for=name class="block text-sm font-medium text-slate-700">{label}</label>
                <input id=name name=format!("form[{name}]") type="text" class=INPUT value=value
                    aria-invalid=invalid(name) aria-describedby=format!("{name}-error")/>
                {(!hint.is_empty()).then(|| view! { <p class="mt-1 text-xs text-slate-500">{hint}</p> })}
                <p id=format!("{name}-error") class="mt-1 text-sm text-rose-600" data-testid=format!("error-{name}")>{error_for(name)}</p>
            </div>
        }
    };
    let area = move |name: &'static str,
                     label: &'static str,
                     value: String,
                     hint: String,
                     rows: u8| {
        view! {
            <div>
                <label for=name class="block text-sm font-medium text-slate-700">{label}</label>
                <textarea id=name name=format!("form[{name}]") rows=rows class=INPUT
                    aria-invalid=invalid(name) aria-describedby=format!("{name}-error")>{value}</textarea>
                {(!hint.is_empty()).then(|| view! { <p class="mt-1 text-xs text-slate-500">{hint}</p> })}
                <p id=format!("{name}-error") class="mt-1 text-sm text-rose-600" data-testid=format!("error-{name}")>{error_for(name)}</p>
            </div>
        }
    };
    let per_line = format!("One per line, up to {MAX_ITEMS} lines of {MAX_ITEM_CHARS} characters.");
    let f = form;
    view! {
        <ActionForm action=save attr:class="space-y-6 rounded-xl border border-slate-200 bg-white p-6" attr:aria-label="Business context" attr:novalidate=true>
            <input type="hidden" name="form[id]" value=f.id.clone()/>
            <input type="hidden" name="form[version]" value=move || version.get()/>
            <fieldset disabled=!can_edit class="space-y-6">
                <fieldset class="grid gap-4 md:grid-cols-2">
                    <legend class=LEGEND>"Business"</legend>
                    {field("name", "Name", f.name.clone(), "")}
                    {field("website", "Website", f.website.clone(), "https://…")}
                    {field("industry_category", "Industry", f.industry_category.clone(), "")}
                    {field("industry_subcategory", "Sub-industry", f.industry_subcategory.clone(), "")}
                    <label class="flex items-center gap-2 text-sm text-slate-700">
                        <input type="checkbox" name="form[is_vip]" value="on" class="h-4 w-4 rounded border-slate-300" checked=f.is_vip.is_some()/>
                        "VIP customer (its content always gets a human check)"
                    </label>
                </fieldset>
                <fieldset class="grid gap-4 md:grid-cols-2">
                    <legend class=LEGEND>"What they offer"</legend>
                    <div class="md:col-span-2">{area("business_description", "Description", f.business_description.clone(), String::new(), 3)}</div>
                    {area("unique_selling_points", "Unique selling points", f.unique_selling_points.clone(), per_line.clone(), 4)}
                    {area("products_services", "Products and services", f.products_services.clone(), "One per line, as \"Name: description\".".to_owned(), 4)}
                </fieldset>
                <fieldset class="grid gap-4 md:grid-cols-3">
                    <legend class=LEGEND>"Target audience"</legend>
                    {area("audience_description", "Who they are", f.audience_description.clone(), String::new(), 3)}
                    {area("audience_segments", "Segments", f.audience_segments.clone(), per_line.clone(), 3)}
                    {area("pain_points", "Pain points", f.pain_points.clone(), per_line.clone(), 3)}
                </fieldset>
                <fieldset class="grid gap-4 md:grid-cols-2" data-testid="brand-voice">
                    <legend class=LEGEND>"Brand voice"</legend>
                    {field("tone", "Tone", f.tone.clone(), "Warm, reassuring, plain-spoken…")}
                    {field("style", "Style", f.style.clone(), "Short sentences, first person plural…")}
                    {area("personality", "Personality", f.personality.clone(), per_line.clone(), 3)}
                    {area("phrases_to_use", "Phrases to use", f.phrases_to_use.clone(), per_line.clone(), 3)}
                    {area("phrases_to_avoid", "Phrases to avoid", f.phrases_to_avoid.clone(), "Drafts that use one lose brand-alignment points.".to_owned(), 3)}
                    {area("competitors", "Competitors", f.competitors.clone(), "Never named in a draft.".to_owned(), 3)}
                </fieldset>
                <fieldset class="grid gap-4 md:grid-cols-2">
                    <legend class=LEGEND>"Content preferences"</legend>
                    {area("formats", "Formats", f.formats.clone(), per_line.clone(), 2)}
                    <div class="space-y-4">
                        {field("length", "Length", f.length.clone(), "")}
                        {field("cta_style", "Call-to-action style", f.cta_style.clone(), "")}
                        <label class="flex items-center gap-2 text-sm text-slate-700">
                            <input type="checkbox" name="form[emoji]" value="on" class="h-4 w-4 rounded border-slate-300" checked=f.emoji.is_some()/>
                            "Emoji allowed"
                        </label>
                    </div>
                </fieldset>
                <fieldset class="grid gap-4 md:grid-cols-2">
                    <legend class=LEGEND>"Compliance"</legend>
                    {area("required_disclaimers", "Required disclaimers", f.required_disclaimers.clone(), "Every draft must carry each one word for word.".to_owned(), 3)}
                    {area("forbidden_claims", "Forbidden claims", f.forbidden_claims.clone(), "A draft that makes one fails compliance and is written again.".to_owned(), 3)}
                </fieldset>
            </fieldset>
            <Show when=move || form_error().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="form-errors">{form_error}</p>
            </Show>
            <Show when=move || saved_note().is_some()>
                <p role="status" class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="saved">{saved_note}</p>
            </Show>
            {can_edit.then(|| view! {
                <button type="submit" data-testid="save-context" disabled=move || pending.get()
                    class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    {move || if pending.get() { "Saving…" } else { "Save business context" }}
                </button>
            })}
            {(!can_edit).then(|| view! { <p class="text-sm text-slate-500">"Managers and admins can change the business context."</p> })}
        </ActionForm>
    }
}
