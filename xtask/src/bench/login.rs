//! Login scenarios: a login storm against the machine's argon2 ceiling with `/health` probed
//! beside it, unknown-user against wrong-password timing, and fairness of the hashing permits
//! between tenants.

use super::server::{cpu_ms, target_dir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::load::{Load, RequestSpec, drive};
use super::server::{Server, start_pake};
use super::{Options, Row, search};

/// The bench super admin's password.
pub(super) const ADMIN_PASSWORD: &str = "Bench-Harbour-Pass-1!";

/// Logs the bench admin in (blocking, one connection) and returns an access token.
pub(super) fn login_token(port: u16) -> Result<String, String> {
    let body =
        format!(r#"{{"tenant":"platform","username":"admin","password":"{ADMIN_PASSWORD}"}}"#);
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    write!(
        s,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let json = text.split("\r\n\r\n").nth(1).ok_or("no body")?;
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    value["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login failed: {value}"))
}

/// argon2id hashes per second this machine does with every core busy (the release-built
/// `argon2_rate` example): the ceiling of logins per second.
pub(super) fn argon2_ceiling() -> f64 {
    let binary = target_dir()
        .join("release")
        .join("examples")
        .join("argon2_rate");
    Command::new(binary)
        .arg("3")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

pub(super) fn login_spec(username: &str, password: &str) -> RequestSpec {
    let body =
        format!(r#"{{"tenant":"platform","username":"{username}","password":"{password}"}}"#);
    let expect = if password == ADMIN_PASSWORD && username == "admin" {
        200
    } else {
        401
    };
    RequestSpec::new("POST", "/api/v1/auth/login", &[], Some(&body), expect)
}

/// A login storm (closed loop, 8 connections) with `/health` probed at 200 req/s beside it, then
/// single-connection timing of unknown-user against wrong-password logins.
pub(super) async fn login_scenarios(pake: &Server, o: &Options) -> Vec<Row> {
    let ceiling = argon2_ceiling();
    let storm = Load {
        connections: 8,
        duration: o.duration,
        rate: None,
    };
    let probe = Load {
        connections: 4,
        duration: o.duration,
        rate: Some(200.0),
    };
    let (addr, login, health_spec) = (
        pake.addr(),
        login_spec("admin", ADMIN_PASSWORD),
        RequestSpec::get("/health"),
    );
    let cpu_before = cpu_ms(pake.pid());
    let (logins, health) = tokio::join!(
        drive(&addr, &login, storm),
        drive(&addr, &health_spec, probe)
    );
    let cpu_per_login = (cpu_ms(pake.pid()) - cpu_before) / (logins.ok.max(1) as f64);
    let ratio = logins.throughput() / ceiling * 100.0;
    let mut rows = vec![
        Row::from_outcome(
            "login storm (argon2id 19 MiB, t=2)",
            &logins,
            pake,
            format!(
                "{ratio:.0} % of the machine's {ceiling:.0} argon2 hashes/s; server CPU {cpu_per_login:.1} ms/login"
            ),
        ),
        Row::from_outcome(
            "/health during the login storm",
            &health,
            pake,
            "open loop at 200 req/s".into(),
        ),
    ];
    let one = Load {
        connections: 1,
        duration: o.duration.min(Duration::from_secs(3)),
        rate: None,
    };
    let unknown = drive(&pake.addr(), &login_spec("nobody", ADMIN_PASSWORD), one).await;
    let wrong = drive(
        &pake.addr(),
        &login_spec("admin", "Wrong-Harbour-Pass-1!"),
        one,
    )
    .await;
    let (u, w) = (unknown.percentile_ms(0.5), wrong.percentile_ms(0.5));
    rows.push(Row::from_outcome(
        "login, unknown user (401)",
        &unknown,
        pake,
        "one connection".into(),
    ));
    rows.push(Row::from_outcome(
        "login, wrong password (401)",
        &wrong,
        pake,
        format!(
            "median differs from unknown user by {:.1} %",
            (w - u).abs() / u.max(w) * 100.0
        ),
    ));
    rows
}

/// Fairness at the shared hashing permits: a basic tenant's logins (one connection) alone, then
/// while an enterprise tenant floods logins on 16 connections. The hashing permits go round the
/// waiting tenants, so the basic tenant waits for at most one hash per permit, not the queue.
pub(super) async fn login_fairness_scenarios(
    binary: &Path,
    workers: usize,
    o: &Options,
) -> Result<Vec<Row>, String> {
    let pake = start_pake(
        binary,
        workers,
        &[("PAKE_PLANS__BASIC__REQUESTS_PER_MINUTE", "1000000000")],
    )?;
    let port = pake.port;
    tokio::task::spawn_blocking(move || {
        let root = login_token(port)?;
        search::tenant_admin(port, &root, "deluge", "enterprise")?;
        search::tenant_admin(port, &root, "trickle", "basic")
    })
    .await
    .map_err(|e| e.to_string())??;
    let tenant_login = |tenant: &str| {
        let body = format!(
            r#"{{"tenant":"{tenant}","username":"admin","password":"{}"}}"#,
            search::TENANT_ADMIN_PASSWORD
        );
        RequestSpec::new("POST", "/api/v1/auth/login", &[], Some(&body), 200)
    };
    let (trickle, deluge) = (tenant_login("trickle"), tenant_login("deluge"));
    let one = Load {
        connections: 1,
        duration: o.duration,
        rate: None,
    };
    let flood = Load {
        connections: 16,
        duration: o.duration,
        rate: None,
    };
    let addr = pake.addr();
    let idle = drive(&addr, &trickle, one).await;
    let (during, flooding) =
        tokio::join!(drive(&addr, &trickle, one), drive(&addr, &deluge, flood));
    let (alone, shared) = (idle.percentile_ms(0.5), during.percentile_ms(0.5));
    Ok(vec![
        Row::from_outcome(
            "login, basic tenant alone",
            &idle,
            &pake,
            "one connection".into(),
        ),
        Row::from_outcome(
            "login, enterprise flood",
            &flooding,
            &pake,
            "16 connections, beside the row below".into(),
        ),
        Row::from_outcome(
            "login, basic during the flood",
            &during,
            &pake,
            format!(
                "p50 {:.2}× alone (goal ≤ 2×)",
                shared / alone.max(f64::MIN_POSITIVE)
            ),
        ),
    ])
}
