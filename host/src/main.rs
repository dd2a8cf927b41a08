//! The `stagehand` command line. Parsing only; `app` does the work.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use stagehand::app;
use stagehand::config::{self, Config, LogFormat, Mode};
use stagehand::store::check;

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
    /// Run the host with demo data, no Twitch account needed.
    Demo,
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Plugin development.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Create a plugin crate that builds for wasm32-wasip2 and passes its own test.
    New {
        /// Plugin name: a-z, 0-9 and -.
        name: String,
        /// Folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mode = match cli.command {
        Command::Demo => Mode::Demo,
        _ => Mode::Run,
    };
    let config = match load_config(&cli, mode) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("stagehand: {e:#}");
            return ExitCode::from(2);
        }
    };
    stagehand::logging::init(cli.log_format.unwrap_or(config.log_format));

    let result = match cli.command {
        Command::Run | Command::Demo => serve(config, mode),
        Command::Db {
            command: DbCommand::Check { db, json },
        } => db_check(&config, db, json),
        Command::Plugin {
            command: PluginCommand::New { name, dir },
        } => plugin_new(&dir, &name),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stagehand: {e:#}");
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

fn serve(config: Config, mode: Mode) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let host = app::start(&config).await?;
        let base = format!("http://{}", host.addr);
        println!(
            "Stagehand {} is listening on {base}",
            env!("CARGO_PKG_VERSION")
        );
        if mode == Mode::Demo {
            println!("Demo mode: data in {}", config.data_dir.display());
        }
        if host.api_token_generated {
            println!("Dashboard: {base}/?token={}", host.api_token);
            println!(
                "API token (send as Authorization: Bearer <token>): {}",
                host.api_token
            );
        } else {
            println!("Dashboard: {base}/ (API token from STAGEHAND_API_TOKEN)");
        }
        println!(
            "Overlay socket: ws://{}/overlay/alerts/ws (overlay key: {})",
            host.addr, host.overlay_key
        );
        wait_for_shutdown_signal().await;
        tracing::info!("shutting down");
        host.stop().await?;
        Ok(ExitCode::SUCCESS)
    })
}

async fn wait_for_shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

fn plugin_new(parent: &std::path::Path, name: &str) -> Result<ExitCode> {
    let dir = stagehand::plugins::scaffold::create(parent, name).map_err(anyhow::Error::msg)?;
    println!("Created {}", dir.display());
    println!("  cd {} && cargo test", dir.display());
    println!(
        "  cargo build --release --target wasm32-wasip2   (rustup target add wasm32-wasip2 once)"
    );
    println!(
        "Then copy plugin.toml and the .wasm into a folder named {name} in the plugins directory."
    );
    Ok(ExitCode::SUCCESS)
}

fn db_check(config: &Config, db: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let path = db.unwrap_or_else(|| config.data_dir.join(app::DB_FILE));
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
