//! A `redis-server` of a test's (or a benchmark's) own, on a free loopback
//! port; stopped when dropped.
#![allow(dead_code)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts one and waits until it accepts connections, or says why not.
pub fn start() -> Result<RedisServer, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))?;
    let child = spawn(port, &["--appendonly", "no"])?;
    Ok(RedisServer {
        child,
        url: format!("redis://127.0.0.1:{port}"),
    })
}

/// `redis-server` on `port` (loopback, no RDB snapshots) with `extra`
/// arguments, once it accepts connections.
pub fn spawn(port: u16, extra: &[&str]) -> Result<Child, String> {
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("no redis-server on this machine ({e})"))?;
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("redis-server did not start".to_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

/// `SINCH_TEST_REDIS_URL` when set (CI's server), else a server of our own.
pub fn url() -> Result<(String, Option<RedisServer>), String> {
    if let Some(url) = std::env::var("SINCH_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Ok((url, None));
    }
    let own = start()?;
    Ok((own.url.clone(), Some(own)))
}
