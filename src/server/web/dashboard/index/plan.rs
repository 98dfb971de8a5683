//! The history query as SQL, written once for both stores: walk the smallest
//! range newest first (the rarest facet, a rare search's matches, else every
//! request) and check the other conditions on each row it meets. Pure: the
//! range sizes are counted by the caller, on its own store.

use super::Query;

/// Counting a facet or a search stops here: past it, a range is "large" and
/// which large one is walked matters little.
pub const COUNT_CAP: i64 = 5000;

/// Where the plan runs: the tables and the search differ, the plan does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `?` parameters; the search is an FTS5 trigram phrase.
    Sqlite,
    /// `$n` parameters; the search is `ILIKE` (a `pg_trgm` index serves it).
    Postgres,
}

/// A query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Integer(i64),
}

/// The SQL of a plan, with its parameters in order.
#[derive(Debug)]
pub struct Plan {
    pub sql: String,
    pub params: Vec<Param>,
    /// The search's matches are the range walked (else a facet's, or every
    /// request's, in order-key order).
    pub text_drives: bool,
}

impl Plan {
    /// The next parameter's placeholder, holding `value`.
    fn bind(&mut self, dialect: Dialect, value: Param) -> String {
        self.params.push(value);
        match dialect {
            Dialect::Sqlite => "?".into(),
            Dialect::Postgres => format!("${}", self.params.len()),
        }
    }
}

/// Whether counting ranges can change the plan: only when there is a choice.
pub fn needs_sizes(query: &Query) -> bool {
    query.facets.len() + usize::from(query.text.is_some()) > 1
}

/// The SQL listing up to `limit` (request id, order key) pairs for `query`.
/// `sizes[i]` is how many requests carry `query.facets[i]`, `text_size` how
/// many commands hold the search (each up to [`COUNT_CAP`]; 0 when unknown).
pub fn plan(
    dialect: Dialect,
    query: &Query,
    limit: usize,
    sizes: &[i64],
    text_size: i64,
) -> Result<Plan, String> {
    let mut sized: Vec<(i64, &'static str, String)> = query
        .facets
        .iter()
        .zip(sizes.iter().copied().chain(std::iter::repeat(0)))
        .map(|((facet, value), size)| (size, *facet, value.clone()))
        .collect();
    sized.sort_by_key(|(size, _, _)| *size);
    let text_size = if query.text.is_some() {
        text_size
    } else {
        i64::MAX
    };
    let text_drives = text_size < COUNT_CAP && sized.first().is_none_or(|f| text_size < f.0);
    let mut plan = Plan {
        sql: String::new(),
        params: Vec::new(),
        text_drives,
    };
    let mut wheres: Vec<String> = Vec::new();
    let mut facets = sized.into_iter().map(|(_, f, v)| (f, v));
    let (from, key, id) = if text_drives {
        let text = query.text.as_deref().unwrap_or_default();
        match dialect {
            Dialect::Sqlite => {
                let p = plan.bind(dialect, Param::Text(phrase(text)));
                wheres.push(format!("dashboard_text MATCH {p}"));
                (
                    "dashboard_text d JOIN dashboard_commands c ON c.ord = d.rowid",
                    "d.rowid",
                    "c.request_id",
                )
            }
            Dialect::Postgres => {
                let p = plan.bind(dialect, Param::Text(like_pattern(text)));
                wheres.push(format!("d.command ILIKE {p}"));
                ("dashboard_commands d", "d.ord", "d.request_id")
            }
        }
    } else if let Some((facet, value)) = facets.next() {
        let f = plan.bind(dialect, Param::Text(facet.to_string()));
        let v = plan.bind(dialect, Param::Text(value));
        wheres.push(format!("d.facet = {f} AND d.value = {v}"));
        ("dashboard_facets d", "d.ord", "d.request_id")
    } else {
        ("dashboard_commands d", "d.ord", "d.request_id")
    };
    if let Some(from) = &query.from {
        let p = plan.bind(dialect, Param::Integer(order_key(from)?));
        wheres.push(format!("{key} >= {p}"));
    }
    if let Some(until) = &query.until {
        let p = plan.bind(dialect, Param::Integer(order_key(until)?));
        wheres.push(format!("{key} < {p}"));
    }
    if let Some(before) = query.before {
        let op = if query.ascending { ">" } else { "<" };
        let p = plan.bind(dialect, Param::Integer(before));
        wheres.push(format!("{key} {op} {p}"));
    }
    for (facet, value) in facets {
        let f = plan.bind(dialect, Param::Text(facet.to_string()));
        let v = plan.bind(dialect, Param::Text(value));
        wheres.push(format!(
            "EXISTS (SELECT 1 FROM dashboard_facets g \
             WHERE g.facet = {f} AND g.value = {v} AND g.ord = {key})"
        ));
    }
    if let (Some(text), false) = (&query.text, text_drives) {
        let command = format!("(SELECT t.command FROM dashboard_commands t WHERE t.ord = {key})");
        match dialect {
            // The trigram index's match, on this row's command (SQLite's lower()
            // folds ASCII only, so the search is folded the same way).
            Dialect::Sqlite => {
                let p = plan.bind(dialect, Param::Text(text.to_ascii_lowercase()));
                wheres.push(format!("instr(lower({command}), {p}) > 0"));
            }
            Dialect::Postgres => {
                let p = plan.bind(dialect, Param::Text(like_pattern(text)));
                wheres.push(format!("{command} ILIKE {p}"));
            }
        }
    }
    let filter = if wheres.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wheres.join(" AND "))
    };
    let direction = if query.ascending { "ASC" } else { "DESC" };
    plan.sql =
        format!("SELECT {id}, {key} FROM {from} {filter} ORDER BY {key} {direction} LIMIT {limit}");
    Ok(plan)
}

/// The order key at which time `at` (RFC 3339) starts.
pub fn order_key(at: &str) -> Result<i64, String> {
    let time = humantime::parse_rfc3339_weak(at).map_err(|e| format!("{at}: {e}"))?;
    let millis = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis();
    Ok(millis as i64 * 1024)
}

/// A search as one FTS5 phrase: with the trigram tokenizer, the text as a
/// substring, case-insensitive; quotes inside are doubled, so nothing in it is
/// query syntax.
pub fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A search as an `ILIKE` pattern: the text as a substring; `%`, `_` and the
/// escape character inside match themselves.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_never_query_syntax() {
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
        assert_eq!(phrase(r#"a"b"#), r#""a""b""#);
    }

    #[test]
    fn postgres_parameters_are_numbered_in_order() {
        let query = Query {
            facets: vec![("status", "denied".into()), ("viewer", "alice".into())],
            text: Some("prod".into()),
            before: Some(7),
            ..Query::default()
        };
        let plan = plan(Dialect::Postgres, &query, 10, &[1, 2], COUNT_CAP).unwrap();
        assert_eq!(plan.params.len(), 6, "{plan:?}");
        for n in 1..=6 {
            assert!(plan.sql.contains(&format!("${n}")), "{}", plan.sql);
        }
        assert!(plan.sql.contains("d.facet = $1"), "{}", plan.sql);
    }
}
