//! `faxbridge bench docs`: document conversion against the reference tools.
//!
//! Two measurements in one run, side by side, on the same inputs:
//!
//! 1. Received fax TIFF → PDF: our converter against libtiff's `tiff2pdf`,
//!    on a multi-page fine-resolution G4 file. Both embed the G4 strips as is,
//!    so speed and size should be comparable; ours must be at least as fast
//!    and within 5 % in size.
//! 2. PDF → fax pages: our renderer (hayro, dithering, T.6) against
//!    Ghostscript's `tiffg3` device at 204×196 dpi, on real PDFs shipped in
//!    Debian documentation packages (`/usr/share/doc`). Target: twice as fast.
//!
//! The reference tools are timed as whole processes. Ours is timed both as
//! a library call (what the daemon does) and, when this program is the
//! `faxbridge` binary, as a whole `faxbridge convert …` process, the fair
//! comparison with a command-line tool.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::docs::tiff::{Compression, write_tiff};
use crate::docs::{DocError, Paper, RenderOptions, Resolution, convert_to_fax, convert_to_pdf};

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum DocsBenchError {
    /// A conversion of ours failed.
    #[error("our conversion failed: {0}")]
    Doc(#[from] DocError),
    /// A reference tool is missing or failed.
    #[error("{tool} failed: {reason}; install Debian {package}")]
    Tool {
        /// The command.
        tool: String,
        /// What went wrong.
        reason: String,
        /// The Debian package providing it.
        package: &'static str,
    },
    /// The work directory could not be used.
    #[error("work directory {path}: {source}")]
    WorkDir {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// No real PDF was found to render.
    #[error(
        "no PDF found under /usr/share/doc; install a documentation package that ships PDFs \
         (e.g. Debian libtasn1-doc) and run again"
    )]
    NoPdfs,
}

/// One line of the results table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub task: String,
    /// Who did it (ours / reference).
    pub tool: String,
    /// The command line, or the library call.
    pub command: String,
    /// Pages converted per run.
    pub pages: usize,
    /// Best wall-clock time of the runs.
    pub best: Duration,
    /// Output size in bytes.
    pub bytes: u64,
}

impl Row {
    /// Pages per second at the best time.
    pub fn pages_per_s(&self) -> f64 {
        self.pages as f64 / self.best.as_secs_f64()
    }
}

/// Results of a benchmark run.
#[derive(Debug, Clone, Default)]
pub struct DocsBenchReport {
    /// Every measurement.
    pub rows: Vec<Row>,
    /// Free-text notes (inputs used, verdicts).
    pub notes: Vec<String>,
}

impl std::fmt::Display for DocsBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "| task | tool | pages | best time | pages/s | output bytes | command |"
        )?;
        writeln!(f, "|---|---|---:|---:|---:|---:|---|")?;
        for r in &self.rows {
            writeln!(
                f,
                "| {} | {} | {} | {:.1} ms | {:.1} | {} | `{}` |",
                r.task,
                r.tool,
                r.pages,
                r.best.as_secs_f64() * 1000.0,
                r.pages_per_s(),
                r.bytes,
                r.command
            )?;
        }
        writeln!(f)?;
        for n in &self.notes {
            writeln!(f, "- {n}")?;
        }
        Ok(())
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Best of `runs` timings of `f`.
fn best_of<E>(runs: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<Duration, E> {
    let mut best = Duration::MAX;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed());
    }
    Ok(best)
}

fn run_tool(cmd: &str, args: &[String], package: &'static str) -> Result<(), DocsBenchError> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| DocsBenchError::Tool {
            tool: cmd.into(),
            reason: e.to_string(),
            package,
        })?;
    if !out.status.success() {
        return Err(DocsBenchError::Tool {
            tool: cmd.into(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            package,
        });
    }
    Ok(())
}

/// A `faxbridge` command timed as a whole process.
struct OwnProcess<'a> {
    exe: &'a Path,
    args: Vec<String>,
    task: &'a str,
    pages: usize,
}

impl OwnProcess<'_> {
    /// Best of `runs`, added to the report as a row; `output` is the file
    /// the command writes.
    fn time(
        &self,
        report: &mut DocsBenchReport,
        runs: usize,
        output: &Path,
    ) -> Result<Duration, DocsBenchError> {
        let t = best_of(runs, || run_tool(&s(self.exe), &self.args, "faxbridge"))?;
        report.rows.push(Row {
            task: self.task.into(),
            tool: "faxbridge (process)".into(),
            command: format!("faxbridge {}", self.args.join(" ")),
            pages: self.pages,
            best: t,
            bytes: file_len(output),
        });
        Ok(t)
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Real PDFs from Debian documentation packages, smallest first.
pub fn find_doc_pdfs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
        if depth > 6 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out, depth + 1);
            } else if p.extension().is_some_and(|x| x == "pdf") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/usr/share/doc"), &mut out, 0);
    out.sort_by_key(|p| file_len(p));
    out
}

