//! Gives the shared library an ELF soname, so that programs linked against
//! `libpromptwall.so` load `libpromptwall.so.<abi>` at run time (see the Makefile, which
//! installs the library under that name). For 0.x versions every minor version may break the
//! ABI, so the soname carries `0.<minor>`; from 1.0 on, the major version alone.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" && os != "android" && !os.ends_with("bsd") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpromptwall.so.{abi}");
}
