//! Objects open for reading: ranged GETs against the size learnt when the object was opened.

use std::sync::Arc;

use dl_plugin_api::sdk::{Error, ObjectReader, Result};
use futures::TryStreamExt;
use object_store::{path::Path, ObjectStoreExt};

use crate::{runtime::block_on, store::Remote};

/// An object open for reading.
#[derive(Debug)]
pub struct RemoteReader {
    remote: Arc<Remote>,
    path: Path,
    uri: String,
    size: u64,
}

impl RemoteReader {
    /// Reads `path` (shown as `uri`), which is `size` bytes long.
    pub fn new(remote: Arc<Remote>, path: Path, uri: String, size: u64) -> Self {
        RemoteReader {
            remote,
            path,
            uri,
            size,
        }
    }

    /// Fills `dst` from `start` with one ranged GET.
    async fn fetch(&self, start: u64, dst: &mut [u8]) -> Result<()> {
        let end = start + dst.len() as u64;
        let remote = &self.remote;
        let bytes = remote
            .request(
                "GET",
                &self.uri,
                remote.store.get_range(&self.path, start..end),
            )
            .await?;
        if bytes.len() != dst.len() {
            let site = remote.site("GET", &self.uri);
            let message = format!(
                "{site}: object is shorter than expected: bytes {start}..{end} of an object of {} bytes \
                 came back as {} bytes (changed or truncated while being read?)",
                self.size,
                bytes.len()
            );
            return Err(if bytes.len() < dst.len() {
                Error::corrupt(message)
            } else {
                Error::io(format!(
                    "{site}: the service returned {} bytes for the {}-byte range {start}..{end}",
                    bytes.len(),
                    dst.len()
                ))
            });
        }
        dst.copy_from_slice(&bytes);
        Ok(())
    }

    /// Fills `dst` from `offset`, in concurrent requests of the transfer size when it is large.
    async fn fill(&self, offset: u64, dst: &mut [u8]) -> Result<()> {
        let chunk = usize::try_from(self.remote.tuning.transfer_size)
            .unwrap_or(usize::MAX)
            .max(1);
        if dst.len() <= chunk {
            return self.fetch(offset, dst).await;
        }
        futures::stream::iter(dst.chunks_mut(chunk).enumerate().map(Ok))
            .try_for_each_concurrent(self.remote.tuning.max_concurrency, |(i, part)| {
                self.fetch(offset + (i * chunk) as u64, part)
            })
            .await
    }
}

impl ObjectReader for RemoteReader {
    fn size(&mut self) -> Result<u64> {
        Ok(self.size)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<u64> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let want = (self.size - offset).min(buf.len() as u64) as usize;
        let dst = &mut buf[..want];
        block_on(self.fill(offset, dst))??;
        Ok(want as u64)
    }
}
