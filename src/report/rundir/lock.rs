//! The lock file of a run directory: one process writes a run at a time.
//!
//! `DIR/.lock` is created exclusively and holds the owner's process id; the owner also
//! holds an advisory lock (`flock`) on it for as long as it runs. The operating system drops
//! that advisory lock when its holder exits, however it exits, so a lock file whose advisory
//! lock can be taken was left by a dead process and is taken over (with a warning) instead of
//! blocking the directory for ever. The file is removed when the owner drops its [`RunLock`].

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// An exclusive claim on a run directory, released (and its file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    file: File,
}

/// Whether `file` (open) is still the file at `path` (not unlinked or replaced meanwhile).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.sync_all()
}

fn read_owner(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut s);
    match s.trim() {
        "" => "unknown".to_string(),
        pid => pid.to_string(),
    }
}

impl RunLock {
    /// Takes the lock of the existing directory `dir`. Fails at once, naming the owner's
    /// process id, when a live process holds it; a lock left by a dead process is taken over
    /// and the returned warning says so.
    pub fn acquire(dir: &Path) -> Result<(RunLock, Option<String>)> {
        let path = dir.join(LOCK_FILE);
        for _ in 0..100 {
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    match file.try_lock() {
                        Ok(()) => {}
                        // Another process opened the new file between our create and lock.
                        Err(TryLockError::WouldBlock) => continue,
                        Err(TryLockError::Error(e)) => {
                            return Err(e).with_context(|| format!("locking {}", path.display()));
                        }
                    }
                    write_pid(&mut file).with_context(|| format!("writing {}", path.display()))?;
                    return Ok((RunLock { path, file }, None));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
                        Ok(f) => f,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => {
                            return Err(e).with_context(|| format!("opening {}", path.display()));
                        }
                    };
                    match file.try_lock() {
                        Err(TryLockError::WouldBlock) => bail!(
                            "{} is in use by another physlearn process (pid {}, lock file {}); \
                             wait for it to finish or stop it, or choose another directory",
                            dir.display(),
                            read_owner(&mut file),
                            path.display()
                        ),
                        Err(TryLockError::Error(e)) => {
                            return Err(e).with_context(|| format!("locking {}", path.display()));
                        }
                        Ok(()) if !same_file(&file, &path) => continue,
                        Ok(()) => {
                            let owner = read_owner(&mut file);
                            write_pid(&mut file)
                                .with_context(|| format!("writing {}", path.display()))?;
                            let warning = format!(
                                "taking over the lock {} left by process {owner}, which is no \
                                 longer running",
                                path.display()
                            );
                            return Ok((RunLock { path, file }, Some(warning)));
                        }
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        bail!(
            "could not take the lock {}: it keeps changing hands",
            path.display()
        )
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still held, so no other process can take this file in between.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}
