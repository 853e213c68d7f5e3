//! Files that appear whole or not at all.
//!
//! A file is written under a hidden temporary name in the folder of its final path
//! (`.name.khop-tmp-<pid>-<n>`), synced, then renamed over the final path, and the folder is synced.
//! A run killed half way, a full disk or a file-size limit leaves the earlier file (if any)
//! untouched; the temporary file is removed on error and when a writer is dropped unfinished.
//! Only a run killed outright (SIGKILL, power loss) can leave a hidden temporary file behind.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Temporary files created by this process so far, to make their names unique.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file being written for `path`. Dropped without [`AtomicFile::commit`], it removes what it
/// wrote.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    path: PathBuf,
    /// The temporary file; `None` when writing in place (the final path is not a regular file,
    /// such as `/dev/stdout` or a named pipe) or once committed.
    temp: Option<PathBuf>,
}

impl AtomicFile {
    /// Creates the temporary file for `path`.
    pub(crate) fn create(path: &Path) -> Result<(AtomicFile, File)> {
        // A device or pipe cannot be replaced by a rename: write to it directly.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = File::create(path).map_err(|e| Error::io(path, "create", e))?;
            return Ok((AtomicFile { path: path.to_owned(), temp: None }, file));
        }
        let name = path
            .file_name()
            .ok_or_else(|| Error::invalid(format!("{}: not a file name to write to", path.display())))?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".khop-tmp-{}-{n}", std::process::id()));
        let temp = path.with_file_name(temp_name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::io(path, "create", e))?;
        Ok((AtomicFile { path: path.to_owned(), temp: Some(temp) }, file))
    }

    /// The final path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs `file` to disk, renames it over the final path and syncs the folder.
    pub(crate) fn commit(mut self, file: &File) -> Result<()> {
        // A device or pipe written in place has nothing to sync or rename.
        let Some(temp) = self.temp.clone() else { return Ok(()) };
        file.sync_all().map_err(|e| Error::io(&self.path, "sync", e))?;
        std::fs::rename(&temp, &self.path).map_err(|e| Error::io(&self.path, "rename into place", e))?;
        self.temp = None;
        sync_folder(&self.path)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Syncs the folder holding `path`, so that a rename survives a power loss. Folders cannot be
/// opened for syncing on every platform: only Unix does it.
fn sync_folder(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let dir = File::open(folder).map_err(|e| Error::io(folder, "open", e))?;
        dir.sync_all().map_err(|e| Error::io(folder, "sync", e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes `bytes` to `path` whole: readers see the earlier file or the new one, never a part.
/// For summaries, models and configurations.
pub fn write_atomic(path: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> Result<()> {
    let path = path.as_ref();
    let (atomic, mut file) = AtomicFile::create(path)?;
    file.write_all(bytes.as_ref()).map_err(|e| Error::io(path, "write", e))?;
    atomic.commit(&file)
}
