//! The `pake` binary: `pake serve` (default), `pake migrate`, `pake config`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pake::config::Config;
use pake::startup::{Application, migrate, open_store};
use pake::telemetry;
use pake_core::BootstrapOutcome;

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
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
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
            match runtime.block_on(serve(&config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("pake: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[allow(clippy::print_stdout)]
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
