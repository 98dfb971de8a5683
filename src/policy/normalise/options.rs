//! A getopt-style scanner for wrapper options, strict by design: an option it does
//! not know is an error, because guessing whether it takes a value could make the
//! wrapped program look like something else.

/// The options one wrapper accepts. Scanning stops at the first operand, as the
/// wrappers themselves do (`+` in their getopt strings).
#[derive(Debug, Default)]
pub(super) struct OptionSpec {
    /// Short options without a value, e.g. `"inE"`.
    pub flags: &'static str,
    /// Short options that take a value, attached (`-uroot`) or next (`-u root`).
    pub valued: &'static str,
    /// Short options whose value is optional and only ever attached (`-i[R]`).
    pub optional: &'static str,
    pub long_flags: &'static [&'static str],
    pub long_valued: &'static [&'static str],
    /// Long options whose value is optional and only given as `--name=value`.
    pub long_optional: &'static [&'static str],
    /// Accept `-N` (all digits) as an option, as `nice -5` does.
    pub numeric: bool,
}

/// Options found (short ones as `-x`, long ones as `--name`, with any value) and the
/// index of the first operand.
#[derive(Debug)]
pub(super) struct Scanned {
    pub options: Vec<(String, Option<String>)>,
    pub operands: usize,
}

impl Scanned {
    pub fn has(&self, names: &[&str]) -> bool {
        self.options
            .iter()
            .any(|(name, _)| names.contains(&name.as_str()))
    }

    pub fn value(&self, names: &[&str]) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(name, _)| names.contains(&name.as_str()))
            .and_then(|(_, value)| value.as_deref())
    }
}

/// Scan `argv[start..]`. The error names the option and the program.
pub(super) fn scan(spec: &OptionSpec, argv: &[String], start: usize) -> Result<Scanned, String> {
    let program = argv.first().map_or("", |p| super::basename(p));
    let mut options = Vec::new();
    let mut i = start;
    while let Some(arg) = argv.get(i) {
        i += 1;
        if arg == "--" {
            break;
        }
        let found = if let Some(long) = arg.strip_prefix("--") {
            scan_long(spec, long, argv, &mut i)
        } else if arg.len() > 1 && arg.starts_with('-') {
            scan_short(spec, &arg[1..], argv, &mut i)
        } else {
            i -= 1;
            break;
        };
        match found {
            Ok(found) => options.extend(found),
            Err(option) => return Err(format!("unrecognised option {option} to {program}")),
        }
    }
    Ok(Scanned {
        options,
        operands: i,
    })
}

type Found = Vec<(String, Option<String>)>;

fn scan_long(
    spec: &OptionSpec,
    long: &str,
    argv: &[String],
    i: &mut usize,
) -> Result<Found, String> {
    let (given, attached) = match long.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (long, None),
    };
    let name = resolve_long(spec, given).ok_or_else(|| format!("--{given}"))?;
    let key = format!("--{name}");
    if spec.long_valued.contains(&name) {
        let value = match attached {
            Some(value) => value,
            None => next_value(argv, i).ok_or_else(|| key.clone())?,
        };
        return Ok(vec![(key, Some(value))]);
    }
    if spec.long_flags.contains(&name) && attached.is_some() {
        return Err(format!("--{long}"));
    }
    Ok(vec![(key, attached)])
}

/// Exact name, or (as getopt_long allows) an unambiguous prefix of one.
fn resolve_long(spec: &OptionSpec, given: &str) -> Option<&'static str> {
    let all = || {
        spec.long_flags
            .iter()
            .chain(spec.long_valued)
            .chain(spec.long_optional)
            .copied()
    };
    if let Some(exact) = all().find(|name| *name == given) {
        return Some(exact);
    }
    let mut prefixed = all().filter(|name| !given.is_empty() && name.starts_with(given));
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

fn scan_short(
    spec: &OptionSpec,
    cluster: &str,
    argv: &[String],
    i: &mut usize,
) -> Result<Found, String> {
    if spec.numeric && cluster.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(vec![(format!("-{cluster}"), None)]);
    }
    let mut found = Vec::new();
    for (at, c) in cluster.char_indices() {
        let key = format!("-{c}");
        let rest = &cluster[at + c.len_utf8()..];
        if spec.valued.contains(c) {
            let value = if rest.is_empty() {
                next_value(argv, i).ok_or_else(|| key.clone())?
            } else {
                rest.to_string()
            };
            found.push((key, Some(value)));
            return Ok(found);
        }
        if spec.optional.contains(c) {
            found.push((key, (!rest.is_empty()).then(|| rest.to_string())));
            return Ok(found);
        }
        if !spec.flags.contains(c) {
            return Err(key);
        }
        found.push((key, None));
    }
    Ok(found)
}

fn next_value(argv: &[String], i: &mut usize) -> Option<String> {
    let value = argv.get(*i)?.clone();
    *i += 1;
    Some(value)
}
