//! A real browser for end-to-end tests: Debian's headless Chromium driven by
//! chromedriver through fantoccini (a maintained WebDriver client). Only loopback is
//! ever contacted; Chromium's own background networking is switched off.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub(crate) struct Browser {
    client: Client,
    driver: Driver,
    driver_port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn start() -> Browser {
        Browser::start_as(None).await
    }

    /// A phone: 390 × 844 CSS pixels at 3× with touch, as Chromium's device emulation
    /// makes it (the page sees a phone's viewport and user agent).
    pub(crate) async fn start_phone() -> Browser {
        Browser::start_as(Some(json!({
            "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "touch": true },
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
        })))
        .await
    }

    async fn start_as(mobile: Option<Value>) -> Browser {
        assert!(
            Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            "the browser tests need Debian's chromium and chromium-driver: run ./dev deps"
        );
        let driver_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Driver(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={driver_port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        let mut options = json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1200,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
        });
        if let Some(mobile) = mobile {
            options["mobileEmulation"] = mobile;
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        let address = format!("http://127.0.0.1:{driver_port}");
        let started = Instant::now();
        let client = loop {
            // chromedriver is on loopback: plain http, no TLS stack needed.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let connected = ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&address)
                .await;
            match connected {
                Ok(client) => break client,
                // chromedriver is still starting.
                Err(error) => {
                    assert!(
                        started.elapsed() < Duration::from_secs(20),
                        "no browser session: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let session = client.session_id().await.unwrap().unwrap_or_default();
        Browser {
            client,
            driver,
            driver_port,
            session,
            _profile: profile,
        }
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub(crate) async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|url| url.to_string())
            .unwrap_or_default()
    }

    /// Runs `script` in the page and returns its result.
    pub(crate) async fn script(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// The visible text of the first element matching `css` ("" if none).
    pub(crate) async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Clicks the element matching `css`. An element the page replaced between finding
    /// and clicking ("stale") is found again; any other refusal fails the test.
    pub(crate) async fn click(&self, css: &str) {
        for _ in 0..20 {
            let element = self.wait_for_element(css).await;
            match element.click().await {
                Ok(()) => return,
                Err(error) if error.is_stale_element_reference() => continue,
                Err(error) => panic!("clicking {css:?} was refused: {error}"),
            }
        }
        panic!("{css:?} kept being replaced; it could not be clicked");
    }

    /// Replaces the value of the input matching `css`.
    pub(crate) async fn fill(&self, css: &str, value: &str) {
        let element = self.wait_for_element(css).await;
        element.clear().await.unwrap();
        element.send_keys(value).await.unwrap();
    }

    async fn wait_for_element(&self, css: &str) -> fantoccini::elements::Element {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no element {css:?} on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of `css` contains `needle`; returns that text.
    pub(crate) async fn wait_for_text(&self, css: &str, needle: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            if started.elapsed() > timeout {
                let source = self.client.source().await.unwrap_or_default();
                panic!(
                    "{css:?} never said {needle:?}; it says {text:?}\nat {}\n{source}",
                    self.url().await,
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails the test when the page at `path` is wider than the browser's screen,
    /// naming what sticks out.
    pub(crate) async fn assert_fits_the_screen(&self, base: &str, path: &str) {
        self.goto(&format!("{base}{path}")).await;
        self.wait_for_text("main", "", Duration::from_secs(60))
            .await;
        let overflow = self
            .script(
                "var w = window.innerWidth; \
                 var wide = Array.from(document.querySelectorAll('main *')) \
                   .filter(e => e.getBoundingClientRect().right > w + 1) \
                   .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)); \
                 return [w, document.documentElement.scrollWidth, wide.slice(0, 5)];",
            )
            .await;
        let (width, scroll) = (overflow[0].as_f64().unwrap(), overflow[1].as_f64().unwrap());
        assert!(
            width <= 420.0 && scroll <= width,
            "{path} scrolls sideways on a phone: {overflow}"
        );
    }

    pub(crate) async fn screenshot(&self, path: &Path) {
        std::fs::write(path, self.client.screenshot().await.unwrap()).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session (which closes Chromium) with a plain blocking request: the
        // test's runtime may be gone by now.
        use std::io::{Read, Write};
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.driver_port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                stream,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = stream.read_to_end(&mut Vec::new());
        }
    }
}

/// chromedriver, stopped when dropped (also when the session never started).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
