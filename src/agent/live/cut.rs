//! Where a live shoot's next batch is cut. A batch opens with the first photo not yet
//! sent and goes up `batch` later, or as soon as it holds `max_photos` settled photos.
//! With HDR merge it is never cut inside a bracket: photos whose capture times lie
//! within `bracket_gap` of each other stay together, and the newest bracket waits for
//! the next gap (a later photo), or for the shoot to go quiet.

use std::path::PathBuf;
use std::time::Duration;

/// A photo of a live shoot not sent yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub relative: PathBuf,
    /// Whole and unchanged for the settle time: it may go up.
    pub ready: bool,
    /// When the agent first saw it (Unix ms).
    pub arrived_ms: i64,
    /// Its capture time, or its file time when it has none (ms); `None` while its
    /// headers are still being written.
    pub taken_ms: Option<i64>,
}

/// The rules of a cut.
#[derive(Debug, Clone, Copy)]
pub struct CutRules {
    pub batch: Duration,
    pub max_photos: usize,
    /// Keep brackets whole (the hot folder merges HDR).
    pub brackets: bool,
    pub bracket_gap: Duration,
    /// How long without a new photo before the newest bracket counts as complete.
    pub quiet: Duration,
}

/// One upload-links call takes this many photos: a batch never holds more.
pub const MAX_PHOTOS: usize = 100;
/// Frames shot within this of each other belong to one bracket.
pub const BRACKET_GAP: Duration = Duration::from_secs(2);

impl CutRules {
    pub fn new(batch: Duration, brackets: bool) -> CutRules {
        CutRules {
            batch,
            max_photos: MAX_PHOTOS,
            brackets,
            bracket_gap: BRACKET_GAP,
            // Two windows: frames of one bracket sent slowly still arrive well within it.
            quiet: (batch * 2).max(Duration::from_secs(10)),
        }
    }
}

