//! Filesystem helpers shared by the agent, the config and the dashboard: atomic writes,
//! and where a folder really is (whether an outbox reaches into an inbox).

pub mod atomic_file;
pub mod overlap;
