//! The `gatewatch` command: parses the command line and calls the library.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use gatewatch::config::Config;
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
    /// Show what a library would find in texts: one text per input line; highlighted context,
    /// score, severity and whether it would become an incident.
    Test {
        /// A file of texts, one per line, or `-` for standard input.
        #[arg(default_value = "-")]
        input: String,
        /// The library directory.
        #[arg(long, default_value = "libraries/starter")]
        library: PathBuf,
        /// A school overlay to apply.
        #[arg(long)]
        overlay: Option<PathBuf>,
        /// What the texts are: searches, text the user typed, or page text the user was shown.
        #[arg(long, value_enum, default_value_t = KindArg::Typed)]
        kind: KindArg,
        /// Count each rule once per text (e2guardian "singular" mode).
        #[arg(long)]
        singular: bool,
        /// Output format (`json`: one object per input line).
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
enum KindArg {
    /// A search query.
    Search,
    /// Text the user typed (forms, chat).
    Typed,
    /// Text a page showed.
    Page,
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
        LibraryAction::Test {
            input,
            library,
            overlay,
            kind,
            singular,
            format,
        } => library_test(&input, &library, overlay.as_deref(), kind, singular, format)?,
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
                        format!(
                            "unknown category `{category}`; one of: {}",
                            Category::id_list()
                        )
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

fn library_test(
    input: &str,
    dir: &std::path::Path,
    overlay: Option<&std::path::Path>,
    kind: KindArg,
    singular: bool,
    format: OutputFormat,
) -> anyhow::Result<()> {
    use gatewatch::detect::matcher::CompiledLibrary;
    use gatewatch::detect::score::{Mode, Thresholds};
    use gatewatch::detect::TextKind;
    use std::io::BufRead;

    let mut lib = gatewatch::library::Library::load_dir(dir)?;
    if let Some(path) = overlay {
        lib.apply_overlay(&gatewatch::library::Overlay::load(path)?)?;
    }
    let compiled = Arc::new(CompiledLibrary::compile(&lib)?);
    let mut thresholds = Thresholds::default();
    if singular {
        thresholds.mode = Mode::Singular;
    }
    let kind = match kind {
        KindArg::Search => TextKind::Search,
        KindArg::Typed => TextKind::Typed,
        KindArg::Page => TextKind::Page,
    };
    let reader: Box<dyn BufRead> = if input == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(input).with_context(|| format!("cannot open {input}"))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, line) in reader.lines().enumerate() {
        let line = line.context("cannot read the input (is it UTF-8?)")?;
        let verdict = gatewatch::detect::scanner::scan_text(&compiled, &thresholds, kind, &line);
        match format {
            OutputFormat::Json => {
                let findings: Vec<serde_json::Value> = verdict
                    .findings
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "category": f.category.id(),
                            "severity": f.severity.get(),
                            "rule": f.rule_id,
                            "terms": [f.matched],
                            "context": f.highlighted(),
                            "exception": f.exception,
                        })
                    })
                    .collect();
                let obj = serde_json::json!({
                    "line": i + 1,
                    "severity": verdict.severity.map(|s| s.get()),
                    "score": verdict.score,
                    "incident": verdict.incident,
                    "findings": findings,
                });
                writeln!(out, "{obj}")?;
            }
            OutputFormat::Text => {
                let severity = verdict
                    .severity
                    .map(|s| s.get().to_string())
                    .unwrap_or_else(|| "-".into());
                let incident = if verdict.incident { ", INCIDENT" } else { "" };
                writeln!(
                    out,
                    "line {}: severity {severity}, score {}{incident}",
                    i + 1,
                    verdict.score
                )?;
                for f in &verdict.findings {
                    let lowered = f
                        .exception
                        .as_deref()
                        .map(|e| format!(" (lowered by {e})"))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "  [{}] {} {}{lowered}: {}",
                        f.severity.get(),
                        f.category.id(),
                        f.rule_id,
                        f.highlighted()
                    )?;
                }
            }
        }
    }
    out.flush()?;
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
        // Signals first: a SIGTERM during start-up is a clean stop, never a kill.
        let shutdown = Shutdown::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            shutdown::signal().await;
            tracing::info!("shutdown signal received; finishing open connections");
            trigger.trigger();
        });
        // Compile the library before binding, so an open port means ready to inspect.
        let detect = config.detect.clone();
        let compiled = {
            let detect = detect.clone();
            tokio::task::spawn_blocking(move || compile_library(&detect))
                .await
                .context("the library compile task failed")??
        };
        let inspector = Arc::new(gatewatch::detect::inspector::DetectInspector::new(
            compiled,
            thresholds(&detect),
            Default::default(),
            Arc::new(gatewatch::detect::inspector::LogSink),
        ));
        spawn_reload_on_sighup(inspector.clone(), detect);
        // Identity sources (DHCP leases, RADIUS, sniffing), when configured.
        let identity = if config.identity.has_sources() {
            let runtime = gatewatch::identity::start(
                config.identity.clone(),
                &config.paths.data_dir,
                shutdown.clone(),
            )
            .await
            .context("cannot start the identity sources ([identity] in the config)")?;
            Some(runtime)
        } else {
            tracing::info!("no [identity] sources configured; connections are not attributed to devices or users");
            None
        };
        let listeners = BoundListeners::bind(&config).await?;
        let mut gateway = Gateway::new(config, inspector, listeners)?;
        if let Some(runtime) = &identity {
            gateway = gateway.with_identity(runtime.service.clone());
        }
        let ca = gateway.school_ca();
        tracing::info!(
            ca = %ca.cert_path().display(),
            fingerprint = %ca.fingerprint_sha256(),
            "school CA ready; devices must trust it (gatewatch ca export)"
        );
        gateway.run(shutdown).await;
        anyhow::Ok(())
    })
}