/// The photos the next batch takes now, oldest first; `None` while it is not due.
/// `last_arrival_ms` is when the newest photo of the shoot arrived.
pub fn cut(
    waiting: &[Waiting],
    now_ms: i64,
    last_arrival_ms: i64,
    rules: CutRules,
) -> Option<Vec<PathBuf>> {
    let opened_ms = waiting.iter().map(|w| w.arrived_ms).min()?;
    let ready = waiting.iter().filter(|w| w.ready).count();
    let due = now_ms - opened_ms >= rules.batch.as_millis() as i64 || ready >= rules.max_photos;
    if !due || ready == 0 {
        return None;
    }
    let mut order: Vec<&Waiting> = waiting.iter().collect();
    let key = |w: &Waiting| w.taken_ms.unwrap_or(w.arrived_ms);
    order.sort_by(|a, b| (key(a), &a.relative).cmp(&(key(b), &b.relative)));
    if !rules.brackets {
        let taken: Vec<PathBuf> = (order.into_iter())
            .filter(|w| w.ready)
            .take(rules.max_photos)
            .map(|w| w.relative.clone())
            .collect();
        return Some(taken);
    }
    // A frame still being written may belong to any bracket: wait until it can be placed.
    if waiting.iter().any(|w| !w.ready && w.taken_ms.is_none()) {
        return None;
    }
    let gap = rules.bracket_gap.as_millis() as i64;
    let mut brackets: Vec<Vec<&Waiting>> = Vec::new();
    for photo in order {
        match brackets.last_mut() {
            Some(bracket) if key(photo) - key(bracket[bracket.len() - 1]) <= gap => {
                bracket.push(photo)
            }
            _ => brackets.push(vec![photo]),
        }
    }
    let quiet = now_ms - last_arrival_ms >= rules.quiet.as_millis() as i64;
    let newest = brackets.len() - 1;
    let mut taken: Vec<PathBuf> = Vec::new();
    for (index, bracket) in brackets.into_iter().enumerate() {
        let complete = index < newest || quiet;
        if !complete || !bracket.iter().all(|w| w.ready) {
            continue;
        }
        if !taken.is_empty() && taken.len() + bracket.len() > rules.max_photos {
            break;
        }
        taken.extend(bracket.iter().map(|w| w.relative.clone()));
    }
    (!taken.is_empty()).then_some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn photo(name: &str, arrived_s: i64, taken_ms: Option<i64>, ready: bool) -> Waiting {
        Waiting {
            relative: PathBuf::from(name),
            ready,
            arrived_ms: arrived_s * S,
            taken_ms,
        }
    }

    fn names(cut: Option<Vec<PathBuf>>) -> Vec<String> {
        cut.unwrap_or_default()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn a_batch_goes_up_one_window_after_its_first_photo_with_what_has_settled() {
        let rules = CutRules::new(Duration::from_secs(60), false);
        let waiting = [
            photo("a.jpg", 0, Some(0), true),
            photo("b.jpg", 30, Some(30 * S), true),
            photo("c.jpg", 59, Some(59 * S), false),
        ];
        assert_eq!(cut(&waiting, 59 * S, 59 * S, rules), None, "not due yet");
        assert_eq!(
            names(cut(&waiting, 60 * S, 59 * S, rules)),
            ["a.jpg", "b.jpg"]
        );
    }

    #[test]
    fn a_hundred_settled_photos_go_up_at_once() {
        let rules = CutRules::new(Duration::from_secs(60), false);
        let waiting: Vec<Waiting> = (0..150)
            .map(|i| photo(&format!("{i:03}.jpg"), 1, Some(i), true))
            .collect();
        let taken = cut(&waiting, 2 * S, 2 * S, rules).unwrap();
        assert_eq!(taken.len(), 100);
        assert_eq!(taken[0], PathBuf::from("000.jpg"));
    }

    #[test]
    fn a_bracket_is_never_split_and_the_newest_waits_for_the_next_gap() {
        let rules = CutRules::new(Duration::from_secs(10), true);
        // Two brackets of three shot half a second apart, ten seconds between them;
        // the second's last frame has not arrived.
        let mut waiting = vec![
            photo("1a.jpg", 0, Some(0), true),
            photo("1b.jpg", 1, Some(500), true),
            photo("1c.jpg", 2, Some(1000), true),
            photo("2a.jpg", 8, Some(10 * S), true),
            photo("2b.jpg", 9, Some(10 * S + 500), true),
        ];
        assert_eq!(
            names(cut(&waiting, 10 * S, 9 * S, rules)),
            ["1a.jpg", "1b.jpg", "1c.jpg"]
        );
        waiting.drain(..3);
        assert_eq!(
            cut(&waiting, 25 * S, 9 * S, rules),
            None,
            "the newest bracket may still grow"
        );
        waiting.push(photo("2c.jpg", 26, Some(11 * S), true));
        assert_eq!(cut(&waiting, 27 * S, 26 * S, rules), None);
        waiting.push(photo("3a.jpg", 28, Some(40 * S), true));
        assert_eq!(
            names(cut(&waiting, 29 * S, 28 * S, rules)),
            ["2a.jpg", "2b.jpg", "2c.jpg"]
        );
        assert_eq!(
            names(cut(&waiting[3..], 28 * S + 20 * S, 28 * S, rules)),
            ["3a.jpg"],
            "once the shoot is quiet the newest bracket goes too"
        );
    }

    #[test]
    fn a_frame_whose_headers_are_not_written_yet_holds_the_cut_of_brackets() {
        let rules = CutRules::new(Duration::from_secs(10), true);
        let waiting = [
            photo("1a.jpg", 0, Some(0), true),
            photo("1b.jpg", 1, None, false),
            photo("2a.jpg", 1, Some(9 * S), true),
        ];
        assert_eq!(cut(&waiting, 20 * S, S, rules), None);
        let waiting = [
            photo("1a.jpg", 0, Some(0), true),
            photo("1b.jpg", 1, Some(800), false),
            photo("2a.jpg", 1, Some(9 * S), true),
        ];
        assert_eq!(
            cut(&waiting, 20 * S, S, rules),
            None,
            "a bracket with a frame still settling waits, and the newest one too"
        );
    }
}
