//! A hostile filesystem: an outbox that is full, then read-only (the shoot waits with a
//! clear message, nothing half-written is left, and it completes once the disk is
//! usable again), and an inbox drive unplugged and plugged back in (it is watched
//! again). The disks are small tmpfs mounts, so these tests need root (CI runs as
//! root) and say so, skipping, elsewhere.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::agent::{Harness, assert_outbox_holds_only_whole_photos, tree, wait_for};
use crate::common::{start_sim, write_jpeg, write_shoot};

const LONG: Duration = Duration::from_secs(90);
const PHOTOS: usize = 4;

/// A 4 MB tmpfs at `dir`, unmounted when dropped.
struct SmallDisk {
    dir: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("SKIPPED: mounting a small tmpfs needs root (CI runs these as root)");
            return None;
        }
        Some(SmallDisk {
            dir: dir.to_owned(),
        })
    }

    fn remount(&self, mode: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn shoot_field(agent: &Harness, field: &str) -> String {
    agent.status()["shoots"][0][field]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn agent_with_outbox_on(disk_dir: &Path) -> Harness {
    let sim = start_sim(|_| {}).await;
    let agent = Harness::new(&sim, 1, "");
    // The outbox moves onto the small disk.
    agent.edit_config(
        &format!("outbox = \"{}\"", agent.outbox().display()),
        &format!("outbox = \"{}\"", disk_dir.join("Outbox").display()),
    );
    let shoot = agent.inbox().join("Disk Trouble");
    std::fs::create_dir_all(&shoot).unwrap();
    for n in 0..PHOTOS {
        write_jpeg(&shoot.join(format!("Room {n}.jpg")), 400, 300);
    }
    std::mem::forget(sim); // lives as long as the test process
    agent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_makes_the_shoot_wait_and_it_completes_once_space_returns() {
    let root = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&root.path().join("disk")) else {
        return;
    };
    // Leave less room than one edited photo needs.
    let filler = disk.dir.join("filler.bin");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=1k", "count=100000"])
        .arg(format!("of={}", filler.display()))
        .stderr(std::process::Stdio::null())
        .status();
    let mut agent = agent_with_outbox_on(&disk.dir).await;
    agent.start();
    wait_for(&agent, "the shoot waits for space", LONG, || {
        shoot_field(&agent, "last_error").contains("No space left")
    })
    .await;
    assert!(agent.is_running());
    let outbox = disk.dir.join("Outbox");
    // The problem names the folder that is full and says what to do.
    let told = shoot_field(&agent, "last_error");
    assert!(
        told.contains(&outbox.join("Disk Trouble").display().to_string())
            && told.contains("free some space")
            && !told.contains("<download target>"),
        "{told}"
    );
    assert_outbox_holds_only_whole_photos(&outbox);
    assert!(
        tree(&outbox).iter().all(|f| !f.contains(".imagen-")),
        "{:?}",
        tree(&outbox)
    );

    std::fs::remove_file(&filler).unwrap();
    wait_for(&agent, "the shoot done once space returned", LONG, || {
        shoot_field(&agent, "state") == "done"
    })
    .await;
    assert_outbox_holds_only_whole_photos(&outbox);
    let photos = tree(&outbox.join("Disk Trouble"));
    assert_eq!(photos.len(), PHOTOS, "{photos:?}");
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_outbox_makes_the_shoot_wait_and_it_completes_once_writable() {
    let root = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&root.path().join("disk")) else {
        return;
    };
    std::fs::create_dir_all(disk.dir.join("Outbox")).unwrap();
    disk.remount("ro");
    let mut agent = agent_with_outbox_on(&disk.dir).await;
    agent.start();
    wait_for(
        &agent,
        "the shoot waits for a writable outbox",
        LONG,
        || shoot_field(&agent, "last_error").contains("Read-only file system"),
    )
    .await;
    assert!(agent.is_running());

    disk.remount("rw");
    wait_for(&agent, "the shoot done once writable", LONG, || {
        shoot_field(&agent, "state") == "done"
    })
    .await;
    let outbox = disk.dir.join("Outbox");
    assert_outbox_holds_only_whole_photos(&outbox);
    assert_eq!(tree(&outbox.join("Disk Trouble")).len(), PHOTOS);
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_drive_that_disappears_and_comes_back_is_watched_again() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let Some(drive) = SmallDisk::mount(&agent.inbox()) else {
        return;
    };
    agent.edit_config(
        "settle_seconds = 1
",
        "settle_seconds = 1
rescan_seconds = 5
",
    );
    agent.start();
    let drop_shoot = |name: &str| {
        let shoot = agent.inbox().join(name);
        std::fs::create_dir_all(&shoot).unwrap();
        write_jpeg(&shoot.join("Room.jpg"), 200, 150);
    };
    drop_shoot("Before Unplugging");
    wait_for(&agent, "the first shoot", LONG, || {
        agent.shoot_states().iter().any(|(_, s)| s == "done")
    })
    .await;

    // Unplugged: the folder under the mount point is what is left; then plugged back in.
    drop(drive);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let Some(_drive) = SmallDisk::mount(&agent.inbox()) else {
        return;
    };
    wait_for(&agent, "the inbox watched again", LONG, || {
        agent.logs().matches("watching it again").count() >= 2
    })
    .await;
    drop_shoot("After Plugging Back");
    wait_for(&agent, "the shoot on the returned drive", LONG, || {
        agent
            .shoot_states()
            .iter()
            .any(|(f, s)| f == "After Plugging Back" && s == "done")
    })
    .await;
    assert!(agent.is_running());
    agent.kill();
}

/// Root reads everything, so the agent runs as `nobody` here (through setpriv).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_the_agent_may_not_read_is_reported_and_the_rest_of_the_shoot_goes_through() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        eprintln!("SKIPPED: running the agent as another user needs root (CI runs this as root)");
        return;
    }
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let shoot = agent.inbox().join("Locked Out");
    std::fs::create_dir_all(&shoot).unwrap();
    write_jpeg(&shoot.join("Open.jpg"), 200, 150);
    write_jpeg(&shoot.join("Locked.jpg"), 200, 150);
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(agent.dir.path())
        .status()
        .unwrap();
    assert!(chown.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            shoot.join("Locked.jpg"),
            std::fs::Permissions::from_mode(0o000),
        )
        .unwrap();
    }
    agent.start_via(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
    ]);
    wait_for(
        &agent,
        "the shoot done without the locked photo",
        LONG,
        || agent.shoot_states() == [("Locked Out".to_owned(), "done".to_owned())],
    )
    .await;
    let outputs = tree(&agent.outbox().join("Locked Out"));
    assert!(outputs.iter().any(|f| f.starts_with("Open")), "{outputs:?}");
    assert!(
        !outputs.iter().any(|f| f.starts_with("Locked.")),
        "{outputs:?}"
    );
    let report = std::fs::read_to_string(
        agent
            .outbox()
            .join("Locked Out")
            .join(imagen_sync::agent::REPORT_NAME),
    )
    .unwrap();
    assert!(
        report.contains("Locked.jpg: cannot be read (permission denied)"),
        "{report}"
    );
    agent.kill();
}

