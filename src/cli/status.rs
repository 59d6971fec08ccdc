//! `status`: whether the agent runs, the shoots in the journal of the data folder the
//! config names, and files not sent, whatever state the config is in. It reads only
//! what it shows: every shoot needing something and the newest finished ones, or with
//! `--all` every shoot, read and printed a page at a time.

use std::path::Path;
use std::process::ExitCode;

use super::{CommandResult, print_out, with_data_dir};
use crate::control::Surface;
use crate::journal::{self, JournalView, ShootGroup, ShootState, ShootsWanted};

/// Finished shoots listed without `--all`.
const RECENT_FINISHED: usize = 10;
/// Shoot folders read at a time with `--all`.
const PAGE: usize = 500;

/// How `status` shows itself.
#[derive(Debug, Clone, Copy)]
struct Shown {
    json: bool,
    /// Projects' names and problems' details too.
    verbose: bool,
    /// Every shoot, not only those needing something and the newest finished ones.
    all: bool,
}

/// `status [--json] [--verbose] [--all]`.
pub fn status(config_path: &Path, json: bool, verbose: bool, all: bool) -> ExitCode {
    with_data_dir(config_path, |data_dir, location| {
        // The limits and inboxes in force, as the config says them (none when broken).
        let config = crate::config::Config::load(config_path).ok();
        show_status(
            journal::open_read_only(location)?.as_deref(),
            data_dir,
            config.as_ref(),
            Shown { json, verbose, all },
        )
    })
}

