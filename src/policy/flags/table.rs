//! The built-in option grammars, written in the small language a policy's
//! `[[options]]` entries use for their `flags` lines, and its reader.
//!
//! ```text
//! program NAME[|NAME…] [abbrev] [go] [cobra]   a program (names: aliases)
//! in NAME SUB[|ALIAS…]… [abbrev]               one of its subcommands
//! SPELLING… [=|=?] [>IMPLIED…]                 one option: its spellings, then
//!                                              `=` (takes a value) or `=?` (an
//!                                              optional value, attached only),
//!                                              then options it implies
//! operand PREFIX >IMPLIED                      an operand starting with PREFIX
//!                                              implies an option
//! ```
//!
//! Sources: each program's own manual (`rm --help`, git-push(1), `kubectl
//! options`, `helm --help`, `terraform -help`, `docker --help`, `aws help`,
//! `gcloud help`, psql(1), mysql(1), curl(1), chmod(1)), as of late 2026.

use super::{Opt, Scope, Style, Takes};

const TABLE: &str = r"
# GNU coreutils: getopt_long, clusters, unique prefixes of long options.
program rm abbrev
-r -R --recursive
-f --force
-i
-I
--interactive =?
-d --dir
-v --verbose
--one-file-system
--no-preserve-root
--preserve-root =?

program chmod|chown|chgrp abbrev
-R --recursive
-c --changes
-f --silent --quiet
-v --verbose
-h --no-dereference
--dereference
--reference =
--from =
--preserve-root
--no-preserve-root

# git: global options before the subcommand; subcommands read unique prefixes.
program git
-C =
-c =
--git-dir =
--work-tree =
--namespace =
--exec-path =?
--config-env =
--super-prefix =
-p --paginate
-P --no-pager
--bare
--no-replace-objects
--no-optional-locks
--literal-pathspecs
--glob-pathspecs
--noglob-pathspecs
--icase-pathspecs

in git push abbrev
-f --force
--force-with-lease =? >--force
--force-if-includes >--force
--mirror >--force
-d --delete
--all --branches
--tags
--follow-tags
-n --dry-run
--porcelain
--prune
-u --set-upstream
-o --push-option =
--repo =
--receive-pack --exec =
-q --quiet
-v --verbose
--progress
--no-verify
--verify
--atomic
--signed =?
-4 --ipv4
-6 --ipv6
--recurse-submodules =
--thin
operand + >--force
operand : >--delete

in git clean abbrev
-f --force
-d
-x
-X
-n --dry-run
-i --interactive
-q --quiet
-e --exclude =

in git reset abbrev
--hard
--soft
--mixed
--merge
--keep
-q --quiet
-p --patch
-N --intent-to-add

in git branch abbrev
-d --delete
-D >--delete >--force
-f --force
-m --move
-M >--move >--force
-c --copy
-C >--copy >--force
-r --remotes
-a --all
-u --set-upstream-to =
-t --track =?

in git checkout abbrev
-f --force
-b =
-B =
-q --quiet
-m --merge
--orphan =
-p --patch

# kubectl: cobra; persistent flags anywhere, no abbreviations.
program kubectl cobra
-n --namespace =
--context =
--cluster =
--kubeconfig =
--user =
-s --server =
--token =
--as =
--as-group =
--as-uid =
--insecure-skip-tls-verify =?
--request-timeout =
-v --v =
--cache-dir =
--certificate-authority =
--client-certificate =
--client-key =
--username =
--password =
--tls-server-name =
--match-server-version =?
--profile =
--profile-output =
--warnings-as-errors =?
--disable-compression =?
-f --filename =
-k --kustomize =
-l --selector =
-o --output =
-A --all-namespaces =?
-R --recursive =?
-w --watch =?
--all =?
--force =?
--grace-period =
--now =?
--wait =?
--cascade =?
--dry-run =?
--field-selector =
--ignore-not-found =?
--server-side =?
--prune =?
--raw =
--timeout =
--replicas =
--sort-by =

in kubectl exec
-c --container =
-i --stdin =?
-t --tty =?
-q --quiet =?

in kubectl logs
-c --container =
-p --previous =?
-f --follow =?

in kubectl patch
-p --patch =
--type =

in kubectl run
-i --stdin =?
-t --tty =?
--image =
--rm =?
--env =
--port =

# helm: cobra.
program helm cobra
-n --namespace =
--kube-context =
--kubeconfig =
--kube-apiserver =
--kube-as-user =
--kube-as-group =
--kube-ca-file =
--kube-token =
--kube-insecure-skip-tls-verify =?
--burst-limit =
--qps =
--registry-config =
--repository-cache =
--repository-config =
--debug =?
-f --values =
--set =
--set-string =
--set-file =
--set-json =
--version =
--timeout =
--wait =?
--atomic =?
--force =?
--dry-run =?
-o --output =
--description =
--create-namespace =?
--keep-history =?
--no-hooks =?
--cascade =

in helm uninstall|un|del|delete
in helm upgrade
-i --install =?
in helm install
in helm rollback
in helm list|ls
-a --all =?
-A --all-namespaces =?

