//! `test` and `ci`.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The workspace root (xtask lives one level below it).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    eprintln!("xtask: {what}");
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// `host:port` of a URL such as `postgres://user@host:5432/db` or `redis://host:6379/0`.
fn host_port(url: &str, default_port: u16) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.is_empty() {
        return None;
    }
    Some(if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    })
}

fn reachable(url: &str, default_port: u16) -> bool {
    host_port(url, default_port)
        .and_then(|hp| hp.to_socket_addrs().ok())
        .into_iter()
        .flatten()
        .any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
}

/// The services the tests need, with the URLs the tests will read. Fails with what to start.
fn services() -> Result<Vec<(&'static str, String)>, String> {
    let db = std::env::var("PAKE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let redis =
        std::env::var("PAKE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut missing = Vec::new();
    if !reachable(&db, 5432) {
        missing.push(format!(
            "PostgreSQL is not reachable at {db}.\n  Install it (apt-get install postgresql) and start it \
             (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), or point \
             PAKE_TEST_DATABASE_URL at one (a superuser with trust or password in the URL)."
        ));
    }
    if !reachable(&redis, 6379) {
        missing.push(format!(
            "Redis is not reachable at {redis}.\n  Install it (apt-get install redis-server) and start it \
             (redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no), \
             or point PAKE_TEST_REDIS_URL at one."
        ));
    }
    if missing.is_empty() {
        Ok(vec![
            ("PAKE_TEST_DATABASE_URL", db),
            ("PAKE_TEST_REDIS_URL", redis),
        ])
    } else {
        Err(format!(
            "the tests need these services; none is skipped:\n- {}",
            missing.join("\n- ")
        ))
    }
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Python parsers the export tests read PAKE's files back with (independent of PAKE's
/// writers), pinned.
const PARSERS: [&str; 3] = [
    "bibtexparser==2.1.0",
    "rispy==0.10.0",
    "citeproc-py==0.11.1",
];

/// A Python with [`PARSERS`]: `PAKE_TEST_PYTHON` when set, else a virtual environment under
/// `~/.cache/pake-py`, made (from the package registry) when missing.
fn parsers() -> Result<(&'static str, String), String> {
    if let Ok(python) = std::env::var("PAKE_TEST_PYTHON") {
        return Ok(("PAKE_TEST_PYTHON", python));
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    let venv = Path::new(&home).join(".cache/pake-py");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import bibtexparser, rispy, citeproc"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let mut make = Command::new("python3");
        make.args(["-m", "venv"]).arg(&venv);
        run(
            make,
            "python3 -m venv ~/.cache/pake-py (the export tests' parsers)",
        )?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet"]).args(PARSERS);
        run(pip, "pip install bibtexparser rispy citeproc-py")?;
    }
    Ok(("PAKE_TEST_PYTHON", python.display().to_string()))
}

/// Every test of the workspace.
pub(crate) fn test(filter: &[String]) -> Result<(), String> {
    let mut env = services()?;
    env.push(parsers()?);
    let filter: Vec<&String> = filter.iter().skip_while(|a| *a == "--").collect();
    let mut cmd = cargo();
    if has_nextest() {
        cmd.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
    }
    cmd.args(&filter).envs(env.iter().map(|(k, v)| (*k, v)));
    run(cmd, "unit, contract and HTTP tests")?;
    if filter.is_empty() {
        let mut doc = cargo();
        doc.args(["test", "--workspace", "--doc"])
            .envs(env.iter().map(|(k, v)| (*k, v)));
        run(doc, "doc tests")?;
    }
    Ok(())
}

/// What CI runs: fmt, clippy, docs, cargo deny, unused dependencies, then every test.
pub(crate) fn ci() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt, "cargo fmt --check")?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy, "cargo clippy -D warnings")?;
    // Every public item's docs build, and every intra-doc link resolves.
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--quiet"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run(doc, "cargo doc -D warnings")?;
    // The advisories database needs the network, which CI does not have.
    let mut deny = cargo();
    deny.args(["deny", "check", "bans", "licenses", "sources"]);
    run(deny, "cargo deny check bans licenses sources")?;
    // No dependency a crate does not use (exceptions named in the crate's manifest, with why).
    // (called directly: through the toolchain's cargo, cargo-machete would take its own
    // subcommand name for the directory to scan)
    let mut machete = Command::new("cargo-machete");
    machete.arg(root());
    run(machete, "cargo machete")?;
    test(&[])
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn urls_give_their_host_and_port() {
        assert_eq!(
            host_port("postgres://postgres@127.0.0.1:5432/postgres", 5432).as_deref(),
            Some("127.0.0.1:5432")
        );
        assert_eq!(
            host_port("postgres://u:p@db/x?sslmode=disable", 5432).as_deref(),
            Some("db:5432")
        );
        assert_eq!(
            host_port("redis://127.0.0.1:6380/0", 6379).as_deref(),
            Some("127.0.0.1:6380")
        );
        assert_eq!(
            host_port("redis://localhost", 6379).as_deref(),
            Some("localhost:6379")
        );
        assert_eq!(host_port("nonsense", 1), None);
    }
}
