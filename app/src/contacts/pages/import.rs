//! `/contacts/import`: upload a CSV file, check its columns against its first rows, import.
use crate::{
    contacts::import::{contact_import_preview, import_contacts, upload_contacts_csv, FIELDS},
    import::{ImportSteps, Importer},
    layout::PageHeader,
};
use leptos::prelude::*;
use leptos_router::components::A;

const IMPORTER: Importer = Importer {
    page: "/contacts/import",
    upload_endpoint: "/api/upload_contacts_csv",
    upload: |data| Box::pin(upload_contacts_csv(data.into())),
    preview: |upload| Box::pin(contact_import_preview(upload)),
    run_endpoint: "/api/import_contacts",
    run: |upload, columns| Box::pin(import_contacts(upload, columns)),
    fields: &FIELDS,
    noun: "contacts",
    done_href: "/contacts",
};

#[component]
pub fn ImportContactsPage() -> impl IntoView {
    view! {
        <PageHeader title="Import contacts" subtitle="From a CSV file: upload it, check the columns, then import">
            <A href="/contacts" attr:class="text-sm font-medium text-indigo-700 hover:underline">"Back to contacts"</A>
        </PageHeader>
        <ImportSteps importer=IMPORTER/>
    }
}
