//! The `faxbridge` command: the daemon and the tools that admins and tests share.

#![deny(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use faxbridge::config::Config;
use faxbridge::docs::{self, Paper, RenderOptions, Resolution};

/// Fax and analogue-line gateway between SIP, T.38 and email.
#[derive(Parser)]
#[command(name = "faxbridge", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (embedded default configuration when no file is given).
    Run {
        /// Configuration file (TOML); see config/faxbridge.example.toml.
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Validate a configuration file and print what is wrong, key by key.
    CheckConfig {
        /// Configuration file to check.
        file: PathBuf,
    },
    /// Apply the database schema (the daemon also does at every start) and
    /// print its version: the SQLite file in the spool, or [store] url.
    Migrate {
        /// Configuration file (TOML) naming the database or the spool.
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Convert documents between fax TIFF, PDF and other formats.
    #[command(subcommand)]
    Convert(Convert),
    /// Measure the fax engine and document conversion against reference tools.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(Bench),
    /// Send documents as a fax over a SIP call.
    Dial(faxbridge::tools::dial::DialArgs),
    /// Receive faxes over SIP into a directory.
    Answer(faxbridge::tools::answer::AnswerArgs),
    /// Queue documents as a fax; the running daemon sends it.
    Send(faxbridge::tools::send::SendArgs),
    /// List, show, cancel or retry queued faxes.
    Jobs(faxbridge::tools::jobs::JobsArgs),
    /// PCI-DSS report of card payment lines, and acknowledgements.
    Pci(faxbridge::tools::pci::PciArgs),
    /// Queue one mail message from standard input as faxes (for a mail
    /// server's pipe transport); exits with sysexits codes on refusal.
    Submit(faxbridge::tools::submit::SubmitArgs),
    /// Show the ATAs and their ports: role, owner, line state, registration.
    Lines(faxbridge::tools::lines::LinesArgs),
    /// Start the daemon on the embedded default and fax it a sample page:
    /// the PDF email lands in the local Maildir.
    Demo(faxbridge::tools::demo::DemoArgs),
    /// Print an Argon2id password hash for [[web.accounts]] or
    /// [[intake.smtp.accounts]] password_hash: asks twice without echo on a
    /// terminal, else reads one line from standard input.
    Passwd(faxbridge::tools::passwd::PasswdArgs),
    /// Render or read one PDF for the daemon, within memory and CPU limits
    /// (started by faxbridge itself).
    #[command(name = "document-worker", hide = true)]
    DocumentWorker,
}

#[derive(Subcommand)]
enum Convert {
    /// A received fax TIFF (T.4/T.6) to PDF, without re-encoding the pages.
    ToPdf {
        /// Fax TIFF to read.
        input: PathBuf,
        /// PDF to write.
        output: PathBuf,
        /// Also write a PNG thumbnail of page 1 here.
        #[arg(long)]
        thumbnail: Option<PathBuf>,
    },
    /// PDF, PNG, JPEG, GIF, TIFF or plain text to a TIFF-F ready to fax.
    ToFax(ToFax),
}

#[derive(Args)]
struct ToFax {
    /// Documents to render, in order; the last path is the TIFF to write.
    #[arg(required = true, num_args = 2..)]
    paths: Vec<PathBuf>,
    /// Fine resolution, 204x196 dpi (the default).
    #[arg(long, conflicts_with = "standard")]
    fine: bool,
    /// Standard resolution, 204x98 dpi (half the data, coarser text).
    #[arg(long)]
    standard: bool,
    /// Paper size.
    #[arg(long, value_enum, default_value = "a4")]
    paper: PaperArg,
    /// Configuration file whose [documents] limits apply.
    #[arg(short, long)]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PaperArg {
    A4,
    Letter,
}

#[cfg(feature = "bench")]
#[derive(Subcommand)]
enum Bench {
    /// CPU cost of the fax engine per second of fax, G.711 and T.38.
    Engine {
        /// Seconds of fax audio to process per measurement.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
    },
    /// TIFF to PDF vs tiff2pdf, and PDF to fax vs Ghostscript.
    Docs {
        /// Directory for the benchmark's files (default: a temporary one).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Concurrent fax receptions by the daemon: CPU and memory per channel,
    /// end-of-call to email latency.
    Channels(faxbridge::bench::channels::ChannelsArgs),
    /// Email-to-fax intake over SMTP: messages/s and intake-to-queued latency.
    Intake(faxbridge::bench::intake::IntakeArgs),
    /// Concurrent bridged G.711 calls through the analogue bridge with the
    /// classifier listening: CPU and memory per call, packet loss.
    Bridge(faxbridge::bench::bridge::BridgeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("faxbridge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        // Standard output carries the reply; nothing else may write there.
        Command::DocumentWorker => Ok(docs::render::worker::serve()),
        Command::Run { config } => {
            let path = config_path(config.as_deref());
            let config = load_config(path.as_deref())?;
            init_service_logging(&config.general.log);
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            runtime.block_on(faxbridge::daemon::run(config, path))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(config) => {
                for w in config.warnings() {
                    println!("warning: {w}");
                }
                println!("{}: OK", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Migrate { config } => {
            let config = load_config(config.as_deref())?;
            init_logging("warn");
            let spool = config.general.spool_dir.clone();
            let database = config.store.describe(&spool);
            if config.store.url.is_none() {
                faxbridge::daemon::prepare_spool(&spool)?;
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let (version, applied) = runtime.block_on(async {
                let store = config.store.open(&spool).await?;
                let version = store.schema_version().await;
                store.close().await;
                anyhow::Ok(version?)
            })?;
            println!("{database}: schema version {version}, {applied} migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Convert(Convert::ToPdf {
            input,
            output,
            thumbnail,
        }) => {
            let report = docs::convert_to_pdf_with(&input, &output, docs::Durability::Atomic)
                .with_context(|| format!("converting {}", input.display()))?;
            if let Some(thumb) = thumbnail {
                docs::thumbnail_png(&input, &thumb)
                    .with_context(|| format!("thumbnail of {}", input.display()))?;
            }
            println!("{}: {report}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Convert(Convert::ToFax(args)) => {
            let config = load_config(args.config.as_deref())?;
            let (output, inputs) = args.paths.split_last().expect("clap requires two paths");
            let resolution = if args.standard {
                Resolution::Standard
            } else if args.fine {
                Resolution::Fine
            } else {
                config.documents.resolution
            };
            let opts = RenderOptions {
                paper: match args.paper {
                    PaperArg::A4 => Paper::A4,
                    PaperArg::Letter => Paper::Letter,
                },
                // PDFs are rendered in worker processes held to the limits.
                workers: docs::render::worker::this_program()
                    .map(|exe| config.documents.workers(exe)),
                ..config.documents.render_options(resolution)
            };
            let report = docs::convert_to_fax(inputs, output, &opts)?;
            println!("{}: {report}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "bench")]
        Command::Bench(Bench::Intake(args)) => {
            init_logging("warn");
            faxbridge::bench::intake::run_cli(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "bench")]
        Command::Bench(Bench::Bridge(args)) => {
            init_logging("warn");
            faxbridge::bench::bridge::run_cli(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "bench")]
        Command::Bench(Bench::Channels(args)) => {
            init_logging("warn");
            faxbridge::bench::channels::run_cli(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "bench")]
        Command::Bench(Bench::Engine { seconds }) => {
            faxbridge::bench::engine::run_cli(seconds)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "bench")]
        Command::Bench(Bench::Docs { work_dir }) => {
            faxbridge::bench::docs::run_cli(work_dir.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dial(args) => {
            init_logging("warn");
            Ok(faxbridge::tools::dial::run_cli(args)?)
        }
        Command::Answer(args) => {
            init_logging("warn");
            Ok(faxbridge::tools::answer::run_cli(args)?)
        }
        Command::Send(args) => {
            let config = load_config(args.config.as_deref())?;
            init_logging("warn");
            Ok(faxbridge::tools::send::run_cli(args, &config)?)
        }
        Command::Demo(args) => {
            init_service_logging("faxbridge=info,warn");
            faxbridge::tools::demo::run_cli(args)
        }
        Command::Submit(args) => {
            let config = match load_config(args.config.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("faxbridge submit: {e}");
                    return Ok(ExitCode::from(faxbridge::tools::submit::EX_CONFIG));
                }
            };
            // Standard output carries the job ids for the mail server.
            init_logging("off");
            Ok(faxbridge::tools::submit::run_cli(args, &config))
        }
        Command::Jobs(args) => {
            let config = load_config(args.config.as_deref())?;
            init_logging("warn");
            Ok(faxbridge::tools::jobs::run_cli(args, &config)?)
        }
        Command::Pci(args) => {
            let config = load_config(args.config.as_deref())?;
            init_logging("warn");
            Ok(faxbridge::tools::pci::run_cli(args, &config)?)
        }
        Command::Passwd(args) => Ok(faxbridge::tools::passwd::run_cli(args)?),
        Command::Lines(args) => {
            let config = load_config(args.config.as_deref())?;
            // The table already shows every problem; log lines would only
            // mix into it (and into --format json) on stdout.
            init_logging("off");
            Ok(faxbridge::tools::lines::run_cli(args, &config)?)
        }
    }
}

/// The configuration file given, else `/etc/faxbridge/faxbridge.toml` when it
/// exists, else none (the embedded default).
fn config_path(given: Option<&Path>) -> Option<PathBuf> {
    let system = Path::new("/etc/faxbridge/faxbridge.toml");
    match given {
        Some(p) => Some(p.to_path_buf()),
        None if system.exists() => Some(system.to_path_buf()),
        None => None,
    }
}

/// Load the configuration file given (or the system one), else the embedded default.
fn load_config(given: Option<&Path>) -> anyhow::Result<Config> {
    match config_path(given) {
        Some(p) => Ok(Config::load(&p)?),
        None => Ok(Config::embedded_default()),
    }
}

/// Logging for the daemon (`run`, `demo`): the service log on standard
/// output, which systemd hands to journald. Colour only on a terminal (and
/// not with `NO_COLOR`), so a log file or the journal holds plain text. The
/// SIP library logs every packet in full at `info` (digest responses
/// included): it is held to `warn` unless the filter names it (e.g.
/// `log = "info,rsipstack=debug"` for a SIP trace).
fn init_service_logging(filter: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| filter.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(service_filter(&filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rsipstack=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_wanted())
        .init();
}

/// The daemon's log filter: `filter` with the SIP library held to `warn`
/// unless `filter` says otherwise.
fn service_filter(filter: &str) -> String {
    if filter.contains("rsipstack") {
        filter.to_string()
    } else {
        format!("{filter},rsipstack=warn")
    }
}

/// Colour in the log: on a terminal, unless `NO_COLOR` is set
/// (<https://no-color.org>).
fn colour_wanted() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Logging for the command-line tools: warnings go to standard error, so
/// that standard output carries only the command's result (a T.30 report,
/// job ids, a benchmark table) for scripts and mail servers to read.
fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sip_library_is_held_to_warnings_unless_named() {
        assert_eq!(super::service_filter("info"), "info,rsipstack=warn");
        assert_eq!(
            super::service_filter("faxbridge::fax=debug,info"),
            "faxbridge::fax=debug,info,rsipstack=warn"
        );
        assert_eq!(
            super::service_filter("info,rsipstack=debug"),
            "info,rsipstack=debug"
        );
    }
}
