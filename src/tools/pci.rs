//! `faxbridge pci`: the PCI-DSS report and acknowledgements for operators
//! and finance.
//!
//! `report [--format csv|json|html]` prints every flagged line with its
//! requirements, evidence and the classifier's confidence (JSON and HTML
//! also list the lines only suspected of carrying a card terminal, which
//! are not findings); `calls [--limit N]` prints the latest bridged
//! calls of the ATA ports with the classifier's verdict (JSON); `ack FLAG_ID --by NAME --note TEXT` records an
//! acknowledgement. Acknowledging appends to the flag's history and never
//! removes anything; there is no command to delete a flag. Both work on the
//! store directly, beside a running daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::compliance::report;
use crate::compliance::{ComplianceStore, ComplianceStoreError};
use crate::config::Config;
use crate::store::StoreError;

/// Output format of `faxbridge pci report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One line per flag, for spreadsheets.
    Csv,
    /// A JSON document, for other tools.
    Json,
    /// A standalone web page for finance.
    Html,
}

/// What `faxbridge pci` does.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum PciCommand {
    /// Print the flagged lines with requirements, evidence and confidence
    /// (JSON and HTML also list suspected lines, which are not findings).
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
    },
    /// Print the latest bridged calls with what the classifier heard (JSON).
    Calls {
        /// How many calls, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Acknowledge a flag (kept in its history; flags are never deleted).
    Ack {
        /// The flag's id, as printed by `pci report`.
        flag_id: String,
        /// Who acknowledges.
        #[arg(long)]
        by: String,
        /// What is being done about it.
        #[arg(long)]
        note: String,
    },
}

/// Command-line arguments of `faxbridge pci`.
#[derive(Debug, clap::Args)]
pub struct PciArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PciCommand,
    /// Configuration file (TOML) naming the spool.
    #[arg(short, long, global = true)]
    pub config: Option<PathBuf>,
}

/// Why a `faxbridge pci` command failed.
#[derive(Debug, thiserror::Error)]
pub enum PciToolError {
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A compliance query failed.
    #[error(transparent)]
    Compliance(#[from] ComplianceStoreError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

use crate::clock::now_ms;

/// Run `faxbridge pci` and print its output.
pub fn run_cli(args: PciArgs, config: &Config) -> Result<ExitCode, PciToolError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(PciToolError::Runtime)?;
    rt.block_on(async {
        let store = config.store.open(&config.general.spool_dir).await?;
        let pci = ComplianceStore::new(store.clone());
        let result = match args.command {
            PciCommand::Report { format } => {
                let flags = pci.list().await?;
                let suspected = pci.suspected_lines().await?;
                let now = now_ms();
                let text = match format {
                    ReportFormat::Csv => report::csv(&flags),
                    ReportFormat::Json => report::json(&flags, &suspected, now),
                    ReportFormat::Html => report::html(&flags, &suspected, now),
                };
                print!("{text}");
                ExitCode::SUCCESS
            }
            PciCommand::Calls { limit } => {
                print!("{}", report::calls_json(&pci.calls(limit).await?, now_ms()));
                ExitCode::SUCCESS
            }
            PciCommand::Ack { flag_id, by, note } => {
                pci.acknowledge(&flag_id, &by, &note, now_ms()).await?;
                println!("{flag_id}: acknowledged by {by}");
                ExitCode::SUCCESS
            }
        };
        store.close().await;
        Ok(result)
    })
}
