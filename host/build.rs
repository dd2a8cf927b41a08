// The migrations are embedded with `include_dir!`; rebuild when one is added.
// The target triple is recorded for `stagehand plugin new`, whose crates run
// their tests natively on the machine this binary runs on.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    // `plugin new` embeds the SDKs and templates with include_dir!, which
    // cannot tell cargo that those folders changed.
    for dir in [
        "../sdk-js/lib",
        "../sdk-js/testing",
        "../sdk-js/bin",
        "../sdk-js/types",
        "../sdk-js/wit",
        "../sdk-js/templates",
        "../sdk-py/src/stagehand_plugin",
        "../sdk-py/template",
    ] {
        println!("cargo:rerun-if-changed={dir}");
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=STAGEHAND_TARGET_TRIPLE={target}");
}
