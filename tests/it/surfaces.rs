//! What the photographer sees tells the truth: the dashboard (in real Chromium) and
//! the agent's state through a frozen and then a vanished Imagen, the progress bar,
//! the saved settings read back, and the phone width.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::agent::{Harness, wait_for};
use crate::common::browser::Browser;
use crate::common::dashboard::start_with_dashboard;
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
