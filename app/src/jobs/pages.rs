//! `/jobs`: every scheduled job with its schedule, last run and recent failures, "Run now",
//! and the latest runs (for the operator's admins).
use super::{
    every_label,
    server_fns::{load_jobs, run_job_now},
    Job, JobRun, JobsPage,
};
use crate::layout::{error_fallback, format_time, EmptyState, LoadingBlock, PageHeader, SECONDARY};
use leptos::prelude::*;

#[component]
pub fn JobsListPage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let page = Resource::new(move || changed.get(), |_| load_jobs());
    view! {
        <PageHeader title="Jobs" subtitle="Scheduled work every SmartCRM process shares; each run is taken by one process"/>
        <Transition fallback=|| view! { <LoadingBlock label="Loading jobs…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { page.await.map(|p| view! { <Jobs p changed/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

fn outcome_class(outcome: &str) -> &'static str {
    match outcome {
        "succeeded" => {
            "rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-800"
        }
        "failed" => "rounded-full bg-rose-100 px-2 py-0.5 text-xs font-medium text-rose-800",
        _ => "rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700",
    }
}

#[component]
fn Jobs(p: JobsPage, changed: RwSignal<u32>) -> impl IntoView {
    let JobsPage {
        jobs,
        runs,
        can_run,
    } = p;
    view! {
        <ul class="grid gap-3 lg:grid-cols-2" data-testid="jobs">
            {jobs.into_iter().map(|job| view! { <JobCard job can_run/> }).collect_view()}
        </ul>
        <section class="mt-8" aria-labelledby="runs-title">
            <div class="mb-3 flex items-center justify-between">
                <h2 id="runs-title" class="text-base font-semibold">"Latest runs"</h2>
                <button type="button" class=SECONDARY on:click=move |_| changed.update(|n| *n += 1)>"Refresh"</button>
            </div>
            {if runs.is_empty() {
                view! { <EmptyState title="No runs yet" body="Runs are listed here as the processes take them."/> }.into_any()
            } else {
                view! { <RunTable runs/> }.into_any()
            }}
        </section>
    }
}

#[component]
fn JobCard(job: Job, can_run: bool) -> impl IntoView {
    let name = job.name.clone();
    // The answer stays on the card; "Refresh" shows the run once a process took it.
    let run = Action::new(move |_: &()| run_job_now(name.clone()));
    let last = job.last.clone().map(|r| {
        let rows = r
            .rows_affected
            .map(|n| format!(" · {n} rows"))
            .unwrap_or_default();
        let text = format!(
            "Last run {} ({}, {}){rows}",
            format_time(r.started_at),
            r.trigger,
            r.took()
        );
        let class = outcome_class(&r.outcome);
        view! {
            <p class="mt-2 flex flex-wrap items-center gap-2 text-xs text-slate-600">
                <span class=class data-testid="job-outcome">{r.outcome.clone()}</span>{text}
            </p>
            {r.error.map(|e| view! { <p class="mt-1 text-xs text-rose-800">{e}</p> })}
        }
        .into_any()
    });
    let schedule = format!(
        "{}{} · next {}",
        every_label(job.every_seconds),
        if job.enabled { "" } else { " (paused)" },
        if job.requested {
            "as soon as a process looks".to_owned()
        } else {
            format_time(job.next_run_at)
        }
    );
    let failures =
        (job.failures_24h > 0).then(|| format!("{} failed runs in 24 h", job.failures_24h));
    view! {
        <li class="rounded-xl border border-slate-200 bg-white p-4" data-testid="job" data-job=job.name.clone()>
            <div class="flex items-start justify-between gap-2">
                <div>
                    <h2 class="font-mono text-sm font-semibold text-slate-900">{job.name.clone()}</h2>
                    <p class="mt-1 text-sm text-slate-700">{job.description.clone()}</p>
                    <p class="mt-1 text-xs text-slate-500">{schedule}</p>
                </div>
                {can_run.then(|| view! {
                    <button type="button" class=SECONDARY data-testid="run-now" disabled=move || run.pending().get()
                        on:click=move |_| { run.dispatch(()); }>
                        {move || if run.pending().get() { "Asking…" } else { "Run now" }}
                    </button>
                })}
            </div>
            {last.unwrap_or_else(|| view! { <p class="mt-2 text-xs text-slate-500">"Not run yet."</p> }.into_any())}
            {failures.map(|f| view! { <p class="mt-1 text-xs font-medium text-rose-800">{f}</p> })}
            {move || run.value().get().map(|r| match r {
                Ok(()) => view! { <p role="status" class="mt-2 text-xs text-emerald-800">"Asked: a process takes it within 2 s. Refresh to see the run."</p> }.into_any(),
                Err(e) => view! { <p role="alert" class="mt-2 text-xs text-rose-800">{e.to_string()}</p> }.into_any(),
            })}
        </li>
    }
}

#[component]
fn RunTable(runs: Vec<JobRun>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="job-runs">
                <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                    <tr>
                        <th scope="col" class="px-4 py-2">"Job"</th>
                        <th scope="col" class="px-4 py-2">"Started"</th>
                        <th scope="col" class="px-4 py-2">"Took"</th>
                        <th scope="col" class="px-4 py-2">"Outcome"</th>
                        <th scope="col" class="px-4 py-2">"Rows"</th>
                        <th scope="col" class="px-4 py-2">"Process"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {runs.into_iter().map(|r| view! {
                        <tr>
                            <td class="px-4 py-2 font-mono text-xs">{r.job.clone()}</td>
                            <td class="px-4 py-2 text-xs">{format_time(r.started_at)} " · " {r.trigger.clone()}</td>
                            <td class="px-4 py-2 text-xs">{r.took()}</td>
                            <td class="px-4 py-2 text-xs">
                                <span class=outcome_class(&r.outcome)>{r.outcome.clone()}</span>
                                {r.error.clone().map(|e| view! { <span class="ml-2 text-rose-800">{e}</span> })}
                            </td>
                            <td class="px-4 py-2 text-xs">{r.rows_affected.map(|n| n.to_string()).unwrap_or_default()}</td>
                            <td class="px-4 py-2 text-xs text-slate-500">{r.instance.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
