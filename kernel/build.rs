//! Passes the linker scripts to the kernel binary: the one axhal's build
//! script writes into the profile's target folder, and `linkme.lds`, which
//! places the `linkme` slices (axcpu's SYSCALL and PAGE_FAULT tables) that
//! axhal's script leaves out.

use std::{env, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=linkme.lds");
    println!("cargo:rerun-if-changed=axconfig.toml");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    // OUT_DIR is target/<triple>/<profile>/build/<crate>-<hash>/out.
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let profile_dir = out_dir
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is three levels below the profile folder");
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!(
        "cargo:rustc-link-arg-bins=-T{}",
        profile_dir.join("linker_aarch64-qemu-virt.lds").display()
    );
    println!("cargo:rustc-link-arg-bins=-T{}", manifest_dir.join("linkme.lds").display());
}
