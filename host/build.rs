// The migrations are embedded with `include_dir!`; rebuild when one is added.
// The target triple is recorded for `stagehand plugin new`, whose crates run
// their tests natively on the machine this binary runs on.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=STAGEHAND_TARGET_TRIPLE={target}");
}
