//! PAKE's automation, in Rust so it runs wherever cargo does.
//!
//! - `cargo xtask test`: every test in the workspace, against the local PostgreSQL and Redis
//!   (`PAKE_TEST_DATABASE_URL`, `PAKE_TEST_REDIS_URL`); fails, never skips, when they are missing.
//! - `cargo xtask ci`: exactly what CI runs: fmt check, clippy `-D warnings`, cargo-deny, test.
//! - `cargo xtask bench`: release build, load over loopback, one table of figures per run.
//! - `cargo xtask provision`: the end-to-end tenant provisioning workflow against a live server.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool answers on the terminal"
)]
// Benchmark figures are floats computed from counters far below 2^52.
#![expect(
    clippy::cast_precision_loss,
    reason = "counts and milliseconds far below 2^52"
)]

mod bench;
mod ci;
mod provision;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => ci::test(&args[1..]),
        Some("ci") => ci::ci(),
        Some("bench") => bench::run(&args[1..]),
        Some("provision") => provision::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 test [-- <test filter>]  run every test (needs PostgreSQL and Redis)\n  \
                 ci                       fmt check, clippy -D warnings, cargo deny, test\n  \
                 bench [--duration S] [--connections N] [--scenario NAME]\n                           \
                 load-test a release build and print the figures\n  \
                 provision --tenant NAME --admin-password P --tenant-admin-password P [--plan PLAN]\n                           \
                 [--user name:role]... [--url URL]   create a tenant end to end on a live server"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
