//! The team page.
use super::server_fns::list_members;
use crate::layout::{error_fallback, format_time, LoadingBlock, PageHeader};
use leptos::prelude::*;

#[component]
pub fn TeamPage() -> impl IntoView {
    let members = Resource::new(|| (), |_| list_members());
    view! {
        <PageHeader title="Team" subtitle="Members of this workspace and their roles"/>
        <Transition fallback=|| view! { <LoadingBlock label="Loading members…"/> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    members.await.map(|members| view! {
                        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                            <table class="min-w-full divide-y divide-slate-200 text-sm">
                                <thead class="bg-slate-50 text-left text-xs font-medium uppercase tracking-wide text-slate-500">
                                    <tr>
                                        <th scope="col" class="px-4 py-3">"Name"</th>
                                        <th scope="col" class="px-4 py-3">"Email"</th>
                                        <th scope="col" class="px-4 py-3">"Role"</th>
                                        <th scope="col" class="px-4 py-3">"Joined"</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {members.into_iter().map(|m| view! {
                                        <tr>
                                            <td class="px-4 py-3 font-medium">{m.display_name}</td>
                                            <td class="px-4 py-3 text-slate-600">{m.email}</td>
                                            <td class="px-4 py-3">
                                                <span class="whitespace-nowrap rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium">{m.role.label()}</span>
                                            </td>
                                            <td class="px-4 py-3 text-slate-500">{format_time(m.joined_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
