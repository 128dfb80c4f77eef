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
