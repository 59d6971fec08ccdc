//! Start at login, per user: an XDG autostart entry on Linux, a LaunchAgent on macOS,
//! the `Run` registry key on Windows. `enable` writes the entry for this binary (and
//! the config it was given); `disable` removes it and leaves nothing behind.

use std::path::{Path, PathBuf};

/// Where the entry lives on this platform (Windows keeps it in the registry instead).
pub fn entry_path() -> Option<PathBuf> {
    let base = directories::BaseDirs::new()?;
    if cfg!(target_os = "macos") {
        Some(
            base.home_dir()
                .join("Library/LaunchAgents/ai.imagen.sync.plist"),
        )
    } else if cfg!(windows) {
        None
    } else {
        Some(base.config_dir().join("autostart/imagen-sync.desktop"))
    }
}

/// The command line the entry starts: the binary, and `--config` when not the default.
fn arguments(binary: &Path, config: Option<&Path>) -> Vec<String> {
    let mut arguments = vec![binary.display().to_string()];
    if let Some(config) = config {
        arguments.push("--config".into());
        arguments.push(config.display().to_string());
    }
    arguments
}

/// The XDG desktop entry (Linux and other freedesktop systems).
pub fn desktop_entry(binary: &Path, config: Option<&Path>) -> String {
    let exec: Vec<String> = arguments(binary, config)
        .iter()
        .map(|a| quote_desktop_exec(a))
        .collect();
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=imagen-sync\n\
         Comment=Sends shoots dropped in the inbox to Imagen AI for editing\n\
         Exec={}\n\
         Icon=imagen-sync\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n",
        exec.join(" ")
    )
}

/// Quotes one argument of an `Exec=` line per the Desktop Entry spec.
fn quote_desktop_exec(argument: &str) -> String {
    let plain = argument
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.=:+,@".contains(c));
    if plain {
        return argument.to_owned();
    }
    let mut quoted = String::from("\"");
    for c in argument.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    // A literal percent sign is written twice in an Exec line.
    quoted.replace('%', "%%")
}

/// The LaunchAgent property list (macOS).
pub fn launch_agent(binary: &Path, config: Option<&Path>) -> String {
    let program: String = arguments(binary, config)
        .iter()
        .map(|a| format!("        <string>{}</string>\n", xml_escape(a)))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>Label</key>
    <string>ai.imagen.sync</string>
    <key>ProgramArguments</key>
    <array>
{program}    </array>
    <key>RunAtLoad</key>
    <true/>
    <key>ProcessType</key>
    <string>Interactive</string>
</dict>
</plist>
"#
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Installs the start-at-login entry; returns where it was written.
pub fn enable(binary: &Path, config: Option<&Path>) -> anyhow::Result<String> {
    if cfg!(windows) {
        let command = arguments(binary, config)
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(" ");
        registry(&[
            "add",
            RUN_KEY,
            "/v",
            "imagen-sync",
            "/t",
            "REG_SZ",
            "/d",
            &command,
            "/f",
        ])?;
        return Ok(format!("HKCU\\{RUN_KEY}\\imagen-sync"));
    }
    let path = entry_path().ok_or_else(|| anyhow::anyhow!("no home folder"))?;
    let text = if cfg!(target_os = "macos") {
        launch_agent(binary, config)
    } else {
        desktop_entry(binary, config)
    };
    crate::files::atomic_file::write_text(&path, &text)?;
    Ok(path.display().to_string())
}

/// Removes the entry; fine when there was none.
pub fn disable() -> anyhow::Result<()> {
    if cfg!(windows) {
        // Fails when the value is absent, which is what we want anyway.
        let _ = registry(&["delete", RUN_KEY, "/v", "imagen-sync", "/f"]);
        return Ok(());
    }
    let path = entry_path().ok_or_else(|| anyhow::anyhow!("no home folder"))?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(anyhow::anyhow!("cannot remove {}: {error}", path.display())),
    }
}

const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";

fn registry(arguments: &[&str]) -> anyhow::Result<()> {
    let status = std::process::Command::new("reg")
        .args(arguments)
        .stdout(std::process::Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "reg {} failed", arguments[0]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_lines_quote_spaces_and_special_characters() {
        let entry = desktop_entry(
            Path::new("/opt/imagen sync/imagen-sync"),
            Some(Path::new("/home/ann/100% real.toml")),
        );
        assert!(
            entry.contains(
                r#"Exec="/opt/imagen sync/imagen-sync" --config "/home/ann/100%% real.toml""#
            ),
            "{entry}"
        );
        let plain = desktop_entry(Path::new("/usr/bin/imagen-sync"), None);
        assert!(plain.contains("Exec=/usr/bin/imagen-sync\n"), "{plain}");
    }

    #[test]
    fn the_launch_agent_runs_the_binary_at_login() {
        let plist = launch_agent(
            Path::new("/Applications/imagen-sync.app/Contents/MacOS/imagen-sync"),
            None,
        );
        assert!(
            plist.contains(
                "<string>/Applications/imagen-sync.app/Contents/MacOS/imagen-sync</string>"
            )
        );
        assert!(plist.contains("<key>RunAtLoad</key>\n    <true/>"));
    }
}
