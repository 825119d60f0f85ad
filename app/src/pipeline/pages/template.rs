//! `/templates/new` and `/templates/:id?version=N`: the editor (every save a new version), the
//! version history with activate and roll back, a diff between two versions, and the preview
//! of the exact prompt the worker would send.
use super::{templates::status_badge, VersionDiff, BUTTON, INPUT, SECONDARY};
use crate::{
    domain::humanize,
    layout::{error_fallback, format_time, FormErrors, LoadingBlock, PageHeader},
    pipeline::{
        instructions::OUTPUT_TYPES,
        templates::{
            form::TemplateForm,
            placeholders::CATALOG,
            server_fns::{
                compare_template_versions, get_template, preview_choices, preview_template,
                ActivateTemplate, DeactivateTemplate, SaveTemplate,
            },
            TemplateDetail, PURPOSES,
        },
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use uuid::Uuid;

#[component]
pub fn NewTemplatePage() -> impl IntoView {
    let form = TemplateForm {
        output_type: "email".into(),
        purpose: "promotion".into(),
        ..Default::default()
    };
    view! {
        <PageHeader title="New template" subtitle="A structure with {{placeholders}} the AI fills from the customer and the task"/>
        <TemplateEditor form builtin=false can_edit=true/>
    }
}

#[component]
pub fn TemplatePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<Uuid>().ok())));
    let version =
        Memo::new(move |_| query.with(|q| q.get("version").and_then(|v| v.parse::<i32>().ok())));
    let bump = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id.get(), version.get(), bump.get()),
        |(id, version, _)| async move {
            match id {
                Some(id) => get_template(id, version).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <LoadingBlock label="Loading the template…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    detail.await.map(|d| view! { <TemplateView d on_change=Callback::new(move |()| bump.update(|b| *b += 1))/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn TemplateView(d: TemplateDetail, on_change: Callback<()>) -> impl IntoView {
    let shown = d.shown.clone();
    // A built-in is copied into the workspace by saving it: the form then names no template.
    let form = TemplateForm::of((!d.builtin).then_some(d.id), d.latest_version, &shown);
    let live = d.active_version;
    view! {
        <Title text=shown.name.clone()/>
        <nav class="mb-2 text-sm"><A href="/templates" attr:class="text-indigo-700 hover:underline">"← Templates"</A></nav>
        <header class="mb-6 flex flex-wrap items-start justify-between gap-3">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight text-slate-900" data-testid="template-name">{shown.name.clone()}</h1>
                <p class="mt-1 text-sm text-slate-600">
                    {format!("Version {} of {}", shown.version, d.latest_version)}
                    {live.map(|v| format!(" · v{v} is live")).unwrap_or_else(|| " · no version is live".into())}
                </p>
            </div>
            <div class="flex items-center gap-2">
                {d.builtin.then(|| view! { <span class="rounded bg-slate-100 px-2 py-0.5 text-xs text-slate-600">"Built-in"</span> })}
                {status_badge(&d.status)}
            </div>
        </header>
        {d.builtin.then(|| view! {
            <p class="mb-4 rounded-lg border border-indigo-200 bg-indigo-50 px-4 py-3 text-sm text-indigo-900">
                "Built-in templates are shared by every workspace and cannot be changed. Saving makes your own copy, which the AI then prefers."
            </p>
        })}
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                <TemplateEditor form builtin=d.builtin can_edit=d.can_edit/>
                <PreviewPanel id=d.id version=shown.version output_type=shown.output_type.clone() can_sample=d.can_edit/>
            </div>
            <div class="space-y-6">
                <Versions d=d.clone() on_change/>
                <VersionDiff latest=d.latest_version fetch=move |f, t| async move { compare_template_versions(d.id, f, t).await.map(|d| d.lines.into_iter().map(|l| (l.tag, l.text)).collect()) }/>
            </div>
        </div>
    }
}

#[component]
fn TemplateEditor(form: TemplateForm, builtin: bool, can_edit: bool) -> impl IntoView {
    let save = ServerAction::<SaveTemplate>::new();
    let errors = FormErrors::of(save);
    let pending = save.pending();
    let label = "block text-sm font-medium text-slate-700";
    let error_line = move |field: &'static str| view! { <p class="mt-1 text-sm text-rose-600" data-testid=format!("error-{field}")>{errors.message(field)}</p> };
    let f = form;
    let (output_type, purpose) = (f.output_type.clone(), f.purpose.clone());
    let new = f.id.is_empty();
    view! {
        <ActionForm action=save attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-6" attr:aria-label="Template" attr:novalidate=true>
            <input type="hidden" name="form[id]" value=f.id.clone()/>
            <input type="hidden" name="form[base_version]" value=f.base_version.clone()/>
            <fieldset disabled=!can_edit class="space-y-4">
                <div class="grid gap-4 md:grid-cols-2">
                    <div class="md:col-span-2">
                        <label for="tpl-name" class=label>"Name"</label>
                        <input id="tpl-name" name="form[name]" type="text" class=INPUT value=f.name.clone() aria-invalid=errors.invalid("name")/>
                        {error_line("name")}
                    </div>
                    <div>
                        <label for="tpl-type" class=label>"Content type"</label>
                        <select id="tpl-type" name="form[output_type]" class=INPUT aria-invalid=errors.invalid("output_type")>
                            {OUTPUT_TYPES.iter().map(|(k, l)| view! { <option value=*k selected=*k == output_type>{*l}</option> }).collect_view()}
                        </select>
                        {error_line("output_type")}
                    </div>
                    <div>
                        <label for="tpl-purpose" class=label>"Purpose"</label>
                        <select id="tpl-purpose" name="form[purpose]" class=INPUT aria-invalid=errors.invalid("purpose")>
                            {PURPOSES.iter().map(|p| view! { <option value=*p selected=*p == purpose>{humanize(p)}</option> }).collect_view()}
                        </select>
                        {error_line("purpose")}
                    </div>
                    <div class="md:col-span-2">
                        <label for="tpl-industry" class=label>"Industry"</label>
                        <input id="tpl-industry" name="form[industry]" type="text" class=INPUT value=f.industry.clone() placeholder="Empty: any industry"
                            aria-invalid=errors.invalid("industry")/>
                        {error_line("industry")}
                    </div>
                </div>
                <div>
                    <label for="tpl-body" class=label>"Body"</label>
                    <textarea id="tpl-body" name="form[body]" rows="10" class=format!("{INPUT} font-mono") aria-invalid=errors.invalid("body")
                        aria-describedby="tpl-body-help">{f.body.clone()}</textarea>
                    <details id="tpl-body-help" class="mt-1 text-xs text-slate-600">
                        <summary class="cursor-pointer">"Placeholders you can use"</summary>
                        <ul class="mt-1 grid gap-x-4 sm:grid-cols-2">
                            {CATALOG.iter().map(|(n, what)| view! { <li><code>{format!("{{{{{n}}}}}")}</code> " " {*what}</li> }).collect_view()}
                        </ul>
                    </details>
                    {error_line("body")}
                </div>
                <div>
                    <label for="tpl-guidelines" class=label>"Guidelines"</label>
                    <textarea id="tpl-guidelines" name="form[guidelines]" rows="3" class=INPUT aria-invalid=errors.invalid("guidelines")>{f.guidelines.clone()}</textarea>
                    {error_line("guidelines")}
                </div>
                <div>
                    <label for="tpl-note" class=label>"What changed in this version"</label>
                    <input id="tpl-note" name="form[note]" type="text" class=INPUT placeholder="Shorter subject line" aria-invalid=errors.invalid("note")/>
                    {error_line("note")}
                </div>
            </fieldset>
            <Show when=move || errors.summary()().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="form-errors">{errors.summary()}</p>
            </Show>
            {can_edit.then(|| view! {
                <div class="flex flex-wrap gap-3">
                    <button type="submit" class=BUTTON disabled=move || pending.get() data-testid="save-version">
                        {move || if pending.get() { "Saving…" } else if builtin { "Save as my copy" } else if new { "Create template" } else { "Save as new version" }}
                    </button>
                    <button type="submit" name="form[activate]" value="on" class=SECONDARY disabled=move || pending.get() data-testid="save-activate">
                        "Save and make live"
                    </button>
                </div>
            })}
            {(!can_edit).then(|| view! { <p class="text-sm text-slate-500">"Managers and admins can change templates."</p> })}
        </ActionForm>
    }
}

#[component]
fn Versions(d: TemplateDetail, on_change: Callback<()>) -> impl IntoView {
    let activate = ServerAction::<ActivateTemplate>::new();
    let deactivate = ServerAction::<DeactivateTemplate>::new();
    Effect::new(move |_| {
        if matches!(activate.value().get(), Some(Ok(())))
            || matches!(deactivate.value().get(), Some(Ok(())))
        {
            on_change.run(());
        }
    });
    let error = move || {
        activate
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| deactivate.value().get().and_then(Result::err))
            .map(|e| e.to_string())
    };
    let (id, live, shown, editable) = (
        d.id,
        d.active_version,
        d.shown.version,
        d.can_edit && !d.builtin,
    );
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="versions">
            <h2 class="mb-3 text-base font-semibold text-slate-900">"Versions"</h2>
            <ol class="space-y-2 text-sm">
                {d.versions.into_iter().map(|v| {
                    let is_live = live == Some(v.version);
                    view! {
                        <li class="flex flex-wrap items-center justify-between gap-2 rounded-md px-2 py-1" class=("bg-slate-50", v.version == shown) data-testid="version">
                            <div class="min-w-0">
                                <A href=format!("/templates/{id}?version={}", v.version) attr:class="font-medium text-indigo-700 hover:underline">{format!("v{}", v.version)}</A>
                                {is_live.then(|| view! { <span class="ml-2 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800">"Live"</span> })}
                                <p class="text-xs text-slate-500">{v.note.clone()} " · " {v.author.clone().unwrap_or_else(|| "SmartCRM".into())} " · " {format_time(v.created_at)}</p>
                            </div>
                            {(editable && !is_live).then(|| view! {
                                <ActionForm action=activate>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <input type="hidden" name="version" value=v.version.to_string()/>
                                    <button type="submit" class="text-xs font-medium text-indigo-700 hover:underline" data-testid=format!("activate-v{}", v.version)>
                                        {if live.is_some_and(|l| v.version < l) { "Roll back to this" } else { "Make live" }}
                                    </button>
                                </ActionForm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
            {(editable && live.is_some()).then(|| view! {
                <ActionForm action=deactivate attr:class="mt-3">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit" class="text-xs font-medium text-rose-700 hover:underline" data-testid="deactivate">"Take out of use"</button>
                </ActionForm>
            })}
            {move || error().map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e}</p> })}
        </section>
    }
}

#[component]
fn PreviewPanel(id: Uuid, version: i32, output_type: String, can_sample: bool) -> impl IntoView {
    let sample = RwSignal::new(Sample::default());
    let start_sample = move |c: Option<Uuid>, t: Option<Uuid>| {
        if sample.with_untracked(|s| s.busy) {
            return;
        }
        if let Some(c) = c {
            leptos::task::spawn_local(run_sample(id, version, c, t, sample));
        }
    };
    let customer = RwSignal::new(None::<Uuid>);
    let task = RwSignal::new(None::<Uuid>);
    let kind = output_type.clone();
    let choices = Resource::new(
        move || customer.get(),
        move |c| preview_choices(kind.clone(), c),
    );
    let preview = Action::new(move |&(c, t): &(Option<Uuid>, Option<Uuid>)| {
        preview_template(id, version, c, t)
    });
    let running = preview.pending();
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="preview">
            <h2 class="text-base font-semibold text-slate-900">{format!("Preview v{version} against a customer")}</h2>
            <p class="mb-3 text-sm text-slate-500">"The exact prompt the worker would send, with the examples it would pick. Nothing is sent to the model."</p>
            <Transition fallback=|| view! { <LoadingBlock label="Loading customers…"/> }>
                {move || Suspend::new(async move {
                    choices.await.map(|(customers, tasks)| { let no_tasks = tasks.is_empty(); view! {
                        <div class="grid gap-3 sm:grid-cols-3">
                            <label class="flex flex-col text-xs font-medium text-slate-600">"Customer"
                                <select class=INPUT data-testid="preview-customer" on:change=move |ev| { customer.set(event_target_value(&ev).parse().ok()); task.set(None); }>
                                    <option value="">"Choose a customer"</option>
                                    {customers.into_iter().map(|c| { let v = c.id; view! { <option value=v.to_string() selected=move || customer.get() == Some(v)>{c.name}</option> } }).collect_view()}
                                </select>
                            </label>
                            <label class="flex flex-col text-xs font-medium text-slate-600">"Task (optional)"
                                <select class=INPUT data-testid="preview-task" disabled=no_tasks on:change=move |ev| task.set(event_target_value(&ev).parse().ok())>
                                    <option value="">{if no_tasks { "No tasks of this type" } else { "A sample brief" }}</option>
                                    {tasks.into_iter().map(|t| view! { <option value=t.id.to_string()>{t.label}</option> }).collect_view()}
                                </select>
                            </label>
                            <div class="flex items-end">
                                <button type="button" class=BUTTON data-testid="run-preview" disabled=move || running.get() || customer.get().is_none()
                                    on:click=move |_| { preview.dispatch((customer.get(), task.get())); }>
                                    {move || if running.get() { "Building…" } else { "Preview prompt" }}
                                </button>
                                {can_sample.then(|| view! {
                                    <button type="button" class=format!("{SECONDARY} ml-2") data-testid="run-sample"
                                        disabled=move || sample.with(|s| s.busy) || customer.get().is_none()
                                        on:click=move |_| start_sample(customer.get(), task.get())>
                                        {move || if sample.with(|s| s.busy) { "Writing…" } else { "Generate a sample" }}
                                    </button>
                                })}
                            </div>
                        </div>
                    }})
                })}
            </Transition>
            <SampleView sample/>
            {move || preview.value().get().map(|r| match r {
                Ok(p) => view! {
                    <div class="mt-4 space-y-3 text-sm" data-testid="preview-result">
                        <p class="text-xs text-slate-500">"Model: " {p.model.clone()} " · Brief: " {p.brief.clone()}</p>
                        <p class="text-xs text-slate-500">
                            {if p.examples.is_empty() { p.examples_note.clone().unwrap_or_else(|| "No examples.".into()) } else {
                                p.examples.iter().map(|e| format!("{} ({}, similarity {:.2})", e.polarity, e.source, e.similarity)).collect::<Vec<_>>().join(" · ")
                            }}
                        </p>
                        <h3 class="text-xs font-semibold uppercase text-slate-500">"System"</h3>
                        <pre class="max-h-48 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs" data-testid="preview-system">{p.system.clone()}</pre>
                        <h3 class="text-xs font-semibold uppercase text-slate-500">"User"</h3>
                        <pre class="max-h-96 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs" data-testid="preview-user">{p.user.clone()}</pre>
                    </div>
                }.into_any(),
                Err(e) => view! { <p role="alert" class="mt-3 text-sm text-rose-700">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

/// A sample as it streams in.
#[derive(Debug, Clone, Default)]
struct Sample {
    busy: bool,
    started: bool,
    model: String,
    text: String,
    scored: Option<SampleScores>,
    error: Option<String>,
}

/// The sample's scores and decision, shown by the task page's own views.
#[derive(Debug, Clone)]
struct SampleScores {
    quality: crate::pipeline::report::QualityReport,
    decision: crate::pipeline::rules::Decision,
    latency_ms: u64,
}

async fn run_sample(
    id: Uuid,
    version: i32,
    customer: Uuid,
    task: Option<Uuid>,
    state: RwSignal<Sample>,
) {
    use crate::pipeline::templates::{server_fns::generate_sample, SampleEvent};
    use futures::StreamExt;
    state.set(Sample {
        busy: true,
        ..Sample::default()
    });
    let stream = match generate_sample(id, version, Some(customer), task).await {
        Ok(s) => s,
        Err(e) => {
            state.update(|s| {
                s.busy = false;
                s.error = Some(e.to_string());
            });
            return;
        }
    };
    let mut stream = stream.into_inner();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let bytes = match chunk {
            Ok(b) => b,
            Err(e) => {
                state.try_update(|s| {
                    s.busy = false;
                    s.error = Some(format!("The connection broke: {e}"));
                });
                return;
            }
        };
        buf.extend_from_slice(&bytes);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            let event = match serde_json::from_slice::<SampleEvent>(&line) {
                Ok(e) => e,
                Err(e) => {
                    state.try_update(|s| {
                        s.busy = false;
                        s.error = Some(format!("Unreadable answer from the server: {e}"));
                    });
                    return;
                }
            };
            let applied = state.try_update(|s| match event {
                SampleEvent::Started { model, provider } => {
                    s.started = true;
                    s.model = format!("{model} ({provider})");
                }
                SampleEvent::Delta { text } => s.text.push_str(&text),
                SampleEvent::Restart { .. } => s.text.clear(),
                SampleEvent::Scored {
                    model,
                    latency_ms,
                    quality,
                    decision,
                } => {
                    s.busy = false;
                    s.model = model;
                    s.scored = Some(SampleScores {
                        quality,
                        decision,
                        latency_ms,
                    });
                }
                SampleEvent::Failed {
                    provider,
                    model,
                    after_ms,
                    message,
                } => {
                    s.busy = false;
                    s.error = Some(format!(
                        "{provider} / {model} failed after {:.1} s: {message}",
                        after_ms as f64 / 1000.0
                    ));
                }
            });
            if applied.is_none() {
                return;
            }
        }
    }
    state.try_update(|s| {
        if s.busy {
            s.busy = false;
            s.error = Some("The connection closed before the sample finished.".into());
        }
    });
}

#[component]
fn SampleView(sample: RwSignal<Sample>) -> impl IntoView {
    use crate::pipeline::pages::task::{decision_view, quality_view};
    view! {
        <Show when=move || sample.with(|s| s.busy || !s.text.is_empty() || s.error.is_some())>
            <div class="mt-4 space-y-3 text-sm" data-testid="sample" aria-live="polite">
                <h3 class="text-xs font-semibold uppercase text-slate-500">"Sample draft (not delivered)"</h3>
                <p class="text-xs text-slate-500">{move || sample.with(|s| if s.model.is_empty() { "Waiting for the model…".to_owned() } else { format!("Model: {}", s.model) })}</p>
                <pre class="max-h-96 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-2 font-sans text-sm" data-testid="sample-text">{move || sample.with(|s| s.text.clone())}</pre>
                {move || sample.with(|s| s.scored.clone()).map(|d| view! {
                    <div class="space-y-3" data-testid="sample-scores">
                        <p class="text-xs text-slate-500">{format!("Written in {:.1} s. Nothing was stored or delivered.", d.latency_ms as f64 / 1000.0)}</p>
                        {quality_view(&d.quality)}
                        {decision_view(&d.decision)}
                    </div>
                })}
                {move || sample.with(|s| s.error.clone()).map(|e| view! {
                    <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-rose-700" data-testid="sample-error">{e}</p>
                })}
            </div>
        </Show>
    }
}
