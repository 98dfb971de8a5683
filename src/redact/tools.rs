//! The table of programs whose own options or operands carry a password, where
//! the option alone (`-p`, `-a`, `-w`) means nothing outside that program. One
//! row per option grammar, with the manual it comes from; `argv` applies it.
//!
//! Options whose name says "secret" for any program (`--password`, `--api-key`,
//! `--oauth2-bearer`, gpg's `--passphrase`) need no row: `names` decides them.

/// How an option's value is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Given {
    /// As the next word only (`openssl enc -k VALUE`).
    Next,
    /// Attached only (`mysql -pVALUE`, `7z -pVALUE`): alone, the option prompts.
    Attached,
    /// Next word or attached (`-p VALUE`, `-pVALUE`, `--opt=VALUE`).
    Either,
    /// Every later word of the command (`redis-cli AUTH user pass`).
    Rest,
    /// The last operand of the command (`htpasswd -b file user PASS`).
    LastOperand,
    /// The next word after a configuration key that names a secret
    /// (`npm config set //reg/:_authToken VALUE`, `git config github.token VALUE`).
    AfterSecretKey,
}

/// Which part of the value is the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Whole,
    /// After the first occurrence of the separator: `user:PASS`, `user%PASS`,
    /// `name=VALUE`. Nothing when the separator is absent.
    After(char),
    /// `user:PASS`, or the whole value when there is no `:` (httpie's bearer `-a TOKEN`).
    AfterColonOrWhole,
    /// Cookie data (`name=value`); a word without `=` is a cookie file name.
    CookieData,
}

#[derive(Debug)]
pub(super) struct Tool {
    /// Program names as invoked (basename); a row applies after any of them.
    pub(super) programs: &'static [&'static str],
    /// A subcommand that must come first (`docker login`); empty: none.
    pub(super) after: &'static [&'static str],
    /// Spellings of the option; for [`Given::Rest`], the word that starts the secret.
    pub(super) options: &'static [&'static str],
    pub(super) given: Given,
    pub(super) part: Part,
    /// Short flags that must all appear in the command (`htpasswd -b`).
    pub(super) when: &'static str,
    /// A short option may end a cluster of flags (`ldapsearch -xwSECRET`, `zip -rP X`).
    pub(super) clusters: bool,
    /// Where the option is documented: read by the table's tests, never by the code.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) source: &'static str,
}

const fn row(
    programs: &'static [&'static str],
    after: &'static [&'static str],
    options: &'static [&'static str],
    given: Given,
    part: Part,
    source: &'static str,
) -> Tool {
    Tool {
        programs,
        after,
        options,
        given,
        part,
        when: "",
        clusters: false,
        source,
    }
}

const fn clustered(tool: Tool) -> Tool {
    Tool {
        clusters: true,
        ..tool
    }
}

const LDAP: &[&str] = &[
    "ldapsearch",
    "ldapadd",
    "ldapmodify",
    "ldapdelete",
    "ldapmodrdn",
    "ldapcompare",
    "ldapwhoami",
    "ldappasswd",
    "ldapexop",
    "ldapvc",
];
const MONGO: &[&str] = &[
    "mongosh",
    "mongo",
    "mongodump",
    "mongorestore",
    "mongoexport",
    "mongoimport",
    "mongostat",
    "mongotop",
    "mongofiles",
];
const REGISTRY_CLIENTS: &[&str] = &[
    "docker", "podman", "nerdctl", "buildah", "skopeo", "finch", "oras", "crane", "helm", "regctl",
    "oc", "cf", "az", "argocd",
];
const SAMBA: &[&str] = &[
    "smbclient",
    "rpcclient",
    "smbget",
    "smbcacls",
    "smbcquotas",
    "smbtree",
    "net",
    "smbpasswd",
    "mount.cifs",
];
const SEVEN_ZIP: &[&str] = &["7z", "7za", "7zr", "7zz", "7zzs", "rar", "unrar", "winrar"];
const HTTPIE: &[&str] = &["http", "https", "xh", "xhs", "httpie"];
const SQLSERVER: &[&str] = &["sqlcmd", "bcp", "osql"];
const CONFIG_CLIS: &[&str] = &[
    "npm", "yarn", "pnpm", "pip", "pip3", "git", "gcloud", "aws", "dotnet", "conda", "poetry",
    "bundle", "composer", "heroku", "az", "gh", "glab", "cargo", "uv",
];
const NETEXEC: &[&str] = &["nxc", "netexec", "crackmapexec", "cme", "smbmap", "ncftp"];

