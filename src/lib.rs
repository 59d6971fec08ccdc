//! imagen-sync: a hot-folder agent for Imagen AI's Smart Editing (I2I) API.
//!
//! `api` is the typed client, `sim` the embedded simulator of the same contract, and
//! `redact` the secret-bearing types that keep keys and presigned links out of logs.

pub mod activity;
pub mod agent;
pub mod api;
pub mod app;
pub mod atomic_file;
pub mod autostart;
pub mod cli;
pub mod config;
pub mod control;
pub mod costs;
pub mod dashboard;
pub mod dashboard_link;
pub mod demo;
#[cfg(feature = "desktop")]
pub mod desktop;
pub mod engine;
pub mod events;
pub mod journal;
pub mod logs;
pub mod memory;
pub mod open;
pub mod overlap;
pub mod redact;
pub mod running;
pub mod shoot;
pub mod sim;
pub mod ui;
pub mod webhook;
pub mod words;
