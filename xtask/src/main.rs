//! Project tasks that need more than one cargo call: plugins are built for
//! `wasm32-wasip2` before the host (or its tests) loads them.
//!
//! cargo xtask demo     build the plugins, then run `stagehand demo`
//! cargo xtask test     install what the tests need (the wasm target,
//!                      rustfmt, Chromium and ChromeDriver), build the
//!                      plugins, check formatting, run every test
//! cargo xtask plugins  build the plugins only
//! cargo xtask alert-sounds [--check]
//!                      (re)make the alert box's built-in sounds in
//!                      host/assets/alerts/ (--check: fail if they differ)
//!
//! Plugins in TypeScript/JavaScript (a folder with `package.json`) are built
//! with npm and the JS SDK in `sdk-js/`; plugins in Python (a folder with
//! `app.py`) with a virtual environment in the build directory holding the
//! Python SDK in `sdk-py/`. Their tool versions are pinned in those files.

mod alert_sounds;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const WASM_TARGET: &str = "wasm32-wasip2";
/// The plugins `cargo xtask demo` loads: follow-alert would repeat
/// alert-box's follow alerts, and discord-webhook needs the streamer's own
/// webhook URL before it can start.
const DEMO_PLUGINS: [&str; 3] = ["alert-box", "chat-commands", "event-formatter"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        // The demo loads Rust plugins only: it needs nothing but Rust.
        "demo" => plugins(false).and_then(|_| demo(rest)),
        "test" => test_tools()
            .and_then(|_| plugins(true))
            .and_then(|_| test(rest)),
        "plugins" => plugins(true),
        "screenshots" => test_tools()
            .and_then(|_| plugins(true))
            .and_then(|_| screenshots(rest)),
        "alert-sounds" => alert_sounds::write_all(
            &root().join("host/assets/alerts"),
            rest.iter().any(|a| a == "--check"),
        ),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test|plugins|screenshots|alert-sounds> [args for the underlying command]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(mut cmd: Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

/// Plugin crates in `folder` (relative to the workspace): every subfolder
/// with a Cargo.toml; each package is named as its folder.
fn plugin_packages(folder: &str) -> Result<Vec<String>, String> {
    let dir = root().join(folder);
    let mut names = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    for entry in entries.flatten() {
        if entry.path().join("Cargo.toml").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Builds every plugin for wasm32-wasip2 (adding the target if rustup can),
/// then lays each out as the host loads it: `target/plugins/<name>/` (and
/// `target/test-plugins/<name>/` for the test plugins) holding
/// `plugin.toml` and `<name>.wasm`; with `other_languages`, the TypeScript,
/// JavaScript and Python plugins too.
fn plugins(other_languages: bool) -> Result<(), String> {
    let sets = [("plugins", "plugins"), ("tests/plugins", "test-plugins")];
    let mut all = Vec::new();
    for (src, _) in sets {
        all.extend(plugin_packages(src)?);
    }
    if all.is_empty() {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", WASM_TARGET]);
    if let Err(e) = run(add) {
        eprintln!("xtask: {e}; assuming the {WASM_TARGET} target is installed");
    }
    let mut build = cargo();
    build.args(["build", "--profile", "plugin", "--target", WASM_TARGET]);
    for p in &all {
        build.args(["--package", p]);
    }
    run(build)?;

    let target = target_dir();
    let built = target.join(WASM_TARGET).join("plugin");
    for (src, out) in sets {
        let out_dir = target.join(out);
        for name in plugin_packages(src)? {
            let wasm = built.join(format!("{}.wasm", name.replace('-', "_")));
            let dest = out_dir.join(&name);
            std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
            copy(&wasm, &dest.join(format!("{name}.wasm")))?;
            let manifest = root().join(src).join(&name).join("plugin.toml");
            if manifest.is_file() {
                copy(&manifest, &dest.join("plugin.toml"))?;
            }
        }
    }
    if !other_languages {
        return Ok(());
    }
    for (src, out) in sets {
        for dir in js_plugins(src)? {
            npm_install(&dir)?;
            let mut build = npm(&dir);
            build.args(["run", "build"]);
            run(build)?;
            lay_out(&dir, &target.join(out))?;
        }
        let python = python_plugins(src)?;
        if !python.is_empty() {
            let venv = python_env()?;
            for dir in python {
                let mut build = Command::new(venv.join("bin/python"));
                build.args(["-m", "stagehand_plugin.build"]).arg(&dir);
                run(build)?;
                lay_out(&dir, &target.join(out))?;
            }
        }
    }
    Ok(())
}

/// Folders of `folder` holding a plugin of another language: those with
/// `marker` (and a `plugin.toml`).
fn other_plugins(folder: &str, marker: &str) -> Result<Vec<PathBuf>, String> {
    let dir = root().join(folder);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(marker).is_file() && p.join("plugin.toml").is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// TypeScript and JavaScript plugins in `folder`.
fn js_plugins(folder: &str) -> Result<Vec<PathBuf>, String> {
    other_plugins(folder, "package.json")
}

/// Python plugins in `folder`.
fn python_plugins(folder: &str) -> Result<Vec<PathBuf>, String> {
    other_plugins(folder, "app.py")
}

/// Copies a built plugin's drop-in folder, `dist/<name>/`, to `out/<name>/`.
fn lay_out(dir: &Path, out: &Path) -> Result<(), String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let built = dir.join("dist").join(&name);
    let dest = out.join(&name);
    std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    for file in ["plugin.toml".to_owned(), format!("{name}.wasm")] {
        copy(&built.join(&file), &dest.join(&file))?;
    }
    Ok(())
}

fn npm(dir: &Path) -> Command {
    let mut cmd = Command::new("npm");
    cmd.current_dir(dir)
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false");
    cmd
}

/// `npm ci` in `dir`, unless its node_modules already match its lock file.
fn npm_install(dir: &Path) -> Result<(), String> {
    if !on_path("npm") {
        return Err(format!(
            "{} is a JavaScript plugin and needs Node.js 20 with npm on PATH",
            dir.display()
        ));
    }
    let lock = std::fs::read(dir.join("package-lock.json")).ok();
    let installed = std::fs::read(dir.join("node_modules/.stagehand-lock")).ok();
    if lock.is_some() && lock == installed {
        return Ok(());
    }
    let mut ci = npm(dir);
    ci.arg("ci");
    run(ci)?;
    if let Some(lock) = lock {
        let stamp = dir.join("node_modules/.stagehand-lock");
        std::fs::write(&stamp, lock).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    Ok(())
}

/// The virtual environment with the Python SDK (editable) and pytest,
/// made in the build directory on first use; returns its folder.
fn python_env() -> Result<PathBuf, String> {
    let venv = target_dir().join("python");
    let sdk = root().join("sdk-py");
    let wanted =
        std::fs::read(sdk.join("pyproject.toml")).map_err(|e| format!("{}: {e}", sdk.display()))?;
    let stamp = venv.join(".stagehand-sdk");
    if std::fs::read(&stamp).ok() == Some(wanted.clone()) {
        return Ok(venv);
    }
    if !on_path("python3") {
        return Err("Python plugins need Python 3.11 or newer as python3 on PATH".into());
    }
    let mut make = Command::new("python3");
    make.args(["-m", "venv"]).arg(&venv);
    run(make)?;
    let mut install = Command::new(venv.join("bin/pip"));
    install
        .args(["install", "--quiet", "--disable-pip-version-check", "-e"])
        .arg(format!("{}[test]", sdk.display()));
    run(install)?;
    std::fs::write(&stamp, wanted)
        .map_err(|e| format!("{}: {e}", stamp.display()))
        .map(|_| venv)
}

/// The SDKs' and the plugins' own tests in other languages: the JS SDK
/// (with its check that the TypeScript declarations match the WIT), the
/// Python SDK (and its check of the generated bindings), and each plugin's.
fn other_language_tests() -> Result<(), String> {
    let sdk_js = root().join("sdk-js");
    let dev = sdk_js.join("dev");
    npm_install(&dev)?;
    for script in ["test", "check-types"] {
        let mut cmd = npm(&sdk_js);
        cmd.args(["run", script]);
        run(cmd)?;
    }
    for src in ["plugins", "tests/plugins"] {
        for dir in js_plugins(src)? {
            let mut cmd = npm(&dir);
            cmd.arg("test");
            run(cmd)?;
        }
    }
    let venv = python_env()?;
    let python = venv.join("bin/python");
    let mut check = Command::new(&python);
    check.arg(root().join("sdk-py/scripts/check_generated.py"));
    run(check)?;
    let mut sdk_tests = Command::new(&python);
    sdk_tests
        .args(["-m", "pytest", "-q"])
        .current_dir(root().join("sdk-py"));
    run(sdk_tests)?;
    for src in ["plugins", "tests/plugins"] {
        for dir in python_plugins(src)? {
            let mut cmd = Command::new(&python);
            cmd.args(["-m", "pytest", "-q"]).current_dir(&dir);
            run(cmd)?;
        }
    }
    Ok(())
}

/// What the tests need besides Rust: rustfmt (the format check), Debian's
/// `chromium` and `chromium-driver` for the browser tests, and Node.js with
/// npm and Python 3 with venv for the plugins in those languages, installed
/// with apt-get as root or through sudo. Where they cannot be installed,
/// this stops before anything is built, with the command that fixes it.
fn test_tools() -> Result<(), String> {
    let mut fmt = Command::new("rustup");
    fmt.args(["component", "add", "rustfmt"]);
    if let Err(e) = run(fmt) {
        eprintln!("xtask: {e}; assuming rustfmt is installed");
    }
    let python_venv = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .status()
        .is_ok_and(|s| s.success());
    let mut packages = Vec::new();
    if !(on_path("chromium") && on_path("chromedriver")) {
        packages.extend(["chromium", "chromium-driver"]);
    }
    if !(on_path("node") && on_path("npm")) {
        packages.extend(["nodejs", "npm"]);
    }
    if !python_venv {
        packages.extend(["python3", "python3-venv"]);
    }
    if packages.is_empty() {
        return Ok(());
    }
    let fix = format!(
        "sudo apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo = !as_root
        && Command::new("sudo")
            .args(["-n", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if !on_path("apt-get") || !(as_root || sudo) {
        return Err(format!(
            "the tests need {} (browser tests, JavaScript and Python plugins), which are not \
             installed and cannot be installed from here; run\n\n    {fix}\n\nand then `cargo xtask test` again",
            packages.join(", ")
        ));
    }
    eprintln!("xtask: installing {} for the tests", packages.join(", "));
    let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
    install.extend(&packages);
    for args in [vec!["apt-get", "update"], install] {
        let mut cmd = if as_root {
            Command::new(args[0])
        } else {
            let mut c = Command::new("sudo");
            c.arg(args[0]);
            c
        };
        cmd.args(&args[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(cmd).map_err(|e| format!("{e}; install them yourself with:\n\n    {fix}"))?;
    }
    if on_path("chromium") && on_path("chromedriver") && on_path("npm") {
        Ok(())
    } else {
        Err(format!(
            "the packages were installed but `chromium`, `chromedriver` or `npm` is still not on PATH; run\n\n    {fix}"
        ))
    }
}

/// Whether `program` is an executable on PATH.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_relative() { root().join(p) } else { p })
        .unwrap_or_else(|| root().join("target"))
}

/// Copies only when the content differs, so an unchanged plugin does not
/// look changed to a running host's watcher.
fn copy(from: &Path, to: &Path) -> Result<(), String> {
    let new = std::fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    if std::fs::read(to).ok().as_deref() == Some(new.as_slice()) {
        return Ok(());
    }
    std::fs::write(to, new).map_err(|e| format!("{}: {e}", to.display()))
}

fn demo(args: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", "stagehand", "--", "demo"]);
    cmd.args(args);
    if std::env::var_os("STAGEHAND_PLUGINS_DIR").is_none() {
        let demo = target_dir().join("demo-plugins");
        for name in DEMO_PLUGINS {
            let (from, to) = (target_dir().join("plugins").join(name), demo.join(name));
            std::fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
            for file in ["plugin.toml".to_owned(), format!("{name}.wasm")] {
                copy(&from.join(&file), &to.join(&file))?;
            }
        }
        cmd.env("STAGEHAND_PLUGINS_DIR", demo);
    }
    run(cmd)
}

/// The browser tests that take the README's pictures, run with
/// `STAGEHAND_SCREENSHOTS` set so they write them to `docs/images/`.
const PICTURE_TESTS: &[&str] = &["browser_pictures", "browser_alerts"];

fn screenshots(args: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["test", "--package", "stagehand"]);
    for test in PICTURE_TESTS {
        cmd.args(["--test", test]);
    }
    cmd.env("STAGEHAND_TEST_PLUGINS", target_dir());
    cmd.env("STAGEHAND_SCREENSHOTS", "1");
    cmd.args(args);
    run(cmd)
}

fn test(args: &[String]) -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;
    other_language_tests()?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]);
    cmd.env("STAGEHAND_TEST_PLUGINS", target_dir());
    // Tests that need the cluster's servers are #[ignore]d by default, so a
    // plain `cargo test` on a machine without them reports them as ignored
    // (skipped), never as passed. They run here when the servers are
    // configured or answer on their usual ports.
    let (cargo_args, test_args) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    cmd.args(cargo_args);
    cmd.arg("--");
    cmd.args(test_args);
    let services = [
        ("NATS", "STAGEHAND_TEST_NATS_URL", "127.0.0.1:4222"),
        (
            "PostgreSQL",
            "STAGEHAND_TEST_DATABASE_URL",
            "127.0.0.1:5432",
        ),
    ];
    let missing: Vec<&str> = services
        .iter()
        .filter(|(_, var, addr)| std::env::var_os(var).is_none() && !answers(addr))
        .map(|(name, _, _)| *name)
        .collect();
    if missing.is_empty() {
        cmd.arg("--include-ignored");
    } else {
        eprintln!(
            "\n*** SKIPPING the cluster tests (storage_contract's PostgreSQL half, cluster_bus, \
             cluster, cluster_e2e, browser_cluster): {} not configured and not answering. \
             They are reported as ignored, not passed. ***\n",
            missing.join(" and ")
        );
    }
    run(cmd)
}

/// Whether something accepts TCP connections at `addr` (within a second).
fn answers(addr: &str) -> bool {
    addr.parse()
        .ok()
        .and_then(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(1)).ok()
        })
        .is_some()
}
