//! The one thing Regesta reads from a `go.mod`: its `module` directive,
//! which must name the module being published. Everything else in the file
//! is the go command's business and is served as published.

/// The path the `module` directive of `text` declares: `module path`,
/// `module "path"` (or backquoted), or the block form `module (\n path\n)`;
/// `None` without one.
pub fn module_path(text: &str) -> Option<String> {
    let mut lines = text.lines().map(|line| {
        let line = line.split_once("//").map_or(line, |(code, _)| code);
        line.trim()
    });
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("module") else {
            continue;
        };
        let rest = rest.trim();
        if rest.is_empty() && !line.eq("module") {
            continue;
        }
        if rest == "(" {
            let inner = lines.find(|l| !l.is_empty())?;
            return unquote(inner);
        }
        // `modulefoo` is not the directive.
        if line.len() > "module".len() && !line["module".len()..].starts_with([' ', '\t', '"', '`'])
        {
            continue;
        }
        return unquote(rest);
    }
    None
}

fn unquote(token: &str) -> Option<String> {
    let token = token.trim();
    let inner = token
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| token.strip_prefix('`').and_then(|t| t.strip_suffix('`')))
        .unwrap_or(token);
    (!inner.is_empty() && !inner.contains(char::is_whitespace)).then(|| inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::module_path;

    #[test]
    fn the_module_directive_is_found_in_each_spelling() {
        for (text, path) in [
            ("module acme.dev/greet\n\ngo 1.22\n", Some("acme.dev/greet")),
            (
                "// comment\nmodule \"acme.dev/greet/v2\" // trailing\n",
                Some("acme.dev/greet/v2"),
            ),
            ("module `acme.dev/x`\n", Some("acme.dev/x")),
            ("module (\n\tacme.dev/block\n)\n", Some("acme.dev/block")),
            ("go 1.22\n", None),
            ("modulex acme.dev/no\n", None),
            ("module\n", None),
        ] {
            assert_eq!(module_path(text).as_deref(), path, "{text:?}");
        }
    }
}
