//! imagen-sync: a hot-folder agent for Imagen AI's Smart Editing (I2I) API.
//!
//! `api` is the typed client, `sim` the embedded simulator of the same contract, and
//! `redact` the secret-bearing types that keep keys and presigned links out of logs.

pub mod agent;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod control;
pub mod dashboard;
#[cfg(feature = "desktop")]
pub mod desktop;
pub mod events;
pub mod files;
pub mod journal;
pub mod logs;
pub mod platform;
pub mod redact;
pub mod shoot;
pub mod sim;
pub mod supervisor;
pub mod ui;
pub mod words;
