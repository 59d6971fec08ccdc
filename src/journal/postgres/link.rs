//! The connection to the studio's database: made when first needed and again after it
//! broke (the database restarted, the network came back), TLS through rustls when the
//! URL asks for it (`sslmode=require`), the password from `password_file`, and every
//! failure said in words that name what to fix and never the password.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use postgres::error::SqlState;

use crate::config::{JournalSettings, url_without_password};
use crate::journal::{JournalError, Result};

/// What went wrong in one call.
pub(super) enum Failure {
    Database(postgres::Error),
    Journal(JournalError),
    /// The database is not one the studio's journal may use.
    Refused(String),
}

impl From<postgres::Error> for Failure {
    fn from(error: postgres::Error) -> Self {
        Failure::Database(error)
    }
}

pub(super) struct Link {
    config: postgres::Config,
    require_tls: bool,
    /// The URL as messages may show it.
    shown: String,
    client: Mutex<Option<postgres::Client>>,
    /// Run on every new connection before its first call (the schema check).
    prepare: fn(&mut postgres::Client) -> std::result::Result<(), Failure>,
}

impl Link {
    pub(super) fn new(
        settings: &JournalSettings,
        prepare: fn(&mut postgres::Client) -> std::result::Result<(), Failure>,
    ) -> Result<Link> {
        let url = settings
            .url
            .as_deref()
            .ok_or_else(|| JournalError::Shared("no [journal] url".into()))?;
        let shown = url_without_password(url);
        let mut config: postgres::Config = url.parse().map_err(|error| {
            JournalError::Shared(format!("[journal] url {shown} does not parse: {error}"))
        })?;
        if let Some(file) = &settings.password_file {
            let password = crate::config::read_private_file(file, "the database's password")
                .map_err(|error| {
                    JournalError::Shared(format!("[journal] password_file {error}"))
                })?;
            config.password(password.trim_end_matches(['\r', '\n']));
        }
        config
            .application_name("imagen-sync")
            .connect_timeout(Duration::from_secs(5))
            .keepalives_idle(Duration::from_secs(10))
            .tcp_user_timeout(Duration::from_secs(15));
        let require_tls = matches!(config.get_ssl_mode(), postgres::config::SslMode::Require);
        Ok(Link {
            config,
            require_tls,
            shown,
            client: Mutex::new(None),
            prepare,
        })
    }

    /// Runs `call` on the connection, connecting first if there is none or it broke.
    /// The blocking client runs its own small runtime, which must not start inside
    /// another's: called from async code (the tray, the dashboard), it runs on a
    /// thread of its own, borrowed for the call.
    pub(super) fn with<T: Send>(
        &self,
        call: impl FnOnce(&mut postgres::Client) -> std::result::Result<T, Failure> + Send,
    ) -> Result<T> {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.with_here(call);
        }
        std::thread::scope(|scope| scope.spawn(|| self.with_here(call)).join())
            .unwrap_or_else(|_| Err(JournalError::Interrupted("a journal call panicked".into())))
    }

    fn with_here<T>(
        &self,
        call: impl FnOnce(&mut postgres::Client) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let mut slot = self.slot();
        if slot.as_ref().is_none_or(postgres::Client::is_closed) {
            *slot = None;
            let mut client = self.connect().map_err(|error| self.explain(error))?;
            (self.prepare)(&mut client).map_err(|error| self.explain(error))?;
            *slot = Some(client);
        }
        let client = slot.as_mut().expect("connected just above");
        let outcome = call(client);
        if client.is_closed() {
            *slot = None;
        }
        outcome.map_err(|failure| self.explain(failure))
    }

    fn slot(&self) -> MutexGuard<'_, Option<postgres::Client>> {
        self.client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn connect(&self) -> std::result::Result<postgres::Client, Failure> {
        if !self.require_tls {
            return Ok(self.config.connect(postgres::NoTls)?);
        }
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| Failure::Refused(format!("TLS cannot be set up: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(self
            .config
            .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))?)
    }

    /// A failure in words that say what to do.
    fn explain(&self, failure: Failure) -> JournalError {
        let error = match failure {
            Failure::Journal(error) => return error,
            Failure::Refused(reason) => {
                return JournalError::Shared(format!(
                    "the studio's journal at {}: {reason}",
                    self.shown
                ));
            }
            Failure::Database(error) => error,
        };
        let shown = &self.shown;
        let said = match error.code() {
            Some(code)
                if *code == SqlState::INVALID_PASSWORD
                    || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                format!(
                    "the studio's journal at {shown} refused the user name or password: \
                     check the user in [journal] url and the password in password_file"
                )
            }
            Some(code) if *code == SqlState::INVALID_CATALOG_NAME => format!(
                "the database named in [journal] url ({shown}) does not exist: create it \
                 (createdb) or name the studio's database"
            ),
            Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => format!(
                "the studio's journal at {shown} does not let this user make or change \
                 imagen-sync's tables: grant it ownership of the database ({error})"
            ),
            Some(_) => format!("the studio's journal at {shown}: {error}"),
            None => {
                return JournalError::Unreachable(format!(
                    "cannot reach the studio's journal at {shown}: {error}"
                ));
            }
        };
        JournalError::Shared(said)
    }
}

// Closing the client blocks on its runtime too: never on an async worker.
impl Drop for Link {
    fn drop(&mut self) {
        let client = self.slot().take();
        if client.is_some() && tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| {
                scope.spawn(move || drop(client));
            });
        }
    }
}
