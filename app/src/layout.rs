//! The app shell around signed-in pages: header, navigation, user menu, and the shared
//! error, empty and not-found views.
use crate::{
    auth::{
        server_fns::{get_session_user, SignOut},
        SessionUser,
    },
    domain::{sign_in_path, Role},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Outlet, Redirect, A},
    hooks::use_location,
};

/// A page in the navigation and who may see it.
struct NavItem {
    href: &'static str,
    label: &'static str,
    roles: &'static [Role],
}

const NAV: &[NavItem] = &[
    NavItem {
        href: "/dashboard",
        label: "Dashboard",
        roles: &Role::ALL,
    },
    NavItem {
        href: "/contacts",
        label: "Contacts",
        roles: &Role::ALL,
    },
    NavItem {
        href: "/customers",
        label: "Customers",
        roles: &[Role::Admin, Role::Manager, Role::Qa],
    },
    NavItem {
        href: "/pipeline",
        label: "Pipeline",
        roles: &[Role::Admin, Role::Manager, Role::Qa],
    },
    NavItem {
        href: "/escalations",
        label: "Escalations",
        roles: &[Role::Admin, Role::Manager, Role::Qa],
    },
    NavItem {
        href: "/examples",
        label: "Examples",
        roles: &[Role::Admin, Role::Manager, Role::Qa],
    },
    NavItem {
        href: "/templates",
        label: "Templates",
        roles: &[Role::Admin, Role::Manager, Role::Qa],
    },
    NavItem {
        href: "/rules",
        label: "Rules",
        roles: &[Role::Admin, Role::Manager, Role::Qa],
    },
    NavItem {
        href: "/prompts",
        label: "Prompts",
        roles: &[Role::Admin, Role::Manager, Role::Qa],
    },
    NavItem {
        href: "/models",
        label: "Models",
        roles: &[Role::Admin],
    },
    NavItem {
        href: "/team",
        label: "Team",
        roles: &[Role::Admin],
    },
    NavItem {
        href: "/audit",
        label: "Audit log",
        roles: &[Role::Admin],
    },
    NavItem {
        href: "/settings/ai",
        label: "AI settings",
        roles: &[Role::Admin],
    },
];

fn nav_for(role: Role) -> impl Iterator<Item = &'static NavItem> {
    NAV.iter().filter(move |item| item.roles.contains(&role))
}

