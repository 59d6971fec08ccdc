use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("config.toml"), &Overrides::default())
}

#[test]
fn the_default_config_parses_to_the_documented_defaults() {
    let config = parse(&default_config_text()).unwrap();
    assert_eq!(config.api.base_url.as_str(), "https://api.imagen-ai.com/v1");
    assert_eq!(config.agent.settle_seconds, 10);
    assert_eq!(config.folders.len(), 1);
    assert!(config.folders[0].edit.perspective_correction);
    assert!(config.folders[0].inbox.ends_with("Imagen/Inbox"));
}

#[test]
fn a_rendered_config_parses_back_to_itself() {
    let mut config = default_config();
    config.agent.settle_seconds = 3;
    config.agent.raw_jpeg_pairs = PairPolicy::Both;
    config.agent.spend.daily_photos = 0;
    config.agent.spend.daily_follow_ups = 2;
    config.notifications.network = false;
    config.dashboard.port = 9000;
    config.folders.push(FolderPair {
        id: Some("exteriors".into()),
        watch: WatchMode::Poll,
        poll_seconds: 7,
        sync_touchups: true,
        live: LiveSettings {
            on: true,
            batch_seconds: 25,
            idle_minutes: 12.5,
        },
        ..FolderPair::new(
            PathBuf::from("/photos/Ext \"quoted\" \\ In"),
            PathBuf::from("/photos/Ext Out"),
            EditOptions {
                sky_replacement: true,
                sky_replacement_template_id: Some(12),
                callback_url: Some("https://hooks.example.com/done".into()),
                ..EditOptions::default()
            },
        )
    });
    config.journal.url = Some("postgres://imagen@nas.local/studio".into());
    config.journal.agent_name = "office-nas".into();
    config.journal.lease_seconds = 20;
    config.journal.password_file = Some(PathBuf::from("/keys/db-password"));
    config.folders[0].id = Some("listings".into());
    config.folders[1].rules = vec![
        EditRule::new(
            "Exterior*",
            EditOverrides {
                sky_replacement: Some(true),
                sky_replacement_template_id: Some(7),
                ..EditOverrides::default()
            },
        )
        .unwrap(),
        EditRule::new(
            "*/Twilight \"dusk\"",
            EditOverrides {
                hdr_merge: Some(false),
                perspective_correction: Some(true),
                ..EditOverrides::default()
            },
        )
        .unwrap(),
    ];
    config.webhook = Some(WebhookSettings {
        url: WebhookUrl::parse("https://ntfy.example.com/topic?auth=x").unwrap(),
        format: WebhookFormat::Ntfy,
    });
    config.network.upload_limit = BandwidthPlan::parse("Mon-08:00,1MB/s 18:00,off").unwrap();
    config.network.download_limit = BandwidthPlan::parse("20 MB/s").unwrap();
    config.network.pause_on_metered = false;
    config.network.pause_on_battery = true;
    config.api.key_file = None;
    config.agent.keep_awake = false;
    let text = render(&config);
    assert_eq!(parse(&text).unwrap(), config, "{text}");
}

#[test]
fn the_dashboard_stays_on_this_machine_unless_a_password_guards_it() {
    let open = error_of("[dashboard]\nlisten = \"0.0.0.0\"\n");
    assert!(
        open.starts_with("config.toml:2:") && open.contains("password_file"),
        "{open}"
    );
    let guarded = parse("[dashboard]\nlisten = \"0.0.0.0\"\npassword_file = \"/k\"\n").unwrap();
    assert!(!guarded.dashboard.listen.is_loopback());
    assert!(error_of("[dashboard]\nlisten = \"localhost\"\n").contains("IP address"));
}

#[test]
fn several_folder_pairs_carry_their_own_edit_options() {
    let config = parse(
        r#"
[[folders]]
inbox = "/photos/Interiors In"
outbox = "/photos/Interiors Out"
[folders.edit]
perspective_correction = true

[[folders]]
inbox = "/photos/Exteriors In"
outbox = "/photos/Exteriors Out"
[folders.edit]
sky_replacement = true
callback_url = "https://hooks.example.com/done"
"#,
    )
    .unwrap();
    assert_eq!(config.folders.len(), 2);
    assert!(
        config.folders[0].edit.perspective_correction && !config.folders[0].edit.sky_replacement
    );
    assert!(config.folders[1].edit.sky_replacement);
    assert_eq!(
        config.folders[1].edit.callback_url.as_deref(),
        Some("https://hooks.example.com/done")
    );
}

