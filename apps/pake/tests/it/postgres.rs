//! Running on PostgreSQL: `pake migrate` as the owner, and a server that refuses a schema behind
//! the binary instead of migrating silently.

use crate::common;

use pake::config::Config;
use pake::startup::Application;
use pake_store_postgres::test_db::TestDb;
use secrecy::SecretString;

fn pg_config(dir: &tempfile::TempDir, db: &TestDb) -> Config {
    let mut config = common::test_config(dir);
    config.store.database_url = Some(SecretString::from(db.app_url.clone()));
    config.store.migrate_database_url = Some(SecretString::from(db.owner_url.clone()));
    config
}

#[tokio::test]
async fn the_server_refuses_an_unmigrated_database_until_pake_migrate_ran() {
    let db = tokio::task::spawn_blocking(TestDb::empty).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = pg_config(&dir, &db);
    let Err(err) = Application::build(&config).await else {
        panic!("a server on an unmigrated database must not start");
    };
    assert!(err.to_string().contains("pake migrate"), "{err}");

    // `pake migrate` (the binary) as the owner
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pake"))
        .arg("migrate")
        .current_dir(dir.path())
        .env("DATABASE_URL", &db.app_url)
        .env("PAKE_STORE__MIGRATE_DATABASE_URL", &db.owner_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("applied 4 migration(s)"));

    let app = Application::build(&config)
        .await
        .expect("starts once migrated");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let ready: serde_json::Value = reqwest::get(format!("{address}/health/ready"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["database"]["status"], "ok");
    handle.stop(false).await;
}

#[test]
fn database_url_must_be_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pake"))
        .arg("config")
        .current_dir(dir.path())
        .env("DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let shown = std::process::Command::new(env!("CARGO_BIN_EXE_pake"))
        .arg("config")
        .current_dir(dir.path())
        .env("DATABASE_URL", "postgres://app:s3cret@db/pake")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("database_url = \"<redacted>\""), "{text}");
    assert!(!text.contains("s3cret"));
}
