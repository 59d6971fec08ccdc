//! Every integration suite in one test binary: a module per suite, `common` shared.
//! One binary links the library once instead of once per suite. Suites that must run
//! alone (a global system setting changed as root) are binaries of their own beside
//! this one (`tests/inotify_limit.rs`).

mod common;

mod agent_crashes;
mod agent_failures;
mod agent_shoots;
mod assets;
mod cli;
mod client_endpoints;
mod client_resilience;
mod dashboard;
mod demo;
mod hostile_fs;
mod hostile_server;
mod keep_awake;
mod live_config;
mod live_shoots;
mod long_history;
mod metered_network;
mod names_properties;
mod network_citizen;
mod redaction;
mod reference_curl;
mod safe_by_construction;
mod secrets;
mod soak;
mod streaming_memory;
mod studio;
mod studio_journal;
mod surfaces;
mod touchups;
mod tray_menu;
mod upgrade;
mod webhook;
