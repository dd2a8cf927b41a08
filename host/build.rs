// The migrations are embedded with `include_dir!`; rebuild when one is added.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
