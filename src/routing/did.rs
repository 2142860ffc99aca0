//! Fax numbers: which `[sip.routing]` route (mailboxes) a called number
//! belongs to.
//!
//! The called number (DID) is the user part of the Request-URI; a request
//! whose Request-URI has no user part (some ATAs send `sip:host`) falls back
//! to the To URI's user part. Numbers are compared after removing the visual
//! separators of RFC 3966 §5.1.1 (`-`, `.`, `(`, `)`, spaces) and any URI
//! parameters after `;`. Routes match exactly, or by prefix when the
//! configured DID ends in `*`; the longest prefix wins. A call matching no
//! route takes the default route, and is answered `404 Not Found` when there
//! is none.

use std::collections::HashMap;

use crate::numbering::normalize_number;

/// One configured route: `did` (exact, or a prefix ending in `*`) → `route`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Called number, or prefix followed by `*`.
    pub did: String,
    /// Route name handed to the call handler (e.g. a mailbox or queue name).
    pub route: String,
}

/// Compiled routing table.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    exact: HashMap<String, String>,
    /// Longest prefix first.
    prefixes: Vec<(String, String)>,
    default: Option<String>,
}

/// The called number: Request-URI user part, else the To URI's; `None` when
/// neither has one.
pub fn called_number(request_uri_user: Option<&str>, to_user: Option<&str>) -> Option<String> {
    [request_uri_user, to_user]
        .into_iter()
        .flatten()
        .map(normalize_number)
        .find(|n| !n.is_empty())
}

impl RoutingTable {
    /// Compiles rules and an optional default route.
    pub fn new(rules: &[RouteRule], default: Option<String>) -> Self {
        let mut exact = HashMap::new();
        let mut prefixes = Vec::new();
        for r in rules {
            match r.did.trim().strip_suffix('*') {
                Some(prefix) => prefixes.push((normalize_number(prefix), r.route.clone())),
                None => {
                    exact
                        .entry(normalize_number(&r.did))
                        .or_insert_with(|| r.route.clone());
                }
            }
        }
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        RoutingTable {
            exact,
            prefixes,
            default,
        }
    }

    /// The route for a called number, or `None` (→ 404).
    pub fn route(&self, did: Option<&str>) -> Option<&str> {
        if let Some(did) = did {
            let did = normalize_number(did);
            if let Some(r) = self.exact.get(&did) {
                return Some(r);
            }
            if let Some((_, r)) = self.prefixes.iter().find(|(p, _)| did.starts_with(p)) {
                return Some(r);
            }
        }
        self.default.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(did: &str, route: &str) -> RouteRule {
        RouteRule {
            did: did.into(),
            route: route.into(),
        }
    }

    #[test]
    fn picks_the_called_number() {
        assert_eq!(
            called_number(Some("2001"), Some("9999")).as_deref(),
            Some("2001")
        );
        assert_eq!(called_number(None, Some("9999")).as_deref(), Some("9999"));
        assert_eq!(
            called_number(Some(""), Some("9999")).as_deref(),
            Some("9999")
        );
        assert_eq!(
            called_number(Some("+44-161-555-0100;phone-context=+44"), None).as_deref(),
            Some("+441615550100")
        );
        assert_eq!(called_number(None, None), None);
    }

    #[test]
    fn exact_prefix_default() {
        let t = RoutingTable::new(
            &[
                rule("+44 161 555 0100", "sales"),
                rule("0161*", "manchester"),
                rule("01615*", "manchester-5"),
                rule("2000", "accounts"),
            ],
            None,
        );
        assert_eq!(t.route(Some("+441615550100")), Some("sales"));
        assert_eq!(t.route(Some("2000")), Some("accounts"));
        assert_eq!(t.route(Some("01614000")), Some("manchester"));
        assert_eq!(
            t.route(Some("01615000")),
            Some("manchester-5"),
            "longest prefix"
        );
        assert_eq!(
            t.route(Some("3000")),
            None,
            "unknown DID without default → 404"
        );
        assert_eq!(t.route(None), None);

        let with_default = RoutingTable::new(&[rule("2000", "accounts")], Some("inbox".into()));
        assert_eq!(with_default.route(Some("3000")), Some("inbox"));
        assert_eq!(with_default.route(None), Some("inbox"));
        assert_eq!(with_default.route(Some("2000")), Some("accounts"));
    }

    #[test]
    fn first_exact_rule_wins_and_star_alone_matches_all() {
        let t = RoutingTable::new(&[rule("1", "a"), rule("1", "b"), rule("*", "all")], None);
        assert_eq!(t.route(Some("1")), Some("a"));
        assert_eq!(t.route(Some("77")), Some("all"));
    }
}