fn show_status(
    journal: Option<&dyn JournalView>,
    data_dir: &Path,
    config: Option<&crate::config::Config>,
    shown: Shown,
) -> CommandResult {
    let network = config.map(|c| &c.network);
    let missing_inboxes: Vec<String> = (config.map(|c| c.folders.as_slice()).unwrap_or_default())
        .iter()
        .filter(|pair| !pair.inbox.is_dir())
        .map(|pair| crate::words::printable_path(&pair.inbox))
        .collect();
    use crate::words::printable;
    use std::fmt::Write;
    let agent = crate::agent::data_folder::running_agent(data_dir);
    // What only the running agent knows (folders being copied in, Imagen away); a
    // file left by an agent that is gone says nothing.
    let now = match agent {
        Some(_) => crate::ui::snapshot::Snapshot::read(data_dir),
        None => Default::default(),
    };
    let (paused, not_sent, agents, sent) = match journal {
        Some(journal) => (
            journal.paused()?,
            journal.not_sent()?,
            journal.agents()?,
            Some(journal::SentForEditing::of(journal)?),
        ),
        None => (false, Vec::new(), Vec::new(), None),
    };
    let mut pages = Pages::new(journal, shown.all);
    if shown.json {
        let agent = match &agent {
            Some(info) => serde_json::json!({
                "running": true, "pid": info.pid, "since": info.since_text(),
            }),
            None => serde_json::json!({ "running": false }),
        };
        let limits = network.map(|n| {
            serde_json::json!({
                "upload": n.upload_limit.to_string(),
                "upload_now": n.upload_limit.rate_now(),
                "download": n.download_limit.to_string(),
                "download_now": n.download_limit.rate_now(),
            })
        });
        // The shoots are written a page at a time, then the rest of the document.
        print_out("{\n  \"shoots\": [")?;
        let mut separator = "";
        while let Some(groups) = pages.next_page()? {
            let mut text = String::new();
            for entry in groups.iter().flat_map(|group| json_entries(group, &now)) {
                let _ = write!(text, "{separator}\n    {}", serde_json::to_string(&entry)?);
                separator = ",";
            }
            print_out(&text)?;
        }
        let rest = serde_json::json!({
            "finished_not_listed": pages.not_listed,
            "agent": agent, "paused": paused, "not_sent": not_sent,
            "studio_agents": agents, "bandwidth": limits, "missing_inboxes": missing_inboxes,
            "sent_for_editing": sent,
            "imagen_away": now.imagen_away, "settling": now.settling,
        });
        let rest = serde_json::to_string_pretty(&rest)?;
        let fields = rest.strip_prefix('{').unwrap_or(&rest);
        return print_out(&format!("\n  ],{fields}\n"));
    }
    let mut out = match (&agent, agents.is_empty()) {
        (Some(info), _) => format!("Agent: running ({}).\n", info.describe()),
        (None, true) => "Agent: not running — nothing is moving. Start it with `imagen-sync` \
                 (or `imagen-sync run --headless`).\n"
            .to_owned(),
        (None, false) => "Agent: not running on this machine (the studio's agents are \
                 below). Start it with `imagen-sync` (or `imagen-sync run --headless`).\n"
            .to_owned(),
    };
    if !agents.is_empty() {
        out.push_str("Studio agents:\n");
        for seen in &agents {
            let _ = writeln!(
                out,
                "  {:<20} pid {:<7} holding {:<3} last heard {}",
                printable(&seen.name),
                seen.pid,
                seen.holding,
                crate::words::ago(seen.seen_ms),
            );
        }
    }
    if let (Some(_), Some(config)) = (&agent, config)
        && let Some(addr) = crate::dashboard::link::served_address(&config.agent.data_dir)
    {
        let moved = match config.dashboard.port {
            0 => String::new(),
            wanted if wanted == addr.port() => String::new(),
            wanted => format!(" — port {wanted} is taken by another program"),
        };
        let _ = writeln!(out, "Dashboard: http://{addr}/ (imagen-sync open){moved}.");
    }
    if let Some(network) = network {
        let _ = writeln!(
            out,
            "Bandwidth: upload {}, download {}.",
            network.upload_limit.describe_now(),
            network.download_limit.describe_now()
        );
    }
    if let Some(away) = &now.imagen_away {
        let _ = writeln!(
            out,
            "{} (since {}): shoots wait and go on by themselves once it answers.",
            away.words,
            crate::words::ago(away.since_ms)
        );
    }
    if let Some(sent) = sent {
        let _ = writeln!(out, "{}.", sent.words());
    }
    if paused {
        out.push_str("Paused (imagen-sync resume carries on).\n");
    }
    for inbox in &missing_inboxes {
        let _ = writeln!(
            out,
            "Inbox {inbox} is missing — is the drive mounted? Its shoots wait until it is back."
        );
    }
    for folder in &now.settling {
        let _ = writeln!(
            out,
            "{:<28} settling    waiting for the copy to finish",
            printable(folder)
        );
    }
    print_out(&out)?;
    let stopped = agent.is_none() && agents.is_empty();
    let mut listed_any = false;
    while let Some(groups) = pages.next_page()? {
        let mut out = String::new();
        for group in &groups {
            write_group(&mut out, group, &now, stopped, shown.verbose);
        }
        listed_any |= !groups.is_empty();
        print_out(&out)?;
    }
    let mut out = String::new();
    if !listed_any && now.settling.is_empty() {
        out.push_str("No shoots yet.\n");
    }
    if pages.not_listed > 0 {
        let _ = writeln!(
            out,
            "… and {} finished before (`imagen-sync status --all` lists every shoot).",
            crate::words::count(pages.not_listed as u64, "earlier shoot", "earlier shoots")
        );
    }
    if !not_sent.is_empty() {
        out.push_str("\nNot sent for editing:\n");
        for item in &not_sent {
            let place = match item.file.is_empty() {
                true => format!("{}/", printable(&item.folder)),
                false => format!("{}/{}", printable(&item.folder), printable(&item.file)),
            };
            let _ = writeln!(out, "  {place}: {}", printable(&item.reason));
        }
    }
    print_out(&out)
}

/// The shoots `status` lists, read a page of folders at a time: without `--all` one
/// page of those needing something and the newest finished ones.
struct Pages<'a> {
    journal: Option<&'a dyn JournalView>,
    all: bool,
    read: usize,
    done: bool,
    /// Finished shoot folders left out (without `--all`).
    not_listed: usize,
}

