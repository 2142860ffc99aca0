//! `faxbridge jobs`: the outgoing fax queue for operators.
//!
//! `list` prints one line per job (state, destination, pages, attempts, next
//! attempt, last cause), `show ID` the job with its attempts and history,
//! `cancel ID` stops a waiting job and `retry ID` makes a deferred, failed
//! or cancelled job due at once with a fresh retry budget. The commands work
//! on the store directly, beside a running daemon: its worker sees a retried
//! job at its next look at the queue.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::send::{QueueToolError, open_jobs};
use crate::clock::now_ms;
use crate::config::Config;
use crate::queue::{JobDetail, JobState, JobSummary, ListFilter, Millis};

/// What `faxbridge jobs` does.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum JobsCommand {
    /// One line per job, newest first.
    List {
        /// Only jobs in these states (queued, dialling, sending, done,
        /// failed, deferred, cancelled).
        #[arg(long = "state")]
        states: Vec<String>,
        /// At most this many jobs (0: all).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// A job with its attempts and history.
    Show {
        /// The job's id.
        id: String,
    },
    /// Cancel a waiting (queued or deferred) job.
    Cancel {
        /// The job's id.
        id: String,
    },
    /// Make a deferred, failed or cancelled job due now.
    Retry {
        /// The job's id.
        id: String,
    },
}

/// Command-line arguments of `faxbridge jobs`.
#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// What to do (default: list).
    #[command(subcommand)]
    pub command: Option<JobsCommand>,
    /// Configuration file (TOML) naming the spool.
    #[arg(short, long, global = true)]
    pub config: Option<PathBuf>,
}

use crate::clock::format_utc;

/// When the job will be tried next, relative to `now`.
fn next_attempt(state: &JobState, now: Millis) -> String {
    match state {
        JobState::Queued => "now".into(),
        JobState::Deferred { next_attempt, .. } => {
            let secs = (next_attempt - now).max(0) / 1000;
            if secs == 0 {
                "now".into()
            } else if secs < 120 {
                format!("in {secs} s")
            } else if secs < 7200 {
                format!("in {} min", secs / 60)
            } else {
                format!("in {} h", secs / 3600)
            }
        }
        _ => "-".into(),
    }
}

/// Why the last attempt failed, or why the job stopped.
fn last_cause(state: &JobState) -> String {
    match state {
        JobState::Deferred { last_cause, .. } => last_cause.to_string(),
        JobState::Failed { reason } => reason.clone(),
        _ => "-".into(),
    }
}

/// The job table.
pub fn format_list(jobs: &[JobSummary], now: Millis) -> String {
    let mut out = format!(
        "{:<26} {:<10} {:<16} {:>7} {:>8}  {:<10} {}\n",
        "ID", "STATE", "TO", "PAGES", "ATTEMPTS", "NEXT", "LAST CAUSE"
    );
    for j in jobs {
        let _ = writeln!(
            out,
            "{:<26} {:<10} {:<16} {:>7} {:>8}  {:<10} {}",
            j.id,
            j.state.name(),
            j.destination,
            format!("{}/{}", j.pages_confirmed, j.pages_total),
            j.attempts,
            next_attempt(&j.state, now),
            last_cause(&j.state)
        );
    }
    out
}

/// One job with its attempts and history.
pub fn format_detail(d: &JobDetail, now: Millis) -> String {
    let j = &d.job;
    let mut out = String::new();
    let _ = writeln!(out, "job:          {}", j.id);
    let _ = writeln!(out, "state:        {}", j.state.name());
    if let Some(cause) = Some(last_cause(&j.state)).filter(|c| c != "-") {
        let _ = writeln!(out, "last cause:   {cause}");
    }
    let _ = writeln!(out, "next attempt: {}", next_attempt(&j.state, now));
    let _ = writeln!(out, "to:           {}", j.destination);
    let _ = writeln!(out, "route:        {}", j.route);
    let _ = writeln!(out, "document:     {}", j.document);
    let _ = writeln!(
        out,
        "pages:        {} of {} confirmed",
        j.pages_confirmed, j.pages_total
    );
    let _ = writeln!(out, "submitter:    {}", j.submitter);
    let _ = writeln!(out, "created:      {}", format_utc(j.created));
    if let Some(f) = j.finished {
        let _ = writeln!(out, "finished:     {}", format_utc(f));
    }
    let _ = writeln!(out, "attempts:     {}", j.attempts);
    for a in &d.attempts {
        let mut line = format!(
            "  #{} {} planned {} from page {}",
            a.number,
            format_utc(a.started),
            a.planned,
            a.first_page
        );
        if let Some(s) = a.sip_status {
            let _ = write!(line, ", SIP {s}");
        }
        if let Some(t) = &a.t30_text {
            let _ = write!(line, ", {t}");
        }
        if let Some(t) = a.transport {
            let _ = write!(line, ", via {}", t.as_str());
        }
        let _ = write!(line, ", {} page(s) confirmed", a.pages_confirmed);
        match (a.ended, a.success, a.cause) {
            (None, _, _) => line.push_str(", in progress"),
            (Some(_), true, _) => line.push_str(", success"),
            (Some(_), false, Some(c)) => {
                let _ = write!(line, ", cause {c}");
            }
            (Some(_), false, None) => line.push_str(", failed"),
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "history:");
    for e in &d.events {
        let _ = writeln!(
            out,
            "  {} {} -> {}: {}",
            format_utc(e.at),
            e.from.as_deref().unwrap_or("-"),
            e.to,
            e.detail
        );
    }
    out
}

/// Run one `faxbridge jobs` command and return what to print.
pub async fn run(config: &Config, command: &JobsCommand) -> Result<String, QueueToolError> {
    let jobs = open_jobs(config).await?;
    let by = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let now = now_ms();
    let out = match command {
        JobsCommand::List { states, limit } => {
            let list = jobs
                .list(&ListFilter {
                    states: states.clone(),
                    limit: *limit,
                })
                .await?;
            format_list(&list, now)
        }
        JobsCommand::Show { id } => format_detail(&jobs.job(id).await?, now),
        JobsCommand::Cancel { id } => {
            format!("{id}: {}\n", jobs.cancel(id, &by, now).await?)
        }
        JobsCommand::Retry { id } => {
            format!("{id}: {}\n", jobs.retry_now(id, &by, now).await?)
        }
    };
    jobs.store().close().await;
    Ok(out)
}

/// `faxbridge jobs` with a loaded configuration.
pub fn run_cli(args: JobsArgs, config: &Config) -> Result<ExitCode, QueueToolError> {
    let command = args.command.unwrap_or(JobsCommand::List {
        states: Vec::new(),
        limit: 50,
    });
    let runtime = tokio::runtime::Runtime::new().map_err(QueueToolError::Runtime)?;
    print!("{}", runtime.block_on(run(config, &command))?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Cause;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(format_utc(1_795_606_822_000), "2026-11-25 11:40:22Z");
    }

    #[test]
    fn next_attempt_and_cause_columns() {
        let d = JobState::Deferred {
            next_attempt: 61_000,
            last_cause: Cause::Network,
        };
        assert_eq!(next_attempt(&d, 1_000), "in 60 s");
        assert_eq!(next_attempt(&d, 90_000), "now");
        assert_eq!(last_cause(&d), "network");
        assert_eq!(next_attempt(&JobState::Done, 0), "-");
        assert_eq!(
            last_cause(&JobState::Failed {
                reason: "bad number".into()
            }),
            "bad number"
        );
    }
}