/// `badge` sits beside the user menu (the root passes the alerts badge).
#[component]
pub fn AppLayout(#[prop(into)] badge: ViewFn) -> impl IntoView {
    let user = Resource::new(|| (), |_| get_session_user());
    view! {
        <div class="min-h-full">
            <Transition fallback=|| view! { <div class="h-14 border-b border-slate-200 bg-white"></div> }>
                {move || { let badge = badge.clone(); Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! { <Header user badge/> }.into_any(),
                        Ok(None) => view! { <Redirect path=sign_in_href()/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}}
            </Transition>
            <main class="mx-auto max-w-6xl px-4 py-6 sm:px-6 lg:py-8">
                <Outlet/>
            </main>
        </div>
    }
}

/// The sign-in page, coming back to where the user is now.
fn sign_in_href() -> String {
    let location = use_location();
    let here = format!(
        "{}{}",
        location.pathname.get_untracked(),
        location.search.get_untracked()
    );
    sign_in_path(&here)
}

#[component]
fn Header(user: SessionUser, badge: ViewFn) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let role = user.role;
    // Choosing a page in the user menu closes it.
    let user_menu = NodeRef::<leptos::html::Details>::new();
    let close_menu = move |_| {
        if let Some(d) = user_menu.get() {
            d.set_open(false);
        }
    };
    let link_class = "whitespace-nowrap rounded-md px-1.5 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 \
                      hover:text-slate-900 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700";
    let links = move || {
        nav_for(role)
            .map(|item| view! { <A href=item.href attr:class=link_class>{item.label}</A> })
            .collect_view()
    };
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex h-14 max-w-7xl items-center gap-3 px-4 sm:px-6">
                <A href="/dashboard" attr:class="flex items-center gap-2 font-semibold text-slate-900">
                    <span class="grid h-7 w-7 place-items-center rounded-md bg-indigo-600 text-xs font-bold text-white">"S"</span>
                    // The name gives way to the navigation on desktop widths below 1536 px.
                    <span class="hidden sm:inline xl:hidden 2xl:inline">"SmartCRM"</span>
                </A>
                <span
                    class="truncate rounded-full bg-slate-100 px-2.5 py-0.5 text-xs font-medium text-slate-700"
                    data-testid="workspace-name"
                >
                    {user.tenant_name.clone()}
                </span>
                <nav aria-label="Main" class="ml-2 hidden items-center gap-0.5 xl:flex">{links}</nav>
                <div class="ml-auto">{badge.run()}</div>
                <details node_ref=user_menu class="group relative">
                    <summary data-testid="user-menu" class="flex cursor-pointer list-none items-center gap-2 rounded-full p-1 pr-2 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-600">
                        <span class="grid h-8 w-8 place-items-center rounded-full bg-indigo-100 text-xs font-semibold text-indigo-700">
                            {user.initials()}
                        </span>
                        <span class="hidden text-sm font-medium sm:inline">{user.display_name.clone()}</span>
                        <span class="sr-only">"Open user menu"</span>
                    </summary>
                    <div class="absolute right-0 z-20 mt-2 w-64 rounded-lg border border-slate-200 bg-white p-2 shadow-lg">
                        <div class="px-3 py-2">
                            <p class="text-sm font-medium">{user.display_name.clone()}</p>
                            <p class="truncate text-xs text-slate-500">{user.email.clone()}</p>
                            <p class="mt-1 text-xs text-slate-500">
                                {role.label()} " in " {user.tenant_name.clone()}
                            </p>
                        </div>
                        <A href="/settings/models" on:click=close_menu attr:class="block rounded-md px-3 py-2 text-sm text-slate-700 hover:bg-slate-100" attr:data-testid="my-models-link">
                            "My AI models"
                        </A>
                        {(role == Role::Admin).then(|| view! {
                            <A href="/jobs" on:click=close_menu attr:class="block rounded-md px-3 py-2 text-sm text-slate-700 hover:bg-slate-100" attr:data-testid="jobs-link">
                                "Scheduled jobs"
                            </A>
                        })}
                        <ActionForm action=sign_out>
                            <button
                                type="submit"
                                class="w-full rounded-md px-3 py-2 text-left text-sm text-slate-700 hover:bg-slate-100 disabled:opacity-50"
                                disabled=move || sign_out.pending().get()
                            >
                                "Sign out"
                            </button>
                        </ActionForm>
                    </div>
                </details>
            </div>
            <NarrowMenu role/>
        </header>
    }
}

/// Below `xl` (1280 px), the navigation folds into a menu under the header: every page stays one tap
/// away at 390 px, and nothing scrolls sideways. A `<details>`, so it opens without WASM;
/// choosing a page closes it.
#[component]
fn NarrowMenu(role: Role) -> impl IntoView {
    let menu = NodeRef::<leptos::html::Details>::new();
    let close = move |_| {
        if let Some(d) = menu.get() {
            d.set_open(false);
        }
    };
    let location = use_location();
    let current = move || {
        let path = location.pathname.get();
        nav_for(role)
            .filter(|i| path == i.href || path.starts_with(&format!("{}/", i.href)))
            .map(|i| i.label)
            .last()
            .unwrap_or("Menu")
    };
    view! {
        <details node_ref=menu class="border-t border-slate-100 xl:hidden" data-testid="narrow-menu">
            <summary class="flex cursor-pointer list-none items-center gap-2 px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-indigo-600">
                <svg aria-hidden="true" viewBox="0 0 20 20" class="h-5 w-5 text-slate-500" fill="currentColor">
                    <path d="M3 5h14v2H3zM3 9h14v2H3zM3 13h14v2H3z"/>
                </svg>
                <span>{current}</span>
                <span class="sr-only">" (open the menu)"</span>
            </summary>
            <nav aria-label="Main mobile" class="grid gap-1 px-2 pb-2 sm:grid-cols-2">
                {nav_for(role).map(|item| view! {
                    <A href=item.href on:click=close attr:class="rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700">
                        {item.label}
                    </A>
                }).collect_view()}
            </nav>
        </details>
    }
}

/// A page's title row.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] subtitle: Option<&'static str>,
    /// Actions shown at the right of the title (a "New …" button).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <Title text=title/>
        <div class="mb-6 flex flex-wrap items-start justify-between gap-3">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight text-slate-900">{title}</h1>
                {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-500">{s}</p> })}
            </div>
            {children.map(|c| c())}
        </div>
    }
}

