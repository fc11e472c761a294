//! The machine's argon2id ceiling: hashes per second with every core hashing (OWASP parameters,
//! m=19456 KiB, t=2, p=1), the upper bound of logins per second. `cargo xtask bench` runs it in
//! release to put the login figure in proportion. Each thread reuses one memory block, as PAKE's
//! hasher does, so the figure is the best this machine can do.
//!
//! Usage: `argon2_rate [seconds]`; prints `<hashes per second> <ms per hash>`.

#![expect(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a command-line tool answers on the terminal"
)]

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let params = Params::new(19_456, 2, 1, Some(32)).unwrap_or(Params::DEFAULT);
                let mut memory = vec![argon2::Block::default(); params.block_count()];
                let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                let mut out = [0u8; 32];
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let _ = argon.hash_password_into_with_memory(
                        b"Correct-Horse-9-Battery",
                        b"0123456789abcdef",
                        &mut out,
                        &mut memory,
                    );
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = workers.into_iter().filter_map(|w| w.join().ok()).sum();
    let elapsed = start.elapsed().as_secs_f64();
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and milliseconds far below 2^52"
    )]
    let rate = total as f64 / elapsed;
    println!("{rate:.1} {:.2}", 1000.0 * threads as f64 / rate);
}
