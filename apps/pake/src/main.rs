//! The `pake` binary: `pake serve` (default), `pake migrate`, `pake config`, `pake keys rotate`,
//! `pake admin unlock`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pake::config::Config;
use pake::startup::{Application, migrate, open_store, rotate_keys, unlock_account};
use pake::telemetry;
use pake_core::BootstrapOutcome;

/// mimalloc instead of glibc's malloc: under search load glibc spent a quarter of the server's
/// CPU in malloc/free (chunk consolidation across per-thread arenas) and grew its arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// PAKE: multi-tenant research search.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML configuration file (default: ./pake.toml when present).
    #[arg(long, env = "PAKE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Access-token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Operator actions that need no login.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key. With PostgreSQL every replica verifies with it within
    /// `auth.sync_interval_secs` and it signs after `auth.key_activation_secs`; with the embedded
    /// store it signs from the next start.
    Rotate,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Clear the lockout of an account (for example the only super admin, locked by strangers'
    /// guesses): `pake admin unlock --tenant platform --user admin`.
    Unlock {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The username or e-mail address.
        #[arg(long)]
        user: String,
    },
}

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool answers on the terminal"
)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("pake: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Config => match config.to_redacted_toml() {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pake: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Migrate => {
            let _telemetry = telemetry::init(&config.log, &config.tracing);
            match open_store(&config).and_then(|s| migrate(&config, &s)) {
                Ok(applied) => {
                    println!(
                        "applied {} migration(s): {}",
                        applied.len(),
                        applied.join(", ")
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("pake: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve => {
            let _telemetry = telemetry::init(&config.log, &config.tracing);
            run(serve(&config))
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let _telemetry = telemetry::init(&config.log, &config.tracing);
            run(async {
                let (kid, from) = rotate_keys(&config).await?;
                println!("added signing key {kid}; it signs {from}");
                Ok(())
            })
        }
        Command::Admin {
            command: AdminCommand::Unlock { tenant, user },
        } => {
            let _telemetry = telemetry::init(&config.log, &config.tracing);
            run(async {
                unlock_account(&config, &tenant, &user).await?;
                println!("unlocked {user} in {tenant}");
                Ok(())
            })
        }
    }
}

/// Runs `work` on a multi-threaded runtime; its error is printed.
#[expect(
    clippy::print_stderr,
    reason = "a command-line tool answers on the terminal"
)]
fn run(work: impl Future<Output = Result<(), Box<dyn std::error::Error>>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pake: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pake: {e}");
            ExitCode::FAILURE
        }
    }
}

#[expect(
    clippy::print_stdout,
    reason = "a command-line tool answers on the terminal"
)]
async fn serve(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let app = Application::build(config).await?;
    // Signal handlers go in before the server is announced, so a SIGTERM right after start-up is
    // already a graceful shutdown.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let handle = app.handle();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutdown requested: no new connections; finishing in-flight requests");
        handle.stop(true).await;
    });
    if let BootstrapOutcome::Created {
        generated_password: Some(password),
        ..
    } = app.bootstrap()
    {
        // Printed once, on the terminal only: never logged, never stored in clear.
        println!(
            "\nThe platform super admin '{}' was created (tenant 'platform').\n\
             One-time password (shown only now; change it at first login): {}\n",
            config.bootstrap.admin_username,
            password.expose()
        );
    }
    println!(
        "PAKE listening on http://{}:{}",
        config.server.bind.ip(),
        app.port()
    );
    tracing::info!(port = app.port(), "serving");
    app.run_until_stopped().await?;
    tracing::info!("shutdown complete");
    Ok(())
}
