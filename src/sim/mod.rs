//! An embedded Coze-compatible HTTP server for the demo, tests and benchmarks.
//!
//! It serves the endpoints of coze-api.md with Coze's envelopes, `x-tt-logid` headers,
//! pagination, SSE framing and errors, and the catalogue of DESIGN.md §3. It shares no code
//! with the `coze` client on purpose: a shared bug would hide itself.

mod catalogue;
mod faults;
mod handlers;
mod oauth;
mod runs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::Instant;

pub use catalogue::{Behaviour, FAIL_CODE, FAIL_MESSAGE, NAMED_WORKFLOWS};
pub use faults::{Fault, FaultRule};
pub use handlers::studio::WEB_UI;
pub use oauth::Approval;

/// Catalogue size, timings and fault injection. Every field is a `coze-tui sim` flag.
#[derive(Debug, Clone, clap::Args)]
pub struct SimOptions {
    /// The bearer token the simulator accepts.
    #[arg(long, default_value = "sim-token")]
    pub token: String,
    /// A second token that may list but lacks the `run` permission (runs give 4101).
    #[arg(long)]
    pub readonly_token: Option<String>,
    /// Number of workspaces.
    #[arg(long, default_value_t = 5)]
    pub workspaces: usize,
    /// Generic workflows in the first workspace, besides the eight named ones.
    #[arg(long, default_value_t = 6)]
    pub generic_workflows: usize,
    /// Generic workflows in each other workspace.
    #[arg(long, default_value_t = 4)]
    pub workflows_per_workspace: usize,
    /// How long `slow` runs, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub slow_ms: u64,
    /// How long every async run stays Running at least, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub async_ms: u64,
    /// How many messages `chatty` streams.
    #[arg(long, default_value_t = 40)]
    pub chatty_messages: usize,
    /// Milliseconds between `chatty` messages.
    #[arg(long, default_value_t = 20)]
    pub chatty_interval_ms: u64,
    /// Size of `big`'s output in bytes.
    #[arg(long, default_value_t = 1_000_000)]
    pub big_bytes: usize,
    /// How many answers a question node takes before the run fails.
    #[arg(long, default_value_t = 3)]
    pub max_answers: u32,
    /// Behave like a free plan: async runs give 6003.
    #[arg(long)]
    pub free_plan: bool,
    /// Added latency for every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction (0-1) of requests answered with a 5xx error.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Fraction (0-1) of requests whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Fraction (0-1) of requests answered with a truncated JSON body.
    #[arg(long, default_value_t = 0.0)]
    pub malformed_rate: f64,
    /// Requests per second allowed over any one-second window; above it, HTTP 429 + 4009.
    #[arg(long)]
    pub rate_limit_qps: Option<u32>,
    /// The client id of the device-type OAuth app the simulator knows.
    #[arg(long, default_value = "sim-device-client")]
    pub oauth_client_id: String,
    /// How long an OAuth access token works, in seconds.
    #[arg(long, default_value_t = 900)]
    pub oauth_access_ttl_s: u64,
    /// How long a device code can be approved, in seconds.
    #[arg(long, default_value_t = 300)]
    pub oauth_code_ttl_s: u64,
    /// The polling interval a device code asks for, in seconds.
    #[arg(long, default_value_t = 5)]
    pub oauth_interval_s: u64,
    /// A service app's public key (PEM): JWTs signed by its private key buy access tokens.
    #[arg(long)]
    pub jwt_public_key_file: Option<std::path::PathBuf>,
    /// The service app's id (the JWT's `iss`) and its key's id (the JWT's `kid`).
    #[arg(long, default_value = "sim-jwt-app")]
    pub jwt_app_id: String,
    #[arg(long, default_value = "sim-key")]
    pub jwt_key_id: String,
    /// Seed for the random faults.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Which server to be: hosted Coze, or a self-hosted Coze Studio (its routes, envelopes,
    /// headers, codes and streams; the same catalogue).
    #[arg(long, value_enum, default_value = "coze")]
    pub server: crate::coze::Server,
}

