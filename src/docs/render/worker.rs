//! PDFs rendered and read in worker processes that the kernel holds to
//! their limits, and that are killed when the time is up.
//!
//! hayro cannot be interrupted inside a page, and a hostile PDF has many
//! ways to cost memory that no check ahead can see all of (a font program,
//! an image codec, one path of a billion segments, the renderer's own
//! buffers). A thread left drawing such a page after its document was given
//! up runs on, and a second document doubles the damage; an allocation
//! that fails aborts the whole daemon, calls in progress with it. So each
//! PDF job (rendering it, or reading its text for the card-number guard)
//! runs in a child process of the same binary (`faxbridge document-worker`,
//! [`serve`]), which before reading any input limits itself
//! (`setrlimit`: `RLIMIT_DATA` to the document's memory share, `RLIMIT_CPU`
//! to its time limit over all cores, no core dumps) and exits by itself
//! at its deadline. The daemon kills it at the deadline too and reaps it:
//! when a document is abandoned, everything working on it stops at once.
//!
//! Memory for document work is a budget ([`Workers`]): a worker starts
//! only when its memory share fits in what the workers already running
//! leave, so two hostile documents at once cannot take twice the memory
//! one may, and the total never exceeds `[documents] memory_budget_bytes`.
//!
//! The protocol: a JSON request line then the document's bytes on the
//! worker's standard input; a JSON reply line, then for rendered pages
//! their packed rows, on its standard output.

use std::io::{BufRead, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::preflight::{Limits, size_text};
use super::{Paper, RenderOptions};
use crate::docs::{DocError, Page, Resolution};

/// The program to start workers from: this very binary. `/proc/self/exe`
/// names it even after a package upgrade has replaced the file, so a
/// daemon always starts workers that speak its own protocol.
pub fn this_program() -> Option<PathBuf> {
    let proc_exe = PathBuf::from("/proc/self/exe");
    if proc_exe.exists() {
        return Some(proc_exe);
    }
    std::env::current_exe().ok()
}

/// The hidden subcommand that runs [`serve`].
pub const WORKER_COMMAND: &str = "document-worker";
/// Exit status of a worker that stopped itself at its deadline.
const EXIT_DEADLINE: i32 = 124;
/// Longest request line accepted.
const MAX_REQUEST_LINE: u64 = 64 * 1024;
/// Standard error kept from a worker, for the log.
const MAX_STDERR: u64 = 16 * 1024;
/// Grace after the deadline before the worker stops itself (the daemon
/// kills it at the deadline; this is for a daemon that went away).
const SELF_STOP_GRACE: Duration = Duration::from_secs(2);

/// What a worker is asked to do.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Job {
    /// Render every page onto the fax grid.
    Render {
        resolution: Resolution,
        paper: Paper,
        /// Pages the document may have (job-wide limit less earlier documents).
        room: usize,
        pages_so_far: usize,
        max_pages: usize,
    },
    /// Read the text shown, for the card-number guard.
    Text,
}

/// The request line.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Request {
    job: Job,
    what: String,
    limits: Limits,
    /// The time limit, in milliseconds; `None` for none.
    timeout_ms: Option<u64>,
    /// Bytes of memory the worker may use (`RLIMIT_DATA`).
    memory: u64,
}

/// One rendered page's header; its rows follow the reply line.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct PageHead {
    width: u32,
    height: u32,
    x_dpi: f32,
    y_dpi: f32,
}

/// The reply line.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Reply {
    Pages(Vec<PageHead>),
    Text(String),
    Refused(DocError),
}

