//! The pipeline pages: the board (live), a new task, a task's story, and the escalation queue.
use super::{
    instructions::{
        AiInstructions, OutputLength, QualityThresholds, SuccessCriteria, CONTEXT_SOURCES,
        OUTPUT_FORMATS, OUTPUT_TYPES, SENTIMENTS,
    },
    report::QualityReport,
    rules::Decision,
    server_fns::{
        create_task, escalation_queue, load_task_detail, pipeline_board, pipeline_customers,
        review_task,
    },
    state::TaskState,
    views::{age, AttemptView, Board, BoardFilter, BoardResponse, QueueItem, TaskDetail},
};
use crate::{
    crm::humanize,
    error::AppError,
    layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_navigate, use_params_map, use_query_map},
};
use uuid::Uuid;

#[cfg(feature = "hydrate")]
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 \
                     focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 aria-[invalid=true]:border-rose-400";
const BUTTON: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 \
                      focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60";
const SECONDARY: &str = "rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-700 \
                         hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60";

pub fn state_badge(state: TaskState) -> impl IntoView {
    let colour = match state {
        TaskState::Delivered | TaskState::Approved => {
            "bg-emerald-50 text-emerald-800 ring-emerald-200"
        }
        TaskState::Escalated | TaskState::Failed | TaskState::Rejected => {
            "bg-rose-50 text-rose-800 ring-rose-200"
        }
        TaskState::AwaitingReview | TaskState::RetryScheduled => {
            "bg-amber-50 text-amber-800 ring-amber-200"
        }
        TaskState::ContextLoading | TaskState::Generating | TaskState::Evaluating => {
            "bg-indigo-50 text-indigo-800 ring-indigo-200"
        }
        TaskState::Pending | TaskState::Cancelled => "bg-slate-100 text-slate-700 ring-slate-200",
    };
    view! {
        <span
            data-testid="task-state"
            data-state=state.as_str()
            class=format!("inline-flex items-center whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colour}")
        >
            {state.label()}
        </span>
    }
}

fn type_label(t: &str) -> String {
    OUTPUT_TYPES
        .iter()
        .find(|(k, _)| *k == t)
        .map(|(_, l)| (*l).to_owned())
        .unwrap_or_else(|| humanize(t))
}

fn filter_from_query(q: &leptos_router::params::ParamsMap) -> BoardFilter {
    BoardFilter {
        customer: q.get("customer").and_then(|c| c.parse().ok()),
        state: q.get("state").filter(|s| TaskState::parse(s).is_some()),
        output_type: q
            .get("type")
            .filter(|t| OUTPUT_TYPES.iter().any(|(k, _)| k == t)),
        max_age_hours: q
            .get("age")
            .and_then(|a| a.parse().ok())
            .filter(|h| (1..=8760).contains(h)),
        before: q.get("before").and_then(|b| b.parse().ok()),
    }
}

fn board_href(f: &BoardFilter, state: Option<&str>, before: Option<Uuid>) -> String {
    let mut parts = Vec::new();
    if let Some(c) = f.customer {
        parts.push(format!("customer={c}"));
    }
    if let Some(s) = state {
        parts.push(format!("state={s}"));
    }
    if let Some(t) = &f.output_type {
        parts.push(format!("type={t}"));
    }
    if let Some(a) = f.max_age_hours {
        parts.push(format!("age={a}"));
    }
    if let Some(b) = before {
        parts.push(format!("before={b}"));
    }
    if parts.is_empty() {
        "/pipeline".into()
    } else {
        format!("/pipeline?{}", parts.join("&"))
    }
}

/// Calls `tick` every `POLL` in the browser while the component lives.
fn poll(tick: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(tick, POLL) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    drop(tick);
}

