//! The README's first command: `imagen-sync demo --once` makes an inbox with a sample
//! shoot and fills the mirrored outbox with edited JPEGs, with no setup at all.

use std::process::Command;

#[test]
fn the_demo_fills_the_outbox_with_edited_photos_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_imagen-sync"))
        .args(["demo", "--once", "--dir"])
        .arg(dir.path())
        .env_remove("IMAGEN_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let shoot = "12 Oak Lane";
    let inputs = names_in(&dir.path().join("inbox").join(shoot));
    let outputs = names_in(&dir.path().join("outbox").join(shoot));
    assert_eq!(inputs.len(), 8);
    assert_eq!(
        outputs, inputs,
        "the outbox mirrors the inbox, and holds nothing else"
    );
    for name in &outputs {
        let path = dir.path().join("outbox").join(shoot).join(name);
        imagen_sync::agent::outbox::verify_jpeg(&path).unwrap();
    }
    assert!(stdout.contains("8 edited photos"), "{stdout}");
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}
