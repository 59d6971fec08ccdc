//! The config as commented TOML: the defaults `init` writes and what the settings page
//! saves. `Config::parse(&render(c))` gives `c` back.

use std::path::Path;

use super::paths::{default_folders_root, default_key_file};
use super::*;

/// The config a first run writes: the defaults, one hot folder under
/// `default_folders_root()`, and the key file named.
pub fn default_config() -> Config {
    let mut config = Config::parse("", Path::new("defaults"), &Overrides::default())
        .expect("the defaults are valid");
    config.api.key_file = Some(default_key_file());
    let root = default_folders_root();
    config.folders = vec![FolderPair::new(
        root.join("Inbox"),
        root.join("Outbox"),
        EditOptions {
            perspective_correction: true,
            ..EditOptions::default()
        },
    )];
    config
}

/// The commented config `imagen-sync init` writes.
pub fn default_config_text() -> String {
    render(&default_config())
}

/// The whole config as commented TOML: what `init` writes and what the dashboard saves.
/// `Config::parse(&render(c))` gives `c` back.
pub fn render(config: &Config) -> String {
    use std::fmt::Write;
    let s = |text: &str| toml_string(text);
    let p = |path: &Path| toml_string(&path.display().to_string());
    let agent = &config.agent;
    let mut out = format!(
        r#"# imagen-sync configuration. A running agent picks up changes as soon as the file is
# saved; if an edit is invalid, it says so and keeps the last good settings. Saving
# the dashboard's Settings page rewrites this file.

[api]
# The Imagen API. IMAGEN_API_BASE_URL overrides it.
base_url = {base_url}
# Your API key: paste it into this file, which only you may read.
# The IMAGEN_API_KEY environment variable, when set, is used instead.
{key_file}

[agent]
# Where the journal (the agent's memory of every shoot) and logs live.
data_dir = {data_dir}
# A shoot starts once its folder has been quiet this many seconds.
settle_seconds = {settle}
# Every inbox is also listed in full this often, for network drives that send no
# change events (local disks report changes at once).
rescan_seconds = {rescan}
# Shoots processed at once, and photos moving at once per shoot.
max_active_shoots = {shoots}
max_parallel_uploads = {uploads}
max_parallel_downloads = {downloads}
# RAW+JPEG twins (same name, same folder): upload "raw", "jpeg" or "both".
raw_jpeg_pairs = {pairs}
# The spend guard: past either limit new projects are held (not created) until the
# next 24 hours allow them, or you say "Send anyway". 0 means no limit.
# Photos sent for editing in any 24 hours:
daily_photo_limit = {daily_photos}
# Follow-up projects of one shoot folder in 24 hours (photos added to a finished shoot):
daily_follow_up_limit = {daily_follow_ups}
# A shoot of more photos than this waits until you say "Send" (on the dashboard or in
# the tray's Recent shoots), so a big card is never sent by mistake:
confirm_above = {confirm_above}
# While photos are uploading or downloading, or a live shoot is open, the machine is
# kept from falling asleep when idle (closing the lid still sleeps):
keep_awake = {keep_awake}

[dashboard]
# The local dashboard (`imagen-sync open`). It listens on this machine only; another
# address needs password_file too.
port = {port}
listen = {listen}
{password_file}

[journal]
# Where the agent keeps its memory of every shoot. Without a url: a file in data_dir.
# A studio's agents share one PostgreSQL database instead, and each shoot is claimed
# by exactly one of them (see the README's "A studio"). IMAGEN_JOURNAL_URL overrides it.
{journal_url}
{journal_password}
# This agent's name in the studio, and how long its claim on a shoot outlives it.
agent_name = {agent_name}
lease_seconds = {lease}

# How much of the line transfers may take, up and down: "off", a rate ("2 MB/s",
# "500 KB/s"), or a timetable ("08:00,1MB/s 12:00,off 18:00,512KB/s"; a time may start
# with a weekday, "Sat-00:00,off"). Changes apply at once, without restarting transfers.
# Uploads also wait while the connection is metered (a phone's hotspot) or, if asked,
# while on battery; the tray's "Resume anyway" sends until the network or power changes.
[network]
upload_limit = {upload_limit}
download_limit = {download_limit}
pause_on_metered = {pause_on_metered}
pause_on_battery = {pause_on_battery}

# Desktop notifications, each of which can be switched off.
[notifications]
shoot_done = {done}
shoot_failed = {failed}
key_rejected = {rejected}
network = {network}
# A push when a shoot is done, done with problems or failed, also when headless: a
# POST to webhook_url, as JSON ("json") or as ntfy's text for a phone ("ntfy").
{webhook_url}
webhook_format = {webhook_format}

# One [[folders]] block per hot folder. Each direct subfolder of an inbox is one shoot.
# `id` names it the same on every machine of a studio (required with a journal url);
# `watch` is "auto" (poll an inbox on a network share, else take change events),
# "events" or "poll" (list it every poll_seconds).
"#,
        base_url = s(config.api.base_url.as_str()),
        key_file = match &config.api.key_file {
            Some(path) => format!("key_file = {}", p(path)),
            None => format!("# key_file = {}", p(&default_key_file())),
        },
        data_dir = p(&agent.data_dir),
        settle = agent.settle_seconds,
        rescan = agent.rescan_seconds,
        shoots = agent.max_active_shoots,
        uploads = agent.max_parallel_uploads,
        downloads = agent.max_parallel_downloads,
        pairs = s(match agent.raw_jpeg_pairs {
            PairPolicy::Raw => "raw",
            PairPolicy::Jpeg => "jpeg",
            PairPolicy::Both => "both",
        }),
        daily_photos = agent.spend.daily_photos,
        daily_follow_ups = agent.spend.daily_follow_ups,
        confirm_above = agent.spend.confirm_above,
        keep_awake = agent.keep_awake,
        port = config.dashboard.port,
        listen = s(&config.dashboard.listen.to_string()),
        password_file = match &config.dashboard.password_file {
            Some(path) => format!("password_file = {}", p(path)),
            None => "# password_file = \"~/.config/imagen-sync/dashboard-password\"".into(),
        },
        journal_url = match &config.journal.url {
            Some(url) => format!("url = {}", s(url)),
            None => "# url = \"postgres://imagen@nas.local/imagen_studio\"".into(),
        },
        journal_password = match &config.journal.password_file {
            Some(path) => format!("password_file = {}", p(path)),
            None => "# password_file = \"~/.config/imagen-sync/db-password\"".into(),
        },
        agent_name = s(&config.journal.agent_name),
        lease = config.journal.lease_seconds,
        done = config.notifications.shoot_done,
        failed = config.notifications.shoot_failed,
        rejected = config.notifications.key_rejected,
        network = config.notifications.network,
        upload_limit = s(&config.network.upload_limit.to_string()),
        download_limit = s(&config.network.download_limit.to_string()),
        pause_on_metered = config.network.pause_on_metered,
        pause_on_battery = config.network.pause_on_battery,
        webhook_url = match &config.webhook {
            Some(webhook) => format!("webhook_url = {}", s(webhook.url.expose().as_str())),
            None => "# webhook_url = \"https://ntfy.sh/my-secret-topic\"".into(),
        },
        webhook_format = s(config
            .webhook
            .as_ref()
            .map_or("ntfy", |webhook| webhook.format.as_str())),
    );
    for pair in &config.folders {
        let edit = &pair.edit;
        out.push_str("[[folders]]\n");
        if let Some(id) = &pair.id {
            let _ = writeln!(out, "id = {}", s(id));
        }
        let _ = write!(
            out,
            "inbox = {}\noutbox = {}\nwatch = {}\npoll_seconds = {}\n\
             # A touch-up saved over an edited photo of a finished shoot replaces Imagen's copy.\n\
             sync_touchups = {}\n{}[folders.edit]\n\
             hdr_merge = {}\nperspective_correction = {}\nsky_replacement = {}\n",
            p(&pair.inbox),
            p(&pair.outbox),
            s(pair.watch.as_str()),
            pair.poll_seconds,
            pair.sync_touchups,
            pair.live.render(),
            edit.hdr_merge,
            edit.perspective_correction,
            edit.sky_replacement,
        );
        if let Some(template) = edit.sky_replacement_template_id {
            let _ = writeln!(out, "sky_replacement_template_id = {template}");
        }
        match &edit.callback_url {
            Some(url) => {
                let _ = writeln!(out, "callback_url = {}", s(url));
            }
            None => out.push_str("# callback_url = \"https://example.com/imagen-done\"\n"),
        }
        render_rules(&mut out, &pair.rules);
        out.push('\n');
    }
    out.push_str(
        "# Another hot folder (e.g. for exteriors with sky replacement): add another\n\
         # [[folders]] block like the one above.\n",
    );
    out
}

