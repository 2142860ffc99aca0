//! `faxbridge passwd`: make the password hash for an account in the
//! configuration (`[[web.accounts]]`, `[[intake.smtp.accounts]]`).
//!
//! On a terminal the password is asked for twice without echo (on
//! `/dev/tty`, so it is never in the shell history or the process list);
//! otherwise one line is read from standard input, for scripts:
//! `printf '%s\n' "$PW" | faxbridge passwd`. The hash, an Argon2id PHC
//! string ([`crate::password::hash_password`]), is the only thing printed
//! on standard output.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use crate::password::hash_password;

/// Command-line arguments of `faxbridge passwd`.
#[derive(Debug, clap::Args)]
pub struct PasswdArgs {}

/// Why no hash was printed.
#[derive(Debug, thiserror::Error)]
pub enum PasswdError {
    /// The terminal or standard input could not be read.
    #[error("cannot read the password: {0}")]
    Read(std::io::Error),
    /// The two entries differ.
    #[error("the two passwords differ; nothing was printed, run faxbridge passwd again")]
    Mismatch,
    /// Standard input ended before a line.
    #[error(
        "no password on standard input; give it as one line, e.g. printf '%s\\n' \"$PASSWORD\" | faxbridge passwd"
    )]
    NoInput,
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] crate::password::HashError),
    /// The hash could not be written.
    #[error("cannot write the hash: {0}")]
    Write(std::io::Error),
}

/// The password from one line of `input`: the line ending (LF or CRLF) is
/// not part of it; anything else, spaces included, is.
pub fn password_from_line(input: &mut impl BufRead) -> Result<String, PasswdError> {
    let mut line = String::new();
    let n = input.read_line(&mut line).map_err(PasswdError::Read)?;
    if n == 0 {
        return Err(PasswdError::NoInput);
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(line)
}

/// Ask on the terminal, twice, without echo.
fn prompt() -> Result<String, PasswdError> {
    let first = rpassword::prompt_password("Password: ").map_err(PasswdError::Read)?;
    let again = rpassword::prompt_password("Again: ").map_err(PasswdError::Read)?;
    if first != again {
        return Err(PasswdError::Mismatch);
    }
    Ok(first)
}

/// `faxbridge passwd`.
pub fn run_cli(_args: PasswdArgs) -> Result<ExitCode, PasswdError> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        prompt()?
    } else {
        password_from_line(&mut stdin.lock())?
    };
    let hash = hash_password(password.as_bytes())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{hash}")
        .and_then(|()| out.flush())
        .map_err(PasswdError::Write)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_is_the_password_without_its_line_ending() {
        let read = |s: &str| password_from_line(&mut std::io::Cursor::new(s.as_bytes().to_vec()));
        assert_eq!(read("secret\n").unwrap(), "secret");
        assert_eq!(read("secret\r\n").unwrap(), "secret");
        assert_eq!(read("two words \n").unwrap(), "two words ");
        assert_eq!(read("no newline").unwrap(), "no newline");
        assert_eq!(read("first\nsecond\n").unwrap(), "first");
        assert_eq!(read("\n").unwrap(), "");
        assert!(matches!(read(""), Err(PasswdError::NoInput)));
    }
}
