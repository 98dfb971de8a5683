//! Simple commands inside a parsed shell line, and the words around commands
//! (redirections, loop lists, case words, tests) that may hide a substitution.

use super::shell::{Walker, walk_line};
use super::words::{self, WordInfo};
use super::{RuntimeWord, SimpleCommand, globs, injection, normalise_argv, with_label};
use brush_parser::ast;

impl Walker<'_> {
    /// Build the argv of one simple command (assignments stripped, quotes removed,
    /// braces expanded) and normalise it like any other argv.
    pub(super) fn simple(&mut self, command: &ast::SimpleCommand) {
        let mut reasons = Vec::new();
        let mut raw_words = Vec::new();
        let items = command.prefix.iter().flat_map(|p| &p.0);
        for item in items {
            // Leading `NAME=value` words only set the environment; drop them.
            let word = self.item(item, &mut reasons);
            if !matches!(item, ast::CommandPrefixOrSuffixItem::AssignmentWord(..)) {
                raw_words.extend(word);
            }
        }
        raw_words.extend(command.word_or_name.as_ref().map(|word| word.value.clone()));
        for item in command.suffix.iter().flat_map(|s| &s.0) {
            raw_words.extend(self.item(item, &mut reasons));
        }
        let mut argv = Vec::new();
        let mut runtime_words = Vec::new();
        for raw in &raw_words {
            for info in self.expand(raw, &mut reasons) {
                if info.is_runtime() {
                    runtime_words.push(info.clone());
                }
                argv.push(info.text);
            }
        }
        if argv.is_empty() {
            // Only assignments and redirections: nothing runs unless they hide a substitution.
            if !reasons.is_empty() {
                self.push_opaque(command.to_string(), reasons);
            }
            return;
        }
        let start = self.out.len();
        normalise_argv(argv, self.via, self.depth, self.out);
        mark_opaque(&mut self.out[start..], &reasons, &runtime_words);
        mark_runtime(&mut self.out[start..], &runtime_words);
    }

    /// One prefix or suffix item: its word, if it contributes one; substitutions it
    /// hides are analysed and their reasons collected.
    fn item(
        &mut self,
        item: &ast::CommandPrefixOrSuffixItem,
        reasons: &mut Vec<String>,
    ) -> Option<String> {
        use ast::CommandPrefixOrSuffixItem as Item;
        match item {
            Item::Word(word) => Some(word.value.clone()),
            Item::AssignmentWord(_, word) => {
                let info = words::analyse(&word.value);
                reasons.extend(self.substitutions(&info));
                reasons.extend(assignment_runs_code(&word.value, &info.text));
                reasons.extend(self.environment(&info.text));
                Some(word.value.clone())
            }
            Item::IoRedirect(redirect) => {
                reasons.extend(self.redirect(redirect));
                None
            }
            Item::ProcessSubstitution(kind, subshell) => {
                reasons.push(self.process_substitution(kind, subshell));
                Some(format!("{kind}{subshell}"))
            }
        }
    }

    /// A prefix assignment the program reads as a command to run
    /// (`GIT_SSH_COMMAND='…' git fetch`, `LESSOPEN=… less`) is analysed as that
    /// command; one that makes the program load code makes the command opaque.
    fn environment(&mut self, assignment: &str) -> Option<String> {
        let (name, value) = assignment.split_once('=')?;
        let mut reason = None;
        for step in super::config_exec::environment(name, value) {
            match step {
                super::Step::Opaque(why) => reason = Some(why),
                step => {
                    let argv = [assignment.to_string()];
                    super::follow(step, &argv, self.via, self.depth + 1, self.out);
                }
            }
        }
        reason
    }

    /// Brace-expand and analyse one raw word.
    fn expand(&mut self, raw: &str, reasons: &mut Vec<String>) -> Vec<WordInfo> {
        let expanded = words::expand_braces(raw).unwrap_or_else(|reason| {
            reasons.push(reason);
            vec![raw.to_string()]
        });
        expanded
            .iter()
            .map(|word| {
                let info = words::analyse(word);
                reasons.extend(self.substitutions(&info));
                info
            })
            .collect()
    }

    /// Analyse the bodies of a word's command substitutions, which run too, and
    /// say why the word is opaque.
    fn substitutions(&mut self, info: &WordInfo) -> Option<String> {
        for body in &info.substitutions {
            self.nested_line(body, "$(...)");
        }
        info.opaque_reason()
    }

    fn nested_line(&mut self, line: &str, label: &str) {
        let via = with_label(self.via, label);
        if let Err(reason) = walk_line(line, &via, self.depth + 1, self.out) {
            let opaque = super::command(vec![line.to_string()], &via, Some(reason));
            self.out.push(opaque);
        }
    }

    fn process_substitution(
        &mut self,
        kind: &ast::ProcessSubstitutionKind,
        subshell: &ast::SubshellCommand,
    ) -> String {
        let via = with_label(self.via, &format!("{kind}(...)"));
        let mut inner = Walker {
            line: self.line,
            via: &via,
            depth: self.depth + 1,
            out: self.out,
        };
        inner.list(&subshell.list);
        "process substitution: its file is only known at run time".into()
    }

    fn redirect(&mut self, redirect: &ast::IoRedirect) -> Vec<String> {
        use ast::IoFileRedirectTarget as Target;
        match redirect {
            ast::IoRedirect::File(_, _, Target::Filename(word) | Target::Duplicate(word))
            | ast::IoRedirect::HereString(_, word)
            | ast::IoRedirect::OutputAndError(word, _) => {
                let info = words::analyse(&word.value);
                self.substitutions(&info).into_iter().collect()
            }
            ast::IoRedirect::File(_, _, Target::ProcessSubstitution(kind, subshell)) => {
                vec![self.process_substitution(kind, subshell)]
            }
            ast::IoRedirect::File(_, _, Target::Fd(_)) => Vec::new(),
            ast::IoRedirect::HereDocument(_, doc) if doc.requires_expansion => {
                self.here_document(&doc.doc.value)
            }
            ast::IoRedirect::HereDocument(..) => Vec::new(),
        }
    }

    /// An unquoted here-document runs the command substitutions in its body.
    fn here_document(&mut self, body: &str) -> Vec<String> {
        let Ok(pieces) = brush_parser::word::parse_heredoc(body, &words::parser_options()) else {
            return vec!["cannot parse a here-document body".into()];
        };
        let subs = collect_substitutions(&pieces);
        subs.iter().for_each(|sub| self.nested_line(sub, "$(...)"));
        if subs.is_empty() {
            Vec::new()
        } else {
            vec!["command substitution in a here-document".into()]
        }
    }

    /// Redirections on a compound command: a substitution there is reported on its own.
    pub(super) fn loose_redirects(&mut self, redirects: Option<&ast::RedirectList>) {
        for redirect in redirects.iter().flat_map(|list| &list.0) {
            let reasons = self.redirect(redirect);
            if !reasons.is_empty() {
                self.push_opaque(redirect.to_string(), reasons);
            }
        }
    }

    /// A word outside any command (a `for` list, a `case` word): analysed for
    /// substitutions, which are reported on their own.
    pub(super) fn loose_word(&mut self, word: &ast::Word) {
        let info = words::analyse(&word.value);
        if let Some(reason) = self.substitutions(&info) {
            self.push_opaque(word.value.clone(), vec![reason]);
        }
    }

    pub(super) fn test_expr(&mut self, expr: &ast::ExtendedTestExpr) {
        use ast::ExtendedTestExpr as E;
        match expr {
            E::And(left, right) | E::Or(left, right) => {
                self.test_expr(left);
                self.test_expr(right);
            }
            E::Not(inner) | E::Parenthesized(inner) => self.test_expr(inner),
            E::UnaryTest(predicate, word) => {
                use ast::UnaryPredicate as U;
                let names_a_variable = matches!(
                    predicate,
                    U::ShellVariableIsSetAndAssigned | U::ShellVariableIsSetAndNameRef
                );
                self.evaluated_word(word, names_a_variable);
            }
            E::BinaryTest(predicate, left, right) => {
                // `[[ a -eq b ]]` evaluates both sides as arithmetic.
                use ast::BinaryPredicate as B;
                let arithmetic = matches!(
                    predicate,
                    B::ArithmeticEqualTo
                        | B::ArithmeticNotEqualTo
                        | B::ArithmeticLessThan
                        | B::ArithmeticLessThanOrEqualTo
                        | B::ArithmeticGreaterThan
                        | B::ArithmeticGreaterThanOrEqualTo
                );
                self.evaluated_word(left, arithmetic);
                self.evaluated_word(right, arithmetic);
            }
        }
    }

    /// A test operand; when bash reads it as a variable name or arithmetic, an
    /// array subscript in it is expanded and may run commands.
    fn evaluated_word(&mut self, word: &ast::Word, evaluated: bool) {
        if evaluated && globs::subscript_runs_code(&words::analyse(&word.value).text) {
            let reason = "an array subscript evaluated in a test can run commands".to_string();
            self.push_opaque(word.value.clone(), vec![reason]);
        } else {
            self.loose_word(word);
        }
    }

    pub(super) fn arithmetic(&mut self, expr: &ast::UnexpandedArithmeticExpr) {
        let reason = if expr.value.contains("$(") || expr.value.contains('`') {
            "command substitution in arithmetic"
        } else if globs::subscript_runs_code(&expr.value) {
            "an array subscript evaluated in arithmetic can run commands"
        } else {
            return;
        };
        self.push_opaque(expr.value.clone(), vec![reason.to_string()]);
    }

    fn push_opaque(&mut self, text: String, reasons: Vec<String>) {
        self.out.push(super::command(
            vec![text],
            self.via,
            Some(reasons.join("; ")),
        ));
    }
}