#[component]
pub fn PipelinePage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_from_query));
    let initial = Resource::new(move || filter.get(), |f| pipeline_board(f, None));
    // Newer boards fetched by polling; cleared when the filters change.
    let live: RwSignal<Option<Board>> = RwSignal::new(None);
    Effect::new(move |_| {
        filter.track();
        live.set(None);
    });
    let customers = Resource::new(|| (), |_| pipeline_customers());
    poll(move || {
        let f = filter.get_untracked();
        let etag = live.get_untracked().map(|b| b.etag).or_else(|| {
            initial
                .get_untracked()
                .and_then(|r| r.ok())
                .and_then(|r| match r {
                    BoardResponse::Changed(b) => Some(b.etag),
                    BoardResponse::Unchanged => None,
                })
        });
        leptos::task::spawn_local(async move {
            if let Ok(BoardResponse::Changed(b)) = pipeline_board(f, etag).await {
                live.try_set(Some(b));
            }
        });
    });
    view! {
        <div class="mb-6 flex flex-wrap items-start justify-between gap-3">
            <div>
                <Title text="Pipeline"/>
                <h1 class="text-2xl font-semibold tracking-tight text-slate-900">"Pipeline"</h1>
                <p class="mt-1 text-sm text-slate-500">"Content tasks the AI is working on, live"</p>
            </div>
            <div class="flex gap-2">
                <A href="/escalations" attr:class=SECONDARY>"Escalation queue"</A>
                <A href="/pipeline/new" attr:class=BUTTON attr:data-testid="new-task">"New task"</A>
            </div>
        </div>
        <Form method="GET" action="" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:aria-label="Filter tasks">
            <label class="flex flex-col text-xs font-medium text-slate-600">
                "Customer"
                <select name="customer" class="mt-1 max-w-[16rem] rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900">
                    <option value="">"All customers"</option>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            customers.await.map(|cs| cs.into_iter().map(|c| {
                                let id = c.id;
                                view! { <option value=id.to_string() selected=move || filter.with(|f| f.customer == Some(id))>{c.name}</option> }
                            }).collect_view()).unwrap_or_default()
                        })}
                    </Suspense>
                </select>
            </label>
            <label class="flex flex-col text-xs font-medium text-slate-600">
                "State"
                <select name="state" class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900" data-testid="filter-state">
                    <option value="">"Any state"</option>
                    {TaskState::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || filter.with(|f| f.state.as_deref() == Some(s.as_str()))>{s.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="flex flex-col text-xs font-medium text-slate-600">
                "Type"
                <select name="type" class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900">
                    <option value="">"Any type"</option>
                    {OUTPUT_TYPES.into_iter().map(|(k, l)| view! {
                        <option value=k selected=move || filter.with(|f| f.output_type.as_deref() == Some(k))>{l}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="flex flex-col text-xs font-medium text-slate-600">
                "Created"
                <select name="age" class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900">
                    <option value="">"Any time"</option>
                    {[(24, "Last 24 hours"), (168, "Last 7 days"), (720, "Last 30 days")].into_iter().map(|(h, l)| view! {
                        <option value=h.to_string() selected=move || filter.with(|f| f.max_age_hours == Some(h))>{l}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class=BUTTON>"Filter"</button>
            <Show when=move || filter.with(BoardFilter::is_filtered)>
                <A href="/pipeline" attr:class="pb-2 text-sm font-medium text-slate-600 hover:underline">"Clear"</A>
            </Show>
        </Form>
        <Transition fallback=|| view! { <LoadingBlock label="Loading tasks…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let first = initial.await?;
                    let current = filter.get_untracked();
                    let first = match first {
                        BoardResponse::Changed(b) => b,
                        BoardResponse::Unchanged => Board { etag: String::new(), counts: vec![], rows: vec![], next_before: None },
                    };
                    let board = move || live.get().unwrap_or_else(|| first.clone());
                    Ok::<_, AppError>(view! { <BoardView board=Signal::derive(board) filter=current/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn BoardView(board: Signal<Board>, filter: BoardFilter) -> impl IntoView {
    let f2 = filter.clone();
    let counts = move || {
        let f = f2.clone();
        let b = board.get();
        {
            let total: i64 = b.counts.iter().map(|(_, n)| n).sum();
            let all_href = board_href(&f, None, None);
            let chips = b.counts.iter().copied().map(|(s, n)| {
                let active = f.state.as_deref() == Some(s.as_str());
                let href = board_href(&f, Some(s.as_str()), None);
                let class = if active { "bg-indigo-600 text-white" } else { "bg-white text-slate-700 hover:bg-slate-50" };
                view! {
                    <A href=href attr:class=format!("rounded-full border border-slate-200 px-3 py-1 text-xs font-medium {class}") attr:data-testid=format!("count-{}", s.as_str())>
                        {s.label()} " " <span class="tabular-nums">{n}</span>
                    </A>
                }
            }).collect_view();
            view! {
                <div class="mb-4 flex flex-wrap gap-2" aria-label="Tasks by state">
                    <A href=all_href attr:class="rounded-full border border-slate-200 bg-white px-3 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50">
                        "All " <span class="tabular-nums">{total}</span>
                    </A>
                    {chips}
                </div>
            }
        }
    };
    let f3 = filter.clone();
    let rows = move || {
        let f = f3.clone();
        let b = board.get();
        {
            if b.rows.is_empty() {
                return if f.is_filtered() {
                    view! { <EmptyState title="No tasks match" body="Try another state, type or customer, or clear the filters."/> }.into_any()
                } else {
                    view! { <EmptyState title="No tasks yet" body="Create a task and the AI drafts it with the customer's business context."/> }.into_any()
                };
            }
            let next = b
                .next_before
                .map(|before| board_href(&f, f.state.as_deref(), Some(before)));
            let first_page = f
                .before
                .is_some()
                .then(|| board_href(&f, f.state.as_deref(), None));
            view! {
                <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                    <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="tasks-table">
                        <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                            <tr>
                                <th scope="col" class="px-4 py-3">"Task"</th>
                                <th scope="col" class="px-4 py-3">"Customer"</th>
                                <th scope="col" class="hidden px-4 py-3 md:table-cell">"Type"</th>
                                <th scope="col" class="px-4 py-3">"State"</th>
                                <th scope="col" class="hidden px-4 py-3 md:table-cell">"Attempts"</th>
                                <th scope="col" class="hidden px-4 py-3 md:table-cell">"Quality"</th>
                                <th scope="col" class="hidden px-4 py-3 lg:table-cell">"In state for"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {b.rows.clone().into_iter().map(|r| view! {
                                <tr data-testid="task-row" data-task-id=r.id.to_string()>
                                    <td class="px-4 py-3">
                                        <A href=format!("/pipeline/tasks/{}", r.id) attr:class="font-medium text-indigo-700 hover:underline">{r.title.clone()}</A>
                                        {r.status_reason.clone().map(|s| view! { <p class="mt-0.5 max-w-md truncate text-xs text-slate-500">{s}</p> })}
                                    </td>
                                    <td class="px-4 py-3 text-slate-700">{r.customer_name.clone()}</td>
                                    <td class="hidden px-4 py-3 text-slate-600 md:table-cell">{type_label(&r.output_type)}</td>
                                    <td class="px-4 py-3">{state_badge(r.state)}</td>
                                    <td class="hidden px-4 py-3 tabular-nums text-slate-600 md:table-cell">{format!("{} / {}", r.attempts, r.max_attempts)}</td>
                                    <td class="hidden px-4 py-3 tabular-nums text-slate-600 md:table-cell">{r.quality.map(|q| q.to_string()).unwrap_or_else(|| "—".into())}</td>
                                    <td class="hidden px-4 py-3 text-slate-500 lg:table-cell">{age(r.state_age_secs)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <nav class="mt-4 flex justify-between text-sm" aria-label="Pages">
                    {first_page.map(|h| view! { <A href=h attr:class="font-medium text-indigo-700 hover:underline">"← Newest"</A> })}
                    <span></span>
                    {next.map(|h| view! { <A href=h attr:class="font-medium text-indigo-700 hover:underline">"Older tasks →"</A> })}
                </nav>
            }
            .into_any()
        }
    };
    view! {
        {counts}
        {rows}
        <p class="mt-2 text-xs text-slate-400" aria-live="polite">"Updates every 2 seconds."</p>
    }
}

/// What the form sends: customer, project, title, attempts and the instructions.
type NewTask = (Uuid, String, String, i16, AiInstructions);
/// (field, message) pairs.
type FieldErrors = Vec<(String, String)>;

fn split_list(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[component]
pub fn NewTaskPage() -> impl IntoView {
    let customers = Resource::new(|| (), |_| pipeline_customers());
    let customer = RwSignal::new(String::new());
    let project = RwSignal::new("Content".to_owned());
    let title = RwSignal::new(String::new());
    let brief = RwSignal::new(String::new());
    let output_type = RwSignal::new("email".to_owned());
    let output_format = RwSignal::new("plain_text".to_owned());
    let min_words = RwSignal::new("80".to_owned());
    let max_words = RwSignal::new("200".to_owned());
    let must_include = RwSignal::new("business name, CTA".to_owned());
    let must_not = RwSignal::new("competitor names".to_owned());
    let sources = RwSignal::new(
        CONTEXT_SOURCES
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<String>>(),
    );
    let readability = RwSignal::new("60".to_owned());
    let sentiment = RwSignal::new("positive".to_owned());
    let cta = RwSignal::new(true);
    let min_overall = RwSignal::new("80".to_owned());
    let max_attempts = RwSignal::new("3".to_owned());
    let errors: RwSignal<Vec<(String, String)>> = RwSignal::new(Vec::new());
    let server_error: RwSignal<Option<String>> = RwSignal::new(None);
    let navigate = use_navigate();

    let build = move || -> Result<NewTask, FieldErrors> {
        let mut errs = Vec::new();
        let customer_id = customer.get_untracked().parse::<Uuid>().ok();
        if customer_id.is_none() {
            errs.push(("customer_id".into(), "Choose a customer.".into()));
        }
        let num = |field: &str, v: String, errs: &mut Vec<(String, String)>| -> u32 {
            v.trim().parse::<u32>().unwrap_or_else(|_| {
                errs.push((field.into(), "Enter a whole number.".into()));
                0
            })
        };
        let min = num(
            "output_length.min_words",
            min_words.get_untracked(),
            &mut errs,
        );
        let max = num(
            "output_length.max_words",
            max_words.get_untracked(),
            &mut errs,
        );
        let overall = num(
            "quality_thresholds.min_overall",
            min_overall.get_untracked(),
            &mut errs,
        );
        let attempts = num("max_attempts", max_attempts.get_untracked(), &mut errs);
        if !(1..=10).contains(&attempts) {
            errs.push((
                "max_attempts".into(),
                "Allow between 1 and 10 attempts.".into(),
            ));
        }
        let read = readability.get_untracked();
        let read = if read.trim().is_empty() {
            None
        } else {
            match read.trim().parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    errs.push((
                        "success_criteria.readability_score_min".into(),
                        "Enter a number from 0 to 100.".into(),
                    ));
                    None
                }
            }
        };
        if title.get_untracked().trim().is_empty() {
            errs.push(("title".into(), "Give the task a title.".into()));
        }
        if project.get_untracked().trim().is_empty() {
            errs.push(("project".into(), "Name the project.".into()));
        }
        let sentiment_target = Some(sentiment.get_untracked()).filter(|s| !s.is_empty());
        let instructions = AiInstructions {
            brief: brief.get_untracked(),
            output_type: output_type.get_untracked(),
            output_format: output_format.get_untracked(),
            output_length: OutputLength {
                min_words: min,
                max_words: max,
            },
            must_include: split_list(&must_include.get_untracked()),
            must_not_include: split_list(&must_not.get_untracked()),
            context_sources: sources.get_untracked(),
            success_criteria: SuccessCriteria {
                readability_score_min: read,
                sentiment_target,
                cta_present: cta.get_untracked(),
            },
            quality_thresholds: QualityThresholds {
                min_overall: u8::try_from(overall).unwrap_or(101),
                min_brand_alignment: 50,
            },
        }
        .normalized();
        errs.extend(
            instructions
                .validate()
                .into_iter()
                .map(|e| (e.field, e.message)),
        );
        match (customer_id, errs.is_empty()) {
            (Some(c), true) => Ok((
                c,
                project.get_untracked(),
                title.get_untracked(),
                attempts as i16,
                instructions,
            )),
            _ => Err(errs),
        }
    };
    let submit = Action::new(move |input: &NewTask| {
        let (c, p, t, a, i) = input.clone();
        async move { create_task(c, p, t, a, i).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(id)) => navigate(&format!("/pipeline/tasks/{id}"), Default::default()),
        Some(Err(AppError::Validation { field, message })) if !field.is_empty() => {
            errors.set(vec![(field, message)]);
        }
        Some(Err(e)) => server_error.set(Some(e.to_string())),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        server_error.set(None);
        match build() {
            Ok(input) => {
                errors.set(Vec::new());
                submit.dispatch(input);
            }
            Err(errs) => errors.set(errs),
        }
    };
    let error_for = move |field: &'static str| {
        move || {
            errors.with(|e| {
                e.iter()
                    .find(|(f, _)| f == field || f.starts_with(&format!("{field}[")))
                    .map(|(_, m)| m.clone())
            })
        }
    };
    let invalid = move |field: &'static str| move || error_for(field)().is_some().to_string();
    let text_field = move |id: &'static str,
                           label: &'static str,
                           field: &'static str,
                           value: RwSignal<String>,
                           kind: &'static str| {
        view! {
            <div>
                <label for=id class="block text-sm font-medium text-slate-700">{label}</label>
                <input id=id type=kind class=INPUT prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                    aria-invalid=invalid(field) aria-describedby=format!("{id}-error")/>
                <p id=format!("{id}-error") class="mt-1 text-sm text-rose-600" data-testid=format!("error-{id}")>{error_for(field)}</p>
            </div>
        }
    };
    view! {
        <PageHeader title="New task" subtitle="Structured instructions the AI drafts from, with the customer's business context"/>
        <form on:submit=on_submit class="space-y-6 rounded-xl border border-slate-200 bg-white p-6" aria-label="New task" novalidate>
            <div class="grid gap-4 md:grid-cols-2">
                <div>
                    <label for="customer" class="block text-sm font-medium text-slate-700">"Customer"</label>
                    <select id="customer" class=INPUT on:change=move |ev| customer.set(event_target_value(&ev)) aria-invalid=invalid("customer_id") aria-describedby="customer-error">
                        <option value="">"Choose a customer"</option>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                customers.await.map(|cs| cs.into_iter().map(|c| view! { <option value=c.id.to_string()>{c.name}</option> }).collect_view()).unwrap_or_default()
                            })}
                        </Suspense>
                    </select>
                    <p id="customer-error" class="mt-1 text-sm text-rose-600" data-testid="error-customer">{error_for("customer_id")}</p>
                </div>
                {text_field("project", "Project", "project", project, "text")}
                {text_field("title", "Title", "title", title, "text")}
                <div>
                    <label for="max_attempts" class="block text-sm font-medium text-slate-700">"Attempts allowed"</label>
                    <input id="max_attempts" type="number" min="1" max="10" class=INPUT prop:value=move || max_attempts.get() on:input=move |ev| max_attempts.set(event_target_value(&ev)) aria-invalid=invalid("max_attempts")/>
                    <p class="mt-1 text-sm text-rose-600">{error_for("max_attempts")}</p>
                </div>
            </div>
            <div>
                <label for="brief" class="block text-sm font-medium text-slate-700">"Brief"</label>
                <textarea id="brief" rows="3" class=INPUT placeholder="What should the AI write, for whom, and why now?"
                    prop:value=move || brief.get() on:input=move |ev| brief.set(event_target_value(&ev)) aria-invalid=invalid("brief") aria-describedby="brief-error"></textarea>
                <p id="brief-error" class="mt-1 text-sm text-rose-600" data-testid="error-brief">{error_for("brief")}</p>
            </div>
            <fieldset class="grid gap-4 md:grid-cols-4">
                <legend class="mb-2 text-sm font-semibold text-slate-900">"Output"</legend>
                <div>
                    <label for="output_type" class="block text-sm font-medium text-slate-700">"Type"</label>
                    <select id="output_type" class=INPUT on:change=move |ev| output_type.set(event_target_value(&ev))>
                        {OUTPUT_TYPES.into_iter().map(|(k, l)| view! { <option value=k selected=move || output_type.get() == k>{l}</option> }).collect_view()}
                    </select>
                </div>
                <div>
                    <label for="output_format" class="block text-sm font-medium text-slate-700">"Format"</label>
                    <select id="output_format" class=INPUT on:change=move |ev| output_format.set(event_target_value(&ev))>
                        {OUTPUT_FORMATS.into_iter().map(|k| view! { <option value=k selected=move || output_format.get() == k>{humanize(k)}</option> }).collect_view()}
                    </select>
                </div>
                {text_field("min_words", "Minimum words", "output_length.min_words", min_words, "number")}
                {text_field("max_words", "Maximum words", "output_length.max_words", max_words, "number")}
            </fieldset>
            <div class="grid gap-4 md:grid-cols-2">
                <div>
                    <label for="must_include" class="block text-sm font-medium text-slate-700">"Must include"</label>
                    <textarea id="must_include" rows="2" class=INPUT prop:value=move || must_include.get() on:input=move |ev| must_include.set(event_target_value(&ev)) aria-invalid=invalid("must_include")></textarea>
                    <p class="mt-1 text-xs text-slate-500">"Comma-separated. \"business name\", \"CTA\", \"contact info\" and \"website\" are checked by meaning; anything else word for word."</p>
                    <p class="mt-1 text-sm text-rose-600">{error_for("must_include")}</p>
                </div>
                <div>
                    <label for="must_not" class="block text-sm font-medium text-slate-700">"Must not include"</label>
                    <textarea id="must_not" rows="2" class=INPUT prop:value=move || must_not.get() on:input=move |ev| must_not.set(event_target_value(&ev)) aria-invalid=invalid("must_not_include")></textarea>
                    <p class="mt-1 text-xs text-slate-500">"Comma-separated. \"competitor names\" checks the customer's competitors."</p>
                    <p class="mt-1 text-sm text-rose-600">{error_for("must_not_include")}</p>
                </div>
            </div>
            <fieldset>
                <legend class="mb-2 text-sm font-semibold text-slate-900">"Context the AI may use"</legend>
                <div class="flex flex-wrap gap-x-6 gap-y-2">
                    {CONTEXT_SOURCES.into_iter().map(|s| view! {
                        <label class="flex items-center gap-2 text-sm text-slate-700">
                            <input type="checkbox" class="h-4 w-4 rounded border-slate-300"
                                prop:checked=move || sources.with(|v| v.iter().any(|x| x == s))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    sources.update(|v| { v.retain(|x| x != s); if on { v.push(s.to_owned()); } });
                                }/>
                            {humanize(&s.replace("customer.", "").replace('.', " "))}
                        </label>
                    }).collect_view()}
                </div>
            </fieldset>
            <fieldset class="grid gap-4 md:grid-cols-4">
                <legend class="mb-2 text-sm font-semibold text-slate-900">"Success criteria"</legend>
                {text_field("readability", "Reading ease at least", "success_criteria.readability_score_min", readability, "number")}
                <div>
                    <label for="sentiment" class="block text-sm font-medium text-slate-700">"Tone"</label>
                    <select id="sentiment" class=INPUT on:change=move |ev| sentiment.set(event_target_value(&ev))>
                        <option value="">"Any"</option>
                        {SENTIMENTS.into_iter().map(|k| view! { <option value=k selected=move || sentiment.get() == k>{humanize(k)}</option> }).collect_view()}
                    </select>
                </div>
                {text_field("min_overall", "Approve at quality", "quality_thresholds.min_overall", min_overall, "number")}
                <label class="flex items-center gap-2 self-end pb-2 text-sm text-slate-700">
                    <input type="checkbox" class="h-4 w-4 rounded border-slate-300" prop:checked=move || cta.get() on:change=move |ev| cta.set(event_target_checked(&ev))/>
                    "Needs a call to action"
                </label>
            </fieldset>
            <Show when=move || server_error.get().is_some()>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{move || server_error.get()}</p>
            </Show>
            <Show when=move || !errors.with(Vec::is_empty)>
                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="form-errors">
                    {move || format!("Fix {} field(s) marked below.", errors.with(Vec::len))}
                </p>
            </Show>
            <div class="flex gap-3">
                <button type="submit" class=BUTTON disabled=move || submit.pending().get() data-testid="create-task">
                    {move || if submit.pending().get() { "Creating…" } else { "Create task" }}
                </button>
                <A href="/pipeline" attr:class=SECONDARY>"Cancel"</A>
            </div>
        </form>
    }
}

fn score_bar(label: &'static str, score: u8, weight: u8) -> AnyView {
    let colour = if score >= 80 {
        "bg-emerald-500"
    } else if score >= 50 {
        "bg-amber-500"
    } else {
        "bg-rose-500"
    };
    view! {
        <div class="text-xs">
            <div class="flex justify-between text-slate-600"><span>{label} " (" {weight} "%)"</span><span class="tabular-nums font-medium text-slate-900">{score}</span></div>
            <div class="mt-1 h-1.5 rounded-full bg-slate-100"><div class=format!("h-1.5 rounded-full {colour}") style=format!("width: {score}%")></div></div>
        </div>
    }
    .into_any()
}

fn quality_view(q: &QualityReport) -> AnyView {
    let failures = q
        .compliance
        .failures
        .iter()
        .map(|f| view! { <li>{f.message.clone()}</li> })
        .collect_view();
    let parts = q
        .parts()
        .into_iter()
        .map(|(l, s, w)| score_bar(l, s, w))
        .collect_view();
    let r = &q.readability;
    let details = format!(
        "Reading ease {:.1} (grade {:.1}{}), {} words · tone {} ({:+.2}) · brand {}",
        r.flesch_reading_ease,
        r.flesch_kincaid_grade,
        if r.approximate { ", estimated" } else { "" },
        r.words,
        q.sentiment.label,
        q.sentiment.compound,
        match (&q.brand.embedding_model, q.brand.voice_similarity) {
            (Some(m), Some(v)) => format!("voice similarity {v:.2} ({m})"),
            _ => "phrases only (no embeddings)".to_owned(),
        }
    );
    view! {
        <div class="rounded-lg border border-slate-200 p-3" data-testid="quality">
            <p class="text-sm font-semibold text-slate-900">"Quality " <span class="tabular-nums" data-testid="quality-overall">{q.overall}</span> " / 100"</p>
            <div class="mt-2 grid gap-2 sm:grid-cols-2">{parts}</div>
            <p class="mt-2 text-xs text-slate-500">{details}</p>
            {(!q.compliance.failures.is_empty()).then(|| view! {
                <ul class="mt-2 list-disc pl-5 text-xs text-rose-700" data-testid="compliance-failures">{failures}</ul>
            })}
        </div>
    }
    .into_any()
}

fn decision_view(d: &Decision) -> AnyView {
    let lines = d
        .trace
        .iter()
        .map(|t| view! { <li>{t.sentence()}</li> })
        .collect_view();
    view! {
        <div class="rounded-lg border border-slate-200 p-3">
            <p class="text-sm font-semibold text-slate-900" data-testid="decision-summary">{d.summary()}</p>
            <details class="mt-1 text-xs text-slate-600">
                <summary class="cursor-pointer">"All rules evaluated"</summary>
                <ul class="mt-1 list-disc space-y-0.5 pl-5" data-testid="decision-trace">{lines}</ul>
            </details>
        </div>
    }
    .into_any()
}

fn attempt_view(a: &AttemptView) -> AnyView {
    let shown = a
        .edited_content
        .clone()
        .unwrap_or_else(|| a.content.clone());
    let meta = format!(
        "{} · {} · template {} · {} examples",
        a.model.clone().unwrap_or_else(|| "unknown model".into()),
        format_time(a.created_at),
        a.template.clone().unwrap_or_else(|| "none".into()),
        a.examples.len()
    );
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-4" data-testid="attempt" data-attempt=a.attempt.to_string()>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h3 class="text-sm font-semibold text-slate-900">"Attempt " {a.attempt}
                    {a.delivered_at.map(|_| view! { <span class="ml-2 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800">"Delivered"</span> })}
                    {a.edited_content.as_ref().map(|_| view! { <span class="ml-2 rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800">"Edited by a reviewer"</span> })}
                </h3>
                <p class="text-xs text-slate-500">{meta}</p>
            </div>
            <div class="mt-3 grid gap-4 lg:grid-cols-2">
                <pre class="whitespace-pre-wrap rounded-lg bg-slate-50 p-3 font-sans text-sm text-slate-800" data-testid="attempt-content">{shown}</pre>
                <div class="space-y-3">
                    {a.quality.as_ref().map(quality_view)}
                    {a.decision.as_ref().map(decision_view)}
                </div>
            </div>
        </section>
    }
    .into_any()
}

fn instructions_view(i: &AiInstructions) -> AnyView {
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            v.join(", ")
        }
    };
    let c = &i.success_criteria;
    view! {
        <dl class="grid gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
            <div class="sm:col-span-2"><dt class="text-xs text-slate-500">"Brief"</dt><dd class="text-slate-900">{i.brief.clone()}</dd></div>
            <div><dt class="text-xs text-slate-500">"Output"</dt><dd>{format!("{} as {}, {}–{} words", type_label(&i.output_type), humanize(&i.output_format), i.output_length.min_words, i.output_length.max_words)}</dd></div>
            <div><dt class="text-xs text-slate-500">"Criteria"</dt><dd>{format!(
                "reading ease ≥ {}, tone {}, {}; approve at {}",
                c.readability_score_min.map(|m| format!("{m:.0}")).unwrap_or_else(|| "any".into()),
                c.sentiment_target.clone().unwrap_or_else(|| "any".into()),
                if c.cta_present { "call to action required" } else { "no call to action needed" },
                i.quality_thresholds.min_overall
            )}</dd></div>
            <div><dt class="text-xs text-slate-500">"Must include"</dt><dd>{list(&i.must_include)}</dd></div>
            <div><dt class="text-xs text-slate-500">"Must not include"</dt><dd>{list(&i.must_not_include)}</dd></div>
        </dl>
    }
    .into_any()
}

#[component]
pub fn TaskPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<Uuid>().ok())));
    let detail = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => load_task_detail(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    // Refreshes while the AI is working on it.
    poll(move || {
        let working = detail
            .get_untracked()
            .and_then(|d| d.ok())
            .is_some_and(|d| {
                !d.state.is_final() && !d.state.needs_a_person() && d.state != TaskState::Failed
            });
        if working {
            detail.refetch();
        }
    });
    view! {
        <Transition fallback=|| view! { <LoadingBlock label="Loading the task…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { detail.await.map(|d| view! { <TaskView d/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn TaskView(d: TaskDetail) -> impl IntoView {
    let history = d.transitions.iter().map(|t| {
        let who = t.actor_name.clone().or_else(|| t.worker.clone()).unwrap_or_default();
        view! {
            <tr>
                <td class="whitespace-nowrap px-3 py-2 text-slate-500">{format_time(t.at)}</td>
                <td class="whitespace-nowrap px-3 py-2">{humanize(&t.from)} " → " <span class="font-medium">{humanize(&t.to)}</span></td>
                <td class="px-3 py-2 text-slate-600">{humanize(&t.actor)} {(!who.is_empty()).then(|| format!(" ({who})"))}</td>
                <td class="px-3 py-2 text-slate-700">{t.reason.clone()}</td>
            </tr>
        }
    }).collect_view();
    let feedback = d.feedback.iter().map(|f| {
        let diff = f.edit_diff.iter().filter(|l| l.op != "keep").map(|l| {
            let (sign, class) = if l.op == "add" { ("+ ", "text-emerald-700") } else { ("− ", "text-rose-700") };
            view! { <div class=class>{sign}{l.text.clone()}</div> }
        }).collect_view();
        view! {
            <li class="rounded-lg border border-slate-200 p-3 text-sm">
                <p><span class="font-medium">{humanize(&f.verdict)}</span> " by " {f.reviewer.clone().unwrap_or_else(|| "a reviewer".into())} " · " {format_time(f.at)}</p>
                {(!f.reason.is_empty()).then(|| view! { <p class="text-slate-600">"Reason: " {f.reason.clone()}</p> })}
                {(!f.guidance.is_empty()).then(|| view! { <p class="text-slate-600">"Guidance: " {f.guidance.clone()}</p> })}
                <div class="mt-1 font-mono text-xs">{diff}</div>
            </li>
        }
    }).collect_view();
    let mut attempts = d.attempt_views.clone();
    attempts.reverse();
    let working = !d.state.is_final() && !d.state.needs_a_person() && d.state != TaskState::Failed;
    view! {
        <Title text=d.title.clone()/>
        <div class="mb-6 flex flex-wrap items-start justify-between gap-3">
            <div>
                <p class="text-sm text-slate-500"><A href="/pipeline" attr:class="hover:underline">"Pipeline"</A> " / " {d.project.clone()}</p>
                <h1 class="mt-1 text-2xl font-semibold tracking-tight text-slate-900" data-testid="task-title">{d.title.clone()}</h1>
                <p class="mt-1 text-sm text-slate-600">{d.customer_name.clone()} " · attempt " {d.attempts} " of " {d.max_attempts}</p>
            </div>
            <div class="flex items-center gap-3">
                {state_badge(d.state)}
                {working.then(|| view! { <span class="text-xs text-slate-500" aria-live="polite">"Working… this page updates by itself."</span> })}
                {d.state.needs_a_person().then(|| view! { <A href="/escalations" attr:class=BUTTON>"Review in the queue"</A> })}
            </div>
        </div>
        {d.status_reason.clone().map(|r| view! { <p class="mb-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="status-reason">{r}</p> })}
        <section class="mb-6 rounded-xl border border-slate-200 bg-white p-4">
            <h2 class="mb-3 text-sm font-semibold text-slate-900">"Instructions"</h2>
            {instructions_view(&d.instructions)}
        </section>
        <h2 class="mb-3 text-sm font-semibold text-slate-900">"Attempts"</h2>
        <div class="mb-6 space-y-4">
            {if attempts.is_empty() {
                view! { <EmptyState title="No draft yet" body="The AI drafts as soon as a worker takes the task."/> }.into_any()
            } else {
                attempts.iter().map(attempt_view).collect_view().into_any()
            }}
        </div>
        {(!d.feedback.is_empty()).then(|| view! {
            <h2 class="mb-3 text-sm font-semibold text-slate-900">"Reviews"</h2>
            <ul class="mb-6 space-y-2">{feedback}</ul>
        })}
        <h2 class="mb-3 text-sm font-semibold text-slate-900">"History"</h2>
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="history">
                <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                    <tr><th class="px-3 py-2">"When"</th><th class="px-3 py-2">"Move"</th><th class="px-3 py-2">"By"</th><th class="px-3 py-2">"Why"</th></tr>
                </thead>
                <tbody class="divide-y divide-slate-100">{history}</tbody>
            </table>
        </div>
    }
}

#[component]
pub fn EscalationQueuePage() -> impl IntoView {
    let query = use_query_map();
    let after =
        Memo::new(move |_| query.with(|q| q.get("after").and_then(|a| a.parse::<Uuid>().ok())));
    let page = Resource::new(move || after.get(), escalation_queue);
    let notice: RwSignal<Option<String>> = RwSignal::new(None);
    view! {
        <PageHeader title="Escalation queue" subtitle="Drafts the AI could not settle, oldest first"/>
        <Show when=move || notice.get().is_some()>
            <p role="status" class="mb-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="queue-notice">{move || notice.get()}</p>
        </Show>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the queue…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    page.await.map(|p| {
                        if p.items.is_empty() {
                            return view! { <EmptyState title="Nothing to review" body="Escalated drafts and drafts awaiting review appear here."/> }.into_any();
                        }
                        let next = p.next_after.map(|a| format!("/escalations?after={a}"));
                        view! {
                            <p class="mb-3 text-sm text-slate-600">{format!("{} waiting", p.total)}</p>
                            <div class="space-y-4">
                                {p.items.into_iter().map(|item| view! { <QueueCard item on_done=Callback::new(move |msg: String| { notice.set(Some(msg)); page.refetch(); })/> }).collect_view()}
                            </div>
                            {next.map(|h| view! { <A href=h attr:class="mt-4 inline-block text-sm font-medium text-indigo-700 hover:underline">"More →"</A> })}
                        }
                        .into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn QueueCard(item: QueueItem, on_done: Callback<String>) -> impl IntoView {
    let draft = item.draft.clone().unwrap_or_default();
    let edited = RwSignal::new(draft.clone());
    let editing = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let guidance = RwSignal::new(String::new());
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let (id, version, title) = (item.id, item.version, item.title.clone());
    let act = Action::new(
        move |input: &(String, Option<String>, Option<String>, Option<String>)| {
            let (verdict, content, reason, guidance) = input.clone();
            async move {
                (
                    verdict.clone(),
                    review_task(id, version, verdict, content, reason, guidance).await,
                )
            }
        },
    );
    Effect::new(move |_| {
        if let Some((verdict, result)) = act.value().get() {
            match result {
                Ok(()) => {
                    let what = match verdict.as_str() {
                        "approve" | "edit_and_approve" => "approved and delivered",
                        "reject" => "rejected",
                        _ => "sent back to the AI",
                    };
                    on_done.run(format!("\"{}\" {what}.", title.clone()));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        }
    });
    let busy = act.pending();
    let reject = move |_| {
        if reason.get_untracked().trim().is_empty() {
            error.set(Some("Say why the draft is rejected.".into()));
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            let ok = window()
                .confirm_with_message("Reject this draft? The task ends and is not delivered.")
                .unwrap_or(false);
            if !ok {
                return;
            }
        }
        act.dispatch(("reject".into(), None, Some(reason.get_untracked()), None));
    };
    view! {
        <article class="rounded-xl border border-slate-200 bg-white p-4" data-testid="queue-item" data-task-id=item.id.to_string()>
            <div class="flex flex-wrap items-start justify-between gap-2">
                <div>
                    <A href=format!("/pipeline/tasks/{}", item.id) attr:class="font-medium text-indigo-700 hover:underline">{item.title.clone()}</A>
                    <p class="text-sm text-slate-600">{item.customer_name.clone()} " · waiting " {age(item.waiting_secs)} " · attempt " {item.attempts} " of " {item.max_attempts}
                        {item.quality.map(|q| format!(" · quality {q}"))}</p>
                </div>
                {state_badge(item.state)}
            </div>
            {item.reason.clone().map(|r| view! { <p class="mt-2 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">{r}</p> })}
            <Show when=move || editing.get() fallback=move || view! {
                <pre class="mt-3 whitespace-pre-wrap rounded-lg bg-slate-50 p-3 font-sans text-sm text-slate-800" data-testid="queue-draft">{edited.get()}</pre>
            }>
                <label class="mt-3 block text-xs font-medium text-slate-600" for=format!("edit-{}", id)>"Edit the draft"</label>
                <textarea id=format!("edit-{}", id) rows="10" class=INPUT data-testid="edit-draft"
                    prop:value=move || edited.get() on:input=move |ev| edited.set(event_target_value(&ev))></textarea>
            </Show>
            <div class="mt-3 flex flex-wrap items-end gap-2">
                <Show when=move || !editing.get() fallback=move || view! {
                    <button class=BUTTON disabled=move || busy.get() data-testid="approve-edited"
                        on:click=move |_| { act.dispatch(("edit_and_approve".into(), Some(edited.get_untracked()), None, None)); }>"Approve edited"</button>
                    <button class=SECONDARY on:click=move |_| editing.set(false)>"Stop editing"</button>
                }>
                    <button class=BUTTON disabled=move || busy.get() data-testid="approve"
                        on:click=move |_| { act.dispatch(("approve".into(), None, None, None)); }>"Approve"</button>
                    <button class=SECONDARY data-testid="edit" on:click=move |_| editing.set(true)>"Edit"</button>
                </Show>
            </div>
            <div class="mt-3 grid gap-3 md:grid-cols-2">
                <div class="flex items-end gap-2">
                    <label class="flex-1 text-xs font-medium text-slate-600">"Send back with guidance"
                        <input type="text" class=INPUT placeholder="What should the AI change?" data-testid="guidance"
                            prop:value=move || guidance.get() on:input=move |ev| guidance.set(event_target_value(&ev))/>
                    </label>
                    <button class=SECONDARY disabled=move || busy.get() data-testid="send-back"
                        on:click=move |_| {
                            if guidance.get_untracked().trim().is_empty() { error.set(Some("Tell the AI what to change.".into())); return; }
                            act.dispatch(("send_back".into(), None, None, Some(guidance.get_untracked())));
                        }>"Send back"</button>
                </div>
                <div class="flex items-end gap-2">
                    <label class="flex-1 text-xs font-medium text-slate-600">"Reject with a reason"
                        <input type="text" class=INPUT placeholder="Why is it rejected?" data-testid="reject-reason"
                            prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                    </label>
                    <button class="rounded-md border border-rose-300 bg-white px-3 py-2 text-sm font-medium text-rose-700 hover:bg-rose-50 disabled:opacity-60"
                        disabled=move || busy.get() data-testid="reject" on:click=reject>"Reject"</button>
                </div>
            </div>
            <Show when=move || error.get().is_some()>
                <p role="alert" class="mt-2 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{move || error.get()}</p>
            </Show>
        </article>
    }
}
