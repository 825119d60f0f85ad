//! `/pipeline`: the live board (refetched with an etag when a task changes, as live updates
//! announce), filtered from the address, paged by keyset.
use super::{state_badge, type_label, BUTTON, SECONDARY};
use crate::live::{on_change, Topic};
use crate::{
    error::AppError,
    layout::{error_fallback, EmptyState, LoadingBlock},
    pipeline::{
        instructions::OUTPUT_TYPES,
        model::{age, Board, BoardFilter, BoardResponse},
        server_fns::{list_customers, load_board},
        state::TaskState,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};
use uuid::Uuid;

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

#[component]
pub fn PipelinePage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(filter_from_query));
    let initial = Resource::new(move || filter.get(), |f| load_board(f, None));
    // Newer boards fetched when tasks change; cleared when the filters change.
    let live: RwSignal<Option<Board>> = RwSignal::new(None);
    Effect::new(move |_| {
        filter.track();
        live.set(None);
    });
    let customers = Resource::new(|| (), |_| list_customers());
    on_change(move |batch| {
        if !batch.touches(Topic::Tasks) {
            return;
        }
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
            if let Ok(BoardResponse::Changed(b)) = load_board(f, etag).await {
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
                // Only for those who may create tasks (QA looks, it does not act).
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let can_act = matches!(initial.await, Ok(BoardResponse::Changed(ref b)) if b.can_act);
                        can_act.then(|| view! { <A href="/pipeline/new" attr:class=BUTTON attr:data-testid="new-task">"New task"</A> })
                    })}
                </Transition>
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
                        BoardResponse::Unchanged => Board { etag: String::new(), counts: vec![], rows: vec![], next_before: None, can_act: false },
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
