//! The rule index: which rules could possibly match a program, built once at parse
//! time so evaluation tries a handful of candidates instead of every rule.

use super::Rule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rule indices keyed by the program (basename) their patterns name, plus the
/// rules with a pattern whose first token is a wildcard and so may match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleIndex {
    by_program: BTreeMap<String, Vec<usize>>,
    any_program: Vec<usize>,
}

impl RuleIndex {
    pub fn build(rules: &[Rule]) -> RuleIndex {
        let mut index = RuleIndex::default();
        for (position, rule) in rules.iter().enumerate() {
            for pattern in &rule.patterns {
                match pattern.program_names() {
                    Some(names) => {
                        for name in names {
                            let slot = index.by_program.entry(basename(&name).to_string());
                            let list = slot.or_default();
                            if list.last() != Some(&position) {
                                list.push(position);
                            }
                        }
                    }
                    None if index.any_program.last() != Some(&position) => {
                        index.any_program.push(position)
                    }
                    None => {}
                }
            }
        }
        index
    }

    /// Indices of the rules that may match a command whose argv[0] is `program`,
    /// ascending and without repeats.
    pub fn candidates(&self, program: &str) -> Vec<usize> {
        let named = self
            .by_program
            .get(basename(program))
            .map_or(&[][..], Vec::as_slice);
        let mut candidates: Vec<usize> = named.iter().chain(&self.any_program).copied().collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
    }
}

/// Patterns name programs by basename unless they spell out a path, and a path
/// pattern can only match an argv[0] with that same basename, so the basename is
/// a sound key for both.
fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}