pub(super) const TOOLS: &[Tool] = &[
    row(
        super::context::MYSQL_CLIENTS,
        &[],
        &["-p"],
        Given::Attached,
        Part::Whole,
        "MySQL/MariaDB: --password[=pw], -p[pw] (dev.mysql.com/doc/refman/8.0/en/connection-options.html)",
    ),
    row(
        &["sshpass"],
        &[],
        &["-p"],
        Given::Either,
        Part::Whole,
        "sshpass(1): -p password",
    ),
    row(
        &["curl"],
        &[],
        &["-u", "--user", "-U", "--proxy-user"],
        Given::Either,
        Part::After(':'),
        "curl(1): -u/--user user:password, -U/--proxy-user",
    ),
    row(
        &["curl"],
        &[],
        &["-E", "--cert", "--proxy-cert"],
        Given::Either,
        Part::After(':'),
        "curl(1): -E/--cert certificate[:password]",
    ),
    row(
        &["curl"],
        &[],
        &["-b", "--cookie"],
        Given::Either,
        Part::CookieData,
        "curl(1): -b/--cookie data|filename",
    ),
    row(
        &["wget"],
        &[],
        &["--user", "--http-user", "--ftp-user"],
        Given::Either,
        Part::After(':'),
        "wget(1): user names; a user:pass value is masked after the colon",
    ),
    row(
        HTTPIE,
        &[],
        &["-a", "--auth"],
        Given::Either,
        Part::AfterColonOrWhole,
        "HTTPie docs, Authentication: -a user:password, -A bearer -a token; xh likewise",
    ),
    row(
        REGISTRY_CLIENTS,
        &["login"],
        &["-p"],
        Given::Either,
        Part::Whole,
        "docker login -p/--password (docs.docker.com/reference/cli/docker/login); podman, skopeo, helm registry, oras, crane, oc, cf, az login",
    ),
    row(
        &["twine"],
        &["upload", "register"],
        &["-p"],
        Given::Either,
        Part::Whole,
        "twine upload -p/--password (twine.readthedocs.io)",
    ),
    row(
        &["redis-cli", "valkey-cli", "keydb-cli"],
        &[],
        &["-a"],
        Given::Either,
        Part::Whole,
        "redis-cli -a <password> (redis.io/docs/connect/cli)",
    ),
    row(
        &["redis-cli", "valkey-cli", "keydb-cli"],
        &[],
        &["auth", "AUTH"],
        Given::Rest,
        Part::Whole,
        "Redis AUTH [username] password as a redis-cli command",
    ),
    clustered(row(
        LDAP,
        &[],
        &["-w"],
        Given::Either,
        Part::Whole,
        "OpenLDAP ldap*(1): -w passwd (simple authentication)",
    )),
    clustered(row(
        &["ldappasswd"],
        &[],
        &["-s", "-a"],
        Given::Either,
        Part::Whole,
        "ldappasswd(1): -s newPasswd, -a oldPasswd",
    )),
    row(
        SQLSERVER,
        &[],
        &["-P"],
        Given::Either,
        Part::Whole,
        "sqlcmd -P password, bcp -P (learn.microsoft.com/sql/tools/sqlcmd)",
    ),
    row(
        MONGO,
        &[],
        &["-p"],
        Given::Either,
        Part::Whole,
        "mongosh -p/--password; MongoDB Database Tools -p (mongodb.com/docs/mongodb-shell)",
    ),
    row(
        &["openssl"],
        &[],
        &["-k", "-K"],
        Given::Next,
        Part::Whole,
        "openssl-enc(1): -k password, -K key (hex)",
    ),
    row(
        &["openssl"],
        &["passwd"],
        &[],
        Given::LastOperand,
        Part::Whole,
        "openssl-passwd(1): the password operand",
    ),
    clustered(row(
        &["zip", "unzip", "zipcloak", "funzip"],
        &[],
        &["-P"],
        Given::Either,
        Part::Whole,
        "zip(1)/unzip(1): -P password",
    )),
    row(
        SEVEN_ZIP,
        &[],
        &["-p", "-hp"],
        Given::Attached,
        Part::Whole,
        "7-Zip -p{password} switch; rar -p<pwd>, -hp<pwd>",
    ),
    Tool {
        when: "b",
        ..row(
            &["htpasswd"],
            &[],
            &[],
            Given::LastOperand,
            Part::Whole,
            "htpasswd(1): -b takes the password on the command line, as the last argument",
        )
    },
    clustered(row(
        SAMBA,
        &[],
        &["-U", "--user"],
        Given::Either,
        Part::After('%'),
        "smbclient(1): -U|--user=[DOMAIN\\]USERNAME[%PASSWORD]; rpcclient, smbget, net likewise",
    )),
    row(
        NETEXEC,
        &[],
        &["-p"],
        Given::Either,
        Part::Whole,
        "NetExec/CrackMapExec -p password; smbmap -p; ncftp -p",
    ),
    row(
        &["lftp"],
        &[],
        &["-u", "--user"],
        Given::Either,
        Part::After(','),
        "lftp(1): -u user[,pass]",
    ),
    row(
        &["gh"],
        &["secret"],
        &["-b", "--body"],
        Given::Either,
        Part::Whole,
        "gh secret set -b/--body (cli.github.com/manual/gh_secret_set)",
    ),
    row(
        &["glab"],
        &["variable"],
        &["-v", "--value"],
        Given::Either,
        Part::Whole,
        "glab variable set -v/--value",
    ),
    row(
        &["kubectl", "oc"],
        &["secret"],
        &["--from-literal"],
        Given::Either,
        Part::After('='),
        "kubectl create secret generic --from-literal=key=value (kubernetes.io/docs)",
    ),
    row(
        &["doctl"],
        &["auth"],
        &["-t", "--access-token"],
        Given::Either,
        Part::Whole,
        "doctl auth init -t token",
    ),
    row(
        &["vault", "bao"],
        &["login"],
        &[],
        Given::LastOperand,
        Part::Whole,
        "vault login [TOKEN] (developer.hashicorp.com/vault/docs/commands/login)",
    ),
    row(
        &["mysqladmin", "mariadb-admin"],
        &[],
        &["password"],
        Given::Next,
        Part::Whole,
        "mysqladmin password new_password",
    ),
    row(
        CONFIG_CLIS,
        &["config", "configure", "user-secrets", "config:set"],
        &[],
        Given::AfterSecretKey,
        Part::Whole,
        "npm/yarn/pnpm/pip/git/gcloud/aws/dotnet `config set KEY VALUE` with KEY naming a secret (.npmrc _authToken, git github.token)",
    ),
];