# terraform: Go's flag package; `-chdir=DIR` comes before the subcommand.
program terraform go
-chdir =
-help -h
-version -v

in terraform apply
-auto-approve =?
-destroy =?
-refresh-only =?
-target =
-replace =
-var =
-var-file =
-state =
-state-out =
-backup =
-lock =?
-lock-timeout =
-input =?
-parallelism =
-compact-warnings =?
-no-color =?
-json =?
-refresh =?

in terraform destroy
-auto-approve =?
-target =
-var =
-var-file =
-state =
-lock =?
-lock-timeout =
-input =?
-parallelism =
-no-color =?
-json =?
-refresh =?

in terraform plan
-destroy =?
-refresh-only =?
-out =
-target =
-replace =
-var =
-var-file =
-state =
-lock =?
-lock-timeout =
-input =?
-parallelism =
-no-color =?
-json =?
-refresh =?
-detailed-exitcode =?

in terraform import
-var =
-var-file =
-state =
-lock =?
-input =?
-no-color =?

# docker: cobra.
program docker cobra
-H --host =
-c --context =
--config =
-D --debug =?
-l --log-level =
--tls =?
--tlscacert =
--tlscert =
--tlskey =
--tlsverify =?

in docker rm
-f --force =?
-v --volumes =?
-l --link =?

in docker rmi
-f --force =?
--no-prune =?

in docker system
in docker system prune
-a --all =?
-f --force =?
--volumes =?
--filter =

in docker volume
in docker volume rm
-f --force =?
in docker volume prune
-a --all =?
-f --force =?
--filter =

in docker login
-u --username =
-p --password =
--password-stdin =?

in docker push
-a --all-tags =?
-q --quiet =?
--platform =
--disable-content-trust =?

# aws: global options anywhere, long only, a value as `--x v` or `--x=v`.
program aws
--profile =
--region =
--output =
--endpoint-url =
--query =
--color =
--ca-bundle =
--cli-read-timeout =
--cli-connect-timeout =
--cli-binary-format =
--debug
--no-verify-ssl
--no-paginate
--no-sign-request
--no-cli-pager
--cli-auto-prompt
--no-cli-auto-prompt
--cli-input-json =
--cli-input-yaml =
--recursive
--dryrun
--exclude =
--include =
--quiet
--only-show-errors
--force
--delete

# gcloud: global flags anywhere.
program gcloud
--project =
--account =
--configuration =
--billing-project =
--flags-file =
--flatten =
--format =
--verbosity =
--impersonate-service-account =
--trace-token =
--zone =
--region =
-q --quiet
--log-http
--user-output-enabled
--no-user-output-enabled

# PostgreSQL's psql: getopt_long.
program psql abbrev
-c --command =
-d --dbname =
-f --file =
-l --list
-v --set --variable =
-X --no-psqlrc
-1 --single-transaction
-a --echo-all
-b --echo-errors
-e --echo-queries
-E --echo-hidden
-L --log-file =
-n --no-readline
-o --output =
-q --quiet
-s --single-step
-S --single-line
-A --no-align
--csv
-F --field-separator =
-H --html
-P --pset =
-R --record-separator =
-t --tuples-only
-T --table-attr =
-x --expanded
-z --field-separator-zero
-0 --record-separator-zero
-h --host =
-p --port =
-U --username =
-w --no-password
-W --password

# MySQL and MariaDB clients: unique prefixes; `-pPASS` attaches the password.
program mysql|mariadb abbrev
-e --execute =
-u --user =
-p --password =?
-h --host =
-P --port =
-D --database =
-S --socket =
-B --batch
-N --skip-column-names
-s --silent
-v --verbose
-f --force
-A --no-auto-rehash
-t --table
-E --vertical
-X --xml
-H --html
--defaults-file =
--defaults-extra-file =
--init-command =
--protocol =
--ssl-mode =

# curl: no abbreviations.
program curl
-X --request =
-d --data =
--data-raw =
--data-binary =
--data-urlencode =
-H --header =
-o --output =
-u --user =
-T --upload-file =
-F --form =
-b --cookie =
-A --user-agent =
-e --referer =
-x --proxy =
-K --config =
-w --write-out =
-m --max-time =
-k --insecure
-s --silent
-S --show-error
-L --location
-O --remote-name
-f --fail
-v --verbose
-i --include
-I --head
-G --get
";

/// A line of the option language that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub message: String,
    pub hint: String,
}

/// The built-in grammar of `program`, read from its own section of the table
/// only (a command costs the lines of the programs it names, not the table),
/// once per program per thread (a policy of thousands of rules names few programs).
pub fn builtin(program: &str) -> Option<Scope> {
    thread_local! {
        static READ: std::cell::RefCell<std::collections::HashMap<String, Option<Scope>>> =
            std::cell::RefCell::default();
    }
    READ.with(|read| {
        if let Some(found) = read.borrow().get(program) {
            return found.clone();
        }
        let found = section(program);
        read.borrow_mut().insert(program.to_string(), found.clone());
        found
    })
}