/// What the user sees for an error, by kind.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let (title, body, action) = match &error {
        AppError::Forbidden { reason } => (
            "Not allowed",
            format!("You are not allowed to view this: {reason}"),
            Some(("/dashboard", "Back to the dashboard")),
        ),
        AppError::Unauthorized => (
            "Signed out",
            error.to_string(),
            Some(("/sign-in", "Sign in")),
        ),
        AppError::NotFound => (
            "Not found",
            error.to_string(),
            Some(("/dashboard", "Back to the dashboard")),
        ),
        AppError::Validation { .. }
        | AppError::Fields { .. }
        | AppError::Conflict { .. }
        | AppError::TooLarge { .. }
        | AppError::TooManyAttempts { .. } => ("Check your input", error.to_string(), None),
        AppError::RateLimited { .. } | AppError::Busy { .. } | AppError::TimedOut { .. } => {
            ("Please wait", error.to_string(), None)
        }
        AppError::Internal { .. } | AppError::Transport(_) => {
            ("Something went wrong", error.to_string(), None)
        }
    };
    view! {
        <div role="alert" class="rounded-lg border border-rose-200 bg-rose-50 p-4 text-rose-900">
            <h2 class="text-sm font-semibold">{title}</h2>
            <p class="mt-1 text-sm">{body}</p>
            {action.map(|(href, label)| view! {
                <a href=href class="mt-3 inline-block text-sm font-medium text-rose-900 underline">{label}</a>
            })}
        </div>
    }
}

/// `ErrorBoundary` fallback: shows each error as its `AppError`.
pub fn error_fallback(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="space-y-3">
            {move || {
                errors
                    .get()
                    .into_iter()
                    .map(|(_, err)| {
                        let error = err
                            .downcast_ref::<AppError>()
                            .cloned()
                            .unwrap_or_else(|| AppError::Transport(err.to_string()));
                        view! { <ErrorPanel error/> }
                    })
                    .collect_view()
            }}
        </div>
    }
}

/// A placeholder while a section loads.
#[component]
pub fn LoadingBlock(#[prop(default = "Loading…")] label: &'static str) -> impl IntoView {
    view! {
        <div class="flex items-center gap-2 rounded-lg border border-slate-200 bg-white p-6 text-sm text-slate-500" aria-busy="true">
            <span class="h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-indigo-600"></span>
            {label}
        </div>
    }
}

/// Shown when a list has nothing in it yet.
#[component]
pub fn EmptyState(title: &'static str, body: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
            <p class="text-sm font-medium text-slate-900">{title}</p>
            <p class="mt-1 text-sm text-slate-500">{body}</p>
        </div>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
            opts.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found"/>
        <main class="grid min-h-full place-items-center px-6 py-24">
            <div class="text-center">
                <p class="text-sm font-semibold text-indigo-600">"404"</p>
                <h1 class="mt-2 text-2xl font-semibold tracking-tight">"Page not found"</h1>
                <p class="mt-2 text-sm text-slate-500">"There is no page at this address."</p>
                <a href="/dashboard" class="mt-6 inline-block rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500">
                    "Go to the dashboard"
                </a>
            </div>
        </main>
    }
}

/// "2026-11-22 14:05 UTC"
/// A click handler that asks `message` first (the browser's confirm dialog) and cancels the
/// click, so nothing is submitted, unless the user agrees.
pub fn confirm_first(message: &'static str) -> impl Fn(leptos::ev::MouseEvent) + Copy {
    move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            if !window().confirm_with_message(message).unwrap_or(false) {
                ev.prevent_default();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, message);
    }
}

/// The error of a form's last submission, read field by field: what each form shows beside
/// its inputs and above its submit button.
#[derive(Clone, Copy)]
pub struct FormErrors(Signal<Option<AppError>>);

impl FormErrors {
    /// The errors of an answer held elsewhere.
    pub fn new(error: Signal<Option<AppError>>) -> Self {
        Self(error)
    }

    /// The errors of `action`'s latest answer.
    pub fn of<S>(action: ServerAction<S>) -> Self
    where
        S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
        S::Output: Clone + Send + Sync + 'static,
    {
        Self(Signal::derive(move || {
            action.value().get().and_then(Result::err)
        }))
    }

