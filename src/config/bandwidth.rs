//! `[network] upload_limit` and `download_limit`: "off", a rate ("2 MB/s", "500 KB/s",
//! rclone's "512k"), or a timetable in rclone's `--bwlimit` style, "08:00,1MB/s
//! 12:00,off 18:00,512KB/s", each time optionally with a weekday, "Mon-08:00,1MB/s".
//! The entry in force is the last one at or before now; before the first one of the
//! day (or week) the last one still holds, as the clock wraps around.

use std::fmt;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A limit: always the same, or by the clock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BandwidthPlan {
    #[default]
    Off,
    /// Bytes per second.
    Rate(u64),
    Timetable(Vec<Slot>),
}

/// From `at` (minute of the week, Monday 00:00 = 0; or of every day), this rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub day: Option<u8>,
    pub minute: u32,
    /// Bytes per second; `None` is off.
    pub rate: Option<u64>,
}

const EXAMPLE: &str = "write \"off\", a rate like \"2 MB/s\" or \"500 KB/s\", or a timetable \
                       like \"08:00,1MB/s 12:00,off 18:00,512KB/s\" (times may start with a \
                       weekday: \"Mon-08:00,1MB/s\")";

impl BandwidthPlan {
    /// Reads a limit as the config writes it; the error says what is wrong and shows
    /// the right forms.
    pub fn parse(text: &str) -> Result<BandwidthPlan, crate::words::Refusal> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("off") {
            return Ok(BandwidthPlan::Off);
        }
        if !text.contains(',') {
            return match parse_rate(text)? {
                Some(rate) => Ok(BandwidthPlan::Rate(rate)),
                None => Ok(BandwidthPlan::Off),
            };
        }
        let mut slots = Vec::new();
        for entry in text.split_whitespace() {
            let (when, rate) = entry.split_once(',').ok_or_else(|| {
                format!("\"{entry}\" is not a time and a rate joined by a comma; {EXAMPLE}")
            })?;
            let (day, time) = match when.split_once('-') {
                Some((day, time)) => (Some(parse_day(day)?), time),
                None => (None, when),
            };
            slots.push(Slot {
                day,
                minute: parse_time(time)?,
                rate: parse_rate(rate)?,
            });
        }
        Ok(BandwidthPlan::Timetable(slots))
    }

    /// The rate in force (bytes per second; `None`: no limit) at `weekday` (0 = Monday)
    /// and `minute` of the day.
    pub fn rate_at(&self, weekday: u8, minute: u32) -> Option<u64> {
        let slots = match self {
            BandwidthPlan::Off => return None,
            BandwidthPlan::Rate(rate) => return Some(*rate),
            BandwidthPlan::Timetable(slots) => slots,
        };
        let now = u32::from(weekday) * 24 * 60 + minute;
        // Every slot on the week's clock: a daily one on each day.
        let mut week: Vec<(u32, Option<u64>)> = slots
            .iter()
            .flat_map(|slot| {
                let days: Vec<u8> = match slot.day {
                    Some(day) => vec![day],
                    None => (0..7).collect(),
                };
                days.into_iter()
                    .map(move |day| (u32::from(day) * 24 * 60 + slot.minute, slot.rate))
            })
            .collect();
        week.sort_by_key(|(at, _)| *at);
        week.iter()
            .rev()
            .find(|(at, _)| *at <= now)
            .or_else(|| week.last())
            .and_then(|(_, rate)| *rate)
    }

    /// "2 MB/s", "off", or "1 MB/s now (timetable 08:00,1MB/s 12:00,off)".
    pub fn describe_now(&self) -> String {
        let now = self.rate_now().map_or_else(|| "off".to_owned(), rate_words);
        match self {
            BandwidthPlan::Timetable(_) => format!("{now} now (timetable {self})"),
            _ => now,
        }
    }

    /// The rate in force now, by the local clock.
    pub fn rate_now(&self) -> Option<u64> {
        use chrono::{Datelike, Timelike};
        let now = chrono::Local::now();
        let weekday = now.weekday().num_days_from_monday() as u8;
        self.rate_at(weekday, now.hour() * 60 + now.minute())
    }
}

/// A rate: "off", or a number with a unit (B, KB, MB, GB per second, decimal; KiB,
/// MiB, GiB, or rclone's bare k, M, G, binary), "/s" optional.
fn parse_rate(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let unit_at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_at);
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("/s")
        .or_else(|| unit.strip_suffix("ps"))
        .unwrap_or(unit)
        .trim();
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a rate; {EXAMPLE}"))?;
    let scale: f64 = match unit {
        "" | "B" | "b" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "k" | "K" | "KiB" => 1024.0,
        "M" | "MiB" => 1024.0 * 1024.0,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "\"{other}\" in \"{text}\" is not a unit of rate (B, KB, MB, GB per second); \
                 {EXAMPLE}"
            ));
        }
    };
    let rate = (value * scale).round();
    if !(1024.0..=4e9).contains(&rate) {
        return Err(format!(
            "\"{text}\" is not a usable limit: between 1 KB/s and 4 GB/s, or \"off\""
        ));
    }
    Ok(Some(rate as u64))
}

fn parse_day(text: &str) -> Result<u8, String> {
    DAYS.iter()
        .position(|day| day.eq_ignore_ascii_case(text))
        .map(|day| day as u8)
        .ok_or_else(|| format!("\"{text}\" is not a weekday (Mon, Tue, … Sun); {EXAMPLE}"))
}