fn section(program: &str) -> Option<Scope> {
    let mut section: Option<usize> = None;
    let mut end = TABLE.len();
    let mut offset = 0;
    for line in TABLE.split_inclusive('\n') {
        if let Some(names) = line.trim().strip_prefix("program ") {
            if section.is_some() {
                end = offset;
                break;
            }
            let names = names.split_whitespace().next().unwrap_or_default();
            if names.split('|').any(|name| name == program) {
                section = Some(offset);
            }
        }
        offset += line.len();
    }
    read_table(&TABLE[section?..end]).ok()?.into_iter().next()
}

/// Every built-in grammar (for the table's own tests).
#[cfg(test)]
pub fn all() -> Vec<Scope> {
    read_table(TABLE).expect("the option table reads")
}

/// Read the table. A line it cannot read is a bug in the table (the unit tests
/// read it); at run time such a table gives no grammars rather than wrong ones.
pub(super) fn read_table(text: &str) -> Result<Vec<Scope>, String> {
    let mut programs: Vec<Scope> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |why: &str| format!("option table line {}: {why}: {line}", number + 1);
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "program" => {
                let names: Vec<String> = words
                    .get(1)
                    .ok_or_else(|| fail("no program name"))?
                    .split('|')
                    .map(String::from)
                    .collect();
                let style = read_style(&words[2..]).map_err(|w| fail(&w))?;
                path = vec![names[0].clone()];
                programs.push(Scope {
                    names,
                    style,
                    ..Scope::default()
                });
            }
            "in" => {
                let program = programs.last_mut().ok_or_else(|| fail("no program yet"))?;
                if words.get(1) != Some(&program.names[0].as_str()) {
                    return Err(fail("names another program than the one above"));
                }
                let subs: Vec<&str> = words[2..]
                    .iter()
                    .copied()
                    .take_while(|w| *w != "abbrev")
                    .collect();
                let abbreviations = words.contains(&"abbrev");
                let names: Vec<String> = subs
                    .iter()
                    .map(|w| w.split('|').next().unwrap_or(w).to_string())
                    .collect();
                let scope = program.scope_mut(&names);
                if let Some(last) = subs.last() {
                    scope.names = last.split('|').map(String::from).collect();
                }
                scope.style.abbreviations = abbreviations;
                path = std::iter::once(program.names[0].clone())
                    .chain(names)
                    .collect();
            }
            _ => {
                let program = programs.last_mut().ok_or_else(|| fail("no program yet"))?;
                let scope = program.scope_mut(&path[1..]);
                if words[0] == "operand" {
                    match words.as_slice() {
                        [_, prefix, implied] if implied.starts_with('>') => scope
                            .operand_implies
                            .push((prefix.to_string(), implied[1..].to_string())),
                        _ => return Err(fail("write `operand PREFIX >--option`")),
                    }
                } else {
                    let opt = parse_line(line).map_err(|bad| fail(&bad.message))?;
                    scope.options.push(opt);
                }
            }
        }
    }
    Ok(programs)
}

fn read_style(words: &[&str]) -> Result<Style, String> {
    let mut style = Style::default();
    for word in words {
        match *word {
            "abbrev" => style.abbreviations = true,
            "go" => style.go = true,
            "cobra" => style.cobra = true,
            other => return Err(format!("unknown style `{other}`")),
        }
    }
    Ok(style)
}

/// One option line: `-f --force`, `-o --output =`, `--force-with-lease =? >--force`.
pub fn parse_line(line: &str) -> Result<Opt, BadLine> {
    let mut opt = Opt {
        spellings: Vec::new(),
        takes: Takes::Nothing,
        implies: Vec::new(),
    };
    for word in line.split_whitespace() {
        match word {
            "=" => opt.takes = Takes::Value,
            "=?" => opt.takes = Takes::Attached,
            _ if word.starts_with('>') && word.len() > 2 && word[1..].starts_with('-') => {
                opt.implies.push(word[1..].to_string())
            }
            _ if word.starts_with('-') && word.len() > 1 && word != "--" => {
                let bad = word.contains(['=', '*', '?', '[', '{']);
                if bad || (!word.starts_with("--") && word.chars().count() != 2 && !go_like(word)) {
                    return Err(BadLine {
                        message: format!("`{word}` is not an option spelling"),
                        hint: "write spellings like `-f`, `--force` or `-auto-approve`, \
                               then `=` if the option takes a value"
                            .into(),
                    });
                }
                opt.spellings.push(word.to_string());
            }
            _ => {
                return Err(BadLine {
                    message: format!("`{word}` is not an option spelling, `=`, `=?` or `>IMPLIED`"),
                    hint: "an option line is its spellings (`-o --output`), then `=` when it \
                           takes a value or `=?` when the value is optional"
                        .into(),
                });
            }
        }
    }
    if opt.spellings.is_empty() {
        return Err(BadLine {
            message: "no option spelling".into(),
            hint: "start the line with the option's spellings, e.g. \"-f --force\"".into(),
        });
    }
    Ok(opt)
}

/// A single-dash long option (`-auto-approve`, `-chdir`), as Go programs spell them.
fn go_like(word: &str) -> bool {
    word.len() > 2
        && word[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
}