/// An agent on a shoot of four photos that go up one at a time, slowly (60 KB/s), so
/// the test can swap files while the first ones upload. The simulator keeps what it
/// receives in `sim_data`.
async fn slow_upload_of_four(
    sim_data: &Path,
) -> (imagen_sync::sim::Sim, Harness, std::path::PathBuf) {
    let data = sim_data.to_owned();
    let sim = start_sim(move |c| c.data_dir = Some(data)).await;
    let agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "max_active_shoots = 2",
        "max_active_shoots = 2\nmax_parallel_uploads = 1",
    );
    let mut config = std::fs::read_to_string(&agent.config).unwrap();
    config.push_str("\n[network]\nupload_limit = \"60 KB/s\"\n");
    std::fs::write(&agent.config, config).unwrap();
    let shoot = agent.inbox().join("Shared Drop");
    std::fs::create_dir_all(&shoot).unwrap();
    for n in 1..=4 {
        write_jpeg(&shoot.join(format!("IMG_{n}.jpg")), 900, 700);
    }
    (sim, agent, shoot)
}

/// Waits until the first photo of the only shoot is up (the others wait their turn).
async fn first_photo_up(agent: &Harness) {
    wait_for(agent, "the first photo uploaded", LONG, || {
        agent.summaries().first().is_some_and(|s| s.uploaded >= 1)
    })
    .await;
}

