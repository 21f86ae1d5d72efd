//! Container churn through containerd's CRI, for the CRI benchmark
//! (`tests/bench/cri-churn/run.sh`): in one pod sandbox, starts containers
//! that exit at once (`true`) at a steady rate for a while, from several
//! connections at once as a busy kubelet would, and removes each after it
//! exits. Prints the full id of every container it started on stdout, one
//! per line, and a summary on stderr.
//!
//! It measures nothing itself: the benchmark reads what enrich made of
//! these containers.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use clap::Parser;
use kestrel_tests::cri::{Client, Pod, Spec};

#[derive(Parser)]
#[command(about = "Starts short-lived containers through CRI at a steady rate")]
struct Args {
    /// containerd's CRI socket.
    #[arg(long)]
    socket: PathBuf,
    /// Containers started per second.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// For how long, in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Connections starting containers at once. containerd 1.6 slows down
    /// sharply past three at once in one sandbox (eight: under 4/s, with
    /// some starts failing; three: 17/s on a 2-core machine).
    #[arg(long, default_value_t = 3)]
    workers: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match churn(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kestrel-cri-churn: {e}");
            ExitCode::FAILURE
        }
    }
}

fn churn(args: &Args) -> Result<(), String> {
    if !(args.rate > 0.0 && args.seconds > 0.0 && args.workers > 0) {
        return Err("--rate, --seconds and --workers must be positive".into());
    }
    let pod = Pod::run(&args.socket, &format!("kt-churn-{}", std::process::id()))?;
    let total = (args.rate * args.seconds).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    // Up to a second of starts may wait for a worker before one is
    // skipped: a runtime that keeps the rate on average is not penalised
    // for a hiccup.
    let backlog = (args.rate.ceil() as usize).max(args.workers);
    let (tx, rx) = mpsc::sync_channel::<u64>(backlog);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let (ids_tx, ids_rx) = mpsc::channel::<String>();
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started_at = Instant::now();
    let mut workers = Vec::new();
    for w in 0..args.workers {
        let mut client = Client::connect(&args.socket)?;
        let (rx, ids_tx, failed, stop) = (rx.clone(), ids_tx.clone(), failed.clone(), stop.clone());
        let sandbox = pod.sandbox.clone();
        workers.push(std::thread::spawn(move || {
            let mut live: Vec<String> = Vec::new();
            loop {
                let n = match rx.lock().map(|r| r.recv()) {
                    Ok(Ok(n)) => n,
                    _ => break,
                };
                let name = format!("churn-{w}-{n}");
                let spec = Spec {
                    name: &name,
                    command: &["true"],
                    ..Default::default()
                };
                match client.start(&sandbox, &spec) {
                    Ok(id) => {
                        let _ = ids_tx.send(id.clone());
                        live.push(id);
                    }
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("kestrel-cri-churn: {e}");
                    }
                }
                // Containers exit at once; the ones started two rounds ago
                // are removed, so that the runtime's list stays short.
                while live.len() > 2 {
                    let id = live.remove(0);
                    let _ = client.wait(&id);
                    let _ = client.remove(&id);
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            for id in live {
                let _ = client.wait(&id);
                let _ = client.remove(&id);
            }
        }));
    }
    drop(ids_tx);
    // Work is handed out on time or not at all: when the workers are a
    // second behind (the runtime is slower than the rate asked), that start
    // is skipped and counted, so the run lasts --seconds whatever happens.
    let mut skipped = 0u64;
    for n in 0..total {
        let due = started_at + interval * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match tx.try_send(n) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => skipped += 1,
            Err(mpsc::TrySendError::Disconnected(_)) => break,
        }
    }
    let paced = started_at.elapsed();
    drop(tx);
    stop.store(true, Ordering::Relaxed);
    let mut out = std::io::stdout().lock();
    let mut started = 0u64;
    for id in ids_rx {
        started += 1;
        writeln!(out, "{id}").map_err(|e| format!("stdout: {e}"))?;
    }
    for w in workers {
        let _ = w.join();
    }
    eprintln!(
        "kestrel-cri-churn: {started} containers started in {:.1} s ({:.1}/s asked, {:.1}/s achieved), {} failed, {skipped} skipped (a second behind)",
        paced.as_secs_f64(),
        args.rate,
        started as f64 / paced.as_secs_f64(),
        failed.load(Ordering::Relaxed)
    );
    drop(pod);
    Ok(())
}