/// Count pages the way a user would check them (poppler's pdfinfo), falling
/// back to our own count.
fn pdf_pages(pdf: &Path) -> usize {
    Command::new("pdfinfo")
        .arg(pdf)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("Pages:").and_then(|v| v.trim().parse().ok()))
        })
        .unwrap_or(0)
}

/// Whether this process is the `faxbridge` binary (so it can time itself as
/// a whole process).
fn own_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    (exe.file_name()? == "faxbridge").then_some(exe)
}

/// Run the benchmark in `work` (created if missing).
pub fn run(work: &Path, runs: usize) -> Result<DocsBenchReport, DocsBenchError> {
    std::fs::create_dir_all(work).map_err(|source| DocsBenchError::WorkDir {
        path: work.into(),
        source,
    })?;
    let mut report = DocsBenchReport::default();
    let pdfs = find_doc_pdfs();
    if pdfs.is_empty() {
        return Err(DocsBenchError::NoPdfs);
    }
    let own = own_binary();
    let opts = RenderOptions {
        resolution: Resolution::Fine,
        paper: Paper::A4,
        max_pages: 10_000,
        max_pixels: 100_000_000,
        max_input_bytes: 1 << 30,
        render_timeout: None,
        ..RenderOptions::default()
    };

    // (1) TIFF → PDF on fine G4 pages rendered from a real document: a
    // 20-page fax, and a 200-page one. The difference between the two gives
    // each tool's rate per page with its fixed cost (starting the process,
    // opening files) taken out.
    let src_pdf = &pdfs[pdfs.len() - 1];
    let mut pages = crate::docs::render::render_to_pages(std::slice::from_ref(src_pdf), &opts)?;
    while pages.len() < 20 {
        let again = pages.clone();
        pages.extend(again);
    }
    pages.truncate(20);
    let mut times = Vec::new();
    for copies in [1, 10] {
        let n = 20 * copies;
        let all: Vec<_> = (0..copies).flat_map(|_| pages.iter().cloned()).collect();
        let tif = work.join(format!("fax-{n}-fine.tif"));
        write_tiff(&tif, &all, Compression::Group4)?;
        report.notes.push(format!(
            "TIFF→PDF input: {} ({} bytes), {n} fine-resolution G4 pages rendered from {}",
            tif.display(),
            file_len(&tif),
            src_pdf.display()
        ));
        let ours_pdf = work.join("ours.pdf");
        let t = best_of(runs, || convert_to_pdf(&tif, &ours_pdf).map(|_| ()))?;
        report.rows.push(Row {
            task: "TIFF→PDF".into(),
            tool: "faxbridge (library call)".into(),
            command: format!("docs::convert_to_pdf({}, {})", s(&tif), s(&ours_pdf)),
            pages: n,
            best: t,
            bytes: file_len(&ours_pdf),
        });
        let ours_proc = match &own {
            Some(exe) => {
                let args = vec!["convert".into(), "to-pdf".into(), s(&tif), s(&ours_pdf)];
                let run = OwnProcess {
                    exe,
                    args,
                    task: "TIFF→PDF",
                    pages: n,
                };
                Some(run.time(&mut report, runs, &ours_pdf)?)
            }
            None => None,
        };
        let ref_pdf = work.join("tiff2pdf.pdf");
        let args = vec!["-o".to_string(), s(&ref_pdf), s(&tif)];
        let t_ref = best_of(runs, || run_tool("tiff2pdf", &args, "libtiff-tools"))?;
        report.rows.push(Row {
            task: "TIFF→PDF".into(),
            tool: "tiff2pdf (process)".into(),
            command: format!("tiff2pdf {}", args.join(" ")),
            pages: n,
            best: t_ref,
            bytes: file_len(&ref_pdf),
        });
        let size_ratio = file_len(&ours_pdf) as f64 / file_len(&ref_pdf).max(1) as f64;
        report.notes.push(format!(
            "TIFF→PDF size, {n} pages: ours / tiff2pdf = {size_ratio:.3} (target ≤ 1.05)"
        ));
        times.push((n, ours_proc, t_ref));
    }
    if let [(n1, Some(o1), r1), (n2, Some(o2), r2)] = times[..] {
        let rate = |a: Duration, b: Duration| {
            (n2 - n1) as f64 / b.saturating_sub(a).as_secs_f64().max(1e-9)
        };
        let (ours, reference) = (rate(o1, o2), rate(r1, r2));
        report.notes.push(format!(
            "TIFF→PDF rate per page, {n1} → {n2} pages (fixed costs cancelled): \
             faxbridge {ours:.0} pages/s, tiff2pdf {reference:.0} pages/s, {:.2}× \
             (target ≥ 1)",
            ours / reference
        ));
    }

    // (2) PDF → fax on real PDFs (up to two, largest first, for many pages).
    let mut inputs: Vec<&PathBuf> = pdfs.iter().rev().take(2).collect();
    inputs.sort();
    for pdf in inputs {
        let n = pdf_pages(pdf);
        let name = pdf
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let task = format!("PDF→fax {name}");
        let ours_tif = work.join("ours-fax.tif");
        let mut ours_pages = 0;
        let t = best_of(runs, || {
            convert_to_fax(std::slice::from_ref(pdf), &ours_tif, &opts)
                .map(|r| ours_pages = r.pages)
        })?;
        report.rows.push(Row {
            task: task.clone(),
            tool: "faxbridge (library call)".into(),
            command: format!(
                "docs::convert_to_fax([{}], {}, fine A4)",
                s(pdf),
                s(&ours_tif)
            ),
            pages: ours_pages,
            best: t,
            bytes: file_len(&ours_tif),
        });
        let ours_lib = t;
        let mut ours_proc = None;
        if let Some(exe) = &own {
            let args = vec![
                "convert".into(),
                "to-fax".into(),
                "--fine".into(),
                s(pdf),
                s(&ours_tif),
            ];
            let run = OwnProcess {
                exe,
                args,
                task: &task,
                pages: ours_pages,
            };
            ours_proc = Some(run.time(&mut report, runs, &ours_tif)?);
        }
        let gs_tif = work.join("gs-fax.tif");
        let args = vec![
            "-q".to_string(),
            "-dNOPAUSE".into(),
            "-dBATCH".into(),
            "-sDEVICE=tiffg3".into(),
            "-r204x196".into(),
            format!("-sOutputFile={}", s(&gs_tif)),
            s(pdf),
        ];
        let t = best_of(runs, || run_tool("gs", &args, "ghostscript"))?;
        report.rows.push(Row {
            task: task.clone(),
            tool: "Ghostscript tiffg3 (process)".into(),
            command: format!("gs {}", args.join(" ")),
            pages: n,
            best: t,
            bytes: file_len(&gs_tif),
        });
        // Ghostscript draws one page at a time; with rendering threads it
        // bands each page across cores. A second reference row, since ours
        // shares pages between cores.
        let mut threaded = args.clone();
        threaded.insert(3, "-dNumRenderingThreads=2".into());
        let t2 = best_of(runs, || run_tool("gs", &threaded, "ghostscript"))?;
        report.rows.push(Row {
            task,
            tool: "Ghostscript tiffg3, 2 rendering threads (process)".into(),
            command: format!("gs {}", threaded.join(" ")),
            pages: n,
            best: t2,
            bytes: file_len(&gs_tif),
        });
        let t = t.min(t2);
        let process = ours_proc
            .map(|p| format!(", as a process {:.2}×", t.as_secs_f64() / p.as_secs_f64()))
            .unwrap_or_default();
        report.notes.push(format!(
            "{name}: {n} pages; ours (library) is {:.2}× the faster Ghostscript's \
             speed{process} (target ≥ 2)",
            t.as_secs_f64() / ours_lib.as_secs_f64()
        ));
    }
    report.notes.push(format!(
        "best of {runs} runs each; {} CPU(s) available",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    ));
    Ok(report)
}