impl<'a> Pages<'a> {
    fn new(journal: Option<&'a dyn JournalView>, all: bool) -> Pages<'a> {
        Pages {
            done: journal.is_none(),
            journal,
            all,
            read: 0,
            not_listed: 0,
        }
    }

    /// The next page's shoots, newest first; `None` after the last.
    fn next_page(&mut self) -> Result<Option<Vec<ShootGroup>>, journal::JournalError> {
        let Some(journal) = self.journal.filter(|_| !self.done) else {
            return Ok(None);
        };
        let wanted = match self.all {
            true => ShootsWanted::newest(PAGE).skip(self.read),
            false => ShootsWanted::unfinished_and_newest(RECENT_FINISHED),
        };
        let page = journal.shoots(&wanted)?;
        let after = page.after(&wanted);
        self.read += PAGE;
        match self.all {
            true => self.done = after == 0,
            false => (self.done, self.not_listed) = (true, after),
        }
        Ok(Some(ShootGroup::of(page.rows)))
    }
}

/// A shoot as `status --json` lists it: a live shoot is one entry, its batches inside;
/// the projects of other shoots are listed as they are.
fn json_entries(group: &ShootGroup, now: &crate::ui::snapshot::Snapshot) -> Vec<serde_json::Value> {
    if !group.is_live() {
        return group
            .projects
            .iter()
            .map(|row| serde_json::json!(row))
            .collect();
    }
    let now = now.live.get(&group.lead.shoot.folder);
    let mut entry = serde_json::json!(group.lead);
    entry["live"] = serde_json::json!(true);
    entry["open"] = serde_json::json!(now.is_some_and(|n| n.open));
    entry["waiting"] = serde_json::json!(now.map_or(0, |n| n.waiting));
    entry["last_photo_ms"] =
        serde_json::json!(now.map_or_else(|| group.newest_ms(), |n| n.last_photo_ms));
    entry["summary"] = serde_json::json!(group.live_words(now));
    entry["batches"] = serde_json::json!(group.projects);
    vec![entry]
}

/// A shoot's lines in `status`: the shoot, and its projects or batches below it.
fn write_group(
    out: &mut String,
    group: &ShootGroup,
    now: &crate::ui::snapshot::Snapshot,
    stopped: bool,
    verbose: bool,
) {
    use crate::words::printable;
    use std::fmt::Write;
    if group.is_live() {
        let _ = writeln!(
            out,
            "{}",
            group.live_words(now.live.get(&group.lead.shoot.folder))
        );
        for row in group.projects.iter().rev() {
            let label = format!("  · batch {}", row.shoot.batch + 1);
            let project = match verbose {
                true => printable(&row.shoot.project_name).into_owned(),
                false => String::new(),
            };
            write_shoot_line(out, &label, row, stopped, &project);
            write_shoot_notes(out, &row.shoot, verbose);
        }
        return;
    }
    let several = group.projects.len() > 1;
    let lead = &group.lead;
    let name = match (several, verbose) {
        (true, _) => format!("({} projects)", group.projects.len()),
        (false, true) => printable(&lead.shoot.project_name).into_owned(),
        (false, false) => String::new(),
    };
    write_shoot_line(out, &printable(&lead.shoot.folder), lead, stopped, &name);
    for row in &group.projects {
        let shoot = &row.shoot;
        if several {
            let label = format!("  · {}", shoot.options.described());
            let project = match verbose {
                true => printable(&shoot.project_name).into_owned(),
                false => String::new(),
            };
            write_shoot_line(out, &label, row, stopped, &project);
        }
        write_shoot_notes(out, shoot, verbose);
    }
}

/// One line of `status`: a shoot (or one of its projects) with its state and counts.
fn write_shoot_line(
    out: &mut String,
    label: &str,
    row: &journal::ShootSummary,
    stopped: bool,
    project: &str,
) {
    use std::fmt::Write;
    let shoot = &row.shoot;
    let mut state = shoot.state_words().to_owned();
    if let Some(holder) = &shoot.holder {
        state = format!("{state} by {}", crate::words::printable(holder));
    } else if stopped && shoot.state.is_active() {
        state.push_str(" (stopped)");
    }
    let _ = writeln!(
        out,
        "{label:<28} {state:<11} {:>3}/{:<3} uploaded {:>3} in outbox  {project}",
        row.uploaded, row.files, row.outputs,
    );
}

/// What a project's line is followed by: its error, what was not delivered, and the
/// command that acts on it.
fn write_shoot_notes(out: &mut String, shoot: &journal::ShootRecord, verbose: bool) {
    use crate::words::printable;
    use std::fmt::Write;
    let error = match verbose {
        true => shoot.last_error.as_deref(),
        false => shoot.error_words(),
    };
    for line in error
        .into_iter()
        .flat_map(str::lines)
        .filter(|l| !l.is_empty())
    {
        let _ = writeln!(out, "    {}", printable(line));
    }
    for problem in &shoot.problems {
        let _ = writeln!(out, "    not delivered: {}", printable(problem));
    }
    let act = match shoot.state {
        ShootState::Failed => Some(format!(
            "{}{}",
            shoot
                .failure
                .and_then(journal::FailureKind::retry_hint)
                .map(|hint| format!("{hint} "))
                .unwrap_or_default(),
            Surface::Cli.retry(&shoot.folder)
        )),
        ShootState::Held => Some(Surface::Cli.send_anyway(&shoot.folder)),
        _ => None,
    };
    if let Some(act) = act {
        let _ = writeln!(out, "    → {act}");
    }
}
