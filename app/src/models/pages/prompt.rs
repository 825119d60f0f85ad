//! `/prompts/:name?version=N`: the editor (each save an immutable version, the model required
//! and shown with its price and window), the versions with their labels (deploy, roll back,
//! stage), per-version metrics, and a diff between versions.
use super::{dollars, percent};
use crate::{
    layout::{error_fallback, format_time, FormErrors, LoadingBlock, VersionDiff, BUTTON, INPUT},
    models::{
        server_fns::{diff_prompt_versions, get_prompt, MovePromptLabel, SavePrompt},
        window_warning, PromptDetail,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

#[component]
pub fn PromptPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()));
    let version =
        Memo::new(move |_| query.with(|q| q.get("version").and_then(|v| v.parse::<i32>().ok())));
    let save = ServerAction::<SavePrompt>::new();
    let label = ServerAction::<MovePromptLabel>::new();
    let detail = Resource::new(
        move || {
            (
                name.get(),
                version.get(),
                save.version().get(),
                label.version().get(),
            )
        },
        |(name, version, _, _)| get_prompt(name, version),
    );
    view! {
        <Transition fallback=|| view! { <LoadingBlock label="Loading the prompt…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    detail.await.map(|d| view! { <PromptView d save label/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn PromptView(
    d: PromptDetail,
    save: ServerAction<SavePrompt>,
    label: ServerAction<MovePromptLabel>,
) -> impl IntoView {
    let name = d.name.clone();
    let production = d
        .versions
        .iter()
        .find(|v| v.labels.iter().any(|l| l == "production"))
        .map(|v| v.version);
    let name_sv = StoredValue::new(name.clone());
    view! {
        <Title text=name.clone()/>
        <nav class="mb-2 text-sm"><A href="/prompts" attr:class="text-indigo-700 hover:underline">"← Prompts"</A></nav>
        <header class="mb-6">
            <h1 class="text-2xl font-semibold tracking-tight text-slate-900" data-testid="prompt-name">{name.clone()}</h1>
            <p class="mt-1 text-sm text-slate-600">
                {format!("{} task · {} tier · showing v{} of {}", d.task_kind, d.tier, d.shown.version, d.newest)}
                {production.map(|v| format!(" · v{v} in production"))}
            </p>
        </header>
        <div class="grid gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                <Editor d=d.clone() save/>
                <Metrics d=d.clone()/>
                <super::experiments::Experiments name=name.clone() models=d.models.clone() can_edit=d.can_edit/>
            </div>
            <div class="space-y-6">
                <Versions d=d.clone() label/>
                <VersionDiff latest=d.newest fetch=move |f, t| diff_prompt_versions(name_sv.get_value(), f, t)/>
            </div>
        </div>
    }
}

#[component]
fn Editor(d: PromptDetail, save: ServerAction<SavePrompt>) -> impl IntoView {
    let errors = FormErrors::of(save);
    let pending = save.pending();
    let s = d.shown.clone();
    let chosen = RwSignal::new(if s.ai_model.is_empty() {
        d.tier_default.clone().unwrap_or_default()
    } else {
        s.ai_model.clone()
    });
    let max_tokens = s.max_tokens;
    let typical = d.typical_tokens();
    let models = d.models.clone();
    let models_for_info = StoredValue::new(d.models.clone());
    let info = move || {
        let id = chosen.get();
        models_for_info.with_value(|all| {
            all.iter().find(|m| m.id == id).map(|m| {
                (
                    m.describe(),
                    window_warning(typical, max_tokens, m.context_window),
                )
            })
        })
    };
    let lbl = "block text-sm font-medium text-slate-700";
    let line = move |field: &'static str| view! { <p class="mt-1 text-sm text-rose-600" data-testid=format!("error-{field}")>{errors.message(field)}</p> };
    let message = move || save.value().get().and_then(Result::ok).map(|s| s.message);
    let current = s.ai_model.clone();
    view! {
        <ActionForm action=save attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-6" attr:aria-label="Prompt" attr:novalidate=true>
            <input type="hidden" name="form[name]" value=d.name.clone()/>
            <input type="hidden" name="form[base_version]" value=d.newest.to_string()/>
            <fieldset disabled=!d.can_edit class="space-y-4">
                <div>
                    <label for="p-model" class=lbl>"Model"</label>
                    <select id="p-model" name="form[ai_model]" class=INPUT required aria-invalid=errors.invalid("ai_model") data-testid="model-select"
                        on:change=move |ev| chosen.set(event_target_value(&ev))>
                        {models.into_iter().filter(|m| m.status == "active" || m.id == current).map(|m| {
                            let selected = m.id == chosen.get_untracked();
                            let text = format!("{} — ${}/${} per 1K · {} tokens{}", m.id, m.input_cost_per_1k, m.output_cost_per_1k, m.context_window,
                                if m.status == "active" { String::new() } else { format!(" ({})", m.status) });
                            view! { <option value=m.id.clone() selected=selected>{text}</option> }
                        }).collect_view()}
                    </select>
                    <p class="mt-1 text-xs text-slate-500" data-testid="model-info">{move || info().map(|(d, _)| d)}</p>
                    {move || info().and_then(|(_, w)| w).map(|w| view! { <p class="mt-1 rounded bg-amber-50 px-2 py-1 text-xs text-amber-900" data-testid="window-warning">{w}</p> })}
                    {d.tier_default.clone().map(|t| view! { <p class="mt-1 text-xs text-slate-500">{format!("The {} tier's default is {t}.", d.tier)}</p> })}
                    {line("ai_model")}
                </div>
                <div>
                    <label for="p-desc" class=lbl>"Description"</label>
                    <input id="p-desc" name="form[description]" class=INPUT value=s.description.clone()/>
                    {line("description")}
                </div>
                <div>
                    <label for="p-system" class=lbl>"System prompt"</label>
                    <textarea id="p-system" name="form[system_prompt]" rows="4" class=INPUT aria-invalid=errors.invalid("system_prompt")>{s.system_prompt.clone()}</textarea>
                    {line("system_prompt")}
                </div>
                <div>
                    <label for="p-body" class=lbl>"Body"</label>
                    <textarea id="p-body" name="form[template]" rows="14" class=format!("{INPUT} font-mono") aria-invalid=errors.invalid("template")>{s.template.clone()}</textarea>
                    <p class="mt-1 text-xs text-slate-600">"Variables: " {d.placeholders.iter().map(|p| format!("{{{{{p}}}}}")).collect::<Vec<_>>().join(", ")}</p>
                    {line("template")}
                </div>
                <div class="grid gap-4 sm:grid-cols-3">
                    <label class=lbl>"Answer limit (tokens)" <input name="form[max_tokens]" inputmode="numeric" class=INPUT value=s.max_tokens.to_string() aria-invalid=errors.invalid("max_tokens")/>{line("max_tokens")}</label>
                    <label class=lbl>"Temperature" <input name="form[temperature]" inputmode="decimal" class=INPUT value=s.temperature.to_string() aria-invalid=errors.invalid("temperature")/>{line("temperature")}</label>
                    <label class=lbl>"Label the new version"
                        <select name="form[label]" class=INPUT>
                            <option value="">"No label (draft)"</option>
                            <option value="staging">"staging"</option>
                            <option value="production">"production (deploy now)"</option>
                        </select>
                    </label>
                </div>
                <div>
                    <label for="p-note" class=lbl>"What changed in this version"</label>
                    <input id="p-note" name="form[note]" class=INPUT placeholder="Moved to the cheaper model"/>
                    {line("note")}
                </div>
            </fieldset>
            <p role="alert" class="text-sm text-rose-700" data-testid="form-errors">{errors.summary()}</p>
            <p class="text-sm text-emerald-800" data-testid="saved">{message}</p>
            {d.can_edit.then(|| view! {
                <button type="submit" class=BUTTON disabled=move || pending.get() data-testid="save-prompt">
                    {move || if pending.get() { "Saving…" } else { "Save as new version" }}
                </button>
            })}
            {(!d.can_edit).then(|| view! { <p class="text-sm text-slate-500">"Admins can change prompts."</p> })}
        </ActionForm>
    }
}

#[component]
fn Versions(d: PromptDetail, label: ServerAction<MovePromptLabel>) -> impl IntoView {
    let name = d.name.clone();
    let error = move || {
        label
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let shown = d.shown.version;
    let live = d
        .versions
        .iter()
        .find(|v| v.labels.iter().any(|l| l == "production"))
        .map(|v| v.version);
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="versions">
            <h2 class="mb-3 text-base font-semibold text-slate-900">"Versions"</h2>
            <ol class="space-y-2 text-sm">
                {d.versions.into_iter().map(|v| {
                    let in_production = v.labels.iter().any(|l| l == "production");
                    let staged = v.labels.iter().any(|l| l == "staging");
                    let move_form = |to: &'static str, text: String| {
                        let name = name.clone();
                        view! {
                            <ActionForm action=label>
                                <input type="hidden" name="name" value=name/>
                                <input type="hidden" name="label" value=to/>
                                <input type="hidden" name="version" value=v.version.to_string()/>
                                <button type="submit" class="text-xs font-medium text-indigo-700 hover:underline" data-testid=format!("{to}-v{}", v.version)>{text}</button>
                            </ActionForm>
                        }
                    };
                    view! {
                        <li class="rounded-md px-2 py-1" class=("bg-slate-50", v.version == shown) data-testid=format!("version-{}", v.version)>
                            <div class="flex flex-wrap items-center gap-2">
                                <A href=format!("/prompts/{}?version={}", d.name, v.version) attr:class="font-medium text-indigo-700 hover:underline">{format!("v{}", v.version)}</A>
                                {in_production.then(|| view! { <span class="rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800">"production"</span> })}
                                {staged.then(|| view! { <span class="rounded-full bg-sky-50 px-2 py-0.5 text-xs font-medium text-sky-800">"staging"</span> })}
                                {v.builtin.then(|| view! { <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600">"built-in"</span> })}
                                <span class="font-mono text-xs text-slate-500">{v.ai_model.clone()}</span>
                            </div>
                            <p class="text-xs text-slate-500">{v.note.clone()} " · " {v.author.clone().unwrap_or_else(|| "SmartCRM".into())} " · " {format_time(v.created_at)}</p>
                            {d.can_edit.then(|| view! {
                                <div class="mt-1 flex gap-3">
                                    {(!in_production).then(|| move_form("production", if live.is_some_and(|l| v.version < l) { "Roll back to this".into() } else { "Deploy to production".into() }))}
                                    {(!staged).then(|| move_form("staging", "Stage".into()))}
                                </div>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
            {move || error().map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e}</p> })}
        </section>
    }
}

#[component]
fn Metrics(d: PromptDetail) -> impl IntoView {
    let pipeline = d.task_kind == "content_generation";
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5" data-testid="metrics">
            <h2 class="mb-3 text-base font-semibold text-slate-900">"How each version did"</h2>
            {if d.metrics.is_empty() {
                view! { <p class="text-sm text-slate-500">"No calls yet."</p> }.into_any()
            } else {
                view! {
                    <table class="min-w-full text-sm">
                        <thead class="text-left text-xs uppercase text-slate-500">
                            <tr>
                                <th scope="col" class="py-1 pr-3">"Version"</th>
                                <th scope="col" class="py-1 pr-3">"Calls"</th>
                                <th scope="col" class="py-1 pr-3">"p50"</th>
                                <th scope="col" class="py-1 pr-3">"Cost"</th>
                                <th scope="col" class="py-1 pr-3">"Errors"</th>
                                {pipeline.then(|| view! { <th scope="col" class="py-1 pr-3">"Quality"</th><th scope="col" class="py-1 pr-3">"Approved"</th> })}
                            </tr>
                        </thead>
                        <tbody>
                            {d.metrics.into_iter().map(|m| view! {
                                <tr data-testid=format!("metrics-v{}", m.version)>
                                    <td class="py-1 pr-3">{format!("v{}", m.version)}</td>
                                    <td class="py-1 pr-3">{m.calls}</td>
                                    <td class="py-1 pr-3">{m.p50_ms.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "–".into())}</td>
                                    <td class="py-1 pr-3">{dollars(m.cost_usd)}</td>
                                    <td class="py-1 pr-3">{percent(m.error_rate)}</td>
                                    {pipeline.then(|| view! {
                                        <td class="py-1 pr-3">{m.quality.map(|q| format!("{q:.0}")).unwrap_or_else(|| "–".into())}</td>
                                        <td class="py-1 pr-3">{percent(m.approval_rate)}</td>
                                    })}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