/// Loads (the configured directory, or the starter library built in), applies the overlay and
/// compiles the threat library.
fn compile_library(
    detect: &gatewatch::config::DetectConfig,
) -> anyhow::Result<Arc<gatewatch::detect::matcher::CompiledLibrary>> {
    let started = std::time::Instant::now();
    let mut library = match &detect.library {
        Some(dir) => gatewatch::library::Library::load_dir(dir)?,
        None => gatewatch::detect::embedded::starter_library()?,
    };
    if let Some(path) = &detect.overlay {
        library.apply_overlay(&gatewatch::library::Overlay::load(path)?)?;
    }
    let compiled = gatewatch::detect::matcher::CompiledLibrary::compile(&library)?;
    tracing::info!(
        library = library.id(),
        version = library.version(),
        entries = library.entries().len(),
        overlay_changes = library.audit().len(),
        compile_ms = started.elapsed().as_millis() as u64,
        "threat library ready"
    );
    Ok(Arc::new(compiled))
}

/// The incident thresholds from `[detect]`.
fn thresholds(detect: &gatewatch::config::DetectConfig) -> gatewatch::detect::score::Thresholds {
    use gatewatch::detect::score::{Mode, Thresholds};
    use gatewatch::library::Severity;
    let mut t = Thresholds::default();
    t.mode = if detect.singular {
        Mode::Singular
    } else {
        Mode::Normal
    };
    t.typed_multiplier = detect.typed_multiplier;
    t.incident_severity = Severity::new(detect.incident_severity).unwrap_or(t.incident_severity);
    t.incident_typed_severity =
        Severity::new(detect.incident_typed_severity).unwrap_or(t.incident_typed_severity);
    t.incident_score = detect.incident_score;
    t
}

/// SIGHUP reloads the threat library (after a library or overlay edit) and swaps it in
/// atomically; a library that fails to load or compile is reported and the old one kept.
fn spawn_reload_on_sighup(
    inspector: Arc<gatewatch::detect::inspector::DetectInspector>,
    detect: gatewatch::config::DetectConfig,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; library reload needs a restart");
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let detect = detect.clone();
            match tokio::task::spawn_blocking(move || compile_library(&detect)).await {
                Ok(Ok(compiled)) => {
                    inspector.reload(compiled);
                    tracing::info!("threat library reloaded");
                }
                Ok(Err(err)) => {
                    tracing::error!(error = %format!("{err:#}"), "library reload failed; keeping the previous library")
                }
                Err(err) => tracing::error!(error = %err, "library reload task failed"),
            }
        }
    });
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
