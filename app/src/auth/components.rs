//! The sign-in page.
use super::server_fns::SignIn;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || action.value().get().and_then(Result::err);
    let field_error =
        move |field: &'static str| move || error().and_then(|e| e.field_message(field));
    let form_error = move || {
        error().and_then(|e| match e {
            AppError::Validation { ref field, .. } if !field.is_empty() => None,
            other => Some(other.to_string()),
        })
    };
    let pending = action.pending();
    let input_class = "block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm \
                       placeholder:text-slate-400 focus:border-indigo-500 focus:outline-none focus:ring-2 \
                       focus:ring-indigo-500/30 aria-[invalid=true]:border-rose-400";

    view! {
        <Title text="Sign in"/>
        <main class="flex min-h-full items-center justify-center px-4 py-12">
            <div class="w-full max-w-sm">
                <div class="mb-8 text-center">
                    <span class="mx-auto grid h-10 w-10 place-items-center rounded-lg bg-indigo-600 font-bold text-white">"S"</span>
                    <h1 class="mt-4 text-2xl font-semibold tracking-tight">"Sign in to SmartCRM"</h1>
                    <p class="mt-1 text-sm text-slate-500">"Your AI relationship workspace"</p>
                </div>
                <div class="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
                    <ActionForm action=action attr:class="space-y-4" attr:aria-label="Sign in">
                        <input type="hidden" name="next" prop:value=next/>
                        <div>
                            <label for="email" class="mb-1 block text-sm font-medium text-slate-700">"Email"</label>
                            <input
                                id="email" name="email" type="email" required autocomplete="username"
                                autofocus class=input_class
                                aria-invalid=move || field_error("email")().is_some().to_string()
                                aria-describedby="email-error"
                            />
                            <p id="email-error" class="mt-1 text-sm text-rose-600">{field_error("email")}</p>
                        </div>
                        <div>
                            <label for="password" class="mb-1 block text-sm font-medium text-slate-700">"Password"</label>
                            <input
                                id="password" name="password" type="password" required autocomplete="current-password"
                                class=input_class
                                aria-invalid=move || field_error("password")().is_some().to_string()
                                aria-describedby="password-error"
                            />
                            <p id="password-error" class="mt-1 text-sm text-rose-600">{field_error("password")}</p>
                        </div>
                        <Show when=move || form_error().is_some()>
                            <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{form_error}</p>
                        </Show>
                        <button
                            type="submit"
                            class="flex w-full justify-center rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60"
                            disabled=move || pending.get()
                        >
                            {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                        </button>
                    </ActionForm>
                </div>
            </div>
        </main>
    }
}
