//! The import page: the upload form, then the column mapping with the file's first rows, then
//! the report. A feature's page gives it its three server functions and its fields.
use super::{limits_text, thousands, FieldSpec, Preview, Report};
use crate::{
    error::AppError,
    layout::{error_fallback, FormErrors, LoadingBlock},
};
use futures::future::{BoxFuture, LocalBoxFuture};
use leptos::prelude::*;
use leptos::web_sys::FormData;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeMap;

const BUTTON: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 \
                     focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 \
                     aria-[invalid=true]:border-rose-500";
const LINK: &str = "text-sm font-medium text-indigo-700 hover:underline";

/// Sends a form's data to a feature's upload server function; its answer is the upload's id
/// (the server function also redirects to the preview).
pub type UploadFn = fn(FormData) -> LocalBoxFuture<'static, Result<String, AppError>>;
/// A feature's preview server function.
pub type PreviewFn = fn(String) -> BoxFuture<'static, Result<Preview, AppError>>;
/// A feature's import server function: the upload's id and field key → column index.
pub type RunFn =
    fn(String, BTreeMap<String, String>) -> BoxFuture<'static, Result<Report, AppError>>;

/// A feature's import: its server functions (and their addresses, for the forms' plain posts
/// before hydration), its fields, and what it imports.
#[derive(Clone, Copy)]
pub struct Importer {
    /// This page, e.g. "/contacts/import"; `?upload=<id>` is the second step.
    pub page: &'static str,
    pub upload_endpoint: &'static str,
    pub upload: UploadFn,
    pub preview: PreviewFn,
    pub run_endpoint: &'static str,
    pub run: RunFn,
    pub fields: &'static [FieldSpec],
    /// "contacts"
    pub noun: &'static str,
    pub done_href: &'static str,
}

/// The whole page body below the title: the upload step, or with `?upload=` the mapping step.
#[component]
pub fn ImportSteps(importer: Importer) -> impl IntoView {
    let query = use_query_map();
    let upload = Memo::new(move |_| query.with(|q| q.get("upload")));
    move || match upload.get() {
        None => view! {
            <div class="grid gap-6 lg:grid-cols-2">
                <UploadForm endpoint=importer.upload_endpoint upload=importer.upload/>
                <ColumnGuide fields=importer.fields/>
            </div>
        }
        .into_any(),
        Some(id) => view! { <MapAndImport id importer/> }.into_any(),
    }
}

