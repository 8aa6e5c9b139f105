//! Check `spec/syscalls.toml`, write `docs/syscalls.md` and print handler
//! skeletons for the entries that are not implemented yet.
//!
//! Usage: `abi-gen [--check] [--spec PATH] [--docs PATH]`. With `--check` it
//! writes nothing and exits with status 1 when the docs are out of date.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../docs.rs"]
mod docs;
#[path = "../spec.rs"]
#[allow(dead_code)]
mod spec;

const USAGE: &str = "usage: abi-gen [--check] [--spec PATH] [--docs PATH]";

fn main() -> ExitCode {
    // The workspace root is the parent of this crate's folder.
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().unwrap_or(&manifest_dir).to_path_buf();
    let mut spec_path = root.join("spec/syscalls.toml");
    let mut docs_path = root.join("docs/syscalls.md");
    let mut check = false;

    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--spec" | "--docs" => {
                let Some(value) = args.next() else {
                    eprintln!("abi-gen: {arg} needs a path\n{USAGE}");
                    return ExitCode::from(2);
                };
                if arg == "--spec" {
                    spec_path = value.into();
                } else {
                    docs_path = value.into();
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("abi-gen: unknown argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let text = match std::fs::read_to_string(&spec_path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("abi-gen: failed to read {}: {e}", spec_path.display());
            return ExitCode::FAILURE;
        }
    };
    let checked = spec::parse(&text).and_then(|spec| {
        spec.check_linux_numbers()?;
        Ok(spec)
    });
    let spec = match checked {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("abi-gen: {}: {e}", spec_path.display());
            return ExitCode::FAILURE;
        }
    };

    let markdown = docs::render_markdown(&spec);
    let current = std::fs::read_to_string(&docs_path).unwrap_or_default();
    if check {
        if current != markdown {
            eprintln!(
                "abi-gen: {} is out of date with {}; run `just gen` and commit the result",
                docs_path.display(),
                spec_path.display()
            );
            return ExitCode::FAILURE;
        }
        eprintln!(
            "abi-gen: {} entries checked; {} is up to date",
            spec.entries.len(),
            docs_path.display()
        );
        return ExitCode::SUCCESS;
    }

    if current != markdown {
        if let Err(e) = std::fs::write(&docs_path, &markdown) {
            eprintln!("abi-gen: failed to write {}: {e}", docs_path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("abi-gen: wrote {}", docs_path.display());
    } else {
        eprintln!("abi-gen: {} is up to date", docs_path.display());
    }
    print!("{}", docs::render_skeletons(&spec));
    ExitCode::SUCCESS
}
