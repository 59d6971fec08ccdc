//! Where a mistake is in the config file, and a value of the wrong type said in plain
//! words with an example.

/// A value of the wrong type, in plain words with an example: the key (with its
/// section) and what it must be. `None` for other mistakes.
pub(super) fn type_mistake(text: &str, offset: usize, message: &str) -> Option<(String, String)> {
    let expected = message
        .strip_prefix("invalid type: ")?
        .split(", expected ")
        .nth(1)?;
    let before = &text[..offset.min(text.len())];
    let line = before.rsplit('\n').next()?;
    let name = line.split('=').next()?.trim();
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    let key = match section {
        Some(section) if !name.is_empty() => format!("{section}.{name}"),
        _ => name.to_owned(),
    };
    let plain = match (name, expected) {
        ("settle_seconds" | "rescan_seconds", _) => {
            "must be a whole number of seconds, like 10".to_owned()
        }
        ("live_idle_minutes", _) => "must be a number of minutes, like 30".to_owned(),
        (_, "u64" | "usize" | "u16" | "u32" | "i64") => {
            format!("must be a whole number without quotes, like {name} = 4")
        }
        (_, "a boolean") => format!("must be true or false, like {name} = true"),
        (_, "a string") => format!("must be text in quotes, like {name} = \"...\""),
        _ => format!("has the wrong type: {message}"),
    };
    Some((key, plain))
}

/// 1-based line and column of a byte offset.
pub(super) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