/// The columns a file may have, so a user can prepare one.
#[component]
fn ColumnGuide(fields: &'static [FieldSpec]) -> impl IntoView {
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-5 text-sm">
            <h2 class="font-semibold text-slate-900">"Columns"</h2>
            <p class="mt-1 text-slate-600">"Any names and order: you match them to these fields after the upload. Starred ones are required. The whole file is imported or, if any row has a problem, none of it."</p>
            <dl class="mt-3 space-y-2">
                {fields.iter().map(|f| view! {
                    <div>
                        <dt class="font-medium text-slate-800">{f.label}{f.required.then_some(" *")}</dt>
                        <dd class="text-slate-600">{f.hint}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
    }
}

#[component]
fn MapAndImport(id: String, importer: Importer) -> impl IntoView {
    let preview = Resource::new(move || id.clone(), importer.preview);
    let run = Action::new(
        move |(upload, columns): &(String, BTreeMap<String, String>)| {
            (importer.run)(upload.clone(), columns.clone())
        },
    );
    let failed = Signal::derive(move || run.value().get().and_then(Result::err));
    let errors = FormErrors::new(failed);
    let pending = run.pending();
    let report = move || run.value().get().and_then(Result::ok);
    let imported = move || report().is_some_and(|r| r.imported > 0);
    view! {
        <Suspense fallback=|| view! { <LoadingBlock label="Reading the file…"/> }>
            <ErrorBoundary fallback=move |errors| view! {
                {error_fallback(errors)}
                <a href=importer.page class=format!("mt-3 inline-block {LINK}")>"Upload a file"</a>
            }>
                {move || Suspend::new(async move {
                    preview.await.map(|found| {
                        let rows = found.total_rows;
                        let keys: Vec<String> = found.fields.iter().map(|f| f.key.clone()).collect();
                        let upload = found.upload.clone();
                        let found = StoredValue::new(found);
                        let on_submit = move |ev: leptos::ev::SubmitEvent| {
                            ev.prevent_default();
                            run.dispatch((upload.clone(), chosen_columns(&ev, &keys)));
                        };
                        view! {
                            <Show when=move || !imported()>
                                <form method="post" action=importer.run_endpoint on:submit=on_submit.clone()
                                    class="space-y-6" aria-label=format!("Import {}", importer.noun)>
                                    <MappingFields preview=found.get_value() errors/>
                                    <p role="alert" class="text-sm text-rose-700">{errors.summary()}</p>
                                    <div class="flex flex-wrap items-center gap-3">
                                        <button type="submit" class=BUTTON disabled=pending>
                                            {move || if pending.get() { "Importing…".to_owned() } else { format!("Import {} rows", thousands(rows)) }}
                                        </button>
                                        <a href=importer.page class=LINK>"Choose another file"</a>
                                    </div>
                                </form>
                            </Show>
                        }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
        <div class="mt-6">
            {move || report().map(|report| view! {
                <ImportReport report noun=importer.noun done_href=importer.done_href/>
            })}
        </div>
    }
}

/// The column chosen for each of `keys` in the submitted mapping form (read from the form
/// once).
fn chosen_columns(ev: &leptos::ev::SubmitEvent, keys: &[String]) -> BTreeMap<String, String> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let data = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
            .and_then(|form| FormData::new_with_form(&form).ok());
        keys.iter()
            .map(|k| {
                let column = data
                    .as_ref()
                    .and_then(|d| d.get(&format!("columns[{k}]")).as_string())
                    .unwrap_or_default();
                (k.clone(), column)
            })
            .collect()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        keys.iter().map(|k| (k.clone(), String::new())).collect()
    }
}

/// The file picker. Before hydration it posts as a plain multipart form to `endpoint`; after,
/// it uploads through `upload` and shows the server's error beside the picker.
#[component]
fn UploadForm(endpoint: &'static str, upload: UploadFn) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    let (error, set_error) = signal(None::<AppError>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            ev.prevent_default();
            let Some(form) = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let Ok(data) = FormData::new_with_form(&form) else {
                return;
            };
            set_error.set(None);
            set_busy.set(true);
            leptos::task::spawn_local(async move {
                let answer = upload(data).await;
                let _ = set_busy.try_set(false);
                if let Err(e) = answer {
                    let _ = set_error.try_set(Some(e));
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, upload, set_busy, set_error);
    };
    let message = move || error.get().map(|e| e.to_string());
    view! {
        <form method="post" enctype="multipart/form-data" action=endpoint on:submit=on_submit
            class="space-y-3 rounded-lg border border-slate-200 bg-white p-5">
            <div>
                <label for="import-file" class="block text-sm font-medium text-slate-700">"CSV file"</label>
                <input id="import-file" type="file" name="file" accept=".csv,text/csv,text/plain" required
                    aria-describedby="import-limits import-file-error"
                    aria-invalid=move || message().is_some().to_string()
                    class=format!("{INPUT} file:mr-3 file:rounded file:border-0 file:bg-slate-100 file:px-3 file:py-1")/>
                <p id="import-limits" class="mt-1 text-xs text-slate-500">
                    {limits_text()} " The first row must name the columns; UTF-8, with commas or semicolons between cells."
                </p>
                <p id="import-file-error" role="alert" class="mt-1 text-sm text-rose-700">{message}</p>
            </div>
            <button type="submit" class=BUTTON disabled=busy>
                {move || if busy.get() { "Uploading…" } else { "Upload and preview" }}
            </button>
        </form>
    }
}

/// The file's first rows and, per field, the column it is read from (the server's suggestion
/// chosen). The form posts `upload` and `columns[<field>]`.
#[component]
fn MappingFields(preview: Preview, errors: FormErrors) -> impl IntoView {
    let Preview {
        upload,
        filename,
        headers,
        rows,
        total_rows,
        fields,
        suggested,
    } = preview;
    let shown = rows.len();
    let head = headers
        .iter()
        .map(|h| view! { <th scope="col" class="whitespace-nowrap px-3 py-2 text-left font-medium">{h.clone()}</th> })
        .collect_view();
    let body = rows
        .into_iter()
        .map(|r| {
            view! {
                <tr class="border-t border-slate-100">
                    {r.into_iter().map(|c| view! { <td class="max-w-xs truncate px-3 py-2 text-slate-700">{c}</td> }).collect_view()}
                </tr>
            }
        })
        .collect_view();
    let selects = fields
        .into_iter()
        .zip(suggested)
        .map(|(field, chosen)| {
            let id = format!("map-{}", field.key);
            let name = format!("columns[{}]", field.key);
            let message = errors.message_for(field.key.clone());
            let invalid = message.clone();
            let options = headers
                .iter()
                .enumerate()
                .map(|(i, h)| view! { <option value=i.to_string() selected=chosen == Some(i)>{h.clone()}</option> })
                .collect_view();
            view! {
                <div>
                    <label for=id.clone() class="block text-sm font-medium text-slate-700">
                        {field.label}
                        {field.required.then_some(view! { <span class="text-rose-600">" *"</span><span class="sr-only">" (required)"</span> })}
                    </label>
                    <select id=id.clone() name=name class=INPUT aria-invalid=move || invalid().is_some().to_string()
                        aria-describedby=format!("{id}-hint {id}-error")>
                        <option value="" selected=chosen.is_none()>"— Not imported —"</option>
                        {options}
                    </select>
                    <p id=format!("{id}-hint") class="mt-1 text-xs text-slate-500">{field.hint}</p>
                    <p id=format!("{id}-error") class="mt-1 text-sm text-rose-700">{message}</p>
                </div>
            }
        })
        .collect_view();
    view! {
        <input type="hidden" name="upload" value=upload/>
        <section class="space-y-3">
            <h2 class="text-base font-semibold text-slate-900">"Preview"</h2>
            <p class="text-sm text-slate-600">
                <span class="font-medium">{filename}</span>
                {format!(": {} rows and {} columns. The first {shown} are shown.", thousands(total_rows), headers.len())}
            </p>
            <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
                <table class="min-w-full text-sm">
                    <thead class="bg-slate-50 text-slate-600"><tr>{head}</tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </section>
        <fieldset class="space-y-3">
            <legend class="text-base font-semibold text-slate-900">"Columns"</legend>
            <p class="text-sm text-slate-600">"Choose the column each field is read from. Columns were matched by their names; check them."</p>
            <div class="grid gap-4 sm:grid-cols-2">{selects}</div>
        </fieldset>
    }
}

/// What the import did: the count imported, or every bad row with its number and reason.
#[component]
fn ImportReport(report: Report, noun: &'static str, done_href: &'static str) -> impl IntoView {
    if report.imported > 0 {
        return view! {
            <div role="status" class="rounded-lg border border-emerald-200 bg-emerald-50 p-4 text-emerald-900">
                <p class="text-sm font-semibold">{format!("Imported {} {noun}.", thousands(report.imported))}</p>
                <p class="mt-1 text-sm">{report.note}</p>
                <a href=done_href class="mt-2 inline-block text-sm font-medium underline">{format!("View the {noun}")}</a>
            </div>
        }
        .into_any();
    }
    let more = report.total_errors.saturating_sub(report.errors.len());
    let rows = report
        .errors
        .into_iter()
        .map(|e| {
            view! {
                <tr class="border-t border-rose-100">
                    <td class="px-3 py-2 font-medium">{format!("Row {}", e.row)}</td>
                    <td class="px-3 py-2">{e.field}</td>
                    <td class="px-3 py-2">{e.message}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-4 text-rose-900">
            <p class="text-sm font-semibold">
                {format!(
                    "{} of {} rows have problems, so nothing was imported.",
                    thousands(report.bad_rows),
                    thousands(report.total_rows)
                )}
            </p>
            <p class="mt-1 text-sm">{report.note}</p>
            <div class="mt-3 overflow-x-auto">
                <table class="min-w-full text-sm" aria-label="Rows with problems">
                    <thead class="text-left"><tr>
                        <th scope="col" class="px-3 py-2">"Row"</th>
                        <th scope="col" class="px-3 py-2">"Field"</th>
                        <th scope="col" class="px-3 py-2">"Problem"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {(more > 0).then(|| view! { <p class="mt-2 text-sm">{format!("…and {} more problems.", thousands(more))}</p> })}
        </div>
    }
    .into_any()
}