/// Memory shared by the documents being worked on at once.
#[derive(Debug)]
struct Budget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// A share of the [`Budget`], given back on drop.
struct Share<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    /// Wait until `bytes` fit (until `until` at the latest; `None` when
    /// they did not fit in time).
    fn take(&self, bytes: u64, until: Option<Instant>) -> Option<Share<'_>> {
        let bytes = bytes.min(self.total);
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used + bytes > self.total {
            match until {
                None => used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner()),
                Some(t) => {
                    let left = t.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    used = self
                        .freed
                        .wait_timeout(used, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        *used += bytes;
        Some(Share {
            budget: self,
            bytes,
        })
    }

    fn in_use(&self) -> u64 {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// Worker processes for PDF work, sharing one memory budget: one of these
/// per daemon (or command), in [`RenderOptions::workers`].
#[derive(Debug)]
pub struct Workers {
    exe: PathBuf,
    memory: u64,
    budget: Budget,
}

impl PartialEq for Workers {
    fn eq(&self, other: &Self) -> bool {
        self.exe == other.exe
            && self.memory == other.memory
            && self.budget.total == other.budget.total
    }
}

impl Workers {
    /// Workers started from `exe` (this program: [`this_program`]),
    /// each limited to `memory_per_document` bytes, all together to
    /// `memory_budget` bytes.
    pub fn new(exe: PathBuf, memory_per_document: u64, memory_budget: u64) -> Arc<Workers> {
        Arc::new(Workers {
            exe,
            memory: memory_per_document,
            budget: Budget {
                total: memory_budget.max(memory_per_document),
                used: Mutex::new(0),
                freed: Condvar::new(),
            },
        })
    }

    /// Render a PDF's pages in a worker.
    pub(crate) fn render(
        &self,
        data: &[u8],
        what: &str,
        opts: &RenderOptions,
        room: usize,
        pages_so_far: usize,
    ) -> Result<Vec<Page>, DocError> {
        let job = Job::Render {
            resolution: opts.resolution,
            paper: opts.paper,
            room,
            pages_so_far,
            max_pages: opts.max_pages,
        };
        let (reply, rest) = self.run(job, data, what, opts)?;
        let Reply::Pages(heads) = reply else {
            return Err(stopped(what));
        };
        let mut pages = Vec::with_capacity(heads.len());
        let mut at = 0usize;
        for h in heads {
            let len = h.width.div_ceil(8) as usize * h.height as usize;
            let Some(bits) = rest.get(at..at + len) else {
                return Err(stopped(what));
            };
            at += len;
            pages.push(Page {
                width: h.width,
                height: h.height,
                x_dpi: h.x_dpi,
                y_dpi: h.y_dpi,
                bits: bits.to_vec(),
            });
        }
        Ok(pages)
    }

    /// Read a PDF's text in a worker.
    pub(crate) fn text(
        &self,
        data: &[u8],
        what: &str,
        opts: &RenderOptions,
    ) -> Result<String, DocError> {
        match self.run(Job::Text, data, what, opts)?.0 {
            Reply::Text(t) => Ok(t),
            _ => Err(stopped(what)),
        }
    }

    /// Run one job: wait for room in the budget, start the worker, feed
    /// it, and take its reply, or kill it at the deadline.
    fn run(
        &self,
        job: Job,
        data: &[u8],
        what: &str,
        opts: &RenderOptions,
    ) -> Result<(Reply, Vec<u8>), DocError> {
        let timeout = opts.render_timeout;
        let waited = Instant::now();
        let Some(_share) = self.budget.take(self.memory, timeout.map(|t| waited + t)) else {
            tracing::warn!(
                document = %what,
                in_use = self.budget.in_use(),
                budget = self.budget.total,
                "document refused for now: other documents hold the whole memory budget"
            );
            return Err(DocError::Busy {
                what: what.to_string(),
                secs: timeout.map_or(0, |t| t.as_secs_f64().ceil() as u64),
            });
        };
        let request = Request {
            job,
            what: what.to_string(),
            limits: Limits::of(opts),
            timeout_ms: timeout.map(|t| t.as_millis() as u64),
            memory: self.memory,
        };
        let mut line = serde_json::to_vec(&request).map_err(|_| stopped(what))?;
        line.push(b'\n');

        let started = Instant::now();
        let deadline = timeout.map(|t| started + t);
        let mut child = Command::new(&self.exe)
            .arg(WORKER_COMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Fewer malloc arenas: less memory held per thread.
            .env("MALLOC_ARENA_MAX", "2")
            .env("RUST_BACKTRACE", "0")
            .spawn()
            .map_err(|e| {
                tracing::error!(exe = %self.exe.display(), "cannot start a document worker: {e}");
                DocError::Render {
                    what: what.to_string(),
                    reason: "the fax server could not start its document renderer".into(),
                }
            })?;
        let pid = child.id();
        let (mut stdin, mut stdout, mut stderr) = (
            child.stdin.take().expect("piped"),
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        // Pages can come to max_pages × a fine page (about 2 MB at most
        // for Letter at 391 lpi); anything beyond is not a reply.
        let max_reply = (opts.max_pages as u64 + 1).saturating_mul(4 << 20);
        let (tx, rx) = mpsc::channel();
        let input = data.to_vec();
        let threads = std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                // A worker that stops early closes the pipe: not an error here.
                let _ = stdin
                    .write_all(&line)
                    .and_then(|()| stdin.write_all(&input));
            });
            let reader = scope.spawn(move || {
                let mut out = Vec::new();
                let _ = (&mut stdout).take(max_reply).read_to_end(&mut out);
                // Anything past the largest possible reply is drained, so the
                // worker never blocks on a full pipe and always exits.
                let _ = std::io::copy(&mut stdout, &mut std::io::sink());
                let _ = tx.send(out);
            });
            let errors = scope.spawn(move || {
                let mut err = Vec::new();
                let _ = (&mut stderr).take(MAX_STDERR).read_to_end(&mut err);
                // Drain the rest so the worker never blocks on a full pipe.
                let _ = std::io::copy(&mut stderr, &mut std::io::sink());
                err
            });
            let received = match deadline {
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            };
            let timed_out = matches!(received, Err(mpsc::RecvTimeoutError::Timeout));
            if timed_out {
                // Our own child, by its handle: it and its threads stop now.
                let _ = child.kill();
            }
            let status = child.wait();
            let _ = writer.join();
            let out = match received {
                Ok(out) => out,
                Err(_) => reader
                    .join()
                    .ok()
                    .and_then(|()| rx.try_recv().ok())
                    .unwrap_or_default(),
            };
            let err = errors.join().unwrap_or_default();
            (timed_out, status, out, err)
        });
        let (timed_out, status, out, err) = threads;
        let took = started.elapsed();
        if timed_out {
            tracing::warn!(
                document = %what, worker = pid, took_ms = took.as_millis() as u64,
                "document work given up at its time limit; the worker was killed"
            );
            return Err(timeout_error(what, timeout));
        }
        if let Some(reply) = parse_reply(&out) {
            tracing::debug!(document = %what, worker = pid, took_ms = took.as_millis() as u64, "document worker finished");
            return match reply {
                (Reply::Refused(e), _) => Err(e),
                r => Ok(r),
            };
        }
        let stderr_text = String::from_utf8_lossy(&err);
        let status = status.ok();
        let signal = status.and_then(|s| s.signal());
        let code = status.and_then(|s| s.code());
        tracing::warn!(
            document = %what, worker = pid, ?signal, ?code, stderr = %stderr_text.trim(),
            "document worker stopped without a reply"
        );
        if stderr_text.contains("memory allocation of") || stderr_text.contains("out of memory") {
            return Err(DocError::MemoryLimit {
                what: what.to_string(),
                limit: size_text(self.memory),
            });
        }
        // SIGXCPU / SIGKILL: the CPU limit; 124: it stopped itself at the deadline.
        if signal == Some(libc::SIGXCPU)
            || signal == Some(libc::SIGKILL)
            || code == Some(EXIT_DEADLINE)
        {
            return Err(timeout_error(what, timeout));
        }
        Err(stopped(what))
    }
}

fn timeout_error(what: &str, timeout: Option<Duration>) -> DocError {
    DocError::RenderTimeout {
        what: what.to_string(),
        secs: timeout.map_or(0, |t| t.as_secs_f64().ceil() as u64),
    }
}

/// A worker that stopped without saying why (the log has the details).
fn stopped(what: &str) -> DocError {
    DocError::Render {
        what: what.to_string(),
        reason: "the renderer stopped on it".into(),
    }
}

/// The reply line and the bytes after it.
fn parse_reply(out: &[u8]) -> Option<(Reply, Vec<u8>)> {
    let nl = out.iter().position(|&b| b == b'\n')?;
    let reply = serde_json::from_slice(&out[..nl]).ok()?;
    Some((reply, out[nl + 1..].to_vec()))
}

impl Limits {
    /// The limits `opts` sets.
    pub(crate) fn of(opts: &RenderOptions) -> Limits {
        Limits {
            stream_bytes: opts.max_decompressed_stream_bytes,
            document_bytes: opts.max_decompressed_bytes,
            page_operators: opts.max_operators_per_page,
            max_pixels: opts.max_pixels,
        }
    }
}

/// Hold this process to `memory` bytes of data and `cpu_secs` of CPU, and
/// make no core dump.
fn limit_self(memory: u64, cpu_secs: Option<u64>) -> std::io::Result<()> {
    use rlimit::Resource;
    // Never above a hard limit set from outside (e.g. by systemd).
    let at_most = |r: Resource, soft: u64, hard: u64| {
        let (_, max) = r.get()?;
        r.set(soft.min(max), hard.min(max))
    };
    at_most(Resource::CORE, 0, 0)?;
    at_most(Resource::DATA, memory, memory)?;
    if let Some(cpu) = cpu_secs {
        // SIGXCPU at the soft limit, SIGKILL at the hard one.
        at_most(Resource::CPU, cpu, cpu + 2)?;
    }
    Ok(())
}

/// The worker's side: read a request on standard input, do it, write the
/// reply on standard output. Run by `faxbridge document-worker`; not for
/// people.
pub fn serve() -> ExitCode {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    if (&mut input)
        .take(MAX_REQUEST_LINE)
        .read_until(b'\n', &mut line)
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    let Ok(request) = serde_json::from_slice::<Request>(&line) else {
        eprintln!(
            "faxbridge document-worker: this command is run by faxbridge itself, not by people"
        );
        return ExitCode::FAILURE;
    };
    let timeout = request.timeout_ms.map(Duration::from_millis);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as u64;
    let cpu = timeout.map(|t| (t.as_secs_f64().ceil() as u64).max(1) * cores.min(4) + 1);
    if let Err(e) = limit_self(request.memory, cpu) {
        eprintln!("faxbridge document-worker: cannot set resource limits: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(t) = timeout {
        // Stop at the deadline even if the daemon that started us is gone.
        let _ = std::thread::Builder::new()
            .name("worker-deadline".into())
            .spawn(move || {
                std::thread::sleep(t + SELF_STOP_GRACE);
                std::process::exit(EXIT_DEADLINE);
            });
    }
    let mut data = Vec::new();
    if input.read_to_end(&mut data).is_err() {
        return ExitCode::FAILURE;
    }
    let started = Instant::now();
    let mut pages_out = Vec::new();
    let reply = match request.job {
        Job::Text => {
            match super::pdf_text::pdf_text_here(&data, &request.what, &request.limits, timeout) {
                Ok(t) => Reply::Text(t),
                Err(e) => Reply::Refused(e),
            }
        }
        Job::Render {
            resolution,
            paper,
            room,
            pages_so_far,
            max_pages,
        } => {
            let target = super::geometry::Target::new(paper, resolution);
            let deadline = timeout.map(|t| super::pdf_in::Deadline::new(started + t, t));
            match super::render_pdf_here(
                data,
                &request.what,
                &target,
                room,
                pages_so_far,
                max_pages,
                &request.limits,
                deadline,
            ) {
                Ok(pages) => {
                    let heads = pages
                        .iter()
                        .map(|p| PageHead {
                            width: p.width,
                            height: p.height,
                            x_dpi: p.x_dpi,
                            y_dpi: p.y_dpi,
                        })
                        .collect();
                    pages_out = pages;
                    Reply::Pages(heads)
                }
                Err(e) => Reply::Refused(e),
            }
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer(&mut out, &reply)
        .map_err(std::io::Error::other)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| pages_out.iter().try_for_each(|p| out.write_all(&p.bits)))
        .and_then(|()| out.flush());
    if written.is_err() {
        return ExitCode::FAILURE;
    }
    // Render threads of a document given up may still be drawing: the
    // process ends, and they with it.
    std::process::exit(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_lets_in_what_fits_and_makes_the_rest_wait() {
        let b = Budget {
            total: 100,
            used: Mutex::new(0),
            freed: Condvar::new(),
        };
        let a = b.take(60, None).unwrap();
        // 60 + 60 > 100: the second waits, and gives up at its deadline.
        let soon = Instant::now() + Duration::from_millis(100);
        assert!(b.take(60, Some(soon)).is_none());
        assert_eq!(b.in_use(), 60);
        // 60 + 40 fits.
        let c = b.take(40, Some(Instant::now())).unwrap();
        assert_eq!(b.in_use(), 100);
        drop(c);
        // A waiter gets in as soon as room is given back.
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                b.take(60, Some(Instant::now() + Duration::from_secs(5)))
                    .is_some()
            });
            std::thread::sleep(Duration::from_millis(50));
            drop(a);
            assert!(waiter.join().unwrap());
        });
        assert_eq!(b.in_use(), 0);
        // A share larger than the whole budget is cut to it, never refused forever.
        let all = b.take(1000, Some(Instant::now())).unwrap();
        assert_eq!(all.bytes, 100);
    }

    #[test]
    fn replies_round_trip_with_page_rows_after_the_line() {
        let reply = Reply::Refused(DocError::TooManyOperators {
            what: "x.pdf".into(),
            page: 2,
            max: 10,
        });
        let mut out = serde_json::to_vec(&reply).unwrap();
        out.push(b'\n');
        out.extend_from_slice(b"rows");
        let (back, rest) = parse_reply(&out).unwrap();
        assert!(matches!(
            back,
            Reply::Refused(DocError::TooManyOperators { page: 2, .. })
        ));
        assert_eq!(rest, b"rows");
        assert!(parse_reply(b"{\"Pages\":[").is_none());
    }
}
