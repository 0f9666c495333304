//! Objects being written: up to one part is buffered; a small object is one PUT, a larger one
//! a multipart upload with several parts in flight. Nothing is visible under the key until
//! `finish` succeeds, and an abandoned upload is aborted so its parts do not linger.

use std::sync::Arc;

use dl_plugin_api::sdk::{log, Error, ObjectMeta, ObjectWriter, Result};
use object_store::{path::Path, MultipartUpload, ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;

use crate::{
    runtime::{block_on, bounded},
    store::{Failure, Remote},
};

/// Most parts one upload may have (S3's and GCS's limit; Azure allows more).
pub const MAX_PARTS: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Finished,
    /// Failed or aborted: nothing more can be written.
    Closed,
}

/// The outcome of one part upload, with its number for messages.
type PartResult = (u64, object_store::Result<()>);

/// An object being written.
pub struct RemoteWriter {
    remote: Arc<Remote>,
    path: Path,
    uri: String,
    part_size: usize,
    buffer: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    parts: JoinSet<PartResult>,
    next_part: u64,
    written: u64,
    state: State,
}

impl std::fmt::Debug for RemoteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWriter")
            .field("uri", &self.uri)
            .field("part_size", &self.part_size)
            .field("written", &self.written)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl RemoteWriter {
    /// Starts writing `path` (shown as `uri`); `size_hint` is the expected size, if known.
    pub fn new(remote: Arc<Remote>, path: Path, uri: String, size_hint: Option<u64>) -> Self {
        let part_size = if remote.multipart {
            // A known large size gets parts big enough to stay within the part-count limit.
            let needed = size_hint.map_or(0, |size| size.div_ceil(MAX_PARTS));
            remote
                .tuning
                .part_size
                .max(usize::try_from(needed).unwrap_or(usize::MAX))
        } else {
            usize::MAX
        };
        let first = size_hint
            .and_then(|size| usize::try_from(size).ok())
            .unwrap_or(0)
            .min(part_size)
            .min(remote.tuning.part_size);
        RemoteWriter {
            remote,
            path,
            uri,
            part_size,
            buffer: Vec::with_capacity(first),
            upload: None,
            parts: JoinSet::new(),
            next_part: 1,
            written: 0,
            state: State::Open,
        }
    }

    fn check_open(&self) -> Result<()> {
        match self.state {
            State::Open => Ok(()),
            State::Finished => Err(Error::io(format!(
                "write {}: the object is already finished",
                self.uri
            ))),
            State::Closed => Err(Error::io(format!(
                "write {}: the upload failed or was aborted; start the object again",
                self.uri
            ))),
        }
    }

    /// Grows the buffer for `more` bytes, by doubling but never past one part.
    fn reserve(&mut self, more: usize) {
        let needed = self.buffer.len() + more;
        if needed > self.buffer.capacity() {
            let target = needed
                .max(self.buffer.capacity().saturating_mul(2))
                .min(self.part_size.max(needed));
            self.buffer.reserve_exact(target - self.buffer.len());
        }
    }

    /// Starts the multipart upload if needed and sends the buffered part, first waiting while
    /// `max_concurrency` parts are in flight so memory stays within part size × concurrency.
    async fn send_part(&mut self) -> Result<()> {
        if self.next_part > MAX_PARTS {
            return Err(Error::io(format!(
                "PUT {}: more than {MAX_PARTS} parts of {} bytes; raise storage_options.part_size_bytes",
                self.uri, self.part_size
            )));
        }
        if self.upload.is_none() {
            let remote = &self.remote;
            let upload = remote
                .request(
                    "PUT (start multipart upload)",
                    &self.uri,
                    remote.store.put_multipart(&self.path),
                )
                .await?;
            self.upload = Some(upload);
        }
        while self.parts.len() >= self.remote.tuning.max_concurrency {
            self.join_one().await?;
        }
        let data = std::mem::take(&mut self.buffer);
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::io(format!(
                "PUT {}: no upload in progress",
                self.uri
            )));
        };
        let part = upload.put_part(PutPayload::from(data));
        let number = self.next_part;
        self.next_part += 1;
        self.parts.spawn(async move { (number, part.await) });
        Ok(())
    }

    /// Waits for one part in flight to finish.
    async fn join_one(&mut self) -> Result<()> {
        let remote = Arc::clone(&self.remote);
        let joined = bounded(remote.tuning.deadline, self.parts.join_next()).await;
        let failure = match joined {
            None => Failure::Deadline(remote.tuning.deadline),
            Some(None | Some(Ok((_, Ok(()))))) => return Ok(()),
            Some(Some(Ok((number, Err(err))))) => {
                let op = format!("PUT part {number} of");
                return Err(remote.error(&op, &self.uri, &Failure::Client(err)));
            }
            Some(Some(Err(join))) => {
                return Err(Error::io(format!(
                    "PUT {} at {}: a part upload stopped: {join}",
                    self.uri, remote.endpoint
                )))
            }
        };
        Err(remote.error("PUT part of", &self.uri, &failure))
    }

    /// Uploads what is buffered and completes the object.
    async fn complete(&mut self) -> Result<()> {
        let remote = Arc::clone(&self.remote);
        if self.upload.is_none() {
            let data = std::mem::take(&mut self.buffer);
            remote
                .request(
                    "PUT",
                    &self.uri,
                    remote.store.put(&self.path, PutPayload::from(data)),
                )
                .await?;
            return Ok(());
        }
        if !self.buffer.is_empty() {
            self.send_part().await?;
        }
        while !self.parts.is_empty() {
            self.join_one().await?;
        }
        let Some(upload) = self.upload.as_mut() else {
            return Err(Error::io(format!(
                "PUT {}: no upload in progress",
                self.uri
            )));
        };
        remote
            .request(
                "PUT (complete multipart upload)",
                &self.uri,
                upload.complete(),
            )
            .await?;
        self.upload = None;
        Ok(())
    }

    /// Stops the parts in flight and aborts the upload; failures are logged, as there is no
    /// caller left to tell.
    async fn discard(&mut self) {
        self.parts.abort_all();
        while self.parts.join_next().await.is_some() {}
        let Some(mut upload) = self.upload.take() else {
            return;
        };
        let remote = Arc::clone(&self.remote);
        let message = match remote.call(upload.abort()).await {
            Ok(()) => return,
            Err(failure) => {
                remote
                    .error("DELETE (abort multipart upload)", &self.uri, &failure)
                    .message
            }
        };
        log::warn(
            "object-store",
            &format!(
                "{message}; its uploaded parts stay (invisible) until a lifecycle rule removes them"
            ),
        );
    }

    /// Marks the writer closed and aborts what was started.
    fn close(&mut self) {
        self.state = State::Closed;
        self.buffer = Vec::new();
        if self.upload.is_some() || !self.parts.is_empty() {
            if let Err(err) = block_on(self.discard()) {
                log::warn("object-store", &err.message);
            }
        }
    }
}

impl ObjectWriter for RemoteWriter {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.check_open()?;
        let mut rest = data;
        while !rest.is_empty() {
            if self.buffer.len() >= self.part_size {
                // Parts go out only once more data proves the object is larger than one part.
                if let Err(err) = block_on(self.send_part()).and_then(|sent| sent) {
                    self.close();
                    return Err(err);
                }
                self.buffer = Vec::with_capacity(self.part_size);
            }
            let take = (self.part_size - self.buffer.len()).min(rest.len());
            self.reserve(take);
            self.buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        self.written += data.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<ObjectMeta> {
        self.check_open()?;
        match block_on(self.complete()).and_then(|done| done) {
            Ok(()) => {
                self.state = State::Finished;
                Ok(ObjectMeta::new(self.written))
            }
            Err(err) => {
                self.close();
                Err(err)
            }
        }
    }

    fn abort(&mut self) {
        if self.state != State::Finished {
            self.close();
        }
    }
}

impl Drop for RemoteWriter {
    fn drop(&mut self) {
        if self.state == State::Open {
            self.close();
        }
    }
}
