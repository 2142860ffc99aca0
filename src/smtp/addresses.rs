//! Sender address lists as the configuration writes them: an address
//! (`j.smith@example.ac.uk`), a domain (`example.ac.uk`, `@example.ac.uk`)
//! or every subdomain (`*.example.ac.uk`).

/// True when `d` looks like a DNS domain name (used to validate configuration).
pub fn is_plausible_domain(d: &str) -> bool {
    let d = d.trim_end_matches('.');
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Entries of the list `key` that are neither an address nor a domain, as
/// (`key[index]`, what is wrong) pairs.
pub fn address_list_problems(key: &str, list: &[String]) -> Vec<(String, String)> {
    list.iter()
        .enumerate()
        .filter(|(_, e)| {
            let e = e.trim();
            let domain = match e.rfind('@') {
                Some(at) if at > 0 => &e[at + 1..],
                Some(_) => &e[1..],
                None => e.strip_prefix("*.").unwrap_or(e),
            };
            !is_plausible_domain(domain)
        })
        .map(|(i, e)| {
            (
                format!("{key}[{i}]"),
                format!(
                    "{e:?} is not an address or domain; write \"user@example.ac.uk\", \"example.ac.uk\" or \"*.example.ac.uk\""
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked_label_by_label() {
        assert!(is_plausible_domain("fax.example.ac.uk"));
        assert!(is_plausible_domain("fax-1.example.ac.uk."));
        assert!(!is_plausible_domain(""));
        assert!(!is_plausible_domain("not a domain"));
        assert!(!is_plausible_domain("a..b"));
        assert!(!is_plausible_domain("-a.b"));
    }

    #[test]
    fn each_bad_entry_is_named_by_its_index() {
        let list = vec![
            "a@example.ac.uk".to_string(),
            "not a domain".to_string(),
            "*.example.ac.uk".to_string(),
        ];
        let bad = address_list_problems("senders", &list);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, "senders[1]");
    }
}
