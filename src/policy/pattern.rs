//! Token patterns: a rule's `match` string split like a shell line into tokens, each
//! token a glob over exactly one argv element, `**` matching zero or more elements.

use serde::{Deserialize, Serialize};

/// Why a pattern or glob failed to compile. `offset` is a byte offset into the
/// pattern source so the caller can point at the exact column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub message: String,
    pub offset: usize,
    pub hint: Option<String>,
}

/// A glob over one string: `*`, `?`, `[..]`, `[!..]`, `{a,b}`. `*` crosses `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Glob {
    source: String,
}

impl Glob {
    pub fn parse(source: &str) -> Result<Glob, PatternError> {
        todo!("{source}")
    }
    pub fn as_str(&self) -> &str {
        &self.source
    }
    pub fn is_match(&self, text: &str) -> bool {
        todo!("{text}")
    }
}

/// A whole-argv pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pattern {
    source: String,
}

impl Pattern {
    pub fn parse(source: &str) -> Result<Pattern, PatternError> {
        todo!("{source}")
    }
    pub fn as_str(&self) -> &str {
        &self.source
    }
    /// Whole-argv match; the first token matches argv[0] by basename, or by full
    /// path when the token contains `/`.
    pub fn matches(&self, argv: &[String]) -> bool {
        todo!("{argv:?}")
    }
    /// Literal program names this pattern can match (brace alternatives expanded),
    /// or `None` when the first token is a wildcard or `**`. Used to index rules.
    pub fn program_names(&self) -> Option<Vec<String>> {
        todo!()
    }
}
