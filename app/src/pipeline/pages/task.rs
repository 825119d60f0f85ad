//! `/pipeline/tasks/:id`: a task's story: instructions, every attempt with its scores and the
//! decision in words, reviews and the history. Refreshes while the AI works on it.
use super::{state_badge, type_label, BUTTON};
use crate::live::{on_change, Topic};
use crate::{
    domain::humanize,
    error::AppError,
    layout::{error_fallback, format_time, EmptyState, LoadingBlock},
    pipeline::{
        examples::server_fns::PromoteDeliverable,
        instructions::AiInstructions,
        model::{AttemptView, ExampleUsed, TaskDetail},
        report::QualityReport,
        rules::Decision,
        server_fns::load_task_detail,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};
use uuid::Uuid;

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

pub(crate) fn quality_view(q: &QualityReport) -> AnyView {
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

pub(crate) fn decision_view(d: &Decision) -> AnyView {
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

/// "Make it an example": a delivered draft becomes a positive example in one click.
#[component]
fn PromoteButton(deliverable_id: Uuid) -> impl IntoView {
    let promote = ServerAction::<PromoteDeliverable>::new();
    view! {
        <ActionForm action=promote attr:class="mt-2 text-sm">
            <input type="hidden" name="deliverable_id" value=deliverable_id.to_string()/>
            {move || match promote.value().get() {
                Some(Ok(saved)) => view! {
                    <p role="status" class="text-emerald-800" data-testid="promoted">
                        "Saved as a good example. "
                        <A href=format!("/examples/{}", saved.id) attr:class="font-medium text-indigo-700 hover:underline">"Edit its annotation"</A>
                    </p>
                }.into_any(),
                other => view! {
                    <button type="submit" class="font-medium text-indigo-700 hover:underline" data-testid="promote">"Make it an example"</button>
                    {other.and_then(Result::err).map(|e| view! { <p role="alert" class="text-rose-700">{e.to_string()}</p> })}
                }.into_any(),
            }}
        </ActionForm>
    }
}

fn examples_used(examples: &[ExampleUsed]) -> AnyView {
    if examples.is_empty() {
        return ().into_any();
    }
    view! {
        <details class="mt-2 text-xs text-slate-600" data-testid="examples-used">
            <summary class="cursor-pointer">{format!("{} examples given to the model", examples.len())}</summary>
            <ul class="mt-1 space-y-1">
                {examples.iter().map(|e| {
                    let whose = match e.source.as_str() { "customer" => "this customer's", "industry" => "its industry's", _ => "another business's" };
                    let kind = if e.polarity == "positive" { "Good" } else { "Bad" };
                    view! {
                        <li>
                            <A href=format!("/examples/{}", e.id) attr:class="text-indigo-700 hover:underline">{format!("{kind} example")}</A>
                            {format!(" · {whose} · similarity {:.2}", e.similarity)}
                            {(!e.annotation.is_empty()).then(|| format!(" · {}", e.annotation))}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </details>
    }
    .into_any()
}

fn attempt_view(a: &AttemptView, can_promote: bool) -> AnyView {
    let shown = a
        .edited_content
        .clone()
        .unwrap_or_else(|| a.content.clone());
    let meta = format!(
        "{} · {} · {} examples · template ",
        a.model.clone().unwrap_or_else(|| "unknown model".into()),
        format_time(a.created_at),
        a.examples.len()
    );
    let template = match (a.template.clone(), a.template_id) {
        (Some(name), Some(id)) => view! {
            <A href=format!("/templates/{id}") attr:class="text-indigo-700 hover:underline" attr:data-testid="attempt-template">{name}</A>
        }
        .into_any(),
        _ => view! { <span>"none"</span> }.into_any(),
    };
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-4" data-testid="attempt" data-attempt=a.attempt.to_string()>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h3 class="text-sm font-semibold text-slate-900">"Attempt " {a.attempt}
                    {a.delivered_at.map(|_| view! { <span class="ml-2 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800">"Delivered"</span> })}
                    {a.edited_content.as_ref().map(|_| view! { <span class="ml-2 rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800">"Edited by a reviewer"</span> })}
                </h3>
                <p class="text-xs text-slate-500">{meta}{template}</p>
            </div>
            {examples_used(&a.examples)}
            {a.context_outdated.then(|| view! {
                <p class="mt-2 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="context-outdated">
                    {if a.delivered_at.is_some() {
                        "Written before the customer's business context last changed."
                    } else {
                        "The customer's business context changed after this draft was written. Send it back from the escalation queue to have it written again with the new context."
                    }}
                </p>
            })}
            <div class="mt-3 grid gap-4 lg:grid-cols-2">
                <pre class="whitespace-pre-wrap rounded-lg bg-slate-50 p-3 font-sans text-sm text-slate-800" data-testid="attempt-content">{shown}</pre>
                <div class="space-y-3">
                    {a.quality.as_ref().map(quality_view)}
                    {a.decision.as_ref().map(decision_view)}
                </div>
            </div>
            {(can_promote && a.delivered_at.is_some()).then(|| view! { <PromoteButton deliverable_id=a.id/> })}
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
    // Refreshes when this task changes (live updates).
    on_change(move |batch| {
        if id
            .get_untracked()
            .is_some_and(|id| batch.touches_row(Topic::Tasks, id))
        {
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
    let working = !d.state.is_final() && !d.state.needs_a_person();
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
                attempts.iter().map(|a| attempt_view(a, d.can_promote)).collect_view().into_any()
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
