//! What the inline-code screen adds for JavaScript run by deno and bun: their
//! runtime objects (`Deno`, `Bun`), whose calls start processes, and bun's shell
//! templates. Like the rest of the screen it is lexical and errs towards opaque.

use super::inline_code::{Screened, Spawned, constant_call, identifiers, is_ident};

/// `Deno` and `Bun` may only be used through a named member, so that calls that
/// start a process (`Deno.Command`, `Deno.run`; `Bun.spawn` is on the word list)
/// are seen: `const { $: sh } = Bun`, `Deno["Command"]` or `f(Deno)` would hide
/// what is called.
pub(super) fn runtime_globals(code: &str, screened: &mut Screened) -> Result<(), String> {
    for (at, word) in identifiers(code) {
        if !matches!(word, "Deno" | "Bun") {
            continue;
        }
        let member_at = at + word.len() + 1;
        let member = code[at + word.len()..].strip_prefix('.').unwrap_or("");
        let name_len = member.bytes().take_while(|b| is_ident(*b)).count();
        let name = &member[..name_len];
        if name.is_empty() && !member.starts_with('$') {
            return Err(format!(
                "javascript code uses {word} other than through a named member"
            ));
        }
        if word == "Deno" && matches!(name, "Command" | "run") {
            let call = constant_call(code, member_at + name_len, false).ok_or_else(|| {
                format!("javascript code calls Deno.{name} with arguments that are not constants")
            })?;
            screened.spawned.extend(call);
        }
    }
    Ok(())
}

/// Bun's shell: `` $`CMD` `` and `` Bun.$`CMD` `` run CMD as a shell line; a
/// template that interpolates (`${…}`) or `Bun.$` used any other way is opaque.
pub(super) fn bun_shell(code: &str, screened: &mut Screened) -> Result<(), String> {
    let mut rest = code;
    while let Some(at) = rest.find('$') {
        let before = &rest[..at];
        let after = &rest[at + 1..];
        let template = after.trim_start();
        rest = after;
        if !template.starts_with('`') {
            if before.ends_with("Bun.") {
                return Err("javascript code uses Bun.$ other than as a tagged template".into());
            }
            continue;
        }
        let inside = &template[1..];
        let end = inside
            .find('`')
            .ok_or("javascript code has an unterminated bun shell template")?;
        let line = &inside[..end];
        if line.contains("${") {
            return Err("a bun shell template interpolates values at run time".into());
        }
        screened.spawned.push(Spawned::Line(line.to_string()));
        rest = &inside[end + 1..];
    }
    Ok(())
}
