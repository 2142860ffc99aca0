//! The PCI-DSS report in CSV, JSON and HTML, and the finance digest mail
//! body. All pure: flags in, text out.
//!
//! The HTML page is standalone (inline style, no scripts) so it can be
//! mailed or archived: a summary, then one table row per flagged line with
//! the requirement in plain English, the evidence (with the classifier's
//! confidence for a modem handshake) and the acknowledgement, then the
//! lines the classifier only *suspected* (a modem tone without a handshake
//! signature), which are listed for checking and are not findings.

use std::fmt::Write as _;

use super::{Flag, Reason, SuspectedLine};
use crate::media::classifier::Direction;

pub use crate::clock::format_utc;

fn requirement_ids(r: Reason) -> String {
    r.requirements()
        .iter()
        .map(|q| q.id)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Distinct matched numbers of a flag.
fn numbers(f: &Flag) -> Vec<&str> {
    let mut v: Vec<&str> = f
        .evidence
        .iter()
        .filter_map(|e| e.number.as_deref())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Distinct signals of a flag, as `SIGNAL (direction)`.
fn signals(f: &Flag) -> Vec<String> {
    let mut v: Vec<String> = f
        .evidence
        .iter()
        .flat_map(|e| &e.signals)
        .map(|s| format!("{} ({})", s.signal, s.direction))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The classifier's confidence in a flag's latest observation that has one.
fn confidence(f: &Flag) -> Option<&'static str> {
    f.evidence
        .iter()
        .rev()
        .find_map(|e| e.confidence)
        .map(|c| c.as_str())
}

/// Distinct signals of a flag in plain English, for people.
fn signals_plain(f: &Flag) -> Vec<String> {
    let mut v: Vec<String> = f
        .evidence
        .iter()
        .flat_map(|e| &e.signals)
        .map(|s| {
            let from = match s.direction {
                Direction::CallerToCallee => "sent by the calling side",
                Direction::CalleeToCaller => "sent by the called side",
            };
            format!("{}, {from}", s.signal.description())
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One line per flag, with a header.
pub fn csv(flags: &[Flag]) -> String {
    let mut out = String::from(
        "id,building,ata,port,reason,requirements,first_seen,last_seen,calls,numbers,signals,\
         acknowledged_by,acknowledged_at,acknowledgement_note,confidence\n",
    );
    for f in flags {
        let ack = f.acknowledged();
        let fields = [
            f.id.clone(),
            f.building.clone(),
            f.ata.clone(),
            f.port.clone(),
            f.reason.as_str().to_string(),
            requirement_ids(f.reason),
            format_utc(f.first_seen_ms),
            format_utc(f.last_seen_ms),
            f.calls.to_string(),
            numbers(f).join(" "),
            signals(f).join("; "),
            ack.map(|a| a.by.clone()).unwrap_or_default(),
            ack.map(|a| format_utc(a.at_ms)).unwrap_or_default(),
            ack.map(|a| a.note.clone()).unwrap_or_default(),
            confidence(f).unwrap_or_default().to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|s| csv_field(s)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// The flags as a JSON document: `{"generated_at": …, "flags": [...],
/// "suspected": [...]}`, each flag with its requirements (id and
/// explanation) added; `suspected` lists the lines the classifier only
/// suspected, which are not findings.
pub fn json(flags: &[Flag], suspected: &[SuspectedLine], now_ms: i64) -> String {
    let items: Vec<serde_json::Value> = flags
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(serde_json::Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "requirements".into(),
                    serde_json::to_value(f.reason.requirements()).unwrap_or_default(),
                );
                o.insert("reason_text".into(), f.reason.description().into());
            }
            v
        })
        .collect();
    let doc = serde_json::json!({
        "generated_at": format_utc(now_ms),
        "flags": items,
        "suspected": suspected,
        "suspected_note": SUSPECTED_NOTE,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// The call history as a JSON document: `{"generated_at": …, "calls":
/// [...]}`, newest first, each call with its label, signals and the flags
/// it raised.
pub fn calls_json(calls: &[super::CallEvidence], now_ms: i64) -> String {
    let doc = serde_json::json!({
        "generated_at": format_utc(now_ms),
        "calls": calls,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// What a suspected line is, for the reader of a report.
pub const SUSPECTED_NOTE: &str = "Suspected lines are not findings: the call classifier heard a \
     modem tone (e.g. 980 Hz or 2225 Hz) or a modem band without the handshake that confirms a \
     card terminal. They raise no flag and alert no one; check them if the line should not carry \
     data.";

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A standalone HTML page for finance: summary, then a table of flags,
/// then the suspected lines.
pub fn html(flags: &[Flag], suspected: &[SuspectedLine], now_ms: i64) -> String {
    let open = flags.iter().filter(|f| f.acknowledged().is_none()).count();
    let mut lines: Vec<(&str, &str, &str)> = flags
        .iter()
        .map(|f| (f.building.as_str(), f.ata.as_str(), f.port.as_str()))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>PCI-DSS card payment lines report</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;width:100%}}\
         th,td{{border:1px solid #999;padding:.4em;vertical-align:top;text-align:left}}\
         th{{background:#eee}} .open{{background:#fff3f0}} .ack{{background:#f3fff0}}\
         small{{color:#555}}</style></head><body>\n\
         <h1>PCI-DSS card payment lines report</h1>\n\
         <p>Generated {}.</p>\n\
         <h2>Summary</h2>\n<p>{} telephone line(s) appear to carry card payments \
         ({} finding(s), {} not yet acknowledged). Card terminals that dial over these \
         lines send card data through the internet telephone system without the encryption \
         PCI-DSS requires. Move them to an approved IP or mobile terminal, or document why \
         they are out of scope.</p>\n",
        format_utc(now_ms),
        lines.len(),
        flags.len(),
        open
    );
    if flags.is_empty() {
        out.push_str("<p>No lines are flagged.</p>\n");
    } else {
        out.push_str(
            "<h2>Findings</h2>\n<table>\n<tr><th>Building</th><th>Line (ATA / port)</th>\
             <th>Why it is flagged</th><th>PCI-DSS requirement</th><th>Evidence</th>\
             <th>First / last seen</th><th>Acknowledgement</th></tr>\n",
        );
        for f in flags {
            let ack = f.acknowledged();
            let mut reqs = String::new();
            for r in f.reason.requirements() {
                let _ = write!(reqs, "<p><b>{}</b>: {}</p>", esc(r.id), esc(r.explanation));
            }
            let mut evidence = String::new();
            let _ = write!(evidence, "{} call(s)", f.calls);
            let nums = numbers(f);
            if !nums.is_empty() {
                let _ = write!(evidence, "<br>Dialled: {}", esc(&nums.join(", ")));
            }
            let sigs = signals_plain(f);
            if !sigs.is_empty() {
                let _ = write!(evidence, "<br>Signals heard: {}", esc(&sigs.join("; ")));
            }
            if let Some(c) = confidence(f) {
                let _ = write!(
                    evidence,
                    "<br>Classifier confidence: {} (handshake signature)",
                    esc(c)
                );
            }
            if let Some(last) = f.evidence.last() {
                if let (Some(s), Some(e)) = (last.call_started_ms, last.call_ended_ms) {
                    let _ = write!(
                        evidence,
                        "<br><small>Last call {} to {}</small>",
                        esc(&format_utc(s)),
                        esc(&format_utc(e))
                    );
                }
                let _ = write!(evidence, "<br><small>{}</small>", esc(&last.detail));
            }
            let ack_cell = match ack {
                Some(a) => {
                    let mut s = format!(
                        "{} on {}: {}",
                        esc(&a.by),
                        esc(&format_utc(a.at_ms)),
                        esc(&a.note)
                    );
                    if f.acknowledgements.len() > 1 {
                        let _ = write!(
                            s,
                            "<br><small>{} earlier acknowledgement(s) kept</small>",
                            f.acknowledgements.len() - 1
                        );
                    }
                    s
                }
                None => "Not acknowledged".to_string(),
            };
            let _ = writeln!(
                out,
                "<tr class=\"{}\" id=\"{}\"><td>{}</td><td>{} / {}<br><small>{}</small></td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}<br>{}</td><td>{}</td></tr>",
                if ack.is_some() { "ack" } else { "open" },
                esc(&f.id),
                esc(&f.building),
                esc(&f.ata),
                esc(&f.port),
                esc(&f.id),
                esc(f.reason.description()),
                reqs,
                evidence,
                esc(&format_utc(f.first_seen_ms)),
                esc(&format_utc(f.last_seen_ms)),
                ack_cell
            );
        }
        out.push_str("</table>\n");
    }
    if !suspected.is_empty() {
        let _ = write!(
            out,
            "<h2>Suspected lines (not findings)</h2>\n<p>{}</p>\n<table>\n<tr><th>Building</th>\
             <th>Line (ATA / port)</th><th>What was suspected</th><th>Signals heard (latest \
             call)</th><th>First / last seen</th><th>Calls</th></tr>\n",
            esc(SUSPECTED_NOTE)
        );
        for l in suspected {
            let sigs: Vec<String> = l
                .signals
                .iter()
                .map(|s| format!("{} ({})", s.signal.description(), s.direction))
                .collect();
            let _ = writeln!(
                out,
                "<tr class=\"suspected\"><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td>\
                 <td>{}<br>{}</td><td>{}</td></tr>",
                esc(&l.building),
                esc(&l.ata),
                esc(&l.port),
                esc(&l.verdicts.join("; ")),
                esc(&sigs.join("; ")),
                esc(&format_utc(l.first_seen_ms)),
                esc(&format_utc(l.last_seen_ms)),
                l.calls
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str(
        "<p><small>No card numbers and no call audio are stored. Findings cannot be \
         deleted; acknowledge them with <code>faxbridge pci ack</code>.</small></p>\n\
         </body></html>\n",
    );
    out
}

/// The plain-text body of the finance digest: flags first seen or seen
/// again since `since_ms`, then the open (unacknowledged) total.
pub fn finance_digest(flags: &[Flag], since_ms: i64, now_ms: i64) -> String {
    let recent: Vec<&Flag> = flags
        .iter()
        .filter(|f| f.last_seen_ms >= since_ms)
        .collect();
    let open = flags.iter().filter(|f| f.acknowledged().is_none()).count();
    let mut out = format!(
        "PCI-DSS card payment lines: digest for {} to {}\n\n",
        format_utc(since_ms),
        format_utc(now_ms)
    );
    if recent.is_empty() {
        out.push_str("No flagged line was seen in this period.\n");
    } else {
        let _ = writeln!(
            out,
            "{} flagged line finding(s) seen in this period:\n",
            recent.len()
        );
        for f in &recent {
            let _ = writeln!(
                out,
                "* {} - ATA {} port {} ({})\n  Why: {}\n  Requirement: {}\n  Seen: {} to {}, {} call(s){}{}\n  Status: {}\n",
                f.building,
                f.ata,
                f.port,
                f.id,
                f.reason.description(),
                f.reason
                    .requirements()
                    .iter()
                    .map(|r| format!("PCI-DSS {} - {}", r.id, r.explanation))
                    .collect::<Vec<_>>()
                    .join("\n               "),
                format_utc(f.first_seen_ms),
                format_utc(f.last_seen_ms),
                f.calls,
                if numbers(f).is_empty() {
                    String::new()
                } else {
                    format!(", dialled {}", numbers(f).join(", "))
                },
                if signals(f).is_empty() {
                    String::new()
                } else {
                    format!(", signals {}", signals(f).join(", "))
                },
                match f.acknowledged() {
                    Some(a) => format!(
                        "acknowledged by {} on {}: {}",
                        a.by,
                        format_utc(a.at_ms),
                        a.note
                    ),
                    None => "NOT acknowledged".into(),
                }
            );
        }
    }
    let _ = writeln!(
        out,
        "Open findings in total: {open} of {}.\n\nRun `faxbridge pci report --format html` for the full report.",
        flags.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::{Acknowledgement, FlagEvidenceRecord};
    use crate::media::classifier::{Direction, Evidence, Signal};

    fn flag(reason: Reason, last: i64, ack: bool) -> Flag {
        Flag {
            id: "pci-0123456789ab".into(),
            ata: "ata-<1>".into(),
            port: "FXS1".into(),
            building: "Shop, \"North\"".into(),
            reason,
            first_seen_ms: 1_764_000_000_000,
            last_seen_ms: last,
            calls: 3,
            evidence: vec![FlagEvidenceRecord {
                at_ms: last,
                call_started_ms: Some(last),
                call_ended_ms: Some(last + 30_000),
                number: Some("08009123456".into()),
                signals: vec![Evidence {
                    signal: Signal::V22Carrier1200,
                    direction: Direction::CallerToCallee,
                    at_ms: 3000,
                    duration_ms: 1500,
                }],
                confidence: Some(crate::media::classifier::Confidence::High),
                detail: "dialled".into(),
            }],
            acknowledgements: if ack {
                vec![Acknowledgement {
                    by: "Jo".into(),
                    at_ms: last + 1,
                    note: "replacing".into(),
                }]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn digest_lists_recent_flags_with_requirements() {
        let flags = [
            flag(Reason::AcquirerNumber, 1_764_100_000_000, false),
            flag(Reason::RolePdq, 1_700_000_000_000, true),
        ];
        let text = finance_digest(&flags, 1_764_050_000_000, 1_764_136_400_000);
        assert!(text.contains("1 flagged line finding(s)"), "{text}");
        assert!(text.contains("PCI-DSS 4.2.1"), "{text}");
        assert!(text.contains("dialled 08009123456"), "{text}");
        assert!(text.contains("NOT acknowledged"), "{text}");
        assert!(text.contains("Open findings in total: 1 of 2."), "{text}");
        assert!(!text.contains("9.5.1"), "old flag listed: {text}");
        let quiet = finance_digest(&flags, 1_800_000_000_000, 1_800_000_000_000);
        assert!(quiet.contains("No flagged line was seen"), "{quiet}");
    }

    #[test]
    fn csv_quotes_and_html_escapes() {
        let flags = [flag(Reason::ModemHandshake, 1_764_100_000_000, true)];
        let c = csv(&flags);
        assert!(c.contains("\"Shop, \"\"North\"\"\""), "{c}");
        assert!(c.contains("4.2.1 12.5.2"), "{c}");
        assert!(c.lines().nth(1).unwrap().ends_with(",high"), "{c}");
        let suspected = [SuspectedLine {
            ata: "ata-<2>".into(),
            port: "FXS4".into(),
            building: "Shop".into(),
            first_seen_ms: 1_764_000_000_000,
            last_seen_ms: 1_764_000_060_000,
            calls: 2,
            verdicts: vec!["suspected data modem (V.29 FastPOS)".into()],
            signals: vec![Evidence {
                signal: Signal::V29Tone980,
                direction: Direction::CallerToCallee,
                at_ms: 200,
                duration_ms: 1500,
            }],
        }];
        let h = html(&flags, &suspected, 1_764_200_000_000);
        assert!(h.contains("ata-&lt;1&gt;"), "{h}");
        assert!(!h.contains("ata-<1>"));
        assert!(h.contains("Jo on "), "{h}");
        assert!(h.contains("Classifier confidence: high"), "{h}");
        assert!(h.contains("Suspected lines (not findings)"), "{h}");
        assert!(h.contains("ata-&lt;2&gt; / FXS4"), "{h}");
        assert!(
            h.contains("V.29 FastPOS card terminal tone (980 Hz)"),
            "{h}"
        );
        // The summary counts findings only.
        assert!(h.contains("1 telephone line(s)"), "{h}");
        let j: serde_json::Value = serde_json::from_str(&json(&flags, &suspected, 0)).unwrap();
        assert_eq!(j["flags"][0]["requirements"][0]["id"], "4.2.1");
        assert_eq!(j["flags"][0]["evidence"][0]["confidence"], "high");
        assert_eq!(j["suspected"][0]["port"], "FXS4");
        assert_eq!(j["suspected"][0]["calls"], 2);
    }
}
