//! Which groups of built-in detectors a text needs. Each group names the literal
//! words every match of its detectors contains, and where the punctuation such a
//! match needs stands (the `-` of an option, the `=` of an assignment); a text
//! without them never compiles the group.
//!
//! One scan over the text with no regex, and no allocation for a text that has
//! none of the words. Never decides what is secret: a trigger says only that a
//! group's detectors could match, so a trigger may be loose but never too tight.

use super::Spec;

/// Literal text every match of a detector contains: one of `words` (lower case,
/// compared ASCII case-insensitively), with one of the bytes `earlier` somewhere
/// before it and one of the bytes `later` somewhere after it in the same text,
/// and, if `in_option`, a `-` before it in the same word. An empty byte list asks
/// for nothing.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trigger {
    words: &'static [&'static str],
    earlier: &'static [u8],
    later: &'static [u8],
    in_option: bool,
}

impl Trigger {
    pub(super) const fn words(words: &'static [&'static str]) -> Trigger {
        Trigger {
            words,
            earlier: b"",
            later: b"",
            in_option: false,
        }
    }

    /// The word is part of an option: a `-` that starts a word stands before it
    /// in the same word (`--db-password`, `-storepass`; not `api-token`). A word
    /// is letters, digits, `_`, `-` and any non-ASCII character (a regex that
    /// ignores case folds some of those to ASCII letters).
    pub(super) const fn in_option(self) -> Trigger {
        Trigger {
            in_option: true,
            ..self
        }
    }

    /// A match also has one of `bytes` before the word (`-` before `password`).
    pub(super) const fn earlier(self, bytes: &'static [u8]) -> Trigger {
        Trigger {
            earlier: bytes,
            ..self
        }
    }

    /// A match also has one of `bytes` after the word (`=` after `token`).
    pub(super) const fn later(self, bytes: &'static [u8]) -> Trigger {
        Trigger {
            later: bytes,
            ..self
        }
    }

    #[cfg(test)]
    pub(super) fn word_list(&self) -> &'static [&'static str] {
        self.words
    }
}

/// Built-in detectors compiled together, and what a text must contain (any one
/// of `triggers`) for any of them to match. A detector put in a group whose
/// triggers miss some of its matches fails its own tests, because the redactor
/// runs a group only when the text has one of its triggers.
pub(super) struct Group {
    pub(super) name: &'static str,
    pub(super) triggers: Vec<Trigger>,
    specs: Box<dyn Fn() -> Vec<Spec> + Send + Sync>,
}

impl Group {
    pub(super) fn new(
        name: &'static str,
        triggers: &[Trigger],
        specs: impl Fn() -> Vec<Spec> + Send + Sync + 'static,
    ) -> Group {
        Group {
            name,
            triggers: triggers.to_vec(),
            specs: Box::new(specs),
        }
    }

    /// The group's detectors, built (not compiled) on each call.
    pub(super) fn specs(&self) -> Vec<Spec> {
        (self.specs)()
    }
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("name", &self.name)
            .field("triggers", &self.triggers)
            .finish_non_exhaustive()
    }
}

/// A set of groups by position. A group past its capacity always counts as
/// needed: too many groups costs time, never a secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Needed(u128);

impl Needed {
    pub(super) fn contains(self, group: usize) -> bool {
        group >= 128 || self.0 & (1 << group) != 0
    }

    fn insert(&mut self, group: usize) {
        if group < 128 {
            self.0 |= 1 << group;
        }
    }
}

/// Every group's trigger words by their lower-case first byte, for one scan.
#[derive(Debug)]
pub(super) struct TriggerIndex {
    by_first_byte: Vec<Vec<Word>>,
    /// Each trigger with the position of its group.
    triggers: Vec<(usize, Trigger)>,
}

/// One trigger word, compared once however many triggers name it.
#[derive(Debug, Clone)]
struct Word {
    word: &'static str,
    triggers: Vec<usize>,
}

/// Where a trigger's punctuation stands in one text: the first `earlier` byte
/// and the last `later` byte (`None`: the text has none).
#[derive(Debug, Clone, Copy)]
struct Around {
    first_earlier: Option<usize>,
    last_later: Option<usize>,
}

/// What the scan knows at one occurrence of a word: its span and whether it is
/// inside an option.
#[derive(Debug, Clone, Copy)]
struct At {
    start: usize,
    end: usize,
    in_option: bool,
}

impl TriggerIndex {
    pub(super) fn new(groups: &[Group]) -> TriggerIndex {
        let triggers: Vec<(usize, Trigger)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.triggers.iter().map(move |&t| (g, t)))
            .collect();
        let mut by_first_byte: Vec<Vec<Word>> = vec![Vec::new(); 256];
        for (trigger, (_, t)) in triggers.iter().enumerate() {
            for &word in t.words {
                let Some(&first) = word.as_bytes().first() else {
                    continue;
                };
                let words = &mut by_first_byte[usize::from(first.to_ascii_lowercase())];
                match words.iter_mut().find(|w| w.word == word) {
                    Some(known) => known.triggers.push(trigger),
                    None => words.push(Word {
                        word,
                        triggers: vec![trigger],
                    }),
                }
            }
        }
        TriggerIndex {
            by_first_byte,
            triggers,
        }
    }

    /// The groups whose triggers `text` has.
    pub(super) fn needed(&self, text: &str) -> Needed {
        let bytes = text.as_bytes();
        let mut needed = Needed::default();
        // Filled on the first word found: a clean text allocates nothing.
        let mut around: Vec<Option<Around>> = Vec::new();
        // Whether the word the scan is in started with a `-` before position `i`.
        let mut in_option = false;
        let mut after_ascii_word = false;
        for (i, &byte) in bytes.iter().enumerate() {
            for word in &self.by_first_byte[usize::from(byte.to_ascii_lowercase())] {
                let end = i + word.word.len();
                let found = bytes
                    .get(i..end)
                    .is_some_and(|w| w.eq_ignore_ascii_case(word.word.as_bytes()));
                if !found {
                    continue;
                }
                if around.is_empty() {
                    around = vec![None; self.triggers.len()];
                }
                let at = At {
                    start: i,
                    end,
                    in_option,
                };
                for &trigger in &word.triggers {
                    let (group, t) = self.triggers[trigger];
                    if !needed.contains(group) && holds(t, bytes, at, &mut around[trigger]) {
                        needed.insert(group);
                    }
                }
            }
            let ascii_word = byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-');
            // After a non-ASCII byte a word may start (Unicode white space) or not.
            let starts_option = byte == b'-' && !after_ascii_word;
            in_option = (ascii_word || byte >= 0x80) && (in_option || starts_option);
            after_ascii_word = ascii_word;
        }
        needed
    }
}

/// Whether the word found `at` meets the rest of trigger `t`; `around` caches
/// where `t`'s punctuation stands in `bytes`.
fn holds(t: Trigger, bytes: &[u8], at: At, around: &mut Option<Around>) -> bool {
    let around = *around.get_or_insert_with(|| Around {
        first_earlier: bytes.iter().position(|b| t.earlier.contains(b)),
        last_later: bytes.iter().rposition(|b| t.later.contains(b)),
    });
    let before = t.earlier.is_empty() || around.first_earlier.is_some_and(|e| e < at.start);
    let after = t.later.is_empty() || around.last_later.is_some_and(|l| l >= at.end);
    before && after && (!t.in_option || at.in_option)
}
