//! `/escalations`: drafts the AI could not settle, oldest first; managers approve, edit and
//! approve, reject (after a confirmation) or send back with guidance.
use super::{state_badge, BUTTON, INPUT, SECONDARY};
use crate::{
    layout::{error_fallback, EmptyState, LoadingBlock, PageHeader},
    pipeline::{
        model::{age, QueueItem},
        server_fns::{load_queue, review_task},
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
                        let can_act = p.can_act;
                        view! {
                            <p class="mb-3 text-sm text-slate-600">{format!("{} waiting", p.total)}</p>
                            <div class="space-y-4">
                                {p.items.into_iter().map(|item| view! { <QueueCard item can_act on_done=Callback::new(move |msg: String| { notice.set(Some(msg)); page.refetch(); })/> }).collect_view()}
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
fn QueueCard(item: QueueItem, can_act: bool, on_done: Callback<String>) -> impl IntoView {
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
            // Only managers and admins settle drafts; QA reads them.
            {can_act.then(|| view! {
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
            })}
            <Show when=move || error.get().is_some()>
                <p role="alert" class="mt-2 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{move || error.get()}</p>
            </Show>
        </article>
    }
}

