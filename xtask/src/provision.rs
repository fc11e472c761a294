//! `cargo xtask provision`: the end-to-end provisioning workflow against a live server, as an
//! operator would run it: log in as the super admin, create a tenant with its admin, wait for the
//! background provisioning to finish, log in as that admin (changing a one-time password), create
//! the requested users, and print what was made.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Options {
    url: String,
    admin_password: String,
    tenant: String,
    plan: String,
    admin_email: String,
    tenant_admin_password: String,
    users: Vec<(String, String)>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        url: "http://127.0.0.1:8000".into(),
        admin_password: std::env::var("PAKE_BOOTSTRAP_ADMIN_PASSWORD").unwrap_or_default(),
        tenant: String::new(),
        plan: "basic".into(),
        admin_email: String::new(),
        tenant_admin_password: String::new(),
        users: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--url" => o.url = value()?,
            "--admin-password" => o.admin_password = value()?,
            "--tenant" => o.tenant = value()?,
            "--plan" => o.plan = value()?,
            "--admin-email" => o.admin_email = value()?,
            "--tenant-admin-password" => o.tenant_admin_password = value()?,
            "--user" => {
                let spec = value()?;
                let (name, role) = spec.split_once(':').unwrap_or((spec.as_str(), "user"));
                o.users.push((name.to_owned(), role.to_owned()));
            }
            other => return Err(format!("unknown provision option {other}")),
        }
    }
    if o.tenant.is_empty() || o.admin_password.is_empty() || o.tenant_admin_password.is_empty() {
        return Err(
            "usage: cargo xtask provision --tenant NAME --admin-password SUPER_ADMIN_PASSWORD \
                    --tenant-admin-password PASSWORD [--plan basic|professional|enterprise] \
                    [--admin-email E] [--user name:role]... [--url http://127.0.0.1:8000]"
                .into(),
        );
    }
    if o.admin_email.is_empty() {
        o.admin_email = format!("admin@{}.example.org", o.tenant);
    }
    Ok(o)
}

/// One HTTP/1.1 request over a fresh connection; returns the status and the JSON body.
fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let authority = base
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?
        .trim_end_matches('/');
    let mut stream =
        TcpStream::connect(authority).map_err(|e| format!("cannot reach {base}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: pake-xtask-provision\r\n"
    );
    if let Some(t) = token {
        head.push_str("Authorization: Bearer ");
        head.push_str(t);
        head.push_str("\r\n");
    }
    if body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    let _ = write!(head, "Content-Length: {}\r\n\r\n", payload.len());
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(payload.as_bytes()))
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or("malformed response")?;
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    Ok((status, json))
}

fn expect(what: &str, expected: u16, (status, body): (u16, Value)) -> Result<Value, String> {
    if status == expected {
        Ok(body)
    } else {
        Err(format!(
            "{what}: HTTP {status}: {}",
            body["detail"].as_str().unwrap_or(&body.to_string())
        ))
    }
}

fn login(url: &str, tenant: &str, username: &str, password: &str) -> Result<Value, String> {
    let body = json!({"tenant": tenant, "username": username, "password": password});
    expect(
        &format!("login {tenant}/{username}"),
        200,
        call(url, "POST", "/api/v1/auth/login", None, Some(&body))?,
    )
}

/// `cargo xtask provision`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let root = login(&o.url, "platform", "admin", &o.admin_password)?;
    let root = root["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();
    println!("logged in as the platform super admin");

    let body = json!({"name": o.tenant, "display_name": o.tenant, "plan": o.plan, "admin_email": o.admin_email,
        "admin_password": o.tenant_admin_password});
    let created = expect(
        "create tenant",
        201,
        call(&o.url, "POST", "/api/v1/tenants/", Some(&root), Some(&body))?,
    )?;
    let id = created["tenant"]["id"]
        .as_str()
        .ok_or("no tenant id")?
        .to_owned();
    println!(
        "created tenant {} ({id}) on plan {}; status {}",
        o.tenant, o.plan, created["tenant"]["status"]
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = expect(
            "read tenant",
            200,
            call(
                &o.url,
                "GET",
                &format!("/api/v1/tenants/{id}"),
                Some(&root),
                None,
            )?,
        )?;
        let p = &t["tenant"]["provisioning"];
        if t["tenant"]["status"] == "active" {
            println!(
                "provisioned: steps {} in {} attempt(s)",
                p["completed_steps"], p["attempts"]
            );
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("provisioning did not finish: {p}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    let admin = login(&o.url, &o.tenant, "admin", &o.tenant_admin_password)?;
    let admin = admin["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();
    println!("logged in as {}'s admin", o.tenant);
    for (name, role) in &o.users {
        let body = json!({"username": name, "email": format!("{name}@{}.example.org", o.tenant), "role": role});
        let user = expect(
            &format!("create user {name}"),
            201,
            call(&o.url, "POST", "/api/v1/users/", Some(&admin), Some(&body))?,
        )?;
        println!(
            "created {role} {name}: one-time password {}",
            user["password"].as_str().unwrap_or("(none)")
        );
    }
    let users = expect(
        "list users",
        200,
        call(&o.url, "GET", "/api/v1/users/", Some(&admin), None)?,
    )?;
    println!(
        "tenant {} now has {} user(s)",
        o.tenant, users["pagination"]["total"]
    );
    Ok(())
}
