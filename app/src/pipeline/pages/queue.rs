//! `/escalations`: drafts the AI could not settle and tasks that failed, oldest first; managers
//! approve, edit and approve, reject (after a confirmation) or send back with guidance. A
//! failed task without a draft can only be sent back or rejected.
use super::{state_badge, BUTTON, INPUT, SECONDARY};
use crate::{
    layout::{error_fallback, EmptyState, LoadingBlock, PageHeader},
    live::{on_change, Topic},
    pipeline::{
        model::{age, QueueItem, QueuePage, Verdict},
        server_fns::{load_queue, ReviewTask},
    },
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};
use uuid::Uuid;

#[component]
pub fn EscalationQueuePage() -> impl IntoView {
    let query = use_query_map();
    let after =
        Memo::new(move |_| query.with(|q| q.get("after").and_then(|a| a.parse::<Uuid>().ok())));
    let page = Resource::new(move || after.get(), load_queue);
    // Later answers (after a verdict here, or a task entering or leaving the queue) go to the
    // list in place: a card keeps a half-written edit unless its own task changed.
    let fresh: RwSignal<Option<QueuePage>> = RwSignal::new(None);
    let refresh = move || {
        let after = after.get_untracked();
        leptos::task::spawn_local(async move {
            if let Ok(p) = load_queue(after).await {
                fresh.try_set(Some(p));
            }
        });
    };
    on_change(move |batch| {
        if batch.touches(Topic::Queue) {
            refresh();
        }
    });
    let notice: RwSignal<Option<String>> = RwSignal::new(None);
    view! {
        <PageHeader title="Escalation queue" subtitle="Drafts the AI could not settle and tasks that failed, oldest first"/>
        <Show when=move || notice.get().is_some()>
            <p role="status" class="mb-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="queue-notice">{move || notice.get()}</p>
        </Show>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the queue…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    page.await.map(|p| {
                        let on_done = Callback::new(move |msg: String| {
                            notice.set(Some(msg));
                            refresh();
                        });
                        view! { <QueueList p fresh on_done/> }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The cards, keyed by task and version: a new answer redraws only the cards whose task moved.
#[component]
fn QueueList(
    p: QueuePage,
    fresh: RwSignal<Option<QueuePage>>,
    on_done: Callback<String>,
) -> impl IntoView {
    let can_act = p.can_act;
    let next = p.next_after.map(|a| format!("/escalations?after={a}"));
    let total = RwSignal::new(p.total);
    let items = RwSignal::new(p.items);
    // Only answers that come after this list was drawn (not one left from another page).
    Effect::new(move |first: Option<()>| {
        let latest = fresh.get();
        if first.is_some() {
            if let Some(latest) = latest {
                total.set(latest.total);
                items.set(latest.items);
            }
        }
    });
    view! {
        <Show when=move || items.with(|i| !i.is_empty()) fallback=|| view! {
            <EmptyState title="Nothing to review" body="Escalated drafts, drafts awaiting review and failed tasks appear here."/>
        }>
            <p class="mb-3 text-sm text-slate-600">{move || format!("{} waiting", total.get())}</p>
        </Show>
        <div class="space-y-4">
            <For each=move || items.get() key=|i| (i.id, i.version) children=move |item: QueueItem| view! { <QueueCard item can_act on_done/> }/>
        </div>
        {next.map(|h| view! { <A href=h attr:class="mt-4 inline-block text-sm font-medium text-indigo-700 hover:underline">"More →"</A> })}
    }
}

/// One verdict's form: the task, the version the reviewer saw and the verdict ride along as
/// hidden fields, so the form posts the same with or without the page's script.
#[component]
fn VerdictForm(
    action: ServerAction<ReviewTask>,
    id: Uuid,
    version: i32,
    verdict: Verdict,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    view! {
        <ActionForm action attr:class=class>
            <input type="hidden" name="id" value=id.to_string()/>
            <input type="hidden" name="version" value=version.to_string()/>
            <input type="hidden" name="verdict" value=verdict.as_str()/>
            {children()}
        </ActionForm>
    }
}

#[component]
fn QueueCard(item: QueueItem, can_act: bool, on_done: Callback<String>) -> impl IntoView {
    let has_draft = item.draft.is_some();
    let draft = item.draft.clone().unwrap_or_default();
    let (id, version, title) = (item.id, item.version, item.title.clone());
    let review = ServerAction::<ReviewTask>::new();
    // The server's own messages (a missing reason, a task that moved meanwhile) show here.
    let error = move || {
        review
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    Effect::new(move |_| {
        if let Some(Ok(verdict)) = review.value().get() {
            let what = match verdict {
                Verdict::Approve | Verdict::EditAndApprove => "approved and delivered",
                Verdict::Reject => "rejected",
                Verdict::SendBack => "sent back to the AI",
            };
            on_done.run(format!("\"{}\" {what}.", title.clone()));
        }
    });
    let busy = review.pending();
    // Rejecting ends the task: ask first (a click that is not confirmed submits nothing).
    let confirm_reject =
        crate::layout::confirm_first("Reject this draft? The task ends and is not delivered.");
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
            {if has_draft {
                view! { <pre class="mt-3 whitespace-pre-wrap rounded-lg bg-slate-50 p-3 font-sans text-sm text-slate-800" data-testid="queue-draft">{draft.clone()}</pre> }.into_any()
            } else {
                view! { <p class="mt-3 text-sm italic text-slate-500" data-testid="queue-no-draft">"No draft was written."</p> }.into_any()
            }}
            // Only managers and admins settle drafts; QA reads them.
            {can_act.then(|| view! {
                {has_draft.then(|| view! { <div class="mt-3 flex flex-wrap items-start gap-2">
                    <VerdictForm action=review id version verdict=Verdict::Approve>
                        <button type="submit" class=BUTTON disabled=move || busy.get() data-testid="approve">"Approve"</button>
                    </VerdictForm>
                    <details class="group w-full">
                        <summary class=format!("{SECONDARY} inline-block cursor-pointer list-none") data-testid="edit">"Edit"</summary>
                        <VerdictForm action=review id version verdict=Verdict::EditAndApprove class="mt-2">
                            <label class="block text-xs font-medium text-slate-600" for=format!("edit-{id}")>"Edit the draft"</label>
                            <textarea id=format!("edit-{id}") name="content" rows="10" class=INPUT data-testid="edit-draft">{draft.clone()}</textarea>
                            <button type="submit" class=format!("{BUTTON} mt-2") disabled=move || busy.get() data-testid="approve-edited">"Approve edited"</button>
                        </VerdictForm>
                    </details>
                </div> })}
                <div class="mt-3 grid gap-3 md:grid-cols-2">
                    <VerdictForm action=review id version verdict=Verdict::SendBack class="flex items-end gap-2">
                        <label class="flex-1 text-xs font-medium text-slate-600">"Send back with guidance"
                            <input type="text" name="guidance" class=INPUT placeholder="What should the AI change?" data-testid="guidance"/>
                        </label>
                        <button type="submit" class=SECONDARY disabled=move || busy.get() data-testid="send-back">"Send back"</button>
                    </VerdictForm>
                    <VerdictForm action=review id version verdict=Verdict::Reject class="flex items-end gap-2">
                        <label class="flex-1 text-xs font-medium text-slate-600">"Reject with a reason"
                            <input type="text" name="reason" class=INPUT placeholder="Why is it rejected?" data-testid="reject-reason"/>
                        </label>
                        <button type="submit" class="rounded-md border border-rose-300 bg-white px-3 py-2 text-sm font-medium text-rose-700 hover:bg-rose-50 disabled:opacity-60"
                            disabled=move || busy.get() data-testid="reject" on:click=confirm_reject>"Reject"</button>
                    </VerdictForm>
                </div>
            })}
            <Show when=move || error().is_some()>
                <p role="alert" class="mt-2 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" data-testid="queue-error">{error}</p>
            </Show>
        </article>
    }
}
