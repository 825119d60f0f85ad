//! The AI settings page.
use super::{
    server_fns::{load_ai_overview, load_routing_table, TestProvider},
    AiOverview, ProviderState, ProviderStatus, RoutingTable,
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
        <Resolution/>
    }
}

/// "For user X, task Y goes to model Z because …", for any member, with the operator's
/// emergency override as a banner while one is set.
#[component]
fn Resolution() -> impl IntoView {
    let user = RwSignal::new(None::<uuid::Uuid>);
    let table = Resource::new(move || user.get(), load_routing_table);
    view! {
        <Transition fallback=|| view! { <LoadingBlock label="Resolving models…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { table.await.map(|t| view! { <RoutingView table=t user=user/> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn RoutingView(table: RoutingTable, user: RwSignal<Option<uuid::Uuid>>) -> impl IntoView {
    let current = table.user_id;
    view! {
        <section aria-labelledby="resolution-title" class="mt-6 space-y-3">
            {(!table.overrides.is_empty()).then(|| view! {
                <div role="alert" class="rounded-lg border border-rose-300 bg-rose-50 p-3 text-sm text-rose-900" data-testid="override-banner">
                    <p class="font-semibold">"Emergency override in force"</p>
                    <ul class="mt-1 list-disc pl-5">
                        {table.overrides.iter().map(|(tier, model)| view! {
                            <li>{format!("Every {tier}-tier call goes to {model}, whatever the settings below say. The operator set it in the environment (SMARTCRM_OVERRIDE_{}MODEL).",
                                match tier.as_str() { "fast" => "FAST_", "thinking" => "THINKING_", _ => "" })}</li>
                        }).collect_view()}
                    </ul>
                </div>
            })}
            <div class="flex flex-wrap items-end justify-between gap-3">
                <div>
                    <h2 id="resolution-title" class="text-sm font-semibold text-slate-900">"Which model answers"</h2>
                    <p class="text-xs text-slate-500">"In order: the emergency override, an experiment, the member's setting, the workspace's, the prompt's model, the tier default; then the budget may step it down."</p>
                </div>
                <label class="flex flex-col text-xs font-medium text-slate-600">"For"
                    <select class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900" data-testid="routing-user"
                        on:change=move |ev| user.set(event_target_value(&ev).parse().ok())>
                        {table.members.iter().map(|(id, name)| view! { <option value=id.to_string() selected=*id == current>{name.clone()}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="routing-table">
                    <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                        <tr>
                            <th scope="col" class="px-4 py-3">"Task"</th>
                            <th scope="col" class="px-4 py-3">"Model"</th>
                            <th scope="col" class="px-4 py-3">"Because"</th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {table.rows.into_iter().map(|r| { let name = table.user_name.clone(); view! {
                            <tr data-testid=format!("routing-{}", r.prompt)>
                                <td class="px-4 py-3"><span class="font-medium">{r.prompt.clone()}</span>
                                    <span class="block text-xs text-slate-500">{format!("{} · {} tier", r.task, r.tier)}</span></td>
                                <td class="px-4 py-3 font-mono text-xs">{if r.model.is_empty() { "(none)".to_owned() } else { r.model.clone() }}</td>
                                <td class="px-4 py-3 text-slate-700">
                                    {format!("For {name}, {} goes to {} because {}.", r.prompt, if r.model.is_empty() { "no model" } else { r.model.as_str() }, r.reason)}
                                    {(!r.level.is_empty()).then(|| view! { <span class="ml-1 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">{r.level.clone()}</span> })}
                                </td>
                            </tr>
                        }}).collect_view()}
                    </tbody>
                </table>
            </div>
            <p class="text-sm text-slate-600" data-testid="routing-spend">
                {match table.budget_usd {
                    Some(b) => format!("This month: ${:.2} spent of a ${b:.2} budget ({:.0}%).", table.spent_usd, table.spent_usd / b * 100.0),
                    None => "No monthly budget is set.".to_owned(),
                }}
                " "
                <leptos_router::components::A href="/models/workspace" attr:class="font-medium text-indigo-700 hover:underline">"Workspace models and budget →"</leptos_router::components::A>
            </p>
        </section>
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
