//! A user following the vendor's reference with curl, against `imagen-sync sim`: create,
//! upload links, PUT with an empty Content-Type, edit, poll, download links, download.
//! The same PUT with `Content-Type: image/jpeg` is refused, as S3 refuses it.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const KEY: &str = "curl-user-key";

/// `imagen-sync sim` as a real process; killed when dropped.
struct SimProcess {
    child: Child,
    base: String,
}

impl SimProcess {
    fn start() -> SimProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_imagen-sync"))
            .args([
                "sim",
                "--port",
                "0",
                "--api-key",
                KEY,
                "--pending-secs",
                "0.1",
                "--processing-secs",
                "0.5",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("imagen-sync sim starts");
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let base = first_line
            .trim()
            .rsplit(' ')
            .next()
            .expect("the simulator prints its address")
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{first_line}");
        SimProcess { child, base }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs curl silently; returns (HTTP status, body).
fn curl(args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed (the test script installs it)");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap(), body.to_owned())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn the_references_curl_sequence_works_against_the_simulator() {
    let sim = SimProcess::start();
    let base = &sim.base;
    let key_header = format!("x-api-key: {KEY}");
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("DSC_0001.JPEG");
    common::write_jpeg(&photo, 640, 480);

    // 1. Create the project.
    let (status, body) = curl(&[
        "-X",
        "POST",
        &format!("{base}/i2i/projects"),
        "--header",
        &key_header,
        "--header",
        "Content-Type: application/json",
        "--data",
        r#"{"name": "Real Estate Listing 1734567890"}"#,
    ]);
    assert_eq!(status, 200, "{body}");
    let uuid = json(&body)["data"]["project_uuid"]
        .as_str()
        .unwrap()
        .to_owned();

    // 2. Presigned upload links.
    let (status, body) = curl(&[
        "-X",
        "POST",
        &format!("{base}/i2i/projects/{uuid}/get_temporary_upload_links"),
        "--header",
        &key_header,
        "--header",
        "Content-Type: application/json",
        "--data",
        r#"{"files_list": [{"file_name": "DSC_0001.JPEG"}], "client_type": "API"}"#,
    ]);
    assert_eq!(status, 200, "{body}");
    let link = json(&body)["data"]["files_list"][0]["upload_link"]
        .as_str()
        .unwrap()
        .to_owned();

    // The PUT a user gets wrong: S3 refuses a Content-Type the link was not signed with.
    let upload = photo.to_str().unwrap();
    let (status, body) = curl(&[
        "-X",
        "PUT",
        &link,
        "-H",
        "Content-Type: image/jpeg",
        "--upload-file",
        upload,
    ]);
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );

    // 3. The PUT as documented: an explicit empty Content-Type.
    let (status, body) = curl(&[
        "-X",
        "PUT",
        &link,
        "-H",
        "Content-Type;",
        "--upload-file",
        upload,
    ]);
    assert_eq!(status, 200, "{body}");

    // 4. Trigger Smart Editing.
    let (status, body) = curl(&[
        "-X",
        "POST",
        &format!("{base}/i2i/projects/{uuid}/edit"),
        "--header",
        &key_header,
        "--header",
        "Content-Type: application/json",
        "--data",
        r#"{"hdr_merge": true, "perspective_correction": true, "sky_replacement": true}"#,
    ]);
    assert_eq!(status, 200, "{body}");
    assert!(
        json(&body)["data"]["message"]
            .as_str()
            .unwrap()
            .contains("successfully")
    );

    // 5. Poll until Completed.
    let mut polls = 0;
    loop {
        let (status, body) = curl(&[
            &format!("{base}/i2i/projects/{uuid}?get_thumbnail=false"),
            "--header",
            &key_header,
        ]);
        assert_eq!(status, 200, "{body}");
        let project = json(&body);
        assert!(project["data"]["thumbnail_src"].is_null());
        match project["data"]["status"].as_str().unwrap() {
            "Completed" => break,
            "Pending" | "In Progress" => {}
            other => panic!("unexpected status {other}"),
        }
        polls += 1;
        assert!(polls < 100, "never completed");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // 6. Download the edited JPEGs.
    let (status, body) = curl(&[
        &format!("{base}/i2i/projects/{uuid}/get_temporary_download_links"),
        "--header",
        &key_header,
    ]);
    assert_eq!(status, 200, "{body}");
    let files = json(&body)["data"]["files_list"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["file_name"], "DSC_0001.JPEG");
    let out = dir.path().join("edited.jpg");
    let (status, _) = curl(&[
        "-o",
        out.to_str().unwrap(),
        files[0]["download_link"].as_str().unwrap(),
    ]);
    assert_eq!(status, 200);
    assert_is_edited_jpeg(&out, &photo);

    // The counters saw one of each, and the one refused PUT as a violation.
    let (_, counters) = curl(&[&format!("{}/_sim/counters", base.trim_end_matches("/v1"))]);
    let counters = json(&counters);
    assert_eq!(counters["projects_created"], 1);
    assert_eq!(counters["edits_started"], 1);
    assert_eq!(counters["uploads_per_project"][&uuid], 1);
    assert_eq!(
        counters["protocol_violations"]["content-type on presigned PUT"],
        1
    );
}

fn assert_is_edited_jpeg(output: &Path, input: &Path) {
    let edited = image::open(output)
        .expect("the download is a JPEG")
        .into_rgb8();
    let original = image::open(input).unwrap().into_rgb8();
    assert_eq!(edited.dimensions(), original.dimensions());
    let differs = edited
        .pixels()
        .zip(original.pixels())
        .filter(|(a, b)| a.0.iter().zip(b.0).any(|(x, y)| x.abs_diff(y) > 8))
        .count();
    assert!(
        differs > edited.pixels().len() / 4,
        "the output is visibly edited"
    );
}