/// A hot folder's edit rules, or (when it has none) the commented real-estate example.
fn render_rules(out: &mut String, rules: &[EditRule]) {
    use std::fmt::Write;
    out.push_str(
        "# Edit rules: photos in matching subfolders of a shoot get other options. `match`\n\
         # is a glob on the subfolder's path, ignoring case (\"Exterior*\" covers Exteriors/\n\
         # and Exteriors/Pool/, \"*/Twilight\" covers Back/Twilight/); the first matching rule\n\
         # wins, and its keys replace the [folders.edit] ones. A shoot becomes one project\n\
         # per set of options; its outputs all land in its one outbox folder.\n",
    );
    if rules.is_empty() {
        out.push_str(
            "# [[folders.rules]]\n# match = \"Exterior*\"\n# [folders.rules.edit]\n\
             # sky_replacement = true\n# [[folders.rules]]\n# match = \"Interior*\"\n\
             # [folders.rules.edit]\n# perspective_correction = true\n",
        );
    }
    for rule in rules {
        let _ = write!(
            out,
            "[[folders.rules]]\nmatch = {}\n[folders.rules.edit]\n",
            toml_string(&rule.pattern)
        );
        for (key, value) in rule.edit.entries() {
            let _ = writeln!(out, "{key} = {value}");
        }
    }
}

/// A TOML basic string, quotes included.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}
