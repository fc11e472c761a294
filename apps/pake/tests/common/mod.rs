//! A real server on an ephemeral port over a fresh embedded store, as the binary builds it.
#![allow(dead_code)]

use pake::config::Config;
use pake::startup::Application;
use secrecy::SecretString;

/// The super admin's password in tests.
pub const ADMIN_PASSWORD: &str = "Quiet-Harbour-42!";

/// A running test server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// A client without redirects, so redirects can be asserted.
    pub client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// The test configuration: port 0, a temporary data directory, cheap hashing.
pub fn test_config(dir: &tempfile::TempDir) -> Config {
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".parse().expect("address");
    config.server.workers = 1;
    config.store.data_dir = dir.path().to_path_buf();
    config.passwords.argon2_memory_kib = 1024;
    config.passwords.argon2_iterations = 1;
    config.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    config
}

/// Starts a server with `config` adjusted by `tweak`.
pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&dir);
    tweak(&mut config);
    let app = Application::build(&config)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        client,
        handle,
        _dir: dir,
    }
}

/// Starts a server with the test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}
