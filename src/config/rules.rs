//! Edit rules of a hot folder (`[[folders.rules]]`): photos in matching subfolders of a
//! shoot get other edit options than the folder's (sky replacement for `Exteriors/`,
//! perspective correction for `Interiors/`). A rule's `match` is a case-insensitive glob
//! on a photo's folder path inside the shoot, which also covers everything below a
//! matching folder; the first matching rule wins; photos no rule matches keep the
//! folder's options.

use std::path::{Component, Path};

use globset::{Glob, GlobBuilder, GlobMatcher};

use crate::api::EditOptions;

/// The keys of `[folders.rules.edit]`: each one set overrides the folder's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditOverrides {
    pub hdr_merge: Option<bool>,
    pub perspective_correction: Option<bool>,
    pub sky_replacement: Option<bool>,
    pub sky_replacement_template_id: Option<i64>,
}

impl EditOverrides {
    /// `base` with these keys in place of its own.
    pub fn apply(&self, base: &EditOptions) -> EditOptions {
        EditOptions {
            hdr_merge: self.hdr_merge.unwrap_or(base.hdr_merge),
            perspective_correction: self
                .perspective_correction
                .unwrap_or(base.perspective_correction),
            sky_replacement: self.sky_replacement.unwrap_or(base.sky_replacement),
            sky_replacement_template_id: self
                .sky_replacement_template_id
                .or(base.sky_replacement_template_id),
            callback_url: base.callback_url.clone(),
        }
    }

    /// The keys set, as `(key, value)` for the config file and the dashboard.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let flags = [
            ("hdr_merge", self.hdr_merge),
            ("perspective_correction", self.perspective_correction),
            ("sky_replacement", self.sky_replacement),
        ];
        let mut entries: Vec<(&'static str, String)> = flags
            .into_iter()
            .filter_map(|(key, value)| Some((key, value?.to_string())))
            .collect();
        if let Some(template) = self.sky_replacement_template_id {
            entries.push(("sky_replacement_template_id", template.to_string()));
        }
        entries
    }
}

/// One `[[folders.rules]]` block.
#[derive(Debug, Clone)]
pub struct EditRule {
    /// The glob as written.
    pub pattern: String,
    matcher: GlobMatcher,
    pub edit: EditOverrides,
}

impl PartialEq for EditRule {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern && self.edit == other.edit
    }
}

impl EditRule {
    /// A rule for `pattern`; the error says what is wrong with the glob.
    pub fn new(pattern: &str, edit: EditOverrides) -> Result<EditRule, crate::words::Refusal> {
        let example = "for example \"Exterior*\" or \"*/Twilight\"";
        let trimmed = pattern.trim().trim_matches('/');
        if trimmed.is_empty() {
            return Err(format!("is empty; name the subfolders it is for, {example}").into());
        }
        let glob: Glob = GlobBuilder::new(trimmed)
            .case_insensitive(true)
            .literal_separator(true)
            .backslash_escape(false)
            .build()
            .map_err(|error| format!("is not a valid pattern ({}); {example}", error.kind()))?;
        Ok(EditRule {
            pattern: pattern.to_owned(),
            matcher: glob.compile_matcher(),
            edit,
        })
    }

    /// Whether the rule covers a photo in `folder` (its folder path inside the shoot):
    /// the folder, or one it lies below, matches the glob.
    pub fn covers(&self, folder: &Path) -> bool {
        let mut prefix = String::new();
        for component in folder.components() {
            let Component::Normal(part) = component else {
                continue;
            };
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(&part.to_string_lossy());
            if self.matcher.is_match(&prefix) {
                return true;
            }
        }
        false
    }
}

/// The options a photo at `relative` (inside the shoot) is edited with: the first rule
/// covering its folder applied to the folder's `edit`, or `edit` itself.
pub(super) fn options_for(edit: &EditOptions, rules: &[EditRule], relative: &Path) -> EditOptions {
    let folder = relative.parent().unwrap_or(Path::new(""));
    match rules.iter().find(|rule| rule.covers(folder)) {
        Some(rule) => rule.edit.apply(edit),
        None => edit.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str) -> EditRule {
        EditRule::new(pattern, EditOverrides::default()).unwrap()
    }

    #[test]
    fn a_rule_covers_its_matching_folders_and_everything_below_them_ignoring_case() {
        let exteriors = rule("Exterior*");
        for folder in ["Exteriors", "exteriors/Pool", "EXTERIOR/a/b"] {
            assert!(exteriors.covers(Path::new(folder)), "{folder}");
        }
        for folder in ["", "Interiors", "Back/Exteriors"] {
            assert!(!exteriors.covers(Path::new(folder)), "{folder}");
        }
        let twilight = rule("*/Twilight");
        assert!(twilight.covers(Path::new("Back/Twilight")));
        assert!(twilight.covers(Path::new("Back/twilight/Extra")));
        assert!(!twilight.covers(Path::new("Twilight")));
        assert!(
            !twilight.covers(Path::new("A/B/Twilight")),
            "* stays in one folder"
        );
        assert!(rule("**/Twilight").covers(Path::new("A/B/Twilight")));
    }

    #[test]
    fn the_first_matching_rule_wins_and_unmatched_photos_keep_the_folders_options() {
        let folder = EditOptions {
            hdr_merge: true,
            ..EditOptions::default()
        };
        let sky = EditOverrides {
            sky_replacement: Some(true),
            ..EditOverrides::default()
        };
        let straight = EditOverrides {
            perspective_correction: Some(true),
            hdr_merge: Some(false),
            ..EditOverrides::default()
        };
        let rules = [
            EditRule::new("Exterior*", sky).unwrap(),
            EditRule::new("*", straight).unwrap(),
        ];
        let at = |path: &str| options_for(&folder, &rules, Path::new(path));
        let exterior = at("Exteriors/Pool/a.jpg");
        assert!(exterior.hdr_merge && exterior.sky_replacement && !exterior.perspective_correction);
        let interior = at("Interiors/Kitchen/b.jpg");
        assert!(
            !interior.hdr_merge && interior.perspective_correction && !interior.sky_replacement
        );
        assert_eq!(
            at("c.jpg"),
            folder,
            "a photo at the top keeps the folder's options"
        );
    }

    #[test]
    fn a_broken_glob_or_an_empty_one_says_what_to_write() {
        for bad in ["Ext[erior", "", "/"] {
            let said = EditRule::new(bad, EditOverrides::default()).unwrap_err();
            assert!(said.contains("Exterior*"), "{bad:?}: {said}");
        }
    }
}
