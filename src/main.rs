//! The `gatewatch` command: parses the command line and calls the library.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use gatewatch::config::Config;
use gatewatch::inspect::CountingInspector;
use gatewatch::proxy::{BoundListeners, Gateway};
use gatewatch::shutdown::{self, Shutdown};
use gatewatch::tls::{ExportFormat, SchoolCa};

/// gatewatch: network-level safeguarding monitor for school BYOD Wi-Fi.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (on embedded defaults when no config is given: explicit proxy on
    /// 127.0.0.1:3128, data in ./data, CA in ./certs).
    Run {
        /// The configuration file (TOML).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Manage the school CA.
    Ca {
        #[command(subcommand)]
        action: CaAction,
    },
    /// Check a configuration file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Show the hosts that are spliced without decryption.
    Bypass {
        #[command(subcommand)]
        action: BypassAction,
    },
    /// Validate, test and import threat libraries.
    Library {
        #[command(subcommand)]
        action: LibraryAction,
    },
}

#[derive(Subcommand)]
enum LibraryAction {
    /// Validate a library (and optional school overlay); print counts per category and
    /// severity.
    Check {
        /// The library directory (holding library.toml).
        #[arg(default_value = "libraries/starter")]
        dir: PathBuf,
        /// A school overlay to apply.
        #[arg(long)]
        overlay: Option<PathBuf>,
        /// Recompute and write the manifest checksum first (after editing a library).
        #[arg(long)]
        update_checksum: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Convert phrase lists from other products into a gatewatch library (a dry run without
    /// --out).
    Import {
        /// What is being imported.
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// The e2guardian list directory, or the word-list file.
        source: PathBuf,
        /// Write the library here (category files and library.toml).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Word lists only: the category every term belongs to (e.g. self-harm).
        #[arg(long)]
        category: Option<String>,
        /// Word lists only: the severity (1 to 5) every term gets.
        #[arg(long)]
        severity: Option<u8>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFormat {
    /// e2guardian / DansGuardian weighted, banned and exception phrase lists (a directory).
    E2guardian,
    /// A plain word list: one term a line (a file).
    Wordlist,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum CaAction {
    /// Create the school CA if it does not exist yet.
    Init {
        /// The configuration file whose `paths.ca_dir` to use (default: ./certs).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Show the school CA's subject, fingerprint and validity.
    Show {
        /// The configuration file whose `paths.ca_dir` to use (default: ./certs).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Write the school CA certificate to standard output, for devices to install.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Pem)]
        format: Format,
        /// The configuration file whose `paths.ca_dir` to use (default: ./certs).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Pem,
    Der,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Parse and validate a configuration file; print a summary.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum BypassAction {
    /// List the configured and automatically bypassed hosts.
    List {
        /// The configuration file (default: embedded defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gatewatch: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run { config } => run(config),
        Command::Ca { action } => ca(action),
        Command::Library { action } => library(action),
        Command::Config {
            action: ConfigAction::Check { file },
        } => {
            let config = Config::load(&file)?;
            println!("{}: OK\n{}", file.display(), config.summary());
            Ok(())
        }
        Command::Bypass {
            action: BypassAction::List { config },
        } => {
            let config = load_config(config.as_ref())?;
            println!(
                "Configured ({} hosts, each with its subdomains):",
                config.bypass.hosts.len()
            );
            for host in &config.bypass.hosts {
                println!("  {host}");
            }
            let file = config
                .paths
                .data_dir
                .join(gatewatch::proxy::bypass::AUTO_BYPASS_FILE);
            let auto = gatewatch::proxy::bypass::load_auto(&file);
            println!(
                "Automatic ({} hosts whose clients rejected the school certificate):",
                auto.len()
            );
            for entry in auto {
                println!(
                    "  {} (since {}, after {} rejected handshakes)",
                    entry.host, entry.since_unix, entry.failures
                );
            }
            Ok(())
        }
    }
}

fn library(action: LibraryAction) -> anyhow::Result<()> {
    match action {
        LibraryAction::Check {
            dir,
            overlay,
            update_checksum,
            format,
        } => {
            if update_checksum {
                let sum = gatewatch::library::update_checksum(&dir)?;
                eprintln!("{}: checksum updated to {sum}", dir.display());
            }
            let mut lib = gatewatch::library::Library::load_dir(&dir)?;
            if let Some(path) = overlay {
                let overlay = gatewatch::library::Overlay::load(&path)?;
                lib.apply_overlay(&overlay)?;
            }
            let report = lib.check_report();
            match format {
                OutputFormat::Text => println!("{report}"),
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            }
        }
        LibraryAction::Import {
            format,
            source,
            out,
            category,
            severity,
        } => {
            use gatewatch::library::{import, Category, Severity};
            let imported = match format {
                ImportFormat::E2guardian => import::import_e2guardian(&source, out.as_deref())?,
                ImportFormat::Wordlist => {
                    let category = category
                        .as_deref()
                        .context("a word list needs --category (e.g. --category self-harm)")?;
                    let category = Category::from_id(category).with_context(|| {
                        format!("unknown category `{category}`; one of: {}", Category::id_list())
                    })?;
                    let severity = severity
                        .and_then(Severity::new)
                        .context("a word list needs --severity 1 to 5")?;
                    import::import_wordlist(&source, category, severity, out.as_deref())?
                }
            };
            println!("{}", imported.report);
            if out.is_none() {
                eprintln!("dry run: nothing written; add --out DIR to write the library");
            }
        }
    }
    Ok(())
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to standard error; colours only on a terminal (never into files or the journal).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}

fn run(config: Option<PathBuf>) -> anyhow::Result<()> {
    init_logging();
    let config = load_config(config.as_ref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listeners = BoundListeners::bind(&config).await?;
        // The detection engine replaces the counting inspector when it lands.
        let inspector = Arc::new(CountingInspector::new());
        let gateway = Gateway::new(config, inspector, listeners)?;
        let ca = gateway.school_ca();
        tracing::info!(
            ca = %ca.cert_path().display(),
            fingerprint = %ca.fingerprint_sha256(),
            "school CA ready; devices must trust it (gatewatch ca export)"
        );
        let shutdown = Shutdown::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            shutdown::signal().await;
            tracing::info!("shutdown signal received; finishing open connections");
            trigger.trigger();
        });
        gateway.run(shutdown).await;
        anyhow::Ok(())
    })
}

fn ca(action: CaAction) -> anyhow::Result<()> {
    match action {
        CaAction::Init { config } => {
            let config = load_config(config.as_ref())?;
            let ca = SchoolCa::load_or_create(&config.paths.ca_dir)?;
            println!("{}", ca.describe());
        }
        CaAction::Show { config } => {
            let config = load_config(config.as_ref())?;
            let ca = SchoolCa::load(&config.paths.ca_dir)?;
            println!("{}", ca.describe());
        }
        CaAction::Export { format, config } => {
            let config = load_config(config.as_ref())?;
            let ca = SchoolCa::load(&config.paths.ca_dir)?;
            let bytes = ca.export(match format {
                Format::Pem => ExportFormat::Pem,
                Format::Der => ExportFormat::Der,
            });
            std::io::stdout()
                .write_all(&bytes)
                .context("cannot write to standard output")?;
        }
    }
    Ok(())
}
