//! The table: the machine it ran on, and the rows as Markdown.

use crate::harness::*;

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

pub(crate) fn markdown(rows: &[Row], quick: bool) -> String {
    let command = if quick {
        "cargo bench --bench agent -- --quick"
    } else {
        "cargo bench --bench agent -- --write BENCHMARKS.md"
    };
    let mut text = format!(
        "Machine: {}. Command: `{command}`.\n\n| figure | target | measured | ratio |\n|---|---|---|---|\n",
        machine()
    );
    for r in rows {
        text.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.figure, r.target, r.measured, r.ratio
        ));
    }
    text
}
