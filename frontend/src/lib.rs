//! The browser entry point: hydrates the server-rendered page.
// The app's deepest views (the audit table with its folded diffs, the AI panel) are laid out
// here, in the release wasm build, past the default query depth of 128.
#![recursion_limit = "256"]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
