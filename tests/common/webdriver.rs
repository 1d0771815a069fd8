//! Headless Chromium driven over the W3C WebDriver protocol: Debian's `chromedriver` on a free
//! loopback port, a fresh profile, and a small synchronous client (WebDriver is JSON over HTTP).

use super::node::free_port;
use base64::Engine as _;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts the driver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key WebDriver names an element by in its answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a condition is awaited before the test fails.
const WAIT: Duration = Duration::from_secs(30);

/// A headless Chromium session; the driver process and the profile go away on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free 127.0.0.1 port and opens a headless Chromium session.
    /// Panics with what to install when Chromium or its driver is missing.
    pub fn start(width: u32, height: u32) -> Self {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the explorer's end-to-end test drives headless Chromium \
                 through WebDriver. Run `make browser` (Debian: apt-get install chromium \
                 chromium-driver; package {package})"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(120))
            .build();
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            let ready = agent
                .get(&format!("{base}/status"))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(start.elapsed() < WAIT, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            agent,
            _profile: profile,
        };
        let answer = b.call("POST", "/session", Some(caps));
        b.session = answer["sessionId"]
            .as_str()
            .expect("a WebDriver session id")
            .to_owned();
        b
    }

    /// One WebDriver command; answers its `value`, or the driver's error.
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let req = self.agent.request(method, &url);
        let result = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match result {
            Ok(r) => Ok(r.into_json::<Value>().expect("WebDriver answers JSON")["value"].take()),
            Err(ureq::Error::Status(code, r)) => {
                let v: Value = r.into_json().unwrap_or_default();
                Err(format!(
                    "WebDriver {method} {path}: {code} {} {}",
                    v["value"]["error"], v["value"]["message"]
                ))
            }
            Err(e) => Err(format!("WebDriver {method} {path}: {e}")),
        }
    }

    /// One WebDriver command; answers its `value`. Panics with the driver's message on error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens a page and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The current page's address.
    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current page's HTML.
    pub fn source(&self) -> String {
        self.session_call("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The visible text of the page's body.
    pub fn text(&self) -> String {
        self.try_text().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The visible text of the page's body, or an error while a new page replaces it.
    fn try_text(&self) -> Result<String, String> {
        let s = format!("/session/{}", self.session);
        let find = json!({"using": "css selector", "value": "body"});
        let body = self.try_call("POST", &format!("{s}/element"), Some(find))?;
        let id = body[ELEMENT].as_str().ok_or("no body element")?;
        let text = self.try_call("GET", &format!("{s}/element/{id}/text"), None)?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// The first element matching a CSS selector (panics when none does).
    pub fn find(&self, css: &str) -> String {
        let v = self.session_call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().expect("an element id").to_owned()
    }

    /// Types text into the element matching a CSS selector (for a file input: a file's path).
    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.session_call(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Clicks the element matching a CSS selector.
    pub fn click(&self, css: &str) {
        let el = self.find(css);
        self.session_call("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    /// Presses a key (a WebDriver key code such as `"\u{E004}"`, Tab) on the focused element.
    pub fn press(&self, key: &str) {
        self.session_call(
            "POST",
            "/actions",
            Some(
                json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                    {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key},
                ]}]}),
            ),
        );
        self.session_call("DELETE", "/actions", None);
    }

    /// The text of the focused element.
    pub fn focused_text(&self) -> String {
        let el = self.session_call("GET", "/element/active", None)[ELEMENT]
            .as_str()
            .expect("a focused element")
            .to_owned();
        self.session_call("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs a script in the page and answers its result.
    pub fn script(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Waits until the page's text contains `what` (bounded); answers the text.
    pub fn wait_for_text(&self, what: &str) -> String {
        let start = Instant::now();
        loop {
            // The element may go stale while a navigation replaces the page: look again.
            let text = self.try_text().unwrap_or_default();
            if text.contains(what) {
                return text;
            }
            assert!(
                start.elapsed() < WAIT,
                "{what:?} did not appear at {}: {text}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Resizes the window.
    pub fn resize(&self, width: u32, height: u32) {
        self.session_call(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Writes a PNG screenshot of the whole page (the window grows to the page's height, up to
    /// 5000 pixels, and is put back).
    pub fn screenshot(&self, path: &Path) {
        let rect = self.session_call("GET", "/window/rect", None);
        let (w, h) = (
            rect["width"].as_u64().unwrap_or(1280) as u32,
            rect["height"].as_u64().unwrap_or(1000) as u32,
        );
        let page = self
            .script("return document.documentElement.scrollHeight")
            .as_u64()
            .unwrap_or(u64::from(h)) as u32;
        if page > h {
            self.resize(w, page.min(5000) + 150);
        }
        let data = self.session_call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64 PNG"))
            .expect("a base64 screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(path, png).unwrap();
        if page > h {
            self.resize(w, h);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
