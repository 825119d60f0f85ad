//! `/examples/import`: annotated examples from a CSV file: upload, check the columns, import.
use crate::{
    import::{ImportSteps, Importer},
    layout::PageHeader,
    pipeline::examples::import::{
        example_import_preview, import_examples, upload_examples_csv, FIELDS,
    },
};
use leptos::prelude::*;
use leptos_router::components::A;

const IMPORTER: Importer = Importer {
    page: "/examples/import",
    upload_endpoint: "/api/upload_examples_csv",
    upload: |data| Box::pin(upload_examples_csv(data.into())),
    preview: |upload| Box::pin(example_import_preview(upload)),
    run_endpoint: "/api/import_examples",
    run: |upload, columns| Box::pin(import_examples(upload, columns)),
    fields: &FIELDS,
    noun: "examples",
    done_href: "/examples",
};

#[component]
pub fn ImportExamplesPage() -> impl IntoView {
    view! {
        <PageHeader title="Import examples" subtitle="Annotated examples from a CSV file: upload it, check the columns, then import">
            <A href="/examples" attr:class="text-sm font-medium text-indigo-700 hover:underline">"Back to examples"</A>
        </PageHeader>
        <ImportSteps importer=IMPORTER/>
    }
}
