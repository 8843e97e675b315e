//! What each cause means and what to check, for the report's "What the causes mean" table:
//! the [`Cause`] vocabulary, looked up by the words a verdict log carries.

use crate::verdict::{Cause, VerdictKind};

/// What `cause` of `verdict` means and what to check. A word this version does not know (a log
/// written by another version) gets a pointer to the README instead.
pub fn explain(verdict: VerdictKind, cause: &str) -> (&'static str, &'static str) {
    Cause::parse(verdict, cause).map(|c| (c.meaning(), c.check())).unwrap_or((
        "A cause this version of the report has no explanation for.",
        "The README's verdict table.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_is_explained_and_unknown_words_are_not_an_error() {
        for c in Cause::ALL {
            assert_eq!(explain(c.kind(), c.word()), (c.meaning(), c.check()));
        }
        // The same word under another verdict is another cause, or none.
        assert_eq!(
            explain(VerdictKind::DnsFailure, "no-response").0,
            "Nobody answered the DNS query."
        );
        assert!(explain(VerdictKind::Refused, "no-such-cause").0.contains("no explanation"));
    }
}