/// Entry point for `faxbridge bench docs [--work-dir DIR]`: run and print the
/// markdown table.
pub fn run_cli(work_dir: Option<&Path>) -> Result<(), DocsBenchError> {
    let tmp;
    let work = match work_dir {
        Some(d) => d.to_path_buf(),
        None => {
            tmp = std::env::temp_dir().join(format!("faxbridge-bench-docs-{}", std::process::id()));
            tmp.clone()
        }
    };
    let result = run(&work, 5);
    if work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let report = result?;
    println!("Document conversion: faxbridge vs reference tools");
    println!();
    print!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_prints_a_markdown_table_with_rates() {
        let report = DocsBenchReport {
            rows: vec![Row {
                task: "TIFF→PDF".into(),
                tool: "tiff2pdf (process)".into(),
                command: "tiff2pdf -o out.pdf in.tif".into(),
                pages: 20,
                best: Duration::from_millis(40),
                bytes: 1234,
            }],
            notes: vec!["note".into()],
        };
        assert_eq!(report.rows[0].pages_per_s(), 500.0);
        let text = report.to_string();
        assert!(text.starts_with("| task | tool |"), "{text}");
        assert!(text.contains("| 20 | 40.0 ms | 500.0 | 1234 | `tiff2pdf -o out.pdf in.tif` |"));
        assert!(text.contains("- note"));
    }

    #[test]
    fn best_of_keeps_the_fastest_run_and_stops_on_error() {
        let mut n = 0;
        let t = best_of(3, || {
            n += 1;
            // Far apart, so that a loaded machine cannot blur them.
            std::thread::sleep(Duration::from_millis(if n == 2 { 0 } else { 300 }));
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(t < Duration::from_millis(300), "{t:?}");
        assert_eq!(n, 3);
        let mut calls = 0;
        assert!(
            best_of(3, || {
                calls += 1;
                Err::<(), _>("boom")
            })
            .is_err()
        );
        assert_eq!(calls, 1);
    }
}
