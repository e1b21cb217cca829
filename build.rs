//! Gives the `telescope` binaries an rpath to libtorch and links libtorch_cuda eagerly,
//! so they run without LD_LIBRARY_PATH and find CUDA when the machine has it; compiles the
//! small C shims over ATen's global configuration (`native/torch_config.cpp`) and its operator
//! observers (`native/op_counter.cpp`) and settable module slots (`native/module_slots.cpp`); records the git
//! commit the binary was built from.
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:rustc-link-search=native={lib}");
        let cuda = std::path::Path::new(&lib).join("libtorch_cuda.so").exists();
        if cuda {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-ltorch_cuda");
            println!("cargo:rustc-link-arg=-ltorch");
            println!("cargo:rustc-link-arg=-Wl,--as-needed");
        }
        compile_shim(std::path::Path::new(&lib));
    }
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    record_commit();
}

/// The shim is built with the headers of the libtorch torch-sys links (`<lib>/../include`) and
/// the C++ ABI that torch-sys uses for it.
fn compile_shim(lib: &std::path::Path) {
    let root = lib.parent().expect("libtorch's lib folder has a parent");
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .file("native/torch_config.cpp")
        .file("native/op_counter.cpp")
        .file("native/module_slots.cpp")
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .warnings(false)
        .compile("telescope_torch_config");
    println!("cargo:rustc-link-lib=torch_cpu");
    println!("cargo:rustc-link-lib=c10");
    println!("cargo:rerun-if-changed=native/torch_config.cpp");
    println!("cargo:rerun-if-changed=native/op_counter.cpp");
    println!("cargo:rerun-if-changed=native/module_slots.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
}

/// `TELESCOPE_GIT_COMMIT`: the commit of the checkout (with `-dirty` when it has changes), or
/// `unknown` outside a git checkout.
fn record_commit() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c}-dirty")
            } else {
                c
            }
        }
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=TELESCOPE_GIT_COMMIT={commit}");
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
        println!("cargo:rerun-if-changed={dir}/logs/HEAD");
    }
}