    /// The message for `field`, if the last answer named it.
    pub fn message(self, field: &'static str) -> impl Fn() -> Option<String> + Copy {
        move || self.0.get().and_then(|e| e.field_message(field))
    }

    /// The message for a field named at run time (an import's mapped fields).
    pub fn message_for(self, field: String) -> impl Fn() -> Option<String> + Clone {
        move || self.0.get().and_then(|e| e.field_message(&field))
    }

    /// `aria-invalid` for `field`.
    pub fn invalid(self, field: &'static str) -> impl Fn() -> String + Copy {
        move || self.message(field)().is_some().to_string()
    }

    /// The summary above the button: a count when fields are marked, the error otherwise.
    pub fn summary(self) -> impl Fn() -> Option<String> + Copy {
        move || {
            self.0.get().map(|e| match e {
                AppError::Fields { .. } => e.to_string(),
                e if e.is_about_fields() => "Fix the field marked below.".to_owned(),
                other => other.to_string(),
            })
        }
    }
}

pub fn format_time(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A form field's classes.
pub const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 \
                     focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 aria-[invalid=true]:border-rose-400";
/// A primary button's classes.
pub const BUTTON: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 \
                      focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60";
/// A secondary button's classes.
pub const SECONDARY: &str = "rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-700 \
                         hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60";

/// Two version pickers and the line diff between them; `fetch` asks the server for it.
#[component]
pub fn VersionDiff<F, Fut>(latest: i32, fetch: F) -> impl IntoView
where
    F: Fn(i32, i32) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<(char, String)>, AppError>> + Send + 'static,
{
    let from = RwSignal::new((latest - 1).max(1));
    let to = RwSignal::new(latest);
    let diff = Action::new(move |&(f, t): &(i32, i32)| fetch(f, t));
    let picker = move |label: &'static str, sig: RwSignal<i32>| {
        view! {
            <label class="flex flex-col text-xs font-medium text-slate-600">{label}
                <select class=INPUT on:change=move |ev| sig.set(event_target_value(&ev).parse().unwrap_or(1))>
                    {(1..=latest).rev().map(|v| view! { <option value=v.to_string() selected=move || sig.get() == v>{format!("v{v}")}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <section class="rounded-xl border border-slate-200 bg-white p-5">
            <h2 class="mb-3 text-base font-semibold text-slate-900">"Compare versions"</h2>
            {if latest < 2 {
                view! { <p class="text-sm text-slate-500">"Only one version so far."</p> }.into_any()
            } else {
                view! {
                    <div class="flex items-end gap-2">
                        {picker("From", from)}
                        {picker("To", to)}
                        <button type="button" class=SECONDARY data-testid="compare" on:click=move |_| { diff.dispatch((from.get(), to.get())); }>"Compare"</button>
                    </div>
                    {move || diff.value().get().map(|r| match r {
                        Ok(lines) => view! {
                            <pre class="mt-3 max-h-96 overflow-auto rounded bg-slate-50 p-2 text-xs" data-testid="diff">
                                {lines.into_iter().map(|(tag, text)| {
                                    let class = match tag { '+' => "block bg-emerald-50 text-emerald-900", '-' => "block bg-rose-50 text-rose-900", _ => "block text-slate-600" };
                                    view! { <span class=class>{format!("{tag} {text}")}</span> }
                                }).collect_view()}
                            </pre>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.to_string()}</p> }.into_any(),
                    })}
                }.into_any()
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reps_see_only_the_dashboard_in_the_navigation() {
        let labels: Vec<_> = nav_for(Role::Rep).map(|i| i.label).collect();
        assert_eq!(labels, ["Dashboard", "Contacts"]);
    }

    #[test]
    fn admins_see_team_audit_log_and_ai_settings() {
        let labels: Vec<_> = nav_for(Role::Admin).map(|i| i.label).collect();
        assert_eq!(
            labels,
            [
                "Dashboard",
                "Contacts",
                "Customers",
                "Pipeline",
                "Escalations",
                "Examples",
                "Templates",
                "Rules",
                "Prompts",
                "Models",
                "Team",
                "Audit log",
                "AI settings"
            ]
        );
    }

    #[test]
    fn times_are_shown_in_utc_to_the_minute() {
        let at = time::OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("valid");
        assert_eq!(format_time(at), "2026-11-18 11:06 UTC");
    }
}