fn error_of(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn mistakes_are_reported_with_their_key_and_line() {
    let wrong_type = error_of("[agent]\nsettle_seconds = \"ten\"\n");
    assert!(wrong_type.starts_with("config.toml:2:"), "{wrong_type}");
    assert!(
        wrong_type.contains("`agent.settle_seconds`: must be a whole number of seconds, like 10"),
        "{wrong_type}"
    );
    let flag = error_of("[notifications]\nshoot_done = \"yes\"\n");
    assert!(flag.contains("must be true or false"), "{flag}");

    let typo = error_of("[agent]\nsettle_secs = 5\n");
    assert!(
        typo.starts_with("config.toml:2:") && typo.contains("settle_secs"),
        "{typo}"
    );

    let zero = error_of("[agent]\n\nmax_parallel_uploads = 0\n");
    assert!(
        zero.starts_with("config.toml:3:") && zero.contains("`agent.max_parallel_uploads`"),
        "{zero}"
    );

    let nested = error_of("[[folders]]\ninbox = \"/a/in\"\noutbox = \"/a/in/out\"\n");
    assert!(
        nested.starts_with("config.toml:3:") && nested.contains("`folders[0].outbox`"),
        "{nested}"
    );

    let http = error_of("[api]\nbase_url = \"http://api.example.com/v1\"\n");
    assert!(
        http.starts_with("config.toml:2:") && http.contains("only https"),
        "{http}"
    );
    assert!(parse("[api]\nbase_url = \"http://127.0.0.1:8321/v1\"\n").is_ok());

    let callback = error_of(
        "[[folders]]\ninbox = \"/i\"\noutbox = \"/o\"\n[folders.edit]\ncallback_url = \"http://x\"\n",
    );
    assert!(callback.starts_with("config.toml:5:"), "{callback}");
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-key");
    std::fs::write(&path, "secret-key\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = read_key_file(&path).unwrap_err().to_string();
    assert!(refused.contains("chmod 600"), "{refused}");
    assert!(!refused.contains("secret-key"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(read_key_file(&path).unwrap().expose(), "secret-key");
}

#[test]
fn a_studio_needs_a_postgres_url_and_an_id_for_every_hot_folder() {
    let folder = "[[folders]]\ninbox = \"/nas/In\"\noutbox = \"/nas/Out\"\n";
    let wrong_kind = error_of(&format!(
        "[journal]\nurl = \"mysql://nas/studio\"\n{folder}"
    ));
    assert!(
        wrong_kind.starts_with("config.toml:2:") && wrong_kind.contains("PostgreSQL URL"),
        "{wrong_kind}"
    );
    let no_id = error_of(&format!(
        "[journal]\nurl = \"postgres://imagen@nas/studio\"\n{folder}"
    ));
    assert!(
        no_id.contains("folders[0].id") && no_id.contains("id = \"listings\""),
        "{no_id}"
    );
    let studio = parse(
        "[journal]\nurl = \"postgres://imagen:secret@nas/studio\"\n[[folders]]\nid = \"listings\"\n\
         inbox = \"/nas/In\"\noutbox = \"/nas/Out\"\n",
    )
    .unwrap();
    assert!(studio.journal.is_shared());
    let shown = format!("{:?}", studio.journal);
    assert!(
        !shown.contains("secret") && shown.contains("imagen:***@nas"),
        "{shown}"
    );
    let overrides = Overrides {
        journal_url: Some("postgres://".into()),
        ..Overrides::default()
    };
    let from_env = Config::parse(folder, Path::new("config.toml"), &overrides)
        .unwrap_err()
        .to_string();
    assert!(from_env.starts_with("$IMAGEN_JOURNAL_URL"), "{from_env}");
}

#[test]
fn the_default_config_shows_a_commented_real_estate_example_of_edit_rules() {
    let text = default_config_text();
    assert!(text.contains("# match = \"Exterior*\""), "{text}");
    assert!(text.contains("# sky_replacement = true"), "{text}");
    assert!(text.contains("# match = \"Interior*\""), "{text}");
    assert!(text.contains("# perspective_correction = true"), "{text}");
    // Uncommented, it is a working rule set.
    let uncommented = text
        .replace("# [[folders.rules]]", "[[folders.rules]]")
        .replace("# match", "match")
        .replace("# [folders.rules.edit]", "[folders.rules.edit]")
        .replace("# sky_replacement = true", "sky_replacement = true")
        .replace(
            "# perspective_correction = true",
            "perspective_correction = true",
        );
    let config = parse(&uncommented).unwrap();
    let pair = &config.folders[0];
    assert_eq!(pair.rules.len(), 2);
    assert!(
        pair.options_for(Path::new("Exteriors/Pool/a.jpg"))
            .sky_replacement
    );
    assert!(
        pair.options_for(Path::new("Interiors/b.jpg"))
            .perspective_correction
    );
}

#[test]
fn a_broken_rule_glob_or_an_unknown_rule_key_is_located() {
    let base = "[[folders]]\ninbox = \"/in\"\noutbox = \"/out\"\n[[folders.rules]]\n";
    let glob = error_of(&format!("{base}match = \"Ext[erior\"\n"));
    assert!(
        glob.starts_with("config.toml:5:")
            && glob.contains("folders[0].rules[0].match")
            && glob.contains("Exterior*"),
        "{glob}"
    );
    let key = error_of(&format!(
        "{base}match = \"Ext*\"\n[folders.rules.edit]\nsky = true\n"
    ));
    assert!(key.contains("sky"), "{key}");
    let format =
        error_of("[notifications]\nwebhook_url = \"https://h/t\"\nwebhook_format = \"xml\"\n");
    assert!(
        format.starts_with("config.toml:3:") && format.contains("\"ntfy\""),
        "{format}"
    );
    let url = error_of("[notifications]\nwebhook_url = \"ntfy.sh/topic\"\n");
    assert!(
        url.contains("notifications.webhook_url") && url.contains("https://ntfy.sh/"),
        "{url}"
    );
}

#[test]
fn a_malformed_bandwidth_limit_is_located_with_the_right_forms() {
    for bad in ["fast", "08:00 1MB/s", "25:00,1MB/s", "Moonday-08:00,1MB/s"] {
        let said = error_of(&format!("[network]\nupload_limit = \"{bad}\"\n"));
        assert!(
            said.starts_with("config.toml:2:") && said.contains("network.upload_limit"),
            "{bad}: {said}"
        );
        assert!(
            said.contains("\"2 MB/s\"") || said.contains("08:00"),
            "{bad}: {said}"
        );
    }
    let fine = parse("[network]\nupload_limit = \"2 MB/s\"\ndownload_limit = \"off\"\n").unwrap();
    assert_eq!(fine.network.upload_limit, BandwidthPlan::Rate(2_000_000));
}

#[test]
fn uploads_wait_on_a_metered_network_but_not_on_battery_unless_asked() {
    let defaults = parse("").unwrap();
    assert!(defaults.network.pause_on_metered);
    assert!(!defaults.network.pause_on_battery);
    let asked = parse("[network]\npause_on_metered = false\npause_on_battery = true\n").unwrap();
    assert!(!asked.network.pause_on_metered);
    assert!(asked.network.pause_on_battery);
    let said = error_of("[network]\npause_on_battery = \"yes\"\n");
    assert!(said.contains("config.toml:2:"), "{said}");
}

#[test]
fn a_password_in_a_postgres_urls_query_is_never_shown() {
    let shown = url_without_password(
        "postgres://studio:s3cret@db.local/imagen?sslmode=require&password=hunter2",
    );
    assert!(
        !shown.contains("s3cret") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(shown.contains("sslmode=require"), "{shown}");
}

#[cfg(unix)]
#[test]
fn a_key_file_that_is_not_a_one_line_key_is_refused_as_such_not_with_chmod_advice() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passwd");
    std::fs::write(
        &path,
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = read_key_file(&path).unwrap_err().to_string();
    assert!(
        refused.contains("holds 2 lines") && !refused.contains("chmod"),
        "{refused}"
    );
    assert!(
        !refused.contains("root:x"),
        "its content is never shown: {refused}"
    );

    std::fs::write(&path, "abc def\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let refused = read_key_file(&path).unwrap_err().to_string();
    assert!(refused.contains("holds spaces"), "{refused}");

    let refused = read_key_file(Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("not a regular file") || refused.contains("belongs to another user"),
        "{refused}"
    );
}

#[test]
fn a_live_hot_folder_takes_its_batch_and_idle_times_and_wrong_ones_are_located() {
    let folder = "[[folders]]\ninbox = \"/a/in\"\noutbox = \"/a/out\"\n";
    let config = parse(&format!(
        "{folder}live = true\nlive_batch_seconds = 20\nlive_idle_minutes = 0.5\n"
    ))
    .unwrap();
    let live = config.folders[0].live;
    assert!(live.on);
    assert_eq!(live.batch(), std::time::Duration::from_secs(20));
    assert_eq!(live.idle(), std::time::Duration::from_secs(30));
    assert!(config.agent.keep_awake, "kept awake unless asked not to");
    let rendered = render(&config);
    assert_eq!(parse(&rendered).unwrap().folders[0].live, live);

    let not_live = parse(folder).unwrap().folders[0].live;
    assert_eq!(not_live, LiveSettings::default());
    assert!(!not_live.on);

    let batch = error_of(&format!("{folder}live = true\nlive_batch_seconds = 0\n"));
    assert!(
        batch.starts_with("config.toml:5:")
            && batch.contains("`folders[0].live_batch_seconds`: must be between 1 and 3600 seconds, like live_batch_seconds = 60"),
        "{batch}"
    );
    let idle = error_of(&format!("{folder}live_idle_minutes = 5000\n"));
    assert!(
        idle.contains("`folders[0].live_idle_minutes`: must be between 0.05 and 1440 minutes"),
        "{idle}"
    );
    let awake = parse("[agent]\nkeep_awake = false\n").unwrap();
    assert!(!awake.agent.keep_awake);
}
