//! Where a message is shown, so it speaks of what the user has there: the CLI's
//! messages name commands, the tray's its menu items, the dashboard's its buttons.
//! What the journal stores (a failure's reason, a hold's) names none of them; each
//! surface adds its own way to act.

/// The place a message is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Cli,
    Tray,
    Dashboard,
}

impl Surface {
    /// How to send the failed shoot `folder` again, here.
    pub fn retry(self, folder: &str) -> String {
        match self {
            Surface::Cli => format!("`imagen-sync retry {}`", quoted(folder)),
            Surface::Tray => "Retry in its entry under Recent shoots".into(),
            Surface::Dashboard => "its Retry button".into(),
        }
    }

    /// How to send the held shoot `folder` past the spend guard, here.
    pub fn send_anyway(self, folder: &str) -> String {
        match self {
            Surface::Cli => format!("`imagen-sync retry --allow-over-limit {}`", quoted(folder)),
            Surface::Tray => "Send anyway in its entry under Recent shoots".into(),
            Surface::Dashboard => "its Send anyway button".into(),
        }
    }

    /// Where the shoots are listed, here.
    pub fn shoot_list(self) -> &'static str {
        match self {
            Surface::Cli => "`imagen-sync status` lists them",
            Surface::Tray => "Recent shoots in the tray menu lists them",
            Surface::Dashboard => "the Shoots page lists them",
        }
    }
}

/// A folder name as a shell takes it.
fn quoted(folder: &str) -> String {
    format!(
        "\"{}\"",
        crate::words::printable(folder).replace('"', "\\\"")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_cli_speaks_of_commands() {
        for surface in [Surface::Tray, Surface::Dashboard] {
            for said in [
                surface.retry("12 Oak Lane"),
                surface.send_anyway("12 Oak Lane"),
                surface.shoot_list().to_owned(),
            ] {
                assert!(!said.contains("imagen-sync"), "{surface:?}: {said}");
            }
        }
        assert_eq!(
            Surface::Cli.retry("12 \"Oak\" Lane"),
            "`imagen-sync retry \"12 \\\"Oak\\\" Lane\"`"
        );
    }
}
