//! The dashboard end to end: the real agent binary serving it, the simulator on
//! loopback, and Debian's headless Chromium clicking through it like a user.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::agent::{Harness, tree, wait_for};
use crate::common::browser::Browser;
use crate::common::dashboard::{open_link, settings_page, signed_in, start_with_dashboard};
use crate::common::{KEY, start_sim, write_shoot};
use imagen_sync::sim::Faults;

const LONG: Duration = Duration::from_secs(60);

fn drop_shoot(inbox: &Path, name: &str) {
    write_shoot(inbox, name, 2, (480, 320));
}

fn photos_in(folder: &Path) -> usize {
    tree(folder).iter().filter(|f| f.ends_with(".jpg")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_are_refused_and_no_secret_reaches_the_browser() {
    let sim = start_sim(|c| c.api_keys.push("brand-new-key-4711".into())).await;
    let mut agent = Harness::new(&sim, 1, "");
    let (address, link) = start_with_dashboard(&mut agent).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{address}");

    let no_token = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
    assert!(no_token.text().await.unwrap().contains("imagen-sync open"));
    let wrong = http.get(format!("{base}/?code=0123")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let rebinding = http
        .get(&link)
        .header(
            "host",
            format!("attacker.example:{}", address.rsplit(':').next().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        rebinding.status(),
        403,
        "a foreign Host is refused, token or not"
    );

    // The token is traded for a cookie and leaves the address bar.
    let entered = http.get(&link).send().await.unwrap();
    assert_eq!(entered.status(), 303);
    assert_eq!(entered.headers()["location"], "/");
    let cookie = entered.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let session = cookie.split(';').next().unwrap().to_owned();
    let token = std::fs::read_to_string(agent.dir.path().join("dashboard-token")).unwrap();
    let token = token.trim();
    assert!(!session.contains(token), "the cookie is not the token");
    assert!(
        !link.contains(token),
        "the link holds no token, only a one-time code"
    );
    let again = http.get(&link).send().await.unwrap();
    assert_eq!(again.status(), 401, "a link's code works once");

    let page = http
        .get(format!("{base}/settings"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    assert!(
        !html.contains(KEY) && !html.contains(token),
        "no secret in the page"
    );
    assert!(html.contains("set (from the IMAGEN_API_KEY environment variable"));
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    // A change without the CSRF token (a forged cross-site form) is refused.
    let forged = http
        .post(format!("{base}/pause"))
        .header("cookie", &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let paused = http
        .post(format!("{base}/pause"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 303);
    assert_eq!(agent.status()["paused"], true);

    // A key typed into Settings lands in a user-only key file and is never shown back.
    let key_file = agent.dir.path().join("api-key");
    agent.edit_config(
        "[agent]",
        &format!("key_file = \"{}\"\n\n[agent]", key_file.display()),
    );
    wait_for(&agent, "the key_file picked up", LONG, || {
        agent.logs().matches("config in force").count() >= 2
    })
    .await;
    let (inbox, outbox, base_url) = (
        agent.inbox().display().to_string(),
        agent.outbox().display().to_string(),
        sim.base_url().to_string(),
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("folder_count", "1"),
        ("folders[0].inbox", inbox.as_str()),
        ("folders[0].outbox", outbox.as_str()),
        ("agent.settle_seconds", "1"),
        ("agent.max_active_shoots", "2"),
        ("agent.max_parallel_uploads", "4"),
        ("agent.max_parallel_downloads", "4"),
        ("notifications.shoot_done", "on"),
        ("api.base_url", base_url.as_str()),
        ("api_key", "brand-new-key-4711"),
    ];
    // With IMAGEN_API_KEY in force the typed key would not be used: said, not written.
    let refused = http
        .post(format!("{base}/settings"))
        .header("cookie", &session)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let said = refused.text().await.unwrap();
    assert!(
        said.contains("IMAGEN_API_KEY environment variable"),
        "{said}"
    );
    assert!(!key_file.exists(), "nothing written");

    // Without it, the key goes into the key file.
    agent.kill();
    agent.key = String::new();
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (address, link) = start_with_dashboard(&mut agent).await;
    let (http, base, session, csrf) = signed_in(&address, &link).await;
    let mut form = form;
    form[0].1 = csrf.as_str();
    // A key Imagen does not take is said at once, and not saved.
    let mut wrong = form;
    wrong[form.len() - 1].1 = "not-a-key-of-imagen";
    let refused = http
        .post(format!("{base}/settings"))
        .header("cookie", &session)
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Imagen rejected this key")
    );
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        format!("{KEY}\n")
    );
    let saved = http
        .post(format!("{base}/settings"))
        .header("cookie", &session)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303, "{}", saved.text().await.unwrap());
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        "brand-new-key-4711\n"
    );
    let location = saved.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("key=accepted"), "{location}");
    let told = crate::common::dashboard::page(&http, &base, &session, &location).await;
    assert!(told.contains("Imagen accepted the key."), "{told}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is user-only");
    }
    let after = settings_page(&http, &base, &session).await;
    assert!(!after.contains("brand-new-key-4711"));
    assert!(!agent.logs().contains("brand-new-key-4711"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_each_finished_shoot_shows_once_with_no_phantom_settling_row() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 2, "");
    for name in ["12 Oak Lane", "3 Elm Court"] {
        drop_shoot(&agent.inbox(), name);
    }
    agent.start();
    wait_for(&agent, "both shoots done", LONG, || {
        let states = agent.shoot_states();
        states.len() == 2 && states.iter().all(|(_, s)| s == "done")
    })
    .await;
    agent.stop_with_sigterm();

    let (_, link) = start_with_dashboard(&mut agent).await;
    let browser = Browser::start().await;
    browser.goto(&link).await;
    browser.wait_for_text("#shoot-rows", "Done", LONG).await;
    // The restarted agent looks at both folders again (2 s to settle): at no moment,
    // and not afterwards, does a folder get a second row.
    let first_cells = "return Array.from(document.querySelectorAll('#shoot-rows tr'))\
        .map(r => r.cells[0].innerText.split('\\n')[0]);";
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        let names = browser.script(first_cells).await;
        let mut names: Vec<String> = names
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["12 Oak Lane", "3 Elm Court"], "one row each");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = browser.text("#shoot-rows").await;
    assert!(
        !rows.contains("Settling") && !rows.contains("arriving"),
        "{rows}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shoot_is_followed_live_from_settling_to_done_and_shows_before_and_after() {
    let sim = start_sim(|c| c.timings.processing_for = Duration::from_secs(2)).await;
    let mut agent = Harness::new(&sim, 3, "");
    let (_, link) = start_with_dashboard(&mut agent).await;
    let browser = Browser::start().await;
    browser.goto(&link).await;
    browser
        .wait_for_text("#shoot-rows", "No shoots yet", LONG)
        .await;
    // Marks this page: if it reloaded, the mark would be gone.
    browser.script("window.stillTheSamePage = true;").await;

    drop_shoot(&agent.inbox(), "12 Oak Lane");
    browser.wait_for_text("#shoot-rows", "Settling", LONG).await;
    browser.wait_for_text("#shoot-rows", "Done", LONG).await;
    let row = browser.text("#shoot-rows tr").await;
    assert!(
        row.contains("12 Oak Lane") && row.contains("2 edited photos"),
        "{row}"
    );
    assert_eq!(
        browser
            .script("return window.stillTheSamePage === true;")
            .await,
        true,
        "the page followed the shoot without reloading"
    );

    browser.click("#shoot-rows a").await;
    browser.wait_for_text("h1", "12 Oak Lane", LONG).await;
    let loaded = "return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).map(i => i.alt);";
    let started = std::time::Instant::now();
    loop {
        let images = browser.script(loaded).await;
        let alts: Vec<&str> = images
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        if alts.iter().filter(|a| **a == "before").count() == 2
            && alts.iter().filter(|a| **a == "after").count() == 2
        {
            break;
        }
        assert!(
            started.elapsed() < LONG,
            "thumbnails never loaded: {alts:?}"
        );
        browser
            .script("window.scrollTo(0, document.body.scrollHeight);")
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_shoot_is_retried_from_the_dashboard() {
    let sim = start_sim(|_| {}).await;
    sim.set_faults(Faults {
        fail_names_containing: vec!["Broken".into()],
        ..Faults::default()
    });
    let mut agent = Harness::new(&sim, 1, "");
    let (_, link) = start_with_dashboard(&mut agent).await;
    drop_shoot(&agent.inbox(), "Broken Listing");
    let browser = Browser::start().await;
    browser.goto(&link).await;
    // The state pill, not the progress column (which may say "editing (Failed)" first).
    browser
        .wait_for_text("#shoot-rows .pill.failed", "Failed", LONG)
        .await;
    // The dashboard speaks of its Retry button, never of a command.
    let row = browser.text("#shoot-rows").await;
    assert!(row.contains("Retry sends its photos again"), "{row}");
    assert!(!row.contains("imagen-sync"), "{row}");

    sim.set_faults(Faults::default());
    browser.click("#shoot-rows button").await;
    browser.wait_for_text("h1", "Broken Listing", LONG).await;
    browser.goto(&link).await;
    browser.wait_for_text("#shoot-rows", "Done", LONG).await;
    assert_eq!(photos_in(&agent.outbox().join("Broken Listing")), 2);
    assert_eq!(
        sim.counters().projects_created,
        2,
        "the retry is a new project"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_move_the_outbox_for_the_next_shoot_and_show_mistakes_by_their_field() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let (_, link) = start_with_dashboard(&mut agent).await;
    let browser = Browser::start().await;
    browser
        .goto(&link.replace("/?code", "/settings?code"))
        .await;
    browser.wait_for_text("h1", "Settings", LONG).await;

    // A mistake: the form comes back with the message under its field, nothing saved.
    let before = std::fs::read_to_string(&agent.config).unwrap();
    browser.fill("#agent\\.max_parallel_uploads", "0").await;
    browser.click("button[type=submit]").await;
    let message = browser
        .wait_for_text(
            "p.field-error[data-field='agent.max_parallel_uploads']",
            "between 1 and 64",
            LONG,
        )
        .await;
    assert!(message.contains("not 0"), "{message}");
    assert_eq!(
        std::fs::read_to_string(&agent.config).unwrap(),
        before,
        "nothing saved"
    );
    let nested = agent.inbox().join("Out");
    browser.fill("#agent\\.max_parallel_uploads", "4").await;
    browser
        .fill("#folders\\[0\\]\\.outbox", nested.to_str().unwrap())
        .await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text(
            "p.field-error[data-field='folders[0].outbox']",
            "inside the inbox",
            LONG,
        )
        .await;

    // A good change: saved, picked up by the running agent, used by the next shoot.
    let delivered: PathBuf = agent.dir.path().join("Delivered");
    browser
        .fill("#folders\\[0\\]\\.outbox", delivered.to_str().unwrap())
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_text(".banner", "Saved", LONG).await;
    wait_for(
        &agent,
        "the agent restarted on the new settings",
        LONG,
        || {
            agent
                .logs()
                .contains("config changed: restarting the agent")
        },
    )
    .await;
    drop_shoot(&agent.inbox(), "After The Move");
    wait_for(&agent, "the shoot in the new outbox", LONG, || {
        photos_in(&delivered.join("After The Move")) == 2
    })
    .await;
    assert!(!agent.outbox().join("After The Move").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opened_to_the_network_the_dashboard_also_asks_for_its_password() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let password_file = agent.dir.path().join("dashboard-password");
    std::fs::write(&password_file, "correct horse\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    agent.edit_config(
        "[dashboard]\nport = 0\n",
        &format!(
            "[dashboard]\nport = 0\nlisten = \"0.0.0.0\"\npassword_file = \"{}\"\n",
            password_file.display()
        ),
    );
    let (_, link) = start_with_dashboard(&mut agent).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let without = http.get(&link).send().await.unwrap();
    assert_eq!(without.status(), 401);
    assert!(
        without.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let wrong = http
        .get(&link)
        .basic_auth("me", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http
        .get(&link)
        .basic_auth("me", Some("correct horse"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303, "password and code together let one in");
    let no_token = http
        .get(link.split('?').next().unwrap())
        .basic_auth("me", Some("correct horse"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401, "the password alone is not enough");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_edit_a_hot_folders_rules_and_a_broken_pattern_is_shown_under_its_field() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let form = SettingsForm::open(&mut agent, &sim).await;
    let post = |rule: &'static str| {
        form.post(vec![
            ("folders[0].rule_count", "0"),
            ("folders[0].rules[0].match", rule),
            ("folders[0].rules[0].sky_replacement", "on"),
            ("folders[0].rules[0].hdr_merge", "off"),
            ("folders[0].rules[0].perspective_correction", ""),
        ])
    };
    let before = std::fs::read_to_string(&agent.config).unwrap();
    let refused = post("Ext[erior").await.unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("data-field=\"folders[0].rules[0].match\"") && page.contains("Exterior*"),
        "the mistake is shown under the pattern's field"
    );
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), before);

    let saved = post("Exterior*").await.unwrap();
    assert_eq!(saved.status(), 303, "{}", saved.text().await.unwrap());
    let written = std::fs::read_to_string(&agent.config).unwrap();
    assert!(
        written.contains(
            "[[folders.rules]]\nmatch = \"Exterior*\"\n[folders.rules.edit]\nhdr_merge = false\nsky_replacement = true\n"
        ),
        "{written}"
    );
    // Shown back once the agent runs on it: the rule, and an empty row to add another.
    let started = std::time::Instant::now();
    let page = loop {
        let page = settings_page(&form.http, &form.base, &form.session).await;
        if page.contains("value=\"Exterior*\"") {
            break page;
        }
        assert!(started.elapsed() < LONG, "the rule is never shown:\n{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        page.contains("name=\"folders[0].rules[1].match\""),
        "a row to add one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_turn_a_hot_folder_live_and_a_wrong_batch_time_is_shown_under_its_field() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let form = SettingsForm::open(&mut agent, &sim).await;
    let page = settings_page(&form.http, &form.base, &form.session).await;
    assert!(
        page.contains("Edit photos in batches as they arrive")
            && page.contains("name=\"folders[0].live_batch_seconds\" value=\"60\""),
        "the switch and the default batch time are offered:\n{page}"
    );
    let post = |batch: &'static str| {
        form.post(vec![
            ("folders[0].live", "on"),
            ("folders[0].live_batch_seconds", batch),
            ("folders[0].live_idle_minutes", "45"),
        ])
    };
    let before = std::fs::read_to_string(&agent.config).unwrap();
    let refused = post("0").await.unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("data-field=\"folders[0].live_batch_seconds\"")
            && page.contains("must be between 1 and 3600 seconds, like 60"),
        "the mistake is shown under the batch field:\n{page}"
    );
    assert_eq!(std::fs::read_to_string(&agent.config).unwrap(), before);

    let saved = post("20").await.unwrap();
    assert_eq!(saved.status(), 303, "{}", saved.text().await.unwrap());
    let written = std::fs::read_to_string(&agent.config).unwrap();
    assert!(
        written.contains("\nlive = true\nlive_batch_seconds = 20\nlive_idle_minutes = 45\n"),
        "{written}"
    );
    let page = settings_page(&form.http, &form.base, &form.session).await;
    assert!(
        page.contains("name=\"folders[0].live\" checked")
            && page.contains("name=\"folders[0].live_batch_seconds\" value=\"20\""),
        "shown back as saved:\n{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_set_a_bandwidth_limit_that_applies_without_a_restart() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let form = SettingsForm::open(&mut agent, &sim).await;
    let post = |limit: &'static str| {
        form.post(vec![
            ("network.upload_limit", limit),
            ("network.download_limit", "off"),
        ])
    };
    let refused = post("as fast as it goes").await.unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("data-field=\"network.upload_limit\"") && page.contains("2 MB/s"),
        "the mistake is shown under its field with the right forms"
    );
    // A first save writes the form's whole config (its switches differ from the test's
    // file, so the agent restarts once); the next one changes only the limit.
    assert_eq!(post("off").await.unwrap().status(), 303);
    wait_for(&agent, "the form's config in force", LONG, || {
        agent.logs().matches("config in force").count() >= 2
    })
    .await;
    let saved = post("08:00,1MB/s 18:00,off").await.unwrap();
    assert_eq!(saved.status(), 303, "{}", saved.text().await.unwrap());
    let written = std::fs::read_to_string(&agent.config).unwrap();
    assert!(
        written.contains("upload_limit = \"08:00,1MB/s 18:00,off\""),
        "{written}"
    );
    wait_for(&agent, "the new limit in force", LONG, || {
        agent.logs().contains("applied without a restart")
    })
    .await;
    // The metered box unticked, the battery one ticked: also applied in place.
    let saved = form
        .post(vec![
            ("network.upload_limit", "08:00,1MB/s 18:00,off"),
            ("network.download_limit", "off"),
            ("network.switches_shown", "1"),
            ("network.pause_on_battery", "on"),
        ])
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let written = std::fs::read_to_string(&agent.config).unwrap();
    assert!(
        written.contains("pause_on_metered = false") && written.contains("pause_on_battery = true"),
        "{written}"
    );
    wait_for(&agent, "the switches in force", LONG, || {
        agent.logs().matches("applied without a restart").count() >= 2
    })
    .await;
    assert_eq!(
        agent.logs().matches("restarting the agent").count(),
        1,
        "only the first save restarted the agent"
    );
}

/// The Settings form of a running agent's dashboard, posted as a browser would: the
/// hot folder as it is, and the fields a test sets.
struct SettingsForm {
    http: reqwest::Client,
    base: String,
    session: String,
    fields: Vec<(String, String)>,
}

impl SettingsForm {
    async fn open(agent: &mut Harness, sim: &imagen_sync::sim::Sim) -> SettingsForm {
        let (address, link) = start_with_dashboard(agent).await;
        let (http, base, session, csrf) = signed_in(&address, &link).await;
        let fields = [
            ("csrf", csrf),
            ("folder_count", "1".to_owned()),
            ("folders[0].inbox", agent.inbox().display().to_string()),
            ("folders[0].outbox", agent.outbox().display().to_string()),
            ("api.base_url", sim.base_url().to_string()),
        ]
        .map(|(key, value)| (key.to_owned(), value))
        .to_vec();
        SettingsForm {
            http,
            base,
            session,
            fields,
        }
    }

    async fn post(&self, extra: Vec<(&str, &str)>) -> reqwest::Result<reqwest::Response> {
        let mut form = self.fields.clone();
        form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.http
            .post(format!("{}/settings", self.base))
            .header("cookie", &self.session)
            .form(&form)
            .send()
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_hands_the_browser_a_one_time_code_and_the_token_is_on_no_command_line() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    let (_address, _) = start_with_dashboard(&mut agent).await;
    let token_file = agent.dir.path().join("dashboard-token");
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    // A browser that writes down what it was given and every command line on the machine
    // while `open` and xdg-open are still around.
    let browser = agent.dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nfor f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done > {0}/cmdlines 2>/dev/null\necho \"$@\" > {0}/argv.partial\nmv {0}/argv.partial {0}/argv\n",
            agent.dir.path().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opened = agent
        .command(&["open"])
        .env("BROWSER", &browser)
        .env_remove("DISPLAY")
        .env_remove("XDG_CURRENT_DESKTOP")
        .output()
        .unwrap();
    assert!(opened.status.success(), "{opened:?}");
    let argv = agent.dir.path().join("argv");
    wait_for(&agent, "the browser started", LONG, || argv.exists()).await;
    let given = std::fs::read_to_string(&argv).unwrap().trim().to_owned();
    assert!(given.contains("?code="), "{given}");
    let cmdlines = std::fs::read_to_string(agent.dir.path().join("cmdlines")).unwrap();
    assert!(
        cmdlines.contains("?code="),
        "the dump saw the browser's own command line"
    );
    assert!(
        !cmdlines.contains(&token) && !given.contains(&token),
        "the access token is on no command line"
    );

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let entered = http.get(&given).send().await.unwrap();
    assert_eq!(entered.status(), 303, "the code opens a session once");
    let replayed = http.get(&given).send().await.unwrap();
    assert_eq!(replayed.status(), 401, "and never again");
    let expires = imagen_sync::dashboard::link::unix_now() + 30;
    let mac = imagen_sync::dashboard::link::code_mac(&token, "fresh", expires);
    let base = given.split("/?").next().unwrap();
    let elsewhere = http
        .get(format!("{base}//evil.example/?code=fresh.{expires}.{mac}"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 303);
    assert_eq!(
        elsewhere.headers()["location"],
        "/",
        "a trade never sends the browser to another site"
    );

    // A token file others may read protects nothing: refused, with what to do.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = agent
        .command(&["open"])
        .env("BROWSER", "true")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        said.contains("may be read by other users") && said.contains("rm "),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn years_of_shoots_are_paged_and_a_shoot_is_found_by_its_name() {
    let sim = start_sim(|_| {}).await;
    let mut agent = Harness::new(&sim, 1, "");
    agent.fill_with_finished_shoots(120, 1);
    let (_, link) = start_with_dashboard(&mut agent).await;
    let base = link.split("/?").next().unwrap().to_owned();
    let browser = Browser::start().await;
    browser.goto(&link).await;
    browser
        .wait_for_text("#shoot-rows", "Shoot 0119", LONG)
        .await;
    let rows = "return document.querySelectorAll('#shoot-rows tr').length;";
    assert_eq!(browser.script(rows).await, 50, "a page of finished shoots");
    let pager = browser.text("#shoot-pages").await;
    assert!(pager.contains("Finished shoots 1–50 of 120."), "{pager}");

    browser.click("#shoot-pages a").await;
    browser
        .wait_for_text("#shoot-rows", "Shoot 0069", LONG)
        .await;
    let older = browser.text("#shoot-rows").await;
    assert!(!older.contains("Shoot 0070"), "{older}");
    assert!(browser.url().await.ends_with("/?page=2"));

    browser
        .fill("form.search input[name=q]", "shoot 0007")
        .await;
    browser.click("form.search button").await;
    browser
        .wait_for_text("#shoot-pages, #shoot-rows", "", LONG)
        .await;
    let found = browser.text("#shoot-rows").await;
    assert!(
        found.contains("Shoot 0007") && !found.contains("Shoot 0070"),
        "{found}"
    );
    assert_eq!(browser.script(rows).await, 1, "{found}");

    let phone = Browser::start_phone().await;
    phone.goto(&open_link(&agent)).await;
    phone.wait_for_text("#shoot-rows", "Shoot 0119", LONG).await;
    for path in ["/", "/?page=2", "/?q=0007"] {
        phone.assert_fits_the_screen(&base, path).await;
    }
    if let Ok(dir) = std::env::var("IMAGEN_TEST_SCREENSHOTS") {
        phone.goto(&format!("{base}/?page=2")).await;
        phone.wait_for_text("#shoot-rows", "Shoot 0069", LONG).await;
        phone
            .screenshot(&Path::new(&dir).join("shoots-paged-phone.png"))
            .await;
        browser
            .screenshot(&Path::new(&dir).join("shoots-found.png"))
            .await;
    }
}
