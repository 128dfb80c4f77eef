//! coze-tui: run and debug Coze workflows from a terminal.
//!
//! Modules, in the direction data flows: `config` (profiles) → `coze` (the HTTP client) →
//! `cli` (plain commands). `sim` is an embedded Coze-compatible server for the demo and tests.

pub mod app;
pub mod cli;
pub mod config;
pub mod coze;
pub mod demo;
pub mod logging;
pub mod secret;
pub mod sim;
pub mod tasks;
pub mod text;
pub mod tui;
pub mod ui;
