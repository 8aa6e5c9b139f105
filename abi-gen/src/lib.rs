//! Generator of the syscall ABI layer.
//!
//! `generate_abi!("../spec/syscalls.toml")` reads the spec (path relative to
//! the invoking crate's `CARGO_MANIFEST_DIR`), checks it and expands to the
//! number constants, metadata tables, handler traits, decode shims and
//! dispatch functions. A spec error becomes a `compile_error!` naming the
//! entry and the field. The `abi-gen` program runs the same checks and
//! writes `docs/syscalls.md`.

use std::path::{Path, PathBuf};

use proc_macro::TokenStream;
use quote::quote;
use syn::{LitStr, parse_macro_input};

mod codegen;
// The docs renderer and the signature helpers it uses serve the `abi-gen`
// program; the library compiles them for its tests only.
#[cfg(test)]
mod docs;
#[cfg_attr(not(test), allow(dead_code))]
mod spec;

#[cfg(test)]
mod tests;
mod trace_codegen;

/// Expand the ABI layer from the spec file named by the string literal.
#[proc_macro]
pub fn generate_abi(input: TokenStream) -> TokenStream {
    let relative = parse_macro_input!(input as LitStr);
    let Ok(manifest_dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return compile_error("CARGO_MANIFEST_DIR is not set; build with cargo").into();
    };
    expand(&PathBuf::from(manifest_dir).join(relative.value())).into()
}

/// Read, check and expand the spec at `path`; any error becomes a
/// `compile_error!` that names the file, the entry and the field.
fn expand(path: &Path) -> proc_macro2::TokenStream {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return compile_error(&format!("failed to read the spec {}: {e}", path.display()));
        }
    };
    let checked = spec::parse(&text).and_then(|spec| {
        spec.check_linux_numbers()?;
        Ok(spec)
    });
    match checked {
        Ok(spec) => codegen::generate(&spec, &path.to_string_lossy()),
        Err(e) => compile_error(&format!("{}: {e}", path.display())),
    }
}

fn compile_error(message: &str) -> proc_macro2::TokenStream {
    quote!(::core::compile_error!(#message);)
}
