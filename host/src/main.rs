//! The `stagehand` command line. Parsing only; `app` does the work.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use stagehand::app;
use stagehand::config::{self, Config, LogFormat, Mode};
use stagehand::demo::DemoTwitch;
use stagehand::store::check;

mod plugin_cli;
mod twitch_cli;

#[derive(Parser)]
#[command(
    name = "stagehand",
    version,
    about = "A streamer's Twitch event host with WebAssembly plugins"
)]
struct Cli {
    /// Configuration file (TOML). Default: $STAGEHAND_CONFIG, else
    /// ~/.config/stagehand/stagehand.toml if present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log line format (also STAGEHAND_LOG_FORMAT).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the host against Twitch (or whatever TWITCH_*_URL point at).
    Run,
    /// Run the host against a built-in Twitch look-alike, no account needed.
    Demo,
    /// Log in to Twitch (device code flow) and store the token in the data directory.
    Login,
    /// Revoke the stored Twitch token and delete it.
    Logout,
    /// Fire one Twitch event into a running `stagehand demo` (like `twitch event trigger`).
    Trigger(TriggerArgs),
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Plugins: make, pack, check and install them.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Many channels on many machines: run one cluster role
    /// (ingest, worker or edge) on NATS JetStream and PostgreSQL.
    Cluster(stagehand::cluster::cli::ClusterArgs),
}

