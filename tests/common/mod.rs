//! Shared test helpers: a simulator on loopback and a client pointed at it.
#![allow(dead_code)]

use std::time::Duration;

use coze_tui::coze::{ClientOptions, CozeClient, RetryPolicy};
use coze_tui::secret::Secret;
use coze_tui::sim::{SimOptions, Simulator};

/// A token no test output may ever contain.
pub const TOKEN: &str = "sim-secret-token-4f1c9e";

pub fn opts() -> SimOptions {
    SimOptions { token: TOKEN.into(), slow_ms: 600, async_ms: 100, chatty_interval_ms: 1, ..SimOptions::default() }
}

pub async fn sim_with(opts: SimOptions) -> Simulator {
    Simulator::start(opts, "127.0.0.1:0").await.expect("the simulator starts on loopback")
}

pub async fn sim() -> Simulator {
    sim_with(opts()).await
}

/// Fast retries so tests do not wait for production backoff.
pub fn client_opts(sim: &Simulator) -> ClientOptions {
    let mut o = ClientOptions::new(sim.url(), Secret::new(sim.token()));
    o.timeout = Duration::from_secs(10);
    o.retry = RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(20), ..RetryPolicy::default() };
    o
}

pub fn client(sim: &Simulator) -> CozeClient {
    CozeClient::new(client_opts(sim)).unwrap()
}

pub fn client_with(sim: &Simulator, f: impl FnOnce(&mut ClientOptions)) -> CozeClient {
    let mut o = client_opts(sim);
    f(&mut o);
    CozeClient::new(o).unwrap()
}

pub fn wf(sim: &Simulator, name: &str) -> String {
    sim.workflow_id(name).unwrap_or_else(|| panic!("the catalogue has {name}"))
}

/// Draws the app into a test terminal and returns the screen as text (wide characters once).
pub fn render(app: &coze_tui::app::App, w: u16, h: u16) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    t.draw(|f| {
        coze_tui::ui::draw(f, app);
    })
    .unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..w {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            // A wide character covers the next cell too.
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The binary, in a clean environment pointed at `sim`, with its config file and data directory
/// under `dir`; stdout and stderr piped.
pub fn coze_tui(sim: &Simulator, dir: &std::path::Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_coze-tui"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("COZE_API_BASE", sim.url())
        .env("COZE_API_TOKEN", TOKEN)
        .env("COZE_TUI_CONFIG", dir.join("config.toml"))
        .env("COZE_TUI_DATA_DIR", dir.join("data"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// What a run of the binary printed, and its exit code.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// Runs a prepared command of the binary (feeding `stdin` if given; the command must pipe
/// stdout and stderr) and checks that the token never shows.
pub async fn output_of(mut cmd: tokio::process::Command, stdin: Option<&str>) -> Out {
    use tokio::io::AsyncWriteExt;
    cmd.stdin(if stdin.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() });
    let mut child = cmd.spawn().expect("the binary starts");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A command that refuses its arguments exits without reading its input: that's fine.
        match pipe.write_all(input.as_bytes()).await {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing stdin: {e}"),
            _ => {}
        }
    }
    let out = child.wait_with_output().await.expect("the binary runs");
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!o.stdout.contains(TOKEN) && !o.stderr.contains(TOKEN), "the token leaked: {}{}", o.stdout, o.stderr);
    o
}