fn parse_time(text: &str) -> Result<u32, String> {
    let bad = || format!("\"{text}\" is not a time of day like 08:00; {EXAMPLE}");
    let (hours, minutes) = text.split_once(':').ok_or_else(bad)?;
    let (hours, minutes): (u32, u32) = (
        hours.parse().map_err(|_| bad())?,
        minutes.parse().map_err(|_| bad())?,
    );
    if hours > 23 || minutes > 59 || text.len() > 5 {
        return Err(bad());
    }
    Ok(hours * 60 + minutes)
}

/// A rate as people read it, in the config's own units ("2 MB/s", "512 KB/s").
pub fn rate_words(rate: u64) -> String {
    let (value, unit) = match rate {
        r if r >= 1_000_000_000 => (r as f64 / 1e9, "GB/s"),
        r if r >= 1_000_000 => (r as f64 / 1e6, "MB/s"),
        r if r >= 1_000 => (r as f64 / 1e3, "KB/s"),
        r => (r as f64, "B/s"),
    };
    let shown = format!("{value:.1}");
    format!("{} {unit}", shown.trim_end_matches(".0"))
}

impl fmt::Display for BandwidthPlan {
    /// The form the config takes back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BandwidthPlan::Off => f.write_str("off"),
            BandwidthPlan::Rate(rate) => write!(f, "{}B/s", rate_exact(*rate)),
            BandwidthPlan::Timetable(slots) => {
                let entries: Vec<String> = slots
                    .iter()
                    .map(|slot| {
                        let day = slot
                            .day
                            .map(|d| format!("{}-", DAYS[usize::from(d)]))
                            .unwrap_or_default();
                        let rate = slot
                            .rate
                            .map_or("off".to_owned(), |r| format!("{}B/s", rate_exact(r)));
                        format!(
                            "{day}{:02}:{:02},{rate}",
                            slot.minute / 60,
                            slot.minute % 60
                        )
                    })
                    .collect();
                f.write_str(&entries.join(" "))
            }
        }
    }
}

/// A rate written so it reads back exactly ("2M" would be binary: the bytes are kept).
fn rate_exact(rate: u64) -> String {
    match rate {
        r if r % 1_000_000 == 0 => format!("{}M", r / 1_000_000),
        r if r % 1_000 == 0 => format!("{}K", r / 1_000),
        r => r.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_in_decimal_binary_and_rclone_units() {
        assert_eq!(BandwidthPlan::parse("off"), Ok(BandwidthPlan::Off));
        assert_eq!(
            BandwidthPlan::parse("2 MB/s"),
            Ok(BandwidthPlan::Rate(2_000_000))
        );
        assert_eq!(
            BandwidthPlan::parse("500KB/s"),
            Ok(BandwidthPlan::Rate(500_000))
        );
        assert_eq!(
            BandwidthPlan::parse("512k"),
            Ok(BandwidthPlan::Rate(524_288))
        );
        assert_eq!(
            BandwidthPlan::parse("1.5 MiB/s"),
            Ok(BandwidthPlan::Rate(1_572_864))
        );
        assert_eq!(rate_words(3_100_000), "3.1 MB/s");
        assert_eq!(rate_words(512_000), "512 KB/s");
    }

    #[test]
    fn a_timetable_switches_at_its_times_and_wraps_around_the_week() {
        let plan = BandwidthPlan::parse("08:00,1MB/s 12:00,off 18:00,512KB/s").unwrap();
        let (mon, wed) = (0, 2);
        assert_eq!(
            plan.rate_at(wed, 7 * 60 + 59),
            Some(512_000),
            "before 08:00: last night's"
        );
        assert_eq!(plan.rate_at(wed, 8 * 60), Some(1_000_000));
        assert_eq!(plan.rate_at(wed, 11 * 60 + 59), Some(1_000_000));
        assert_eq!(plan.rate_at(wed, 12 * 60), None);
        assert_eq!(plan.rate_at(wed, 18 * 60 + 1), Some(512_000));
        assert_eq!(
            plan.rate_at(mon, 0),
            Some(512_000),
            "wraps from Sunday night"
        );

        let weekdays = BandwidthPlan::parse("Mon-08:00,2MB/s Sat-00:00,off").unwrap();
        assert_eq!(
            weekdays.rate_at(mon, 7 * 60),
            None,
            "Sunday's off holds until Monday 08:00"
        );
        assert_eq!(
            weekdays.rate_at(4, 23 * 60),
            Some(2_000_000),
            "all week until Saturday"
        );
        assert_eq!(weekdays.rate_at(5, 10), None);
    }

    #[test]
    fn every_malformed_limit_says_what_to_write() {
        for bad in [
            "fast",
            "2 MB/h",
            "08:00 1MB/s",
            "25:00,1MB/s",
            "08:61,1MB/s",
            "Moonday-08:00,1MB/s",
            "08:00,lots",
            "0 B/s",
            "08:00,",
        ] {
            let said = BandwidthPlan::parse(bad).unwrap_err();
            assert!(
                said.contains("\"2 MB/s\"") || said.contains("1 KB/s"),
                "{bad}: {said}"
            );
        }
    }

    #[test]
    fn a_plan_written_back_reads_the_same() {
        for text in ["off", "2 MB/s", "Mon-08:00,1MB/s 12:00,off 18:30,512k"] {
            let plan = BandwidthPlan::parse(text).unwrap();
            assert_eq!(
                BandwidthPlan::parse(&plan.to_string()),
                Ok(plan.clone()),
                "{plan}"
            );
        }
    }
}
