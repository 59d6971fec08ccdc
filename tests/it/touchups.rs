//! Touch-ups synced back, as a photographer retouching in Photoshop sees it: the real
//! agent, the simulator over loopback, real files saved over the delivered outputs.

use std::path::Path;
use std::time::Duration;

use crate::common::agent::{Harness, wait_for};
use crate::common::dashboard::{page, signed_in, start_with_dashboard};
use crate::common::{client_for, start_sim, write_jpeg, write_shoot};
use imagen_sync::sim::Sim;

const LONG: Duration = Duration::from_secs(60);
const OVERRIDE_LINKS: &str = "GET /v1/i2i/projects/{uuid}/get_upload_link";

fn override_links(sim: &Sim) -> u64 {
    sim.counters()
        .requests
        .get(OVERRIDE_LINKS)
        .copied()
        .unwrap_or(0)
}

/// Imagen's copy of the output whose name starts with `stem`.
async fn imagens_copy(sim: &Sim, uuid: &str, stem: &str) -> Vec<u8> {
    let client = client_for(sim, |_| {});
    let links = client.download_links(uuid).await.unwrap();
    let link = links
        .iter()
        .find(|l| l.file_name.starts_with(stem))
        .unwrap_or_else(|| panic!("no output named {stem}: {links:?}"));
    let mut bytes = Vec::new();
    client
        .download_to(&link.download_link, &mut bytes, Path::new("memory"))
        .await
        .unwrap();
    bytes
}

/// Saves a retouched version over `path` as editors do: a new file renamed over it.
fn save_over(path: &Path, width: u32) -> Vec<u8> {
    let staged = path.with_file_name(".retouch-in-progress.jpg");
    write_jpeg(&staged, width, 40);
    std::fs::rename(&staged, path).unwrap();
    std::fs::read(path).unwrap()
}

async fn wait_until_copy_is(agent: &Harness, sim: &Sim, uuid: &str, stem: &str, bytes: &[u8]) {
    let started = std::time::Instant::now();
    while imagens_copy(sim, uuid, stem).await != bytes {
        assert!(
            started.elapsed() < LONG,
            "Imagen's copy of {stem} never became the touch-up\n{}",
            agent.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_touch_up_saved_over_an_output_replaces_imagens_copy_once_per_change() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config("[folders.edit]", "sync_touchups = true\n[folders.edit]");
    write_shoot(&agent.inbox(), "5 Lake Rd", 3, (64, 48));
    let (address, link) = start_with_dashboard(&mut agent).await;
    wait_for(&agent, "the shoot done", LONG, || {
        agent.shoot_states() == [("5 Lake Rd".to_owned(), "done".to_owned())]
    })
    .await;
    let shoot = &agent.status()["shoots"][0];
    let uuid = shoot["project_uuid"].as_str().unwrap().to_owned();
    let shoot_page = format!("/shoots/{}", shoot["id"]);
    let outputs = agent.outbox().join("5 Lake Rd");
    // Delivering the outputs is no touch-up.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        override_links(&sim),
        0,
        "nothing sent for the agent's own outputs"
    );

    // A retouch is sent once it has settled, with exactly its bytes.
    let retouched = save_over(&outputs.join("IMG_00.jpg"), 90);
    wait_until_copy_is(&agent, &sim, &uuid, "IMG_00", &retouched).await;
    assert_eq!(override_links(&sim), 1);
    // The dashboard marks it, once the journal has the send confirmed.
    let (http, base, session, _) = signed_in(&address, &link).await;
    let started = std::time::Instant::now();
    while page(&http, &base, &session, &shoot_page)
        .await
        .matches("touched up, synced")
        .count()
        != 1
    {
        assert!(started.elapsed() < LONG, "the shoot's page never says it");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Saved again with the same bytes: nothing new goes up.
    std::fs::write(outputs.join("IMG_00.jpg"), &retouched).unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(override_links(&sim), 1, "the same bytes are not sent twice");

    // A save still being written is not sent until it is a whole JPEG.
    let staged = agent.dir.path().join("whole.jpg");
    write_jpeg(&staged, 120, 40);
    let whole = std::fs::read(&staged).unwrap();
    std::fs::write(outputs.join("IMG_01.jpg"), &whole[..whole.len() / 2]).unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(override_links(&sim), 1, "half a JPEG is never sent");
    std::fs::write(outputs.join("IMG_01.jpg"), &whole).unwrap();
    wait_until_copy_is(&agent, &sim, &uuid, "IMG_01", &whole).await;
    assert_eq!(override_links(&sim), 2);

    // Deleting an output never touches the server.
    std::fs::remove_file(outputs.join("IMG_01.jpg")).unwrap();

    // A change made while the agent was stopped is found at start.
    agent.stop_with_sigterm();
    let offline = save_over(&outputs.join("IMG_02.jpg"), 70);
    agent.start();
    wait_until_copy_is(&agent, &sim, &uuid, "IMG_02", &offline).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        override_links(&sim),
        3,
        "one send per change, none for the deletion"
    );
    assert!(agent.logs().contains("touch-up synced"), "the log says so");
    assert!(
        sim.counters().protocol_violations.is_empty(),
        "{:?}",
        sim.counters().protocol_violations
    );
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sync_touchups_a_retouched_output_stays_local() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    write_shoot(&agent.inbox(), "9 Pine St", 1, (64, 48));
    agent.start();
    wait_for(&agent, "the shoot done", LONG, || {
        agent.shoot_states() == [("9 Pine St".to_owned(), "done".to_owned())]
    })
    .await;
    save_over(&agent.outbox().join("9 Pine St/IMG_00.jpg"), 90);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(override_links(&sim), 0);
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_years_of_delivered_shoots_looks_only_at_the_photo_saved_over() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.edit_config("[folders.edit]", "sync_touchups = true\n[folders.edit]");
    agent.fill_with_delivered_shoots(300, 2);
    write_shoot(&agent.inbox(), "5 Lake Rd", 2, (64, 48));
    agent.start();
    wait_for(&agent, "the new shoot done", LONG, || {
        (agent.shoot_states().iter()).any(|(f, s)| f == "5 Lake Rd" && s == "done")
    })
    .await;
    let shoot = (agent.status()["shoots"].as_array().unwrap().iter())
        .find(|s| s["folder"] == "5 Lake Rd")
        .unwrap()
        .clone();
    let uuid = shoot["project_uuid"].as_str().unwrap().to_owned();
    // Settled: whatever the delivery's own writes asked to look at has been looked at.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let looks_before = looks(&agent).len();

    let retouched = save_over(&agent.outbox().join("5 Lake Rd/IMG_01.jpg"), 90);
    wait_until_copy_is(&agent, &sim, &uuid, "IMG_01", &retouched).await;
    assert_eq!(override_links(&sim), 1);
    let looks = looks(&agent);
    let first = looks.first().expect("a first look at everything");
    assert!(
        first.contains("all=true") && first.contains("outputs=600"),
        "{first}"
    );
    let since_the_save = &looks[looks_before..];
    assert!(!since_the_save.is_empty());
    for look in since_the_save {
        let outputs: usize = (look.split("outputs=").nth(1))
            .and_then(|rest| rest.split(' ').next()?.parse().ok())
            .unwrap();
        assert!(
            look.contains("all=false") && outputs <= 1,
            "a look after a save reads that photo only: {look}"
        );
    }
    agent.kill();
}

/// The touch-up looks the agent logged, in order.
fn looks(agent: &Harness) -> Vec<String> {
    (agent.logs().lines())
        .filter(|line| line.contains("touch-ups: looked at the outputs"))
        .map(str::to_owned)
        .collect()
}
