//! Files that must be regular files: the config files and the runtime directory's files.
//!
//! Invariant: such a file is opened non-blocking (a FIFO with no writer cannot stall
//! the open) and checked with `fstat` on the opened handle (no race with a rename)
//! before a byte is read or written: a FIFO, socket, device or directory is an error at
//! once.

use std::fs::File;

/// `file` with its length, if it is a regular file; else an error saying what it is.
pub fn only_regular(file: File) -> std::io::Result<(File, u64)> {
    let metadata = file.metadata()?;
    let kind = metadata.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(std::io::Error::other(format!("it is {what}")));
    }
    Ok((file, metadata.len()))
}

/// The flag that keeps opening a FIFO from waiting for a writer.
#[cfg(unix)]
pub const NONBLOCK: rustix::fs::OFlags = rustix::fs::OFlags::NONBLOCK;