/// Every file the simulator stored, searched for `needle`.
fn stored_anywhere(dir: &Path, needle: &[u8]) -> bool {
    walk(dir).iter().any(|file| {
        std::fs::read(file).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
    })
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type().is_ok_and(|t| t.is_dir()) {
            true => files.extend(walk(&path)),
            false => files.push(path),
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_swapped_for_a_link_or_a_look_alike_after_settling_is_never_sent_and_the_report_says_so()
 {
    let work = tempfile::tempdir().unwrap();
    let (sim, mut agent, shoot) = slow_upload_of_four(&work.path().join("sim")).await;
    // A private file of the user's, and a stand-in of it made to look like IMG_3.
    let marker = b"-----BEGIN OPENSSH PRIVATE KEY----- not for Imagen";
    let mut secret = marker.to_vec();
    secret.resize(4600, b'k');
    let secret_path = work.path().join("id_rsa");
    std::fs::write(&secret_path, &secret).unwrap();
    agent.start();
    first_photo_up(&agent).await;

    // IMG_4 becomes a link to the secret; IMG_3 is replaced by a file of its very size
    // and time holding the secret.
    std::fs::remove_file(shoot.join("IMG_4.jpg")).unwrap();
    std::os::unix::fs::symlink(&secret_path, shoot.join("IMG_4.jpg")).unwrap();
    let img3 = shoot.join("IMG_3.jpg");
    let original = std::fs::metadata(&img3).unwrap();
    let mut look_alike = secret.clone();
    look_alike.resize(original.len() as usize, b'k');
    let staged = shoot.join(".staged");
    std::fs::write(&staged, &look_alike).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&staged)
        .unwrap()
        .set_modified(original.modified().unwrap())
        .unwrap();
    std::fs::rename(&staged, &img3).unwrap();

    wait_for(&agent, "the shoot done", LONG, || {
        agent.shoot_states() == [("Shared Drop".to_owned(), "done".to_owned())]
    })
    .await;
    assert!(
        !stored_anywhere(&work.path().join("sim"), marker),
        "the simulator never received the secret's bytes"
    );
    // On a busy machine IMG_3 may have gone up (as itself) before the swap; IMG_4 never.
    let project = agent.summaries()[0].shoot.project_uuid.clone().unwrap();
    let inputs = sim.input_sizes(&project);
    let img3_sent_before_the_swap = inputs.contains_key("IMG_3.jpg");
    assert!(
        inputs.contains_key("IMG_1.jpg") && !inputs.contains_key("IMG_4.jpg"),
        "{inputs:?}"
    );
    let outputs = tree(&agent.outbox().join("Shared Drop"));
    assert!(
        !outputs.iter().any(|f| f.starts_with("IMG_4.")),
        "{outputs:?}"
    );
    let report = std::fs::read_to_string(
        agent
            .outbox()
            .join("Shared Drop")
            .join(imagen_sync::agent::REPORT_NAME),
    )
    .unwrap();
    assert!(report.contains("IMG_4.jpg: symbolic link"), "{report}");
    // Left out at upload as replaced, or (once the folder settled again) as not a JPEG.
    assert!(
        img3_sent_before_the_swap
            || report.contains("IMG_3.jpg: replaced by another file")
            || report.contains("IMG_3.jpg: not a real JPEG photo"),
        "{report}"
    );
    let status = agent.run_cli(&["status"]);
    assert!(status.contains("IMG_4.jpg"), "{status}");
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_swapped_in_for_a_photo_hangs_nothing_and_sigterm_still_ends_the_agent() {
    let work = tempfile::tempdir().unwrap();
    let (_sim, mut agent, shoot) = slow_upload_of_four(&work.path().join("sim")).await;
    agent.start();
    first_photo_up(&agent).await;
    let fifo = shoot.join("IMG_4.jpg");
    std::fs::remove_file(&fifo).unwrap();
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());

    wait_for(&agent, "the shoot done without the FIFO", LONG, || {
        agent.shoot_states() == [("Shared Drop".to_owned(), "done".to_owned())]
    })
    .await;
    let outputs = tree(&agent.outbox().join("Shared Drop"));
    assert_eq!(
        outputs.iter().filter(|f| f.starts_with("IMG_")).count(),
        3,
        "{outputs:?}"
    );
    // A second shoot is not held up by the first.
    let next = agent.inbox().join("Next Door");
    std::fs::create_dir_all(&next).unwrap();
    write_jpeg(&next.join("A.jpg"), 200, 150);
    wait_for(&agent, "the next shoot done", LONG, || {
        agent
            .shoot_states()
            .contains(&("Next Door".to_owned(), "done".to_owned()))
    })
    .await;
    let (status, took) = agent.stop_with_sigterm();
    assert!(took < Duration::from_secs(10), "SIGTERM took {took:?}");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_that_goes_away_mid_upload_is_waited_for_and_the_shoot_completes_when_it_is_back()
{
    let work = tempfile::tempdir().unwrap();
    let (_sim, mut agent, _shoot) = slow_upload_of_four(&work.path().join("sim")).await;
    agent.start();
    first_photo_up(&agent).await;
    // The share is unmounted mid-upload (its folder goes away), then mounted again.
    let away = agent.dir.path().join("inbox-unmounted");
    std::fs::rename(agent.inbox(), &away).unwrap();
    wait_for(&agent, "the missing inbox told", LONG, || {
        agent.logs().contains("is missing")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_ne!(
        agent.shoot_states()[0].1,
        "failed",
        "never abandoned while its inbox is away"
    );
    std::fs::rename(&away, agent.inbox()).unwrap();
    wait_for(
        &agent,
        "the shoot done once the inbox is back",
        LONG,
        || agent.shoot_states() == [("Shared Drop".to_owned(), "done".to_owned())],
    )
    .await;
    let outputs = tree(&agent.outbox().join("Shared Drop"));
    assert_eq!(
        outputs.iter().filter(|f| f.starts_with("IMG_")).count(),
        4,
        "{outputs:?}"
    );
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_folder_holds_the_shoot_and_it_completes_once_space_returns() {
    let work = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&work.path().join("disk")) else {
        return;
    };
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let data = agent.dir.path().join("data").display().to_string();
    agent.edit_config(
        &format!("data_dir = \"{data}\""),
        &format!("data_dir = \"{}\"", disk.dir.join("data").display()),
    );
    agent.start();
    wait_for(&agent, "the journal made", LONG, || {
        disk.dir
            .join("data")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some())
    })
    .await;
    // Everything left on the data folder's disk is taken.
    let filler = disk.dir.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![7u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }
    write_shoot(&agent.inbox(), "Full Disk", 2, (64, 48));
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        !agent.shoot_states().iter().any(|(_, s)| s == "done"),
        "nothing can be recorded yet"
    );
    std::fs::remove_file(&filler).unwrap();
    wait_for(
        &agent,
        "the shoot done once space returns",
        Duration::from_secs(120),
        || agent.shoot_states() == [("Full Disk".to_owned(), "done".to_owned())],
    )
    .await;
    assert_eq!(sim.counters().projects_created, 1);
    agent.kill();
}
