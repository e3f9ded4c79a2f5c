//! Running a user's command per event (`listen --exec`, `work --exec`).
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;

/// Runs `command` with `sh -c`: `body` on stdin, `env` in its environment,
/// its output on our stderr (stdout is for event lines). `Ok` for exit 0;
/// otherwise, or still running after `limit` (then killed, with its process
/// group), why. The command runs in a process group of its own, killed
/// whole when the run is dropped; on Linux its shell also dies with us,
/// even by SIGKILL (processes it starts do not: `exec` the last one).
pub async fn run(
    command: &str,
    env: &[(&str, String)],
    body: &[u8],
    limit: Duration,
    limit_name: &str,
) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh");
    child
        .arg("-c")
        .arg(command)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(stderr_stdio())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    #[cfg(unix)]
    child.process_group(0);
    die_with_parent(&mut child);
    let mut child = child.spawn().map_err(|e| format!("cannot run: {e}"))?;
    let mut group = Group(child.id());
    if let Some(mut stdin) = child.stdin.take() {
        let body = body.to_vec();
        // A command that does not read its input is not an error.
        tokio::spawn(async move {
            let _ = stdin.write_all(&body).await;
        });
    }
    let waited = tokio::time::timeout(limit, child.wait()).await;
    if let Ok(Ok(status)) = &waited {
        // Reaped: its group is no longer ours to kill.
        group.0 = None;
        if status.success() {
            return Ok(());
        }
    }
    match waited {
        Ok(Ok(status)) => Err(format!("command failed: {status}")),
        Ok(Err(e)) => Err(format!("command failed: {e}")),
        Err(_) => Err(format!("command still running at {limit_name}: killed")),
    }
}

/// The command's process group, killed (SIGKILL) when dropped unless the
/// command was reaped: at the limit, or when the run is dropped.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.and_then(|pid| i32::try_from(pid).ok()) {
            // SAFETY: kill(2) with a negative pid signals that group only;
            // the group is the command's own (process_group(0)).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// Our stderr, for the command's stdout.
fn stderr_stdio() -> Stdio {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            return Stdio::from(fd);
        }
    }
    Stdio::inherit()
}

/// On Linux, the command is killed when this process dies, even by
/// SIGKILL: a command that finished after its runner died would handle an
/// event that is then handled again.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of ours;
    // it runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_: &mut tokio::process::Command) {}

/// Installs ring as rustls' process-wide crypto provider, unless one is
/// installed already: reqwest is built without a default (aws-lc would need
/// cmake). The one place the command does this.
pub fn install_crypto_provider() {
    // Deprecated from rustls 0.23.48 (no post-quantum key exchange in ring);
    // ring is kept for its build cost (no cmake).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}
