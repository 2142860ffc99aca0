//! `faxbridge submit`: take one mail message on standard input and queue it
//! as faxes, for a mail server's pipe transport.
//!
//! The site's mail server (Postfix `pipe`, Exim `pipe` transport, sendmail
//! `prog` mailer) delivers fax mail by running, e.g.
//!
//! ```text
//! faxbridge submit --config /etc/faxbridge/faxbridge.toml --from ${sender} -- ${recipient}
//! ```
//!
//! with the message on standard input. The message goes through the same
//! intake pipeline as mail arriving over SMTP ([`crate::intake::Intake`]),
//! with the sender trusted as a local submission (whoever can run the
//! command administers the host) but still checked against
//! `[intake.senders] allowed`. The queued job ids are printed one per line.
//!
//! A refusal is printed on standard error (reason and advice) and the exit
//! status follows `<sysexits.h>`, which mail servers turn into a bounce
//! carrying that text or a later retry: 65 `EX_DATAERR` (the message cannot
//! be faxed as it is), 67 `EX_NOUSER` (not a fax address), 77 `EX_NOPERM`
//! (policy: sender, destination, card number), 75 `EX_TEMPFAIL` (try again
//! later: allowance, local failure), 78 `EX_CONFIG` (the gateway is not
//! configured to send).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use mail_parser::MessageParser;

use crate::config::Config;
use crate::intake::{Intake, Origin, Refusal, Sender, Submitted};

/// `<sysexits.h>` EX_DATAERR: the input data was incorrect.
pub const EX_DATAERR: u8 = 65;
/// `<sysexits.h>` EX_NOUSER: addressee unknown.
pub const EX_NOUSER: u8 = 67;
/// `<sysexits.h>` EX_TEMPFAIL: temporary failure, the caller should retry.
pub const EX_TEMPFAIL: u8 = 75;
/// `<sysexits.h>` EX_NOPERM: permission denied.
pub const EX_NOPERM: u8 = 77;
/// `<sysexits.h>` EX_CONFIG: configuration error.
pub const EX_CONFIG: u8 = 78;

/// Command-line arguments of `faxbridge submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The envelope sender (the mail server's `${sender}`); default: the
    /// message's From: address.
    #[arg(long = "from")]
    pub from: Option<String>,
    /// A fax recipient, e.g. 01223123456@fax.example.ac.uk (repeatable).
    #[arg(long = "to")]
    pub to: Vec<String>,
    /// More fax recipients. With none at all, the message's To: and Cc:
    /// addresses at the fax domains are used.
    pub recipients: Vec<String>,
    /// Configuration file (TOML): spool, `[outgoing]`, `[intake]`, `[documents]`.
    #[arg(short, long)]
    pub config: Option<PathBuf>,
}

/// The exit status for a refusal, from its RFC 3463 enhanced status code.
pub fn exit_code(r: &Refusal) -> u8 {
    let mut fields = r.enhanced.split('.');
    let class = fields.next().unwrap_or("5");
    let subject = fields.next().unwrap_or("0");
    let detail = fields.next().unwrap_or("0");
    match (class, subject, detail) {
        // X.3.5: system incorrectly configured.
        (_, "3", "5") => EX_CONFIG,
        ("4", _, _) => EX_TEMPFAIL,
        (_, "7", _) => EX_NOPERM,
        (_, "1", _) => EX_NOUSER,
        _ if r.is_temporary() => EX_TEMPFAIL,
        _ => EX_DATAERR,
    }
}

/// The fax recipients named in the message's To: and Cc: headers: the
/// addresses whose domain is one of `fax_domains` (others are the sender's
/// business, e.g. a copy to a colleague).
pub fn header_recipients(data: &[u8], fax_domains: &[String]) -> Vec<String> {
    let Some(msg) = MessageParser::default().parse_headers(data) else {
        return Vec::new();
    };
    msg.to()
        .into_iter()
        .flat_map(|a| a.iter())
        .chain(msg.cc().into_iter().flat_map(|a| a.iter()))
        .filter_map(|a| match (a.name(), a.address()) {
            // mail-parser takes the quoted local part of `"01223 123456"@fax…`
            // (RFC 5322 §3.4.1 quoted-string) for a display name and keeps
            // only `@fax…`; put it back.
            (Some(name), Some(addr)) if addr.starts_with('@') => Some(format!(
                "\"{}\"{addr}",
                name.replace('\\', "\\\\").replace('"', "\\\"")
            )),
            (_, Some(addr)) => Some(addr.to_string()),
            _ => None,
        })
        .filter(|addr| {
            addr.rsplit_once('@').is_some_and(|(_, d)| {
                let d = d.trim_end_matches('.');
                fax_domains
                    .iter()
                    .any(|f| f.trim_end_matches('.').eq_ignore_ascii_case(d))
            })
        })
        .collect()
}

/// The From: address of the message, if it has one.
fn header_from(data: &[u8]) -> Option<String> {
    let msg = MessageParser::default().parse_headers(data)?;
    msg.from()?.first()?.address().map(String::from)
}

