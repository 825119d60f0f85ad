//! `/models`: every model in the shared catalog with its price, window, status and this
//! workspace's 30-day usage; the operator's admins add models, change them and set prices.
use super::{dollars, percent, provider_pill, status_pill};
use crate::{
    layout::{
        error_fallback, format_time, FormErrors, LoadingBlock, PageHeader, BUTTON, INPUT, SECONDARY,
    },
    models::{
        form::{ModelForm, KINDS, STATUSES, TIERS},
        server_fns::{load_model_catalog, SaveModel, SetModelPrice},
        tokens_label, ModelRow,
    },
};
use leptos::prelude::*;

#[component]
pub fn CatalogPage() -> impl IntoView {
    let save = ServerAction::<SaveModel>::new();
    let price = ServerAction::<SetModelPrice>::new();
    let page = Resource::new(
        move || (save.version().get(), price.version().get()),
        |_| load_model_catalog(),
    );
    view! {
        <PageHeader title="Model catalog" subtitle="Every model the AI may use, its price per 1,000 tokens, and what this workspace spent on it in the last 30 days"/>
        <p class="-mt-2 mb-4 text-sm">
            <leptos_router::components::A href="/models/plans" attr:class="font-medium text-indigo-700 hover:underline">"Legacy model migrations →"</leptos_router::components::A>
            " · "
            <leptos_router::components::A href="/models/workspace" attr:class="font-medium text-indigo-700 hover:underline">"Workspace models and budget →"</leptos_router::components::A>
        </p>
        <Transition fallback=|| view! { <LoadingBlock label="Loading the catalog…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    page.await.map(|p| {
                        let can_edit = p.can_edit;
                        view! {
                            {(!can_edit).then(|| view! {
                                <p class="mb-4 rounded-lg border border-slate-200 bg-slate-50 px-4 py-3 text-sm text-slate-700" data-testid="catalog-readonly">
                                    "The catalog is shared by every workspace and is edited from the operator's workspace. You can see it and your usage here."
                                </p>
                            })}
                            {can_edit.then(|| view! { <AddModel save/> })}
                            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                                <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="catalog-table">
                                    <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                                        <tr>
                                            <th scope="col" class="px-3 py-3">"Model"</th>
                                            <th scope="col" class="px-3 py-3">"Tier"</th>
                                            <th scope="col" class="px-3 py-3">"Price / 1K tokens"</th>
                                            <th scope="col" class="px-3 py-3">"Window"</th>
                                            <th scope="col" class="px-3 py-3">"Status"</th>
                                            <th scope="col" class="px-3 py-3" title="Last 30 days, this workspace">"Calls"</th>
                                            <th scope="col" class="px-3 py-3">"Tokens"</th>
                                            <th scope="col" class="px-3 py-3">"Cost"</th>
                                            <th scope="col" class="px-3 py-3">"p50"</th>
                                            <th scope="col" class="px-3 py-3">"Errors"</th>
                                            <th scope="col" class="px-3 py-3">"Prompts"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {p.models.into_iter().map(|m| view! { <Row m can_edit save price/> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Row(
    m: ModelRow,
    can_edit: bool,
    save: ServerAction<SaveModel>,
    price: ServerAction<SetModelPrice>,
) -> impl IntoView {
    let testid = format!("model-{}", m.id);
    let price_now = m
        .price
        .clone()
        .map(|p| {
            format!(
                "${} in · ${} out",
                p.input_cost_per_1k, p.output_cost_per_1k
            )
        })
        .unwrap_or_else(|| "–".into());
    let upcoming = m.upcoming.clone().map(|p| {
        format!(
            "from {}: ${} in · ${} out",
            format_time(p.effective_from),
            p.input_cost_per_1k,
            p.output_cost_per_1k
        )
    });
    let u = m.usage.clone();
    view! {
        <tr data-testid=testid class="align-top">
            <td class="px-3 py-3">
                <p class="font-medium text-slate-900">{m.display_name.clone()}</p>
                <p class="font-mono text-xs text-slate-500">{m.id.clone()}</p>
                <p class="mt-1">{provider_pill(m.provider.clone())}</p>
                {can_edit.then(|| view! { <EditModel m=m.clone() save price/> })}
            </td>
            <td class="px-3 py-3">{m.tier.clone()} {(m.kind == "embedding").then(|| view! { <span class="block text-xs text-slate-500">"embedding"</span> })}</td>
            <td class="px-3 py-3 text-xs" data-testid="model-price">
                {price_now}
                {upcoming.map(|u| view! { <span class="block text-amber-700">{u}</span> })}
            </td>
            <td class="px-3 py-3">{tokens_label(i64::from(m.context_window))}</td>
            <td class="px-3 py-3">
                {status_pill(m.status.clone())}
                {m.recommended.then(|| view! { <span class="mt-1 block text-xs font-medium text-indigo-700" data-testid="recommended">"Recommended"</span> })}
            </td>
            <td class="px-3 py-3" data-testid="usage-calls">{u.calls}</td>
            <td class="px-3 py-3">{tokens_label(u.tokens)}</td>
            <td class="px-3 py-3" data-testid="usage-cost">{dollars(u.cost_usd)}</td>
            <td class="px-3 py-3">{u.p50_ms.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "–".into())}</td>
            <td class="px-3 py-3">{percent(u.error_rate)}</td>
            <td class="px-3 py-3">{m.prompts}</td>
        </tr>
    }
}

fn select(name: &'static str, options: &'static [&'static str], current: String) -> impl IntoView {
    view! {
        <select name=name class=INPUT>
            {options.iter().map(|o| view! { <option value=*o selected=*o == current>{*o}</option> }).collect_view()}
        </select>
    }
}

#[component]
fn ModelFields(f: ModelForm, errors: FormErrors) -> impl IntoView {
    let label = "block text-xs font-medium text-slate-600";
    let line = move |field: &'static str| view! { <p class="text-xs text-rose-600">{errors.message(field)}</p> };
    let new = !f.is_new.is_empty();
    view! {
        <input type="hidden" name="form[is_new]" value=f.is_new.clone()/>
        <div class="grid gap-3 sm:grid-cols-2">
            {if new {
                view! { <label class=label>"Model id" <input name="form[id]" class=INPUT value=f.id.clone() placeholder="gpt-5.3" aria-invalid=errors.invalid("id")/>{line("id")}</label> }.into_any()
            } else {
                view! { <input type="hidden" name="form[id]" value=f.id.clone()/> }.into_any()
            }}
            <label class=label>"Provider" <input name="form[provider]" class=INPUT value=f.provider.clone() aria-invalid=errors.invalid("provider")/>{line("provider")}</label>
            <label class=label>"Name" <input name="form[display_name]" class=INPUT value=f.display_name.clone() aria-invalid=errors.invalid("display_name")/>{line("display_name")}</label>
            <label class=label>"Tier" {select("form[tier]", &TIERS, f.tier.clone())}{line("tier")}</label>
            <label class=label>"Kind" {select("form[kind]", &KINDS, f.kind.clone())}{line("kind")}</label>
            <label class=label>"Status" {select("form[status]", &STATUSES, f.status.clone())}{line("status")}</label>
            <label class=label>"Context window (tokens)" <input name="form[context_window]" inputmode="numeric" class=INPUT value=f.context_window.clone() aria-invalid=errors.invalid("context_window")/>{line("context_window")}</label>
            <label class=label>"Vector size (embeddings)" <input name="form[dimensions]" inputmode="numeric" class=INPUT value=f.dimensions.clone()/>{line("dimensions")}</label>
            {new.then(|| view! {
                <label class=label>"Input $ / 1K tokens" <input name="form[input_cost_per_1k]" inputmode="decimal" class=INPUT aria-invalid=errors.invalid("input_cost_per_1k")/>{line("input_cost_per_1k")}</label>
                <label class=label>"Output $ / 1K tokens" <input name="form[output_cost_per_1k]" inputmode="decimal" class=INPUT aria-invalid=errors.invalid("output_cost_per_1k")/>{line("output_cost_per_1k")}</label>
            })}
            <label class="flex items-center gap-2 text-sm text-slate-700 sm:col-span-2">
                <input type="checkbox" name="form[recommended]" value="on" checked=!f.recommended.is_empty()/>
                "Recommended for its tier (the tier's default when nothing else chooses)"
            </label>
            <p class="text-xs text-rose-600 sm:col-span-2">{errors.message("recommended")}</p>
        </div>
    }
}

#[component]
fn AddModel(save: ServerAction<SaveModel>) -> impl IntoView {
    let errors = FormErrors::of(save);
    let f = ModelForm {
        is_new: "1".into(),
        tier: "default".into(),
        kind: "chat".into(),
        status: "active".into(),
        ..Default::default()
    };
    view! {
        <details class="mb-4 rounded-xl border border-slate-200 bg-white p-4" data-testid="add-model">
            <summary class="cursor-pointer text-sm font-medium text-indigo-700">"Add a model"</summary>
            <ActionForm action=save attr:class="mt-3 space-y-3" attr:novalidate=true>
                <ModelFields f errors/>
                <p role="alert" class="text-sm text-rose-700">{errors.summary()}</p>
                <button type="submit" class=BUTTON>"Add model"</button>
            </ActionForm>
        </details>
    }
}

#[component]
fn EditModel(
    m: ModelRow,
    save: ServerAction<SaveModel>,
    price: ServerAction<SetModelPrice>,
) -> impl IntoView {
    let errors = FormErrors::of(save);
    let price_errors = FormErrors::of(price);
    let f = ModelForm {
        is_new: String::new(),
        id: m.id.clone(),
        provider: m.provider.clone(),
        display_name: m.display_name.clone(),
        tier: m.tier.clone(),
        kind: m.kind.clone(),
        context_window: m.context_window.to_string(),
        dimensions: m.dimensions.map(|d| d.to_string()).unwrap_or_default(),
        status: m.status.clone(),
        recommended: if m.recommended {
            "on".into()
        } else {
            String::new()
        },
        ..Default::default()
    };
    let label = "block text-xs font-medium text-slate-600";
    view! {
        <details class="mt-2 w-80 text-sm" data-testid="edit-model">
            <summary class="cursor-pointer text-xs font-medium text-indigo-700">"Edit or set a price"</summary>
            <ActionForm action=save attr:class="mt-2 space-y-3" attr:novalidate=true>
                <ModelFields f errors/>
                <p role="alert" class="text-sm text-rose-700">{errors.summary()}</p>
                <button type="submit" class=SECONDARY>"Save model"</button>
            </ActionForm>
            <ActionForm action=price attr:class="mt-4 space-y-2 border-t border-slate-100 pt-3" attr:novalidate=true>
                <input type="hidden" name="form[model_id]" value=m.id.clone()/>
                <p class="text-xs text-slate-600">"A new price applies from its date on; past calls keep the cost of their day."</p>
                <label class=label>"From (YYYY-MM-DD, empty: now)" <input name="form[effective_from]" class=INPUT placeholder="2026-12-01"/>
                    <span class="text-xs text-rose-600">{price_errors.message("effective_from")}</span></label>
                <label class=label>"Input $ / 1K" <input name="form[input_cost_per_1k]" inputmode="decimal" class=INPUT/>
                    <span class="text-xs text-rose-600">{price_errors.message("input_cost_per_1k")}</span></label>
                <label class=label>"Output $ / 1K" <input name="form[output_cost_per_1k]" inputmode="decimal" class=INPUT/>
                    <span class="text-xs text-rose-600">{price_errors.message("output_cost_per_1k")}</span></label>
                <button type="submit" class=SECONDARY data-testid="set-price">"Set price"</button>
                <ol class="mt-2 space-y-0.5 text-xs text-slate-500">
                    {m.history.iter().map(|p| view! { <li>{format!("{}: ${} in · ${} out", format_time(p.effective_from), p.input_cost_per_1k, p.output_cost_per_1k)}</li> }).collect_view()}
                </ol>
            </ActionForm>
        </details>
    }
}