/// Programs that run another program given on their command line: a tool's name
/// after one of them is still that tool (`sudo mysql -pX`, `docker exec db mysql -pX`).
pub(super) const WRAPPERS: &[&str] = &[
    "sudo",
    "doas",
    "env",
    "nice",
    "ionice",
    "nohup",
    "timeout",
    "time",
    "command",
    "exec",
    "xargs",
    "watch",
    "stdbuf",
    "chroot",
    "runuser",
    "su",
    "setsid",
    "setpriv",
    "unshare",
    "nsenter",
    "firejail",
    "flatpak-spawn",
    "systemd-run",
    "strace",
    "ltrace",
    "valgrind",
    "ssh",
    "docker",
    "podman",
    "nerdctl",
    "kubectl",
    "oc",
    "lxc",
    "incus",
    "parallel",
    "script",
    "sg",
    "flock",
    "busybox",
    "npx",
    "uv",
    "uvx",
    "poetry",
    "pipx",
    "bundle",
    "gate",
    "caffeinate",
    "chrt",
    "taskset",
    "numactl",
    "proxychains",
    "proxychains4",
    "torsocks",
    "dbus-run-session",
    "ip",
    "sshpass",
];

/// Whether some row names `program`.
pub(super) fn is_tool(program: &str) -> bool {
    TOOLS.iter().any(|tool| tool.programs.contains(&program))
}
