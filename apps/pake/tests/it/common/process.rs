//! The `pake` binary as a process of its own (killable with SIGKILL, restartable on the same
//! data), and the calls the process tests make to it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use std::time::Duration;

use serde_json::{Value, json};

use super::{ADMIN_PASSWORD, TENANT_ADMIN_PASSWORD, TEST_KEK};

const BIN: &str = env!("CARGO_BIN_EXE_pake");

/// A `pake serve` process, killed when dropped.
pub(crate) struct Process {
    pub(crate) child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `pake serve` in `dir` (its working and data directory), signing keys in `keys`,
    /// cheap hashing, address limits out of the way, plus `env`; waits until it listens.
    pub(crate) fn start(dir: &Path, keys: &Path, env: &[(&str, String)]) -> Self {
        let mut child = Command::new(BIN)
            .current_dir(dir)
            .env("PAKE_SERVER__BIND", "127.0.0.1:0")
            .env("PAKE_SERVER__WORKERS", "1")
            .env("PAKE_PASSWORDS__ARGON2_MEMORY_KIB", "1024")
            .env("PAKE_PASSWORDS__ARGON2_ITERATIONS", "1")
            .env("PAKE_STORE__DATA_DIR", dir.join("data"))
            .env("PAKE_AUTH__KEYS_DIR", keys)
            .env("PAKE_AUTH__KEY_ENCRYPTION_KEY", TEST_KEK)
            .env("PAKE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PAKE_LIMITS__ADDRESS_PER_MINUTE", "1000000")
            .env("PAKE_LIMITS__USER_FRACTION", "1.0")
            .env("PAKE_LOG__LEVEL", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pake");
        let stdout = child.stdout.take().unwrap();
        let mut port = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line.starts_with("PAKE listening on") {
                port = line
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.trim().parse::<u16>().ok());
                break;
            }
        }
        let port = port.expect("the server announced its port");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// One JSON call; its status and body.
pub(crate) async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn token(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    password: &str,
) -> String {
    let (status, body) = call(
        client,
        "POST",
        &format!("{base}/api/v1/auth/login"),
        None,
        Some(json!({"tenant": tenant, "username": "admin", "password": password})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Creates an active basic tenant with `limits`; returns its id and its admin's token.
pub(crate) async fn tenant(
    client: &reqwest::Client,
    base: &str,
    root: &str,
    name: &str,
    limits: Value,
) -> (String, String) {
    let body = json!({"name": name, "display_name": name, "plan": "basic",
        "admin_email": format!("admin@{name}.org"), "admin_password": TENANT_ADMIN_PASSWORD});
    let (status, created) = call(
        client,
        "POST",
        &format!("{base}/api/v1/tenants/"),
        Some(root),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["tenant"]["id"].as_str().unwrap().to_owned();
    let url = format!("{base}/api/v1/tenants/{id}");
    for _ in 0..200 {
        let (_, t) = call(client, "GET", &url, Some(root), None).await;
        if t["tenant"]["status"] == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = call(
        client,
        "PATCH",
        &url,
        Some(root),
        Some(json!({ "limits": limits })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let admin = token(client, base, name, TENANT_ADMIN_PASSWORD).await;
    (id, admin)
}
