//! The push when a shoot is ready, as a NAS owner without a desktop gets it: the real
//! agent, the simulator over loopback, and a local HTTP listener standing in for the
//! webhook (a script's endpoint, or an ntfy server).

use std::time::Duration;

use crate::common::agent::{Harness, wait_for};
use crate::common::hook::{SECRET_PATH, delivered, listener, with_webhook};
use crate::common::{start_sim, write_shoot};
use imagen_sync::sim::Faults;

const LONG: Duration = Duration::from_secs(60);
fn assert_no_secret_in_logs(agent: &Harness) {
    let logs = agent.logs();
    assert!(
        !logs.contains("s3cr3t"),
        "the webhook's topic or token reached the log:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_finished_shoot_is_pushed_once_as_json_even_past_a_failing_listener() {
    // "12 Oak Lane" becomes two projects (its Exteriors/ have a rule of their own), and
    // is still told once, as one shoot.
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        fail_names_containing: vec!["Fail House".into()],
        ..Faults::default()
    });
    let (url, pushes) = listener(1).await;
    let mut agent = Harness::new(&sim, 1, "");
    with_webhook(&agent, &url, "json");
    let config = std::fs::read_to_string(&agent.config).unwrap();
    std::fs::write(
        &agent.config,
        format!("{config}\n[[folders.rules]]\nmatch = \"Exteriors\"\n[folders.rules.edit]\nsky_replacement = true\n"),
    )
    .unwrap();
    write_shoot(&agent.inbox(), "12 Oak Lane", 3, (64, 48));
    write_shoot(&agent.inbox().join("12 Oak Lane"), "Exteriors", 2, (64, 48));
    write_shoot(&agent.inbox(), "Fail House", 2, (64, 48));
    agent.start();
    wait_for(&agent, "both outcomes delivered", LONG, || {
        delivered(&pushes).len() == 2
    })
    .await;
    // Nothing more comes: each outcome once, the refused one sent again once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        pushes.lock().unwrap().len(),
        3,
        "{:#?}",
        pushes.lock().unwrap()
    );

    let bodies: Vec<serde_json::Value> = delivered(&pushes)
        .iter()
        .map(|p| {
            assert_eq!(p.headers["content-type"], "application/json");
            serde_json::from_str(&p.body).unwrap()
        })
        .collect();
    let by_shoot = |name: &str| {
        bodies
            .iter()
            .find(|b| b["shoot"] == name)
            .unwrap_or_else(|| panic!("no push for {name}: {bodies:#?}"))
            .clone()
    };
    let done = by_shoot("12 Oak Lane");
    assert_eq!(done["state"], "done");
    assert_eq!(
        done["photos"]["sent"], 5,
        "both projects of the shoot: {done}"
    );
    assert_eq!(done["photos"]["delivered"], 5);
    let outbox = agent.outbox().join("12 Oak Lane");
    assert_eq!(done["outbox"], outbox.display().to_string());
    assert_eq!(done["problems"], serde_json::json!([]));
    let failed = by_shoot("Fail House");
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["reason"].as_str().unwrap().contains("Failed"),
        "{failed}"
    );
    assert_no_secret_in_logs(&agent);
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_gets_an_ntfy_push_with_a_title_and_tags() {
    let sim = start_sim(|_| {}).await;
    let (url, pushes) = listener(0).await;
    let mut agent = Harness::new(&sim, 1, "");
    with_webhook(&agent, &url, "ntfy");
    write_shoot(&agent.inbox(), "Villa Sørensen", 2, (64, 48));
    agent.start();
    wait_for(&agent, "the push", LONG, || delivered(&pushes).len() == 1).await;
    let push = &delivered(&pushes)[0];
    let title = push.headers["title"].to_str().unwrap();
    // Not ASCII: carried as an RFC 2047 word, which ntfy decodes.
    assert!(title.starts_with("=?UTF-8?B?"), "{title}");
    use base64::Engine;
    let encoded = title
        .trim_start_matches("=?UTF-8?B?")
        .trim_end_matches("?=");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "Villa Sørensen: ready");
    assert_eq!(push.headers["tags"], "white_check_mark");
    assert!(
        push.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        push.body.starts_with("2 edited photos in "),
        "{}",
        push.body
    );
    assert_no_secret_in_logs(&agent);
    agent.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_webhook_never_holds_up_the_next_shoot() {
    let sim = start_sim(|_| {}).await;
    // A listener that takes connections into its backlog and never answers.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}{SECRET_PATH}", dead.local_addr().unwrap());
    let mut agent = Harness::new(&sim, 1, "");
    with_webhook(&agent, &url, "json");
    write_shoot(&agent.inbox(), "First", 2, (64, 48));
    agent.start();
    wait_for(&agent, "the first shoot done", LONG, || {
        agent.shoot_states() == [("First".to_owned(), "done".to_owned())]
    })
    .await;
    // The first push now waits on a listener that never answers (10 s a try, then
    // backoff); the next shoot goes through meanwhile.
    write_shoot(&agent.inbox(), "Second", 2, (64, 48));
    wait_for(
        &agent,
        "the second shoot done while the webhook hangs",
        Duration::from_secs(20),
        || {
            agent
                .shoot_states()
                .iter()
                .all(|(_, state)| state == "done")
                && agent.shoot_states().len() == 2
        },
    )
    .await;
    assert!(agent.is_running());
    assert_no_secret_in_logs(&agent);
    agent.kill();
    drop(dead);
}