/// The largest message read from standard input: the document size limit
/// with room for base64 (4/3) and the text around it.
fn input_limit(config: &Config) -> u64 {
    config
        .documents
        .max_input_bytes
        .saturating_mul(3)
        .saturating_div(2)
        .saturating_add(1 << 20)
}

/// Run the pipeline for one message: the library entry of `faxbridge submit`.
pub async fn submit(
    config: &Config,
    from: Option<&str>,
    recipients: &[String],
    data: Vec<u8>,
) -> Result<Submitted, Refusal> {
    let address = match from {
        Some(f) => f.to_string(),
        None => header_from(&data).ok_or_else(|| {
            Refusal::new(
                554,
                "5.5.1",
                "The message has no sender: neither --from nor a From: header gives one.",
                "Make the mail server pass the envelope sender with --from.",
            )
        })?,
    };
    let recipients: Vec<String> = if recipients.is_empty() {
        header_recipients(&data, &config.intake.fax_domains)
    } else {
        recipients.to_vec()
    };
    let jobs = crate::tools::send::open_jobs(config).await.map_err(|e| {
        Refusal::new(
            451,
            "4.3.0",
            {
                tracing::error!("cannot open the fax queue: {e}");
                "The fax queue cannot be opened.".to_string()
            },
            "The mail server will try again; tell the fax administrator if this persists.",
        )
    })?;
    let workers =
        crate::docs::render::worker::this_program().map(|exe| config.documents.workers(exe));
    let intake = Intake::with_workers(config.intake_settings(), jobs.clone(), None, workers);
    let sender = Sender {
        address,
        origin: Origin::Local,
    };
    let result = intake.submit(&sender, &recipients, data).await;
    jobs.store().close().await;
    result
}

/// `faxbridge submit` with a loaded configuration.
pub fn run_cli(args: SubmitArgs, config: &Config) -> ExitCode {
    let limit = input_limit(config);
    let mut data = Vec::new();
    if let Err(e) = std::io::stdin()
        .lock()
        .take(limit.saturating_add(1))
        .read_to_end(&mut data)
    {
        eprintln!("faxbridge submit: cannot read the message from standard input: {e}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    if data.len() as u64 > limit {
        eprintln!(
            "faxbridge submit: 552 5.3.4 The message is larger than {limit} bytes, the most this fax gateway takes.\nSend smaller documents, or fewer at a time."
        );
        return ExitCode::from(EX_DATAERR);
    }
    let mut recipients = args.to;
    recipients.extend(args.recipients);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faxbridge submit: cannot start the async runtime: {e}");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    match runtime.block_on(submit(config, args.from.as_deref(), &recipients, data)) {
        Ok(done) => {
            for job in &done.jobs {
                println!("{}", job.id);
            }
            for s in &done.skipped {
                eprintln!("faxbridge submit: not faxed: {}: {}", s.name, s.reason);
            }
            ExitCode::SUCCESS
        }
        Err(r) => {
            eprintln!(
                "faxbridge submit: {} {} {}\n{}",
                r.code, r.enhanced, r.reason, r.advice
            );
            ExitCode::from(exit_code(&r))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16, enhanced: &'static str) -> Refusal {
        Refusal::new(code, enhanced, "", "")
    }

    #[test]
    fn refusals_map_to_sysexits() {
        for (code, enhanced, exit) in [
            (550, "5.7.1", EX_NOPERM),
            (530, "5.7.0", EX_NOPERM),
            (550, "5.1.1", EX_NOUSER),
            (553, "5.1.3", EX_NOUSER),
            (554, "5.6.0", EX_DATAERR),
            (554, "5.6.1", EX_DATAERR),
            (552, "5.3.4", EX_DATAERR),
            (554, "5.5.1", EX_DATAERR),
            (451, "4.7.1", EX_TEMPFAIL),
            (451, "4.3.0", EX_TEMPFAIL),
            (451, "4.3.5", EX_CONFIG),
            (550, "5.3.5", EX_CONFIG),
        ] {
            assert_eq!(exit_code(&r(code, enhanced)), exit, "{code} {enhanced}");
        }
    }

    #[test]
    fn header_recipients_keep_only_fax_domains() {
        let raw = b"From: a@example.ac.uk\r\n\
            To: Accounts <01223123456@FAX.example.ac.uk>, colleague@example.ac.uk\r\n\
            Cc: 01223654321^nocover@fax.example.ac.uk, x@fax.example.ac.uk.evil.example,\r\n \"+44 1223 777888\"@fax.example.ac.uk\r\n\
            Subject: s\r\n\r\nbody\r\n";
        let got = header_recipients(raw, &["fax.example.ac.uk".to_string()]);
        assert_eq!(
            got,
            [
                "01223123456@FAX.example.ac.uk",
                "01223654321^nocover@fax.example.ac.uk",
                "\"+44 1223 777888\"@fax.example.ac.uk"
            ]
        );
        assert_eq!(header_from(raw).as_deref(), Some("a@example.ac.uk"));
        assert!(header_recipients(b"", &["fax.example.ac.uk".to_string()]).is_empty());
    }
}
