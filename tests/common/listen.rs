//! `sinch-webhooks listen` as a process: started on a port, its lines read
//! as they come.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Listener {
    pub child: Child,
    /// Where it listens, e.g. `http://127.0.0.1:4321/sinch`.
    pub url: String,
    /// Its stdout, a line at a time.
    pub lines: mpsc::Receiver<String>,
    /// Its stderr (after the `listening on` line).
    pub errors: mpsc::Receiver<String>,
}

impl Listener {
    /// The next stdout line, waiting at most `wait`.
    pub fn line(&self, wait: Duration) -> Option<String> {
        self.lines.recv_timeout(wait).ok()
    }

    /// Every stderr line so far.
    pub fn stderr(&self) -> Vec<String> {
        self.errors.try_iter().collect()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `sinch-webhooks listen ARGS`, once it says where it listens.
pub fn start(args: &[&str]) -> Listener {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sinch-webhooks"))
        .arg("listen")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sinch-webhooks");
    let (line_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let (error_tx, errors) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = error_tx.send(line);
        }
    });
    let url = loop {
        match errors.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("listening on ") {
                    break rest.split_whitespace().next().unwrap_or(rest).to_owned();
                }
            }
            Err(_) => panic!("listen did not start: {:?}", child.try_wait()),
        }
    };
    Listener {
        child,
        url,
        lines,
        errors,
    }
}
