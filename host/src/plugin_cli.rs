//! `stagehand plugin install FILE [--yes]`: installs a package or a bare
//! `.wasm` into the plugins folder, where a running Stagehand picks it up.
//! It prints what the plugin asks for (and, for an update, what changed)
//! and asks before installing, unless `--yes`.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};

use stagehand::app;
use stagehand::config::Config;
use stagehand::plugins::install::{self, Preview};
use stagehand::plugins::package::Package;
use stagehand::store;

/// Installs `file` into the configured plugins folder.
pub fn install(config: &Config, file: &Path, yes: bool) -> Result<ExitCode> {
    let package =
        Package::from_path(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let name = package.manifest.name.clone();
    install::check_name(&name).map_err(anyhow::Error::msg)?;
    let dir = &config.plugins_dir;
    let installed = install::installed(dir, &name);
    let db = config.data_dir.join(app::DB_FILE);
    let mut granted: BTreeSet<String> = config.grants.get(&name).cloned().unwrap_or_default();
    if installed.is_some() {
        granted.extend(stored_grants(&db, &name)?);
    }
    let file_bytes = std::fs::metadata(file)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let preview = install::preview(&package, file_bytes, installed.as_ref(), &granted);
    print_preview(&preview);
    if !yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "not installed: nobody can confirm (stdin is not a terminal); run `stagehand plugin install {} --yes` to install without asking",
                file.display()
            );
        }
        let verb = if preview.update.is_some() {
            "Update"
        } else {
            "Install"
        };
        print!("{verb} {name} into {}? [y/N] ", dir.display());
        std::io::stdout().flush().ok();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("reading the answer")?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("stagehand: not installed");
            return Ok(ExitCode::FAILURE);
        }
    }
    prepare_store(&db, &package, installed.is_some())?;
    let written = install::write(dir, &package)
        .with_context(|| format!("writing the plugin into {}", dir.display()))?;
    println!(
        "Installed {name} into {} (a running Stagehand loads it now).",
        written.path.display()
    );
    if !preview.needs_grant.is_empty() {
        println!(
            "It waits until you allow {}: the Plugins page's Allow button, or POST /api/plugins/{name}/grant.",
            preview.needs_grant.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_preview(p: &Preview) {
    let s = &p.plugin;
    match &p.update {
        Some(u) => println!(
            "Update {} {} -> {} (plugin contract {})",
            s.name, u.version.from, u.version.to, s.contract
        ),
        None if p.bare => println!(
            "Install {} (a bare component, plugin contract {})",
            s.name, s.contract
        ),
        None => println!(
            "Install {} {} (plugin contract {})",
            s.name, s.version, s.contract
        ),
    }
    if let Some(description) = &s.description {
        println!("  {description}");
    }
    let asks = if s.permissions.is_empty() {
        "nothing beyond overlay alerts".to_owned()
    } else {
        s.permissions.join(", ")
    };
    println!("  asks for:     {asks}");
    println!(
        "  limits:       {} ms per call, {} MiB memory",
        s.deadline_ms, s.memory_mib
    );
    if !s.media_hosts.is_empty() {
        println!("  media from:   {}", s.media_hosts.join(", "));
    }
    println!("  component:    {} bytes", s.wasm_bytes);
    if let Some(u) = &p.update {
        let mut changes = Vec::new();
        changes.extend(u.added_permissions.iter().map(|k| format!("+ {k}")));
        changes.extend(u.removed_permissions.iter().map(|k| format!("- {k}")));
        if let Some(d) = &u.deadline_ms {
            changes.push(format!("deadline {} -> {} ms", d.from, d.to));
        }
        if let Some(m) = &u.memory_mib {
            changes.push(format!("memory {} -> {} MiB", m.from, m.to));
        }
        if changes.is_empty() {
            println!("  changes:      it asks for the same as the installed version");
        } else {
            println!("  changes:      {}", changes.join(", "));
        }
    }
    if !p.needs_grant.is_empty() {
        println!("  needs grant:  {}", p.needs_grant.join(", "));
    }
}

/// What the streamer granted `name` in the database, if there is one.
fn stored_grants(db: &Path, name: &str) -> Result<BTreeSet<String>> {
    if !db.exists() {
        return Ok(BTreeSet::new());
    }
    let conn = store::open_existing_read_only(db, Duration::from_secs(5))?;
    Ok(store::plugins::granted(&conn, name)?)
}

/// Brings what is stored for the plugin in line with the install before its
/// files appear: an update keeps only the grants it still asks for, a
/// fresh install forgets what an older plugin of that name left (grants,
/// data, settings). Nothing to do without a database yet.
fn prepare_store(db: &Path, package: &Package, replacing: bool) -> Result<()> {
    if !db.exists() {
        return Ok(());
    }
    let conn = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", db.display()))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let name = &package.manifest.name;
    if replacing {
        let requested: Vec<String> = package
            .manifest
            .permissions
            .iter()
            .map(|p| p.key())
            .collect();
        store::plugins::retain_grants(&conn, name, &requested)?;
    } else {
        store::plugins::forget(&conn, name)?;
    }
    Ok(())
}
