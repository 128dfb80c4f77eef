//! coze-tui: run and debug Coze workflows from a terminal.
//!
//! Data flows one way. `config` resolves the profile; `coze` talks to Coze; `tasks` records
//! every run in the ledger and drives it in the background, announcing committed changes;
//! `app` turns keys and those announcements into state and commands, `ui` draws the state,
//! `session` carries the commands out (background work, profile switches, the demo) and `tui`
//! owns the terminal; `cli` offers the same operations as plain commands. `params` builds and
//! checks workflow parameters for both. `sim` is an embedded Coze-compatible server (demo,
//! tests, benchmarks) and `demo` wires it up with a throwaway ledger.

pub mod app;
pub mod auth;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod coze;
pub mod demo;
pub mod logging;
pub mod params;
pub mod secret;
pub mod session;
pub mod sim;
pub mod suite;
pub mod tasks;
pub mod text;
pub mod tui;
pub mod ui;
pub mod upload;