impl Default for SimOptions {
    fn default() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            opts: SimOptions,
        }
        Wrapper::parse_from(["sim"]).opts
    }
}

/// Requests whose arrival time is kept.
pub const MAX_ARRIVALS: usize = 1_000_000;

/// Counters read by tests and benchmarks: what the server itself saw.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests per route label, e.g. `POST /v1/workflow/run`.
    pub by_route: BTreeMap<String, u64>,
    /// Runs started (sync, async and stream), counted when the server accepted them.
    pub runs_started: u64,
    pub resumes: u64,
    /// OAuth refresh requests (each refresh token works once).
    pub oauth_refreshes: u64,
    /// Access tokens bought with a service app's JWT.
    pub jwt_exchanges: u64,
    /// Files the server took, and their bytes.
    pub uploads: u64,
    pub upload_bytes: u64,
    pub rate_limited: u64,
    pub faults_injected: u64,
    /// Arrival time (since start) and route of the first [`MAX_ARRIVALS`] requests, for rate checks.
    pub arrivals: Vec<(Duration, String)>,
}

impl Stats {
    pub fn count(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }

    /// The most requests seen in any one-second window among routes starting with `prefix`
    /// (`""` for all).
    pub fn peak_per_second(&self, prefix: &str) -> usize {
        let times: Vec<Duration> =
            self.arrivals.iter().filter(|(_, r)| r.starts_with(prefix)).map(|(t, _)| *t).collect();
        let mut peak = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= Duration::from_secs(1) {
                start += 1;
            }
            peak = peak.max(end - start + 1);
        }
        peak
    }
}

pub(crate) struct SimState {
    pub opts: SimOptions,
    pub catalogue: catalogue::Catalogue,
    pub base_url: String,
    pub started: Instant,
    inner: Mutex<runs::Inner>,
}

impl SimState {
    /// The lock is never held across an await, and a panicking holder cannot poison the
    /// simulator for the other connections.
    pub(crate) fn lock(&self) -> MutexGuard<'_, runs::Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Simulator {
    /// Binds `addr` (port 0 picks a free one) and serves in a background task.
    pub async fn start(opts: SimOptions, addr: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(SimState {
            catalogue: catalogue::Catalogue::build(&opts),
            base_url: format!("http://{addr}"),
            started: Instant::now(),
            inner: Mutex::new(runs::Inner::new(opts.seed)),
            opts,
        });
        let app = match state.opts.server {
            crate::coze::Server::Coze => handlers::router(state.clone()),
            crate::coze::Server::Studio => handlers::studio::router(state.clone()),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "simulator stopped");
            }
        });
        Ok(Self { addr, state, shutdown: Some(tx), task: Some(task) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, the base URL clients should use.
    pub fn url(&self) -> String {
        self.state.base_url.clone()
    }

    pub fn token(&self) -> &str {
        &self.state.opts.token
    }

    pub fn server(&self) -> crate::coze::Server {
        self.state.opts.server
    }

    pub fn stats(&self) -> Stats {
        self.state.lock().stats.clone()
    }

    pub fn reset_stats(&self) {
        self.state.lock().stats = Stats::default();
    }

    /// Approves or denies the device code shown as `user_code`, as the person would in a
    /// browser; false when no such code was issued.
    pub fn decide_device_code(&self, user_code: &str, approval: Approval) -> bool {
        self.state.lock().oauth.decide(user_code, approval)
    }

    /// Every issued access token stops working (the next call must refresh).
    pub fn expire_access_tokens(&self) {
        self.state.lock().oauth.expire_access();
    }

    /// Queues a fault for the next matching requests.
    pub fn inject(&self, rule: FaultRule) {
        self.state.lock().script.push(rule);
    }

    /// The id of the first workflow with this name.
    pub fn workflow_id(&self, name: &str) -> Option<String> {
        self.state.catalogue.workflows.iter().find(|w| w.name == name).map(|w| w.id.clone())
    }

    pub fn first_workspace_id(&self) -> String {
        self.state.catalogue.workspaces[0].id.clone()
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
