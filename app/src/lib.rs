//! SmartCRM's pages, server functions and server-only engines, compiled for the server (`ssr`)
//! and for the browser (`hydrate`). The README's "Layout" section says which module may use
//! which; `tests/layering.rs` checks it.
// The contact page hydrates the AI panel through an `AnyView` (the root passes it in); the
// release wasm build computes that view's layout past the default query depth of 128.
#![recursion_limit = "256"]
pub mod ai;
pub mod alerts;
pub mod analyses;
pub mod audit;
pub mod auth;
pub mod contacts;
pub mod crm;
pub mod customers;
pub mod dashboard;
pub mod domain;
pub mod error;
pub mod import;
pub mod jobs;
pub mod layout;
pub mod live;
pub mod models;
pub mod pipeline;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod state;
pub mod team;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" class="h-full">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="h-full bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the page as hydrated (tests wait for it).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/smartcrm.css"/>
        <Title formatter=|page: String| format!("{page} · SmartCRM")/>
        <Router>
            <Routes fallback=layout::NotFound>
                <Route path=path!("/sign-in") view=auth::components::SignInPage/>
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("/dashboard") view=dashboard::components::DashboardPage/>
                    <Route path=path!("/contacts") view=contacts::pages::list::ContactsPage/>
                    <Route path=path!("/contacts/new") view=contacts::pages::editor::NewContactPage/>
                    <Route path=path!("/contacts/import") view=contacts::pages::import::ImportContactsPage/>
                    <Route path=path!("/contacts/:id") view=ContactWithAnalyses ssr=SsrMode::Async/>
                    <Route path=path!("/contacts/:id/edit") view=contacts::pages::editor::EditContactPage/>
                    <Route path=path!("/examples") view=pipeline::pages::examples::ExamplesPage/>
                    <Route path=path!("/examples/import") view=pipeline::pages::import::ImportExamplesPage/>
                    <Route path=path!("/examples/:id") view=pipeline::pages::example::ExamplePage/>
                    <Route path=path!("/templates") view=pipeline::pages::templates::TemplatesPage/>
                    <Route path=path!("/templates/new") view=pipeline::pages::template::NewTemplatePage/>
                    <Route path=path!("/templates/:id") view=pipeline::pages::template::TemplatePage/>
                    <Route path=path!("/rules") view=pipeline::pages::rules::RulesPage/>
                    <Route path=path!("/rules/new") view=pipeline::pages::rule::NewRulePage/>
                    <Route path=path!("/rules/bench") view=pipeline::pages::rule_bench::RuleBenchPage/>
                    <Route path=path!("/rules/:id") view=pipeline::pages::rule::RulePage/>
                    <Route path=path!("/models") view=models::pages::catalog::CatalogPage/>
                    <Route path=path!("/models/plans") view=models::pages::plans::PlansPage/>
                    <Route path=path!("/models/workspace") view=models::pages::settings::WorkspaceModelsPage/>
                    <Route path=path!("/settings/models") view=models::pages::settings::MyModelsPage/>
                    <Route path=path!("/prompts") view=models::pages::prompts::PromptsPage/>
                    <Route path=path!("/prompts/:name") view=models::pages::prompt::PromptPage/>
                    <Route path=path!("/customers") view=customers::pages::list::CustomersPage ssr=SsrMode::Async/>
                    <Route path=path!("/customers/:id") view=customers::pages::customer::CustomerPage ssr=SsrMode::Async/>
                    // Async: these wait for their data, so a refused visit answers 403.
                    <Route path=path!("/team") view=team::components::TeamPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=audit::components::AuditLogPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/ai") view=ai::settings::components::AiSettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/pipeline") view=pipeline::pages::board::PipelinePage ssr=SsrMode::Async/>
                    <Route path=path!("/pipeline/new") view=pipeline::pages::new_task::NewTaskPage ssr=SsrMode::Async/>
                    <Route path=path!("/pipeline/tasks/:id") view=pipeline::pages::task::TaskPage ssr=SsrMode::Async/>
                    <Route path=path!("/escalations") view=pipeline::pages::queue::EscalationQueuePage ssr=SsrMode::Async/>
                    <Route path=path!("/alerts") view=alerts::pages::AlertsListPage ssr=SsrMode::Async/>
                    <Route path=path!("/alerts/rules") view=alerts::pages::AlertRulesPage ssr=SsrMode::Async/>
                    <Route path=path!("/jobs") view=jobs::pages::JobsListPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The app shell with the live-updates status and the alerts badge in its header: the layout,
/// live updates and alerts meet here. The signed-in pages share one event stream.
#[component]
fn Shell() -> impl IntoView {
    live::provide_live();
    view! {
        <layout::AppLayout badge=|| view! { <live::LiveStatus/> <alerts::pages::AlertsBadge/> }.into_any()/>
    }
}

/// The contact page with the AI Relationship Manager in it: the contacts and analyses features
/// meet here, at the root, so neither imports the other.
#[component]
fn ContactWithAnalyses() -> impl IntoView {
    view! {
        <contacts::pages::contact::ContactPage panel=|id| view! { <analyses::AiPanel contact_id=id/> }.into_any()/>
    }
}
