//! `/examples/new` and `/examples/:id`: the example editor. The annotation has two parts: why
//! it is good or bad, and what to copy or avoid. Each save embeds the text and says with which
//! model (or why it could not); archiving asks first.
use super::{examples::polarity_badge, BUTTON, INPUT, SECONDARY};
use crate::{
    domain::humanize,
    layout::{confirm_first, error_fallback, format_time, FormErrors, LoadingBlock, PageHeader},
    pipeline::{
        examples::{
            form::{MAX_ANNOTATION_CHARS, MAX_CONTENT_CHARS},
            server_fns::{get_example, ArchiveExample, SaveExample},
            ExampleDetail,
        },
        instructions::OUTPUT_TYPES,
        templates::PURPOSES,
    },
};
use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};
use uuid::Uuid;

#[component]
pub fn ExamplePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id")));
    let bump = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id.get(), bump.get()),
        |(id, _)| async move {
            match id.as_deref() {
                Some("new") | None => get_example(None).await,
                Some(raw) => match raw.parse::<Uuid>() {
                    Ok(id) => get_example(Some(id)).await,
                    Err(_) => Err(crate::error::AppError::NotFound),
                },
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <LoadingBlock label="Loading the example…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    detail.await.map(|d| view! { <ExampleEditor d on_saved=Callback::new(move |()| bump.update(|b| *b += 1))/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn ExampleEditor(d: ExampleDetail, on_saved: Callback<()>) -> impl IntoView {
    let save = ServerAction::<SaveExample>::new();
    let archive = ServerAction::<ArchiveExample>::new();
    let errors = FormErrors::of(save);
    let pending = save.pending();
    let f = d.form.clone();
    let is_new = f.id.is_empty();
    let example_id = f.id.clone();
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) && !is_new {
            on_saved.run(());
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(archive.value().get(), Some(Ok(()))) {
            navigate("/examples", Default::default());
        }
    });
    let note = move || {
        save.value()
            .get()
            .and_then(Result::ok)
            .map(|s| match (s.embedded_with, s.embed_error) {
                (Some(model), _) => format!("Saved and embedded with {model}."),
                (None, Some(why)) => format!(
                    "Saved, but not embedded yet ({why}). The background job will try again."
                ),
                (None, None) => "Saved.".to_owned(),
            })
    };
    let label = "block text-sm font-medium text-slate-700";
    let error_line = move |field: &'static str| view! { <p class="mt-1 text-sm text-rose-600" data-testid=format!("error-{field}")>{errors.message(field)}</p> };
    let (polarity, output_type, purpose, customer) = (
        f.polarity.clone(),
        f.output_type.clone(),
        f.purpose.clone(),
        f.customer_id.clone(),
    );
    let title = if is_new { "New example" } else { "Example" };
    let confirm = confirm_first(
        "Archive this example? Drafts will no longer be shown it; those that were still name it.",
    );
    view! {
        <PageHeader title=title subtitle="Annotated content the AI copies from, or learns to avoid"/>
        <nav class="-mt-4 mb-4 text-sm"><A href="/examples" attr:class="text-indigo-700 hover:underline">"← Examples"</A></nav>
        {(!is_new).then(|| view! {
            <p class="mb-4 flex flex-wrap items-center gap-2 text-sm text-slate-600" data-testid="example-vector">
                {polarity_badge(&polarity)}
                {match (d.embedding_model.clone(), d.embedded_at) {
                    (Some(m), Some(at)) => format!("Embedded with {m} on {}.", format_time(at)),
                    _ => "Not embedded yet: the background job will do it.".to_owned(),
                }}
                {d.from_task.map(|t| view! { <A href=format!("/pipeline/tasks/{t}") attr:class="text-indigo-700 hover:underline">"Promoted from a delivered draft"</A> })}
            </p>
        })}
        <ActionForm action=save attr:class="max-w-3xl space-y-4 rounded-xl border border-slate-200 bg-white p-6" attr:aria-label="Example" attr:novalidate=true>
            <input type="hidden" name="form[id]" value=f.id.clone()/>
            <input type="hidden" name="form[version]" value=f.version.clone()/>
            <fieldset disabled=!d.can_edit class="space-y-4">
                <fieldset>
                    <legend class=label>"This is a"</legend>
                    <div class="mt-1 flex gap-4 text-sm">
                        <label class="flex items-center gap-2"><input type="radio" name="form[polarity]" value="positive" checked=polarity == "positive"/>"Good example (write like this)"</label>
                        <label class="flex items-center gap-2"><input type="radio" name="form[polarity]" value="negative" checked=polarity == "negative"/>"Bad example (avoid this)"</label>
                    </div>
                    {error_line("polarity")}
                </fieldset>
                <div class="grid gap-4 md:grid-cols-2">
                    <div>
                        <label for="ex-type" class=label>"Content type"</label>
                        <select id="ex-type" name="form[output_type]" class=INPUT>
                            {OUTPUT_TYPES.iter().map(|(k, l)| view! { <option value=*k selected=*k == output_type>{*l}</option> }).collect_view()}
                        </select>
                        {error_line("output_type")}
                    </div>
                    <div>
                        <label for="ex-purpose" class=label>"Purpose"</label>
                        <select id="ex-purpose" name="form[purpose]" class=INPUT>
                            <option value="">"Any purpose"</option>
                            {PURPOSES.iter().map(|p| view! { <option value=*p selected=*p == purpose>{humanize(p)}</option> }).collect_view()}
                        </select>
                        {error_line("purpose")}
                    </div>
                    <div>
                        <label for="ex-industry" class=label>"Industry"</label>
                        <input id="ex-industry" name="form[industry]" type="text" class=INPUT value=f.industry.clone() placeholder="Empty: any industry"/>
                        {error_line("industry")}
                    </div>
                    <div>
                        <label for="ex-customer" class=label>"Customer"</label>
                        <select id="ex-customer" name="form[customer_id]" class=INPUT aria-invalid=errors.invalid("customer_id")>
                            <option value="">"Any customer"</option>
                            {d.customers.into_iter().map(|c| { let v = c.id.to_string(); let sel = v == customer; view! { <option value=v selected=sel>{c.name}</option> } }).collect_view()}
                        </select>
                        {error_line("customer_id")}
                    </div>
                </div>
                <div>
                    <label for="ex-content" class=label>"Content"</label>
                    <textarea id="ex-content" name="form[content]" rows="8" class=INPUT maxlength=MAX_CONTENT_CHARS aria-invalid=errors.invalid("content")>{f.content.clone()}</textarea>
                    {error_line("content")}
                </div>
                <div class="grid gap-4 md:grid-cols-2">
                    <div>
                        <label for="ex-annotation" class=label>"Why it is good or bad"</label>
                        <textarea id="ex-annotation" name="form[annotation]" rows="3" class=INPUT maxlength=MAX_ANNOTATION_CHARS aria-invalid=errors.invalid("annotation")>{f.annotation.clone()}</textarea>
                        {error_line("annotation")}
                    </div>
                    <div>
                        <label for="ex-takeaways" class=label>"What to copy or avoid"</label>
                        <textarea id="ex-takeaways" name="form[takeaways]" rows="3" class=INPUT maxlength=MAX_ANNOTATION_CHARS aria-invalid=errors.invalid("takeaways")>{f.takeaways.clone()}</textarea>
                        {error_line("takeaways")}
                    </div>
                </div>
            </fieldset>
            <Show when=move || errors.summary()().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="form-errors">{errors.summary()}</p>
            </Show>
            <Show when=move || note().is_some()>
                <p role="status" class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="saved">{note}</p>
            </Show>
            {d.can_edit.then(|| view! {
                <button type="submit" class=BUTTON disabled=move || pending.get() data-testid="save-example">
                    {move || if pending.get() { "Saving and embedding…" } else if is_new { "Create example" } else { "Save example" }}
                </button>
            })}
        </ActionForm>
        {(d.can_edit && !is_new).then(|| view! {
            <ActionForm action=archive attr:class="mt-4">
                <input type="hidden" name="id" value=example_id.clone()/>
                <button type="submit" class=SECONDARY on:click=confirm data-testid="archive-example">"Archive example"</button>
            </ActionForm>
        })}
        {move || archive.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.to_string()}</p> })}
    }
}
