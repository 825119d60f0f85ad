//! `/examples`: the workspace's annotated examples, filtered by polarity, content type,
//! industry and purpose; "find similar" over their vectors; and where the vectors stand, with
//! an admin's "embed everything again" and its progress.
use super::{type_label, BUTTON, INPUT, SECONDARY};
use crate::{
    domain::humanize,
    layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader},
    pipeline::{
        examples::{
            server_fns::{find_similar_examples, load_examples, ReembedExamples},
            EmbeddingStatus, ExampleFilter, POLARITIES,
        },
        instructions::OUTPUT_TYPES,
        templates::PURPOSES,
    },
};
use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
    params::ParamsMap,
};
use uuid::Uuid;

fn filter_of(q: &ParamsMap) -> ExampleFilter {
    let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
    ExampleFilter {
        polarity: get("polarity"),
        output_type: get("type"),
        industry: get("industry"),
        purpose: get("purpose"),
        after: q.get("after").and_then(|a| a.parse().ok()),
    }
}

fn href(f: &ExampleFilter, after: Option<Uuid>) -> String {
    super::list_href(
        "/examples",
        &[
            ("polarity", &f.polarity),
            ("type", &f.output_type),
            ("industry", &f.industry),
            ("purpose", &f.purpose),
        ],
        after,
    )
}

pub(crate) fn polarity_badge(polarity: &str) -> impl IntoView {
    let (colour, label) = if polarity == "positive" {
        ("bg-emerald-50 text-emerald-800 ring-emerald-200", "Good")
    } else {
        ("bg-rose-50 text-rose-800 ring-rose-200", "Bad")
    };
    view! { <span class=format!("inline-flex rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colour}")>{label}</span> }
}

#[component]
pub fn ExamplesPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_of));
    let bump = RwSignal::new(0u32);
    let page = Resource::new(
        move || (filter.get(), bump.get()),
        |(f, _)| load_examples(f.polarity, f.output_type, f.industry, f.purpose, f.after),
    );
    let select = move |name, label, any, options, current| {
        super::filter_select(filter, name, label, any, options, current)
    };
    let polarities = POLARITIES
        .iter()
        .map(|p| {
            (
                (*p).to_owned(),
                if *p == "positive" {
                    "Good (positive)".to_owned()
                } else {
                    "Bad (negative)".to_owned()
                },
            )
        })
        .collect();
    let types = OUTPUT_TYPES
        .iter()
        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
        .collect();
    let purposes = PURPOSES
        .iter()
        .map(|p| ((*p).to_owned(), humanize(p)))
        .collect();
    view! {
        <PageHeader title="Examples" subtitle="Annotated good and bad content the AI is shown when it drafts something similar">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    page.await.ok().filter(|p| p.can_edit).map(|_| view! {
                        <div class="flex flex-wrap gap-2">
                            <A href="/examples/import" attr:class=SECONDARY>"Import CSV"</A>
                            <A href="/examples/new" attr:class=BUTTON attr:data-testid="new-example">"New example"</A>
                        </div>
                    })
                })}
            </Transition>
        </PageHeader>
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-4 lg:col-span-2">
                <Form method="GET" action="" attr:class="flex flex-wrap items-end gap-3" attr:aria-label="Filter examples">
                    {select("polarity", "Polarity", "Good and bad", polarities, |f| f.polarity.clone())}
                    {select("type", "Content type", "Any type", types, |f| f.output_type.clone())}
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let industries: Vec<(String, String)> = page.await.map(|p| p.industries.into_iter().map(|i| (i.clone(), i)).collect()).unwrap_or_default();
                            select("industry", "Industry", "Any industry", industries, |f| f.industry.clone())
                        })}
                    </Transition>
                    {select("purpose", "Purpose", "Any purpose", purposes, |f| f.purpose.clone())}
                    <button type="submit" class=BUTTON>"Filter"</button>
                </Form>
                <Transition fallback=|| view! { <LoadingBlock label="Loading examples…"/> }>
                    <ErrorBoundary fallback=error_fallback>
                        {move || Suspend::new(async move {
                            let current = filter.get_untracked();
                            page.await.map(|page| {
                                if page.rows.is_empty() {
                                    return view! { <EmptyState title="No examples match" body="Add one, promote a delivered draft from its task page, or clear the filters."/> }.into_any();
                                }
                                let next = page.next_after.map(|a| href(&current, Some(a)));
                                let first = current.after.is_some().then(|| href(&current, None));
                                let model = page.status.model.clone();
                                view! {
                                    <ul class="space-y-3" data-testid="examples-list">
                                        {page.rows.into_iter().map(|e| {
                                            let vector = match e.embedding_model.as_deref() {
                                                Some(m) if m == model => "embedded".to_owned(),
                                                Some(m) => format!("embedded with {m}: to redo"),
                                                None => "not embedded yet".to_owned(),
                                            };
                                            view! {
                                                <li class="rounded-xl border border-slate-200 bg-white p-4" data-testid="example">
                                                    <div class="flex flex-wrap items-center gap-2 text-xs text-slate-500">
                                                        {polarity_badge(&e.polarity)}
                                                        <span>{type_label(&e.output_type)}</span>
                                                        {(!e.industry.is_empty()).then(|| view! { <span>"· " {e.industry.clone()}</span> })}
                                                        {(!e.purpose.is_empty()).then(|| view! { <span>"· " {humanize(&e.purpose)}</span> })}
                                                        {e.customer.clone().map(|c| view! { <span>"· " {c}</span> })}
                                                        <span>"· " {vector}</span>
                                                    </div>
                                                    <A href=format!("/examples/{}", e.id) attr:class="mt-2 block whitespace-pre-line text-sm text-slate-800 hover:text-indigo-700">{e.excerpt.clone()}</A>
                                                    <p class="mt-1 text-xs text-slate-600">"Why: " {e.annotation.clone()}</p>
                                                </li>
                                            }.into_any()
                                        }).collect_view()}
                                    </ul>
                                    <nav class="mt-4 flex justify-between text-sm" aria-label="Example pages">
                                        <span>{first.map(|h| view! { <A href=h attr:class="font-medium text-indigo-700 hover:underline">"← Newest"</A> })}</span>
                                        <span>{next.map(|h| view! { <A href=h attr:class="font-medium text-indigo-700 hover:underline">"Older →"</A> })}</span>
                                    </nav>
                                }.into_any()
                            })
                        })}
                    </ErrorBoundary>
                </Transition>
            </div>
            <div class="space-y-6">
                <FindSimilar/>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        page.await.ok().map(|p| view! { <Vectors status=p.status can_reembed=p.can_reembed on_started=Callback::new(move |()| bump.update(|b| *b += 1))/> })
                    })}
                </Transition>
            </div>
        </div>
    }
}

