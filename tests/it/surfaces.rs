//! What the photographer sees tells the truth: the dashboard (in real Chromium) and
//! the agent's state through a frozen and then a vanished Imagen, the progress bar,
//! the saved settings read back, and the phone width.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::agent::{Harness, wait_for};
use crate::common::browser::Browser;
use crate::common::dashboard::{start_with_dashboard, start_with_dashboard_by};
use crate::common::proxy::{Mode, Proxy};
use crate::common::start_sim;

const LONG: Duration = Duration::from_secs(60);

/// Photos that do not compress (noise), so an upload under a limit takes a while.
fn write_noisy_shoot(inbox: &Path, name: &str, photos: usize) {
    let folder = inbox.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let mut seed = 0x2545_f491_u32;
    for n in 0..photos {
        let image = image::RgbImage::from_fn(700, 500, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let [r, g, b, _] = seed.to_le_bytes();
            image::Rgb([r, g, b])
        });
        image.save(folder.join(format!("IMG_{n:02}.jpg"))).unwrap();
    }
}

fn uploads(sim: &imagen_sync::sim::Sim) -> u64 {
    sim.counters().uploads_per_project.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_then_vanished_imagen_is_shown_within_30_s_and_work_resumes_within_10_s_of_its_return()
 {
    let proxy = Proxy::start().await;
    let sim = start_sim(|c| c.public_url = Some(proxy.url())).await;
    proxy.forward_to(sim.addr());
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "[dashboard]",
        "[network]\nupload_limit = \"300KB/s\"\n\n[dashboard]",
    );
    let (_, link) = start_with_dashboard(&mut agent).await;
    let browser = Browser::start().await;
    browser.goto(&link).await;
    browser
        .wait_for_text("#agent-status", "Running", LONG)
        .await;

    write_noisy_shoot(&agent.inbox(), "14 Pine Street", 10);
    browser
        .wait_for_text("#shoot-rows", "uploading", LONG)
        .await;
    let position = "var p = document.querySelector('#shoot-rows progress.bar'); \
                    return p ? [p.position, p.getBoundingClientRect().width] : null;";
    let started = Instant::now();
    let bar = loop {
        let bar = browser.script(position).await;
        if let Some(fraction) = bar.get(0).and_then(|v| v.as_f64())
            && fraction > 0.0
        {
            break (fraction, bar[1].as_f64().unwrap());
        }
        assert!(started.elapsed() < LONG, "no progress bar moved: {bar:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        bar.0 < 1.0 && bar.1 > 20.0,
        "mid-upload, the bar shows a part and can be seen: {bar:?}"
    );

    // Frozen: connections stay open, nothing moves.
    proxy.set(Mode::Freeze);
    let frozen = Instant::now();
    browser
        .wait_for_text(
            "#agent-status",
            "Imagen is not answering",
            Duration::from_secs(30),
        )
        .await;
    let noticed = frozen.elapsed();
    let rows = browser.text("#shoot-rows").await;
    assert!(
        !rows.contains(" left"),
        "no time-left estimate while nothing moves: {rows}"
    );

    // Gone: connections cut and refused.
    proxy.set(Mode::Shut);
    browser
        .wait_for_text(
            "#agent-status",
            "No connection to Imagen",
            Duration::from_secs(30),
        )
        .await;
    let status = agent.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("No connection to Imagen (since"),
        "{status}"
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    let page = browser.text("main").await;
    for internal in [
        "os error",
        "tcp connect",
        "(Connect)",
        "error sending request",
        "404",
    ] {
        assert!(
            !page.contains(internal),
            "{internal:?} on the page:\n{page}"
        );
    }

    let before = uploads(&sim);
    proxy.set(Mode::Pass);
    let back = Instant::now();
    loop {
        if uploads(&sim) > before {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "no upload went through within 10 s of Imagen's return"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = back.elapsed();
    wait_for(&agent, "status to say Imagen is back", LONG, || {
        let status = agent.command(&["status"]).output().unwrap();
        !String::from_utf8_lossy(&status.stdout).contains("Imagen (since")
    })
    .await;
    browser.wait_for_text("#shoot-rows", "Done", LONG).await;
    browser
        .wait_for_text("#agent-status", "Running", LONG)
        .await;
    wait_for(&agent, "the edited photos", LONG, || {
        crate::common::agent::tree(&agent.outbox().join("14 Pine Street"))
            .iter()
            .filter(|f| f.ends_with(".jpg"))
            .count()
            == 10
    })
    .await;
    let log = agent.logs();
    assert!(log.contains("Imagen is not answering") && log.contains("Imagen answers again"));
    eprintln!("stall noticed after {noticed:?}; work resumed {resumed:?} after the return");

    // After the outage, a shoot Imagen fails: every page still speaks plainly.
    sim.set_faults(imagen_sync::sim::Faults {
        fail_names_containing: vec!["Broken".into()],
        ..imagen_sync::sim::Faults::default()
    });
    crate::common::write_shoot(&agent.inbox(), "Broken Listing", 2, (320, 240));
    browser
        .wait_for_text("#shoot-rows .pill.failed", "Failed", LONG)
        .await;
    let base = link.split("/?").next().unwrap().to_owned();
    for path in ["/", "/shoots/1", "/shoots/2", "/settings"] {
        browser.goto(&format!("{base}{path}")).await;
        let page = browser.wait_for_text("main", "", LONG).await;
        for internal in [
            "os error",
            "tcp connect",
            "(Connect)",
            "error sending request",
            "(404)",
            "(401)",
            "(500)",
            "In Progress",
            "Failed)",
            "in the journal",
            "`",
            "..",
            "[",
            "project_uuid",
        ] {
            assert!(!page.contains(internal), "{internal:?} on {path}:\n{page}");
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_port_taken_by_another_program_moves_on_and_open_still_finds_it() {
    let sim = start_sim(|_| {}).await;
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = squatter.local_addr().unwrap().port();
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "[dashboard]\nport = 0",
        &format!("[dashboard]\nport = {taken}"),
    );
    let (address, link) = start_with_dashboard(&mut agent).await;
    assert!(!address.ends_with(&format!(":{taken}")), "{address}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let entered = http.get(&link).send().await.unwrap();
    assert_eq!(entered.status(), 303, "the link from open works");
    let status = agent.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains(&format!("port {taken} is taken by another program"))
            && status.contains(&address),
        "{status}"
    );
    assert!(agent.logs().contains(&format!("port {taken} is taken")));

    // A new port is taken up at once, and the agent is not restarted for it.
    let wanted = free_port();
    agent.edit_config(
        &format!("[dashboard]\nport = {taken}"),
        &format!("[dashboard]\nport = {wanted}"),
    );
    let address_file = agent.dir.path().join("data/dashboard.addr");
    wait_for(&agent, "the dashboard on the new port", LONG, || {
        std::fs::read_to_string(&address_file)
            .is_ok_and(|a| a.trim() == format!("127.0.0.1:{wanted}"))
    })
    .await;
    let moved = http
        .get(format!("http://127.0.0.1:{wanted}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        moved.status(),
        401,
        "the dashboard answers there (asking who it is)"
    );
    assert!(
        !agent.logs().contains("restarting the agent"),
        "the agent went on"
    );
    drop(squatter);
}

/// A shoot of merged brackets: 6 frames of 3 (the simulator's bracket size) → 2 photos.
async fn agent_with_a_merged_shoot() -> (imagen_sync::sim::Sim, Harness, String) {
    let sim = start_sim(|c| c.bracket_size = 3).await;
    let mut agent = Harness::new(&sim, 1, "hdr_merge = true");
    let (_, link) = start_with_dashboard(&mut agent).await;
    crate::common::write_shoot(&agent.inbox(), "9 Elm Court", 6, (1200, 800));
    wait_for(&agent, "the merged shoot done", LONG, || {
        agent.shoot_states().iter().any(|(_, s)| s == "done")
    })
    .await;
    (sim, agent, link)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hdr_shoot_pairs_each_merged_photo_with_its_frames_and_opens_larger() {
    let (_sim, agent, link) = agent_with_a_merged_shoot().await;
    let browser = Browser::start().await;
    browser.goto(&link).await;
    browser.wait_for_text("#shoot-rows", "Done", LONG).await;
    browser.click("#shoot-rows a").await;
    let page = browser.wait_for_text("main", "9 Elm Court", LONG).await;
    assert!(page.contains("6 → 2 HDR photos"), "{page}");
    assert_eq!(page.matches("3 frames → 1 photo").count(), 2, "{page}");
    assert!(!page.contains("not edited yet"), "{page}");
    let frames = browser
        .script("return document.querySelectorAll('.frames img').length;")
        .await;
    assert_eq!(frames, 6);

    browser.click("a.pair-link").await;
    browser.wait_for_text("main", "→ 1 photo", LONG).await;
    let started = Instant::now();
    loop {
        let sizes = browser
            .script(
                "return Array.from(document.querySelectorAll('.side-by-side img')) \
                 .map(i => i.complete ? i.naturalWidth : 0);",
            )
            .await;
        let widths: Vec<u64> = sizes
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_u64())
            .collect();
        if widths.len() == 2 && widths.iter().all(|&w| w > 480) {
            break;
        }
        assert!(
            started.elapsed() < LONG,
            "the large pair never loaded: {widths:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The slider shows as much of the edited photo as it is moved to.
    browser
        .script(
            "var s = document.getElementById('compare-slider'); s.value = 20; \
             s.dispatchEvent(new Event('input'));",
        )
        .await;
    let shown = browser
        .script(
            "var a = document.getElementById('compare-after'), b = document.getElementById('compare'); \
             return a.getBoundingClientRect().width / b.getBoundingClientRect().width;",
        )
        .await;
    let fraction = shown.as_f64().unwrap();
    assert!((0.15..0.25).contains(&fraction), "{fraction}");
    drop(agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_screen_without_sideways_scrolling() {
    let (_sim, agent, link) = agent_with_a_merged_shoot().await;
    let browser = Browser::start_phone().await;
    browser.goto(&link).await;
    browser.wait_for_text("#shoot-rows", "Done", LONG).await;
    let base = link.split("/?").next().unwrap().to_owned();
    for path in [
        "/",
        "/settings",
        "/welcome",
        "/shoots/1",
        "/shoots/1/compare/0",
    ] {
        browser.assert_fits_the_screen(&base, path).await;
    }
    // Shoots are cards: each row's cells stack, the Retry column included.
    browser.goto(&format!("{base}/")).await;
    let stacked = browser
        .script("return getComputedStyle(document.querySelector('#shoot-rows td')).display;")
        .await;
    assert_eq!(stacked, "block");
    drop(agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_the_dashboard_name_a_missing_inbox() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let (_, link) = start_with_dashboard(&mut agent).await;
    std::fs::remove_dir_all(agent.inbox()).unwrap();
    let inbox = agent.inbox().display().to_string();
    let status = agent.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains(&format!("Inbox {inbox} is missing — is the drive mounted?")),
        "{status}"
    );
    let browser = Browser::start().await;
    browser.goto(&link).await;
    browser
        .wait_for_text("#agent-status", "is missing — is the drive mounted?", LONG)
        .await;
    let banner = browser.text("#agent-status").await;
    assert!(!banner.contains("Running"), "{banner}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_card_waits_to_be_confirmed_and_what_was_sent_is_counted() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config(
        "max_active_shoots = 2",
        "max_active_shoots = 2\nconfirm_above = 3",
    );
    let (_, link) = start_with_dashboard(&mut agent).await;
    crate::common::write_shoot(&agent.inbox(), "Whole Card", 4, (64, 48));
    wait_for(&agent, "the big shoot held", LONG, || {
        agent
            .shoot_states()
            .contains(&("Whole Card".to_owned(), "held".to_owned()))
    })
    .await;
    assert_eq!(sim.counters().projects_created, 0, "nothing billed yet");
    let status = agent.run_cli(&["status"]);
    assert!(
        status.contains("4 photos is more than the 3 to confirm")
            && status.contains("Sent for editing: 0 photos today"),
        "{status}"
    );
    let browser = Browser::start().await;
    browser.goto(&link).await;
    browser.wait_for_text("#shoot-rows", "Held", LONG).await;
    browser.click("#shoot-rows button").await;
    browser.wait_for_text("#shoot-rows", "Done", LONG).await;
    browser
        .wait_for_text("#sent-for-editing", "4 photos today, 4 this month", LONG)
        .await;
    assert_eq!(sim.counters().projects_created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_shows_what_was_saved_and_every_mistake_is_shown_at_once() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let (_, link) = start_with_dashboard(&mut agent).await;
    let browser = Browser::start().await;
    browser
        .goto(&link.replacen("/?code", "/settings?code", 1))
        .await;
    browser.wait_for_text("h1", "Settings", LONG).await;

    // Three mistakes in one save: each under its field, named, and linked from the top.
    browser.fill("#agent\\.max_parallel_uploads", "many").await;
    browser.fill("#network\\.upload_limit", "fast").await;
    browser
        .fill("#folders\\[0\\]\\.outbox", "relative/path")
        .await;
    browser.click("button[type=submit]").await;
    let summary = browser
        .wait_for_text("#mistakes", "these 3 mistakes", LONG)
        .await;
    assert!(
        summary.contains("Photos uploading at once must be a whole number.")
            && summary.contains("Upload limit")
            && summary.contains("The outbox of hot folder 1 must be a full path"),
        "{summary}"
    );
    let marked = browser
        .script("return document.querySelectorAll('input.invalid[aria-invalid=true]').length;")
        .await;
    assert_eq!(marked, 3);
    assert!(!browser.text("main").await.contains("Saved"));

    // A good save: HDR merge on, an Exterior* rule, 1 MB/s; the page shows them at once.
    browser.fill("#agent\\.max_parallel_uploads", "4").await;
    browser.fill("#network\\.upload_limit", "1MB/s").await;
    browser
        .fill("#folders\\[0\\]\\.outbox", agent.outbox().to_str().unwrap())
        .await;
    browser
        .script("document.querySelector('input[name=\"folders[0].hdr_merge\"]').checked = true;")
        .await;
    browser
        .fill("#folders\\[0\\]\\.rules\\[0\\]\\.match", "Exterior*")
        .await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text("#saved", "The agent now works with these settings.", LONG)
        .await;
    let shown = browser
        .script(
            "return [document.querySelector('input[name=\"folders[0].hdr_merge\"]').checked, \
              document.getElementById('network.upload_limit').value, \
              document.getElementById('folders[0].rules[0].match').value];",
        )
        .await;
    assert_eq!(shown, serde_json::json!([true, "1MB/s", "Exterior*"]));
    let written = std::fs::read_to_string(&agent.config).unwrap();
    assert!(
        written.contains("hdr_merge = true")
            && written.contains("upload_limit = \"1MB/s\"")
            && written.contains("Exterior*"),
        "{written}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_welcome_page_checks_the_key_with_imagen_and_asks_about_brackets() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.key = String::new();
    // As a first run leaves it: an empty key file only its owner can read.
    let key_file = agent.dir.path().join("api-key");
    std::fs::write(&key_file, "").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    agent.edit_config(
        "[agent]",
        &format!("key_file = \"{}\"\n\n[agent]", key_file.display()),
    );
    let (_, link) =
        start_with_dashboard_by(&mut agent, Harness::start_desktop_without_a_display).await;
    let browser = Browser::start().await;
    browser.goto(&link).await;
    browser
        .wait_for_text("#agent-status", "Waiting for your Imagen API key", LONG)
        .await;
    browser.click("#agent-status a[href='/welcome']").await;
    browser.wait_for_text("h1", "Welcome", LONG).await;
    let inbox = browser
        .script("return document.getElementById('inbox').value;")
        .await;
    assert_eq!(
        inbox,
        agent.inbox().display().to_string(),
        "the inbox's full path"
    );

    // Unanswered and a key Imagen does not know: both said, nothing saved.
    browser.fill("#api_key", "a-key-imagen-never-issued").await;
    browser.click("button[type=submit]").await;
    let page = browser.wait_for_text("main", "needs an answer", LONG).await;
    assert!(page.contains("Nothing was saved"), "{page}");
    browser.click("input[name=brackets][value=yes]").await;
    browser.fill("#api_key", "a-key-imagen-never-issued").await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text("main", "Imagen rejected this key", LONG)
        .await;
    assert!(
        !key_file.exists()
            || std::fs::read_to_string(&key_file)
                .unwrap()
                .trim()
                .is_empty()
    );

    browser.click("input[name=brackets][value=yes]").await;
    browser.fill("#api_key", crate::common::KEY).await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text("#welcomed", "Imagen accepted the key", LONG)
        .await;
    browser
        .wait_for_text("#agent-status", "Running", LONG)
        .await;
    let written = std::fs::read_to_string(&agent.config).unwrap();
    assert!(written.contains("hdr_merge = true"), "{written}");
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        crate::common::KEY
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_a_card_copy_is_under_way_as_the_tray_does() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 3, "");
    agent.start();
    let folder = agent.inbox().join("14 Pine Street");
    std::fs::create_dir_all(&folder).unwrap();
    let photo = folder.join("IMG_01.jpg");
    std::fs::write(&photo, [0xFF, 0xD8, 0xFF, 0xE0]).unwrap();
    let started = Instant::now();
    let status = loop {
        // The card keeps copying: the photo grows.
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&photo)
            .unwrap();
        file.write_all(&[0u8; 4096]).unwrap();
        let status = agent.run_cli(&["status"]);
        if status.contains("14 Pine Street") {
            break status;
        }
        assert!(started.elapsed() < LONG, "{status}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        status.contains("settling    waiting for the copy to finish")
            && !status.contains("No shoots yet"),
        "{status}"
    );
}
