//! Request bodies read from a slice of a file: a blocking thread reads it with `pread`
//! into a few buffers that are used again and again, and hands each one to the HTTP
//! stack as `Bytes` without a copy. A buffer goes back to the pool when the stack has
//! written it, so a transfer of any size touches the same few hundred kilobytes.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

/// Read size: large enough for throughput, small enough for memory.
pub(crate) const CHUNK: usize = 256 * 1024;
/// Chunks read ahead of the socket; with one being read and one being written, about
/// this many plus two buffers exist per transfer.
const READ_AHEAD: usize = 2;

/// What the reader found, for the caller to tell a network error from a file that
/// shrank while it was sent.
#[derive(Debug, Default)]
pub(crate) struct ReadReport {
    pub read: AtomicU64,
    pub shrank: AtomicBool,
}

/// Streams `len` bytes of `file` from `offset`. Fewer bytes than `len` (the file shrank)
/// ends the stream with an `UnexpectedEof` error and sets `report.shrank`.
pub(crate) fn stream_slice(
    file: File,
    offset: u64,
    len: u64,
    report: Arc<ReadReport>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || read_into(&file, offset, len, &report, &sender));
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
}

fn read_into(
    file: &File,
    offset: u64,
    len: u64,
    report: &ReadReport,
    sender: &mpsc::Sender<io::Result<Bytes>>,
) {
    let pool = Arc::new(Pool::default());
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(CHUNK as u64) as usize;
        let mut buffer = pool.take();
        buffer.resize(want, 0);
        let filled = match read_fully_at(file, &mut buffer, offset + done) {
            Ok(filled) => filled,
            Err(error) => {
                let _ = sender.blocking_send(Err(error));
                return;
            }
        };
        done += filled as u64;
        report.read.store(done, Ordering::Relaxed);
        if filled < want {
            report.shrank.store(true, Ordering::Relaxed);
            let shrank = io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank during upload");
            let _ = sender.blocking_send(Err(shrank));
            return;
        }
        let chunk = Bytes::from_owner(Pooled {
            buffer,
            pool: pool.clone(),
        });
        // The request was dropped (cancelled, or failed): stop reading.
        if sender.blocking_send(Ok(chunk)).is_err() {
            return;
        }
    }
}

/// Reads from `at` until `buffer` is full or the file ends; the count read. Positioned:
/// several readers may share one open file.
pub(crate) fn read_fully_at(file: &File, buffer: &mut [u8], at: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match read_at(file, &mut buffer[filled..], at + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, at)
}

/// Windows moves the file's cursor too; nothing else reads through this handle.
#[cfg(windows)]
fn read_at(file: &File, buffer: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buffer, at)
}

/// Buffers written out and ready to be filled again.
#[derive(Default)]
struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    fn take(&self) -> Vec<u8> {
        let reused = self.free.lock().map(|mut free| free.pop()).ok().flatten();
        reused.unwrap_or_else(|| Vec::with_capacity(CHUNK))
    }
}

/// A filled buffer lent to the HTTP stack; dropping it returns it to the pool.
struct Pooled {
    buffer: Vec<u8>,
    pool: Arc<Pool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Ok(mut free) = self.pool.free.lock() {
            free.push(std::mem::take(&mut self.buffer));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    async fn collect(
        file: File,
        offset: u64,
        len: u64,
    ) -> (Vec<u8>, Option<io::Error>, Arc<ReadReport>) {
        let report = Arc::new(ReadReport::default());
        let mut stream = std::pin::pin!(stream_slice(file, offset, len, report.clone()));
        let (mut bytes, mut error) = (Vec::new(), None);
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(e) => error = Some(e),
            }
        }
        (bytes, error, report)
    }

    #[tokio::test]
    async fn a_slice_arrives_byte_for_byte_across_reused_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.dng");
        let content = pattern(CHUNK * 5 + 1234);
        std::fs::write(&path, &content).unwrap();
        let offset = CHUNK as u64 + 17;
        let len = (CHUNK * 3 + 99) as u64;
        let (bytes, error, report) = collect(File::open(&path).unwrap(), offset, len).await;
        assert!(error.is_none());
        assert_eq!(bytes, content[offset as usize..(offset + len) as usize]);
        assert_eq!(report.read.load(Ordering::Relaxed), len);
    }

    #[tokio::test]
    async fn a_file_shorter_than_announced_ends_the_body_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.dng");
        std::fs::write(&path, pattern(1000)).unwrap();
        let (bytes, error, report) = collect(File::open(&path).unwrap(), 0, 5000).await;
        assert_eq!(bytes.len(), 0, "the short chunk is not sent");
        assert_eq!(error.unwrap().kind(), io::ErrorKind::UnexpectedEof);
        assert!(report.shrank.load(Ordering::Relaxed));
    }
}