/// `stagehand trigger KIND [--user NAME] [...]`.
#[derive(clap::Args)]
struct TriggerArgs {
    /// The EventSub type, e.g. channel.follow, channel.subscribe, channel.cheer,
    /// channel.raid, channel.ban, channel.chat.message, stream.online.
    kind: String,
    /// The viewer (login); made up when absent.
    #[arg(long)]
    user: Option<String>,
    /// Subscription tier: 1000, 2000 or 3000.
    #[arg(long)]
    tier: Option<String>,
    /// Number of gifted subs.
    #[arg(long)]
    total: Option<u32>,
    /// Bits cheered.
    #[arg(long)]
    bits: Option<u32>,
    /// Raiding viewers.
    #[arg(long)]
    viewers: Option<u32>,
    /// Chat or resub message text.
    #[arg(long)]
    text: Option<String>,
    /// Ban reason.
    #[arg(long)]
    reason: Option<String>,
    /// Timeout length in seconds (a ban without it is permanent).
    #[arg(long)]
    duration: Option<u64>,
    /// Cumulative months for a resub.
    #[arg(long)]
    months: Option<u32>,
    /// Channel points reward title.
    #[arg(long)]
    reward: Option<String>,
    /// Anonymous gift or cheer.
    #[arg(long)]
    anonymous: bool,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Create a plugin project that builds with one command and passes its own test.
    New {
        /// Plugin name: a-z, 0-9 and -.
        name: String,
        /// Folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// rust, ts (TypeScript), js (JavaScript) or python.
        #[arg(long, default_value = "rust")]
        lang: String,
    },
    /// Pack a plugin folder (or a plugin crate whose component is built) into
    /// one .stagehand file to share.
    Pack {
        /// The folder holding plugin.toml.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Where to write the package (default: <name>-<version>.stagehand in
        /// the current folder).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Install a package (or a bare .wasm) into the plugins folder, where a
    /// running Stagehand picks it up. Shows what it asks for (and what an
    /// update changes) and asks first, unless --yes.
    Install {
        /// A .stagehand package or a .wasm file.
        file: PathBuf,
        /// Install without asking (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Check a package, a .wasm component or a plugin folder without running
    /// it: manifest, contract version, imports, size, permissions and limits.
    Check {
        /// A .stagehand package, a .wasm file or a plugin folder.
        path: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Full integrity check and schema version; read-only, safe while running.
    Check {
        /// Database file (default: stagehand.db in the data directory).
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy a streamer's events and plugin key-value data into a cluster's
    /// database, for a channel added to the cluster. Stop Stagehand first;
    /// running it again copies nothing twice.
    MoveToCluster {
        /// The cluster's database: postgres://user@host/db (or sqlite:PATH).
        #[arg(long, env = "STAGEHAND_DATABASE_URL")]
        database: String,
        /// The channel: the broadcaster's Twitch user id.
        #[arg(long)]
        channel: String,
        /// Database file (default: stagehand.db in the data directory).
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Cluster roles read their own settings (flags and environment), not a
    // streamer's configuration file.
    if let Command::Cluster(args) = cli.command {
        return match stagehand::cluster::cli::run(args) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                complain(&format!("stagehand cluster: {e:#}"));
                ExitCode::FAILURE
            }
        };
    }
    let mode = match cli.command {
        // trigger talks to the demo, so it reads the demo's data directory.
        Command::Demo | Command::Trigger(_) => Mode::Demo,
        _ => Mode::Run,
    };
    let config = match load_config(&cli, mode) {
        Ok(c) => c,
        Err(e) => {
            complain(&format!("stagehand: {e:#}"));
            return ExitCode::from(2);
        }
    };
    stagehand::logging::init(cli.log_format.unwrap_or(config.log_format));

    let result = match cli.command {
        Command::Run | Command::Demo => serve(config, mode),
        Command::Login => twitch_cli::login(&config),
        Command::Logout => twitch_cli::logout(&config),
        Command::Trigger(args) => twitch_cli::trigger(&config, &args),
        Command::Db {
            command: DbCommand::Check { db, json },
        } => db_check(&config, db, json),
        Command::Db {
            command:
                DbCommand::MoveToCluster {
                    database,
                    channel,
                    db,
                },
        } => db_move_to_cluster(&config, &database, &channel, db),
        Command::Plugin { command } => match command {
            PluginCommand::New { name, dir, lang } => plugin_new(&dir, &name, &lang),
            PluginCommand::Pack { dir, out } => plugin_pack(&dir, out),
            PluginCommand::Check { path, json } => plugin_check(&path, json),
            PluginCommand::Install { file, yes } => plugin_cli::install(&config, &file, yes),
        },
        Command::Cluster(_) => unreachable!("handled before the configuration is read"),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            complain(&format!("stagehand: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli, mode: Mode) -> Result<Config> {
    let env = |k: &str| std::env::var(k).ok();
    let file = match config::file_path(cli.config.as_deref(), &env) {
        Some(path) => config::read_file(&path)?,
        None => config::FileConfig::default(),
    };
    Ok(config::resolve(file, &env, mode)?)
}

fn serve(mut config: Config, mode: Mode) -> Result<ExitCode> {
    let runtime = runtime()?;
    runtime.block_on(async move {
        // Before anything is bound or printed: a SIGTERM at any moment from
        // here on is a clean shutdown, never the default kill.
        let mut signals = ShutdownSignals::install()?;
        let starting = async {
            let demo = match mode {
                Mode::Demo => Some(DemoTwitch::start(&mut config).await?),
                Mode::Run => None,
            };
            let host = app::start(&config).await?;
            anyhow::Ok((demo, host))
        };
        let (demo, host) = tokio::select! {
            started = starting => started?,
            _ = signals.recv() => {
                tracing::info!("asked to stop while starting; stopped");
                return Ok(ExitCode::SUCCESS);
            }
        };
        // Stopped before the host, whose pipeline drains only once every
        // source has let go of it.
        let demo_sources_stop = tokio_util::sync::CancellationToken::new();
        if let Some(demo) = &demo {
            let mean = demo_interval()?;
            demo.generate(mean);
            if let Some(token) = &config.hooks.kofi_token {
                stagehand::demo::demo_donations(
                    host.hooks.clone(),
                    token.expose().to_owned(),
                    mean,
                    demo_sources_stop.clone(),
                );
            }
            let channel_id = host
                .twitch
                .identity()
                .map_or_else(|| config.channel_id.clone(), |i| i.user_id.clone());
            demo.generate_external(host.events.clone(), channel_id, mean);
        }
        let base = format!("http://{}", host.addr);
        say(&format!(
            "Stagehand {} is listening on {base}",
            env!("CARGO_PKG_VERSION")
        ));
        if mode == Mode::Demo {
            say(&format!("Demo mode: data in {}", config.data_dir.display()));
        }
        if host.api_token_generated {
            say(&format!("Dashboard: {base}/?token={}", host.api_token));
            say(&format!(
                "API token (send as Authorization: Bearer <token>): {}",
                host.api_token
            ));
        } else {
            say(&format!(
                "Dashboard: {base}/ (API token from STAGEHAND_API_TOKEN)"
            ));
        }
        // The key travels in the fragment: browsers never send it, so it
        // stays out of request lines and logs.
        say(&format!(
            "Overlay (OBS browser source): {base}/overlay/alerts#key={}",
            host.overlay_key
        ));
        let fatal = tokio::select! {
            _ = signals.recv() => None,
            reason = host.fatal() => Some(reason),
        };
        match &fatal {
            None => tracing::info!("shutting down"),
            Some(reason) => tracing::error!("stopping: {reason}"),
        }
        demo_sources_stop.cancel();
        if let Some(demo) = &demo {
            demo.stop_generating();
        }
        host.stop().await?;
        if let Some(demo) = demo {
            demo.stop().await;
        }
        match fatal {
            None => Ok(ExitCode::SUCCESS),
            Some(reason) => {
                complain(&format!("stagehand: stopped: {reason}"));
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

/// A line on stdout; a closed stdout is no reason to panic.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// A line on stderr; a closed stderr is no reason to panic.
fn complain(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The demo's mean gap between generated events: STAGEHAND_DEMO_INTERVAL_MS,
/// 0 for none (tests trigger their own), default 4 s.
fn demo_interval() -> Result<std::time::Duration> {
    let ms = match std::env::var("STAGEHAND_DEMO_INTERVAL_MS") {
        Ok(text) => text.trim().parse::<u64>().with_context(|| {
            format!("STAGEHAND_DEMO_INTERVAL_MS={text:?} is not a number of milliseconds")
        })?,
        Err(_) => 4000,
    };
    Ok(std::time::Duration::from_millis(ms))
}

/// SIGTERM and SIGINT, caught from the moment they are installed.
struct ShutdownSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> Result<ShutdownSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

fn plugin_new(parent: &std::path::Path, name: &str, lang: &str) -> Result<ExitCode> {
    use stagehand::plugins::scaffold::{self, Lang};
    let lang = Lang::parse(lang).map_err(anyhow::Error::msg)?;
    let dir = scaffold::create(parent, name, lang).map_err(anyhow::Error::msg)?;
    println!("Created {}", dir.display());
    println!("  cd {}", dir.display());
    for step in lang.next_steps() {
        println!("  {step}");
    }
    let pack_from = match lang {
        Lang::Rust => ".".to_owned(),
        _ => format!("dist/{name}"),
    };
    println!("  stagehand plugin pack {pack_from}   (one file to share or install)");
    if lang == Lang::Rust
        && let Some(workspace) = scaffold::enclosing_workspace(parent)
    {
        println!(
            "Note: {} is a Cargo workspace; add \"{}\" to its `exclude` list, as the plugin is a workspace of its own.",
            workspace.display(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn plugin_pack(dir: &std::path::Path, out: Option<PathBuf>) -> Result<ExitCode> {
    use stagehand::plugins::package::Package;
    let package = Package::from_dir(dir).map_err(anyhow::Error::msg)?;
    let out = out.unwrap_or_else(|| PathBuf::from(package.file_name()));
    let bytes = package.to_bytes().map_err(anyhow::Error::msg)?;
    // What is written must read back as the same plugin.
    Package::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("the package would not read back: {e}"))?;
    std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&out)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
        .with_context(|| {
            format!(
                "writing {} (an existing file is not replaced)",
                out.display()
            )
        })?;
    print_summary(&package.summary());
    println!("Packed {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn plugin_check(path: &std::path::Path, json: bool) -> Result<ExitCode> {
    use stagehand::plugins::package::Package;
    match Package::from_path(path) {
        Ok(package) if json => {
            let report = serde_json::json!({
                "ok": true,
                "plugin": package.summary(),
                "settings_schema": package.manifest.schema,
                "warnings": schema_warnings(&package.manifest),
            });
            println!("{report:#}");
            Ok(ExitCode::SUCCESS)
        }
        Ok(package) => {
            print_summary(&package.summary());
            match &package.manifest.schema {
                Some(schema) => println!(
                    "  settings:  a form of {} fields ([[setting]] schema)",
                    schema.fields.len()
                ),
                None => println!("  settings:  free JSON (no [[setting]] schema)"),
            }
            for warning in schema_warnings(&package.manifest) {
                println!("Warning: {warning}");
            }
            let folder = path.canonicalize().ok().filter(|p| p.is_dir());
            let folder_name = folder
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned());
            match folder_name {
                Some(found)
                    if found != package.manifest.name
                        && path.join("plugin.toml").is_file()
                        && !path.join("Cargo.toml").is_file()
                        && !path.join("package.json").is_file() =>
                {
                    println!(
                        "Note: installed, this folder must be named {:?} (it is {found:?}).",
                        package.manifest.name
                    );
                }
                _ => {}
            }
            println!("OK: Stagehand can load it.");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if json => {
            println!(
                "{:#}",
                serde_json::json!({"ok": false, "error": e.to_string()})
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    }
}

/// What the settings schema's author should fix though it loads.
fn schema_warnings(manifest: &stagehand::plugins::manifest::Manifest) -> Vec<String> {
    manifest
        .schema
        .as_ref()
        .map(|s| s.warnings())
        .unwrap_or_default()
}

fn print_summary(s: &stagehand::plugins::package::Summary) {
    println!("{} {} (plugin contract {})", s.name, s.version, s.contract);
    if let Some(description) = &s.description {
        println!("  {description}");
    }
    let asks = if s.permissions.is_empty() {
        "nothing beyond overlay alerts".to_owned()
    } else {
        s.permissions.join(", ")
    };
    println!("  asks for:  {asks}");
    println!(
        "  limits:    {} ms per call, {} MiB memory",
        s.deadline_ms, s.memory_mib
    );
    println!("  component: {} bytes", s.wasm_bytes);
}

fn db_move_to_cluster(
    config: &Config,
    database: &str,
    channel: &str,
    db: Option<PathBuf>,
) -> Result<ExitCode> {
    use stagehand::storage::copy::copy_channel;
    use stagehand::store::{Store, StoreOptions, StreamerStore, events};

    let path = db.unwrap_or_else(|| config.data_dir.join(app::DB_FILE));
    if !path.exists() {
        anyhow::bail!("no database at {}: nothing to copy", path.display());
    }
    if let Some(file) = database.strip_prefix("sqlite:")
        && !std::path::Path::new(file).exists()
    {
        anyhow::bail!("no cluster database at {file}");
    }
    // Refused while a host runs on this data: it would keep writing what
    // is being copied.
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let _lock = app::lock_data_dir(dir)?;
    runtime()?.block_on(async {
        let target = stagehand::cluster::cli::connect_store(database, 2).await?;
        if target.channel(channel).await?.is_none() {
            anyhow::bail!(
                "the cluster has no channel {channel}: add it first (POST /api/channels on an edge)"
            );
        }
        let plugins: Vec<String> = target
            .plugins(channel)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect();
        let store = Store::open(&path, StoreOptions::default())
            .with_context(|| format!("opening {}", path.display()))?;
        let copied = async {
            // The file's plugin data has no channel: make sure the file is
            // this channel's before giving it to the channel.
            let channels = store.read(events::channel_counts).await?;
            if !channels.iter().any(|(id, _)| id == channel) {
                let held: Vec<String> = channels
                    .iter()
                    .map(|(id, n)| format!("{id} ({n} events)"))
                    .collect();
                anyhow::bail!(
                    "{} holds no events of channel {channel}; it holds: {}. Is --channel right?",
                    path.display(),
                    if held.is_empty() {
                        "none".to_owned()
                    } else {
                        held.join(", ")
                    }
                );
            }
            let source = StreamerStore::new(store.clone(), channel);
            Ok(copy_channel(&source, &*target, channel, &plugins).await?)
        }
        .await;
        store.close().await;
        let copied = copied.context("copying")?;
        say(&format!(
            "copied {} events ({} were there already) and {} key-value pairs of {} plugins \
             from {} to channel {channel}",
            copied.events,
            copied.already_there,
            copied.kv_pairs,
            plugins.len(),
            path.display()
        ));
        Ok(ExitCode::SUCCESS)
    })
}

fn db_check(config: &Config, db: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let named = db.is_some();
    let path = db.unwrap_or_else(|| config.data_dir.join(app::DB_FILE));
    // A new data directory has no database yet: nothing is wrong. A file
    // named on the command line that is not there is a mistake.
    if !named && !path.exists() {
        if json {
            let none = serde_json::json!({"database": path, "exists": false});
            say(&serde_json::to_string_pretty(&none)?);
        } else {
            say(&format!(
                "no database yet at {}: Stagehand creates it when it first starts",
                path.display()
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = check::check(&path)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("database: {}", path.display());
        println!("integrity: {}", report.integrity.join("; "));
        println!(
            "schema version: {} (this Stagehand: {})",
            report.schema_version, report.latest_version
        );
        println!("events: {}", report.events);
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
