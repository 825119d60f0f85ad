//! The AI settings page.
use super::{
    server_fns::{load_ai_overview, TestProvider},
    AiOverview, ProviderState, ProviderStatus,
};
use crate::layout::{error_fallback, LoadingBlock, PageHeader};
use leptos::prelude::*;

#[component]
pub fn AiSettingsPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| load_ai_overview());
    view! {
        <PageHeader title="AI settings" subtitle="Providers, model routing and a live check of each provider"/>
        <Transition fallback=|| view! { <LoadingBlock label="Checking providers…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { overview.await.map(|o| view! { <Overview overview=o/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Overview(overview: AiOverview) -> impl IntoView {
    view! {
        <div class="space-y-6">
            {overview.remote_hint.map(|hint| view! {
                <p data-testid="remote-hint" class="rounded-lg border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
                    "Every AI task runs on the built-in local model, which is free and private but low quality. " {hint}
                </p>
            })}
            <section aria-labelledby="providers-title">
                <h2 id="providers-title" class="mb-2 text-sm font-semibold text-slate-900">"Providers"</h2>
                <ul class="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white">
                    {overview.providers.into_iter().map(|p| view! { <ProviderRow status=p/> }).collect_view()}
                </ul>
            </section>
            <section aria-labelledby="routing-title">
                <h2 id="routing-title" class="mb-2 text-sm font-semibold text-slate-900">"Routing"</h2>
                <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                    <table class="min-w-full divide-y divide-slate-200 text-sm">
                        <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                            <tr>
                                <th scope="col" class="px-4 py-3">"Tier"</th>
                                <th scope="col" class="px-4 py-3">"Model"</th>
                                <th scope="col" class="px-4 py-3">"Provider"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {overview.routes.into_iter().map(|r| {
                                let testid = format!("route-{}", r.tier);
                                view! {
                                <tr data-testid=testid>
                                    <td class="px-4 py-3 font-medium">{r.tier}</td>
                                    <td class="px-4 py-3 font-mono text-xs">{r.model}</td>
                                    <td class="px-4 py-3 text-slate-600">{r.provider}</td>
                                </tr>
                            }}).collect_view()}
                            <tr data-testid="route-embedding">
                                <td class="px-4 py-3 font-medium">"embeddings"</td>
                                <td class="px-4 py-3 font-mono text-xs">{overview.embedding_model}</td>
                                <td class="px-4 py-3 text-slate-600">"every stored vector records this model"</td>
                            </tr>
                        </tbody>
                    </table>
                </div>
            </section>
        </div>
    }
}

#[component]
fn ProviderRow(status: ProviderStatus) -> impl IntoView {
    let test = ServerAction::<TestProvider>::new();
    let key = status.check.as_str();
    let testable = matches!(
        status.state,
        ProviderState::Ready | ProviderState::Configured
    );
    let badge = match status.state {
        ProviderState::Ready => "bg-emerald-100 text-emerald-900",
        ProviderState::Configured => "bg-sky-100 text-sky-900",
        ProviderState::NotConfigured => "bg-slate-100 text-slate-700",
        ProviderState::Unavailable => "bg-rose-100 text-rose-900",
    };
    view! {
        <li data-testid=format!("provider-{key}") class="flex flex-wrap items-start justify-between gap-3 p-4">
            <div class="min-w-0 flex-1">
                <p class="text-sm font-medium text-slate-900">
                    {status.name}
                    <span data-testid=format!("provider-state-{key}") class=format!("ml-2 rounded-full px-2 py-0.5 text-xs font-medium {badge}")>
                        {status.state.label()}
                    </span>
                </p>
                <p class="mt-0.5 text-xs text-slate-500">
                    <span class="font-mono">{status.model}</span> " · " {status.provider}
                </p>
                <p class="mt-1 break-words text-sm text-slate-700">{status.detail}</p>
                <div data-testid=format!("provider-result-{key}") aria-live="polite" class="mt-2 text-sm">
                    {move || test.value().get().map(|result| match result {
                        Ok(r) if r.ok => view! {
                            <p class="text-emerald-800">{format!("OK in {} ms — {} ({}): {}", r.latency_ms, r.model, r.provider, r.detail)}</p>
                        }.into_any(),
                        Ok(r) => view! {
                            <p role="alert" class="text-rose-800">{format!("Failed after {} ms: {}", r.latency_ms, r.detail)}</p>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-rose-800">{e.to_string()}</p> }.into_any(),
                    })}
                </div>
            </div>
            {testable.then(|| view! {
                // A form, so the button posts even before the page is hydrated.
                <ActionForm action=test>
                    <input type="hidden" name="check" value=key/>
                    <button
                        type="submit"
                        data-testid=format!("provider-test-{key}")
                        class="inline-flex items-center gap-2 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:cursor-wait disabled:opacity-60"
                        disabled=move || test.pending().get()
                    >
                        <Show when=move || test.pending().get()>
                            <span class="h-3 w-3 animate-spin rounded-full border-2 border-slate-300 border-t-indigo-600" aria-hidden="true"></span>
                        </Show>
                        {move || if test.pending().get() { "Testing…" } else { "Test provider" }}
                    </button>
                </ActionForm>
            })}
        </li>
    }
}