fn collect_substitutions(pieces: &[brush_parser::word::WordPieceWithSource]) -> Vec<String> {
    use brush_parser::word::WordPiece as P;
    let mut found = Vec::new();
    for piece in pieces {
        match &piece.piece {
            P::CommandSubstitution(body) | P::BackquotedCommandSubstitution(body) => {
                found.push(body.clone())
            }
            P::DoubleQuotedSequence(inner) | P::GettextDoubleQuotedSequence(inner) => {
                found.extend(collect_substitutions(inner));
            }
            _ => {}
        }
    }
    found
}

/// Commands built from a word with substitutions are opaque; so is a command whose
/// name came from an expansion or a file-name pattern.
fn mark_opaque(commands: &mut [SimpleCommand], reasons: &[String], runtime: &[WordInfo]) {
    for command in commands.iter_mut().filter(|c| c.opaque.is_none()) {
        let name_is_runtime = command
            .argv
            .first()
            .is_some_and(|name| runtime.iter().any(|word| &word.text == name));
        if !reasons.is_empty() {
            command.opaque = Some(reasons.join("; "));
        } else if name_is_runtime {
            command.opaque =
                Some("the command name is only known at run time (an expansion or pattern)".into());
        }
    }
}

/// Record which arguments of each command are only known at run time, so
/// evaluation can tell whether a rule could match them differently. Wrappers may
/// have moved them, so they are found again by their text.
fn mark_runtime(commands: &mut [SimpleCommand], runtime: &[WordInfo]) {
    if runtime.is_empty() {
        return;
    }
    for command in commands.iter_mut() {
        command.runtime = command
            .argv
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(at, arg)| {
                let word = runtime.iter().find(|word| &word.text == arg)?;
                Some(RuntimeWord {
                    at,
                    values: word.values.clone(),
                    splits: word.splits,
                })
            })
            .collect();
    }
}

/// Why an assignment word runs code: it sets a variable that injects code
/// (`BASH_ENV=`, `BASH_CMDS[x]=`), or stores an array subscript that runs a
/// command when the variable is used in arithmetic.
fn assignment_runs_code(raw: &str, value: &str) -> Option<String> {
    let name_end = raw.find(['=', '[', '+']).unwrap_or(raw.len());
    if let Some(reason) = injection::assignment(&raw[..name_end]) {
        return Some(reason);
    }
    let assigned = value.split_once('=').map_or("", |(_, v)| v);
    let runs = assigned
        .find('[')
        .is_some_and(|open| assigned[open..].contains("$(") || assigned[open..].contains('`'));
    runs.then(|| "the value holds an array subscript that runs a command when evaluated".into())
}