#[component]
fn FindSimilar() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let polarity = RwSignal::new(String::new());
    let search = Action::new(move |(q, p): &(String, String)| {
        find_similar_examples(q.clone(), Some(p.clone()))
    });
    let busy = search.pending();
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="find-similar">
            <h2 class="mb-2 text-base font-semibold text-slate-900">"Find similar"</h2>
            <form class="space-y-2" on:submit=move |ev| { ev.prevent_default(); search.dispatch((text.get(), polarity.get())); }>
                <label for="similar-text" class="block text-xs font-medium text-slate-600">"Text to compare"</label>
                <textarea id="similar-text" rows="3" class=INPUT maxlength=super::super::examples::MAX_QUERY_CHARS
                    placeholder="Paste a draft or describe what you want"
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <div class="flex items-end gap-2">
                    <select class=INPUT aria-label="Polarity" on:change=move |ev| polarity.set(event_target_value(&ev))>
                        <option value="">"Good and bad"</option>
                        <option value="positive">"Good only"</option>
                        <option value="negative">"Bad only"</option>
                    </select>
                    <button type="submit" class=SECONDARY disabled=move || busy.get() data-testid="search-similar">
                        {move || if busy.get() { "Searching…" } else { "Search" }}
                    </button>
                </div>
            </form>
            {move || search.value().get().map(|r| match r {
                Ok(found) if found.found.is_empty() => view! { <p class="mt-3 text-sm text-slate-500">{format!("No examples embedded with {} yet.", found.model)}</p> }.into_any(),
                Ok(found) => view! {
                    <ol class="mt-3 space-y-2 text-sm" data-testid="similar-results">
                        {found.found.into_iter().map(|s| view! {
                            <li>
                                <div class="flex items-center gap-2 text-xs text-slate-500">{polarity_badge(&s.polarity)} {type_label(&s.output_type)}
                                    <span data-testid="distance">{format!("distance {:.3}", s.distance)}</span></div>
                                <A href=format!("/examples/{}", s.id) attr:class="line-clamp-2 text-slate-800 hover:text-indigo-700">{s.excerpt}</A>
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any(),
                Err(e) => view! { <p role="alert" class="mt-3 text-sm text-rose-700">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Vectors(status: EmbeddingStatus, can_reembed: bool, on_started: Callback<()>) -> impl IntoView {
    let start = ServerAction::<ReembedExamples>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = start.value().get() {
            on_started.run(());
        }
    });
    let running = status.run.as_ref().is_some_and(|r| r.finished_at.is_none());
    // While a run is going, the page checks its progress every few seconds.
    if running {
        super::poll(move || on_started.run(()));
    }
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="vectors">
            <h2 class="mb-2 text-base font-semibold text-slate-900">"Embeddings"</h2>
            <p class="text-sm text-slate-700">{format!("{} of {} examples embedded with {}.", status.current, status.total, status.model)}</p>
            {status.run.map(|r| {
                let pct = if r.total > 0 { (r.done as f64 / f64::from(r.total) * 100.0).min(100.0) } else { 100.0 };
                view! {
                    <div class="mt-3 text-xs text-slate-600">
                        <p>{match r.finished_at {
                            None => format!("Re-embedding since {}: {} of {} done.", format_time(r.requested_at), r.done.min(i64::from(r.total)), r.total),
                            Some(at) => format!("Last re-embedding finished {}.", format_time(at)),
                        }}</p>
                        <div class="mt-1 h-2 rounded bg-slate-100" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")>
                            <div class="h-2 rounded bg-indigo-500" style=format!("width: {pct:.0}%")></div>
                        </div>
                        {r.last_error.map(|e| view! { <p role="alert" class="mt-1 text-rose-700">"Last error: " {e}</p> })}
                    </div>
                }
            })}
            {(can_reembed && !running).then(|| view! {
                <ActionForm action=start attr:class="mt-3">
                    <button type="submit" class=SECONDARY data-testid="reembed">"Embed all again"</button>
                </ActionForm>
            })}
            {move || start.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.to_string()}</p> })}
        </section>
    }
}
