//! A test double of the `ObjectStore` interface: forwards to an in-memory store, can return
//! fewer bytes than a ranged GET asked for, and records how multipart uploads were driven.
//!
//! `ObjectStore` is an `async_trait`; its methods are written out here as that macro expands
//! them, which spares the crate a dependency for tests.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use object_store::{
    path::Path, CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    UploadPart,
};

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the double observed and what it should do.
#[derive(Debug, Default)]
pub struct Knobs {
    /// Bytes dropped from the end of every ranged GET.
    pub truncate: AtomicU64,
    /// Multipart uploads started.
    pub uploads: AtomicUsize,
    /// Single PUTs.
    pub puts: AtomicUsize,
    /// Parts sent.
    pub parts: AtomicUsize,
    /// Parts in flight now.
    pub in_flight: AtomicUsize,
    /// The most parts ever in flight at once.
    pub max_in_flight: AtomicUsize,
    /// Multipart uploads aborted.
    pub aborts: AtomicUsize,
    /// Ranged GETs.
    pub gets: AtomicUsize,
}

/// The double.
#[derive(Debug)]
pub struct Double {
    /// The store that holds the data.
    pub inner: Arc<dyn ObjectStore>,
    /// Faults to inject and counts of what happened.
    pub knobs: Arc<Knobs>,
}

impl fmt::Display for Double {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Double({})", self.inner)
    }
}

impl ObjectStore for Double {
    fn put_opts<'a, 'b, 'c>(
        &'a self,
        location: &'b Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Boxed<'c, Result<PutResult>>
    where
        'a: 'c,
        'b: 'c,
        Self: 'c,
    {
        self.knobs.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put_opts(location, payload, opts)
    }

    fn put_multipart_opts<'a, 'b, 'c>(
        &'a self,
        location: &'b Path,
        opts: PutMultipartOptions,
    ) -> Boxed<'c, Result<Box<dyn MultipartUpload>>>
    where
        'a: 'c,
        'b: 'c,
        Self: 'c,
    {
        let knobs = Arc::clone(&self.knobs);
        Box::pin(async move {
            knobs.uploads.fetch_add(1, Ordering::SeqCst);
            let inner = self.inner.put_multipart_opts(location, opts).await?;
            Ok(Box::new(CountingUpload { inner, knobs }) as Box<dyn MultipartUpload>)
        })
    }

    fn get_opts<'a, 'b, 'c>(
        &'a self,
        location: &'b Path,
        options: GetOptions,
    ) -> Boxed<'c, Result<GetResult>>
    where
        'a: 'c,
        'b: 'c,
        Self: 'c,
    {
        Box::pin(async move {
            let ranged = options.range.is_some();
            let mut result = self.inner.get_opts(location, options).await?;
            if !ranged {
                return Ok(result);
            }
            self.knobs.gets.fetch_add(1, Ordering::SeqCst);
            let cut = self.knobs.truncate.load(Ordering::SeqCst);
            if cut == 0 {
                return Ok(result);
            }
            let empty = GetResultPayload::Stream(futures::stream::empty().boxed());
            let GetResultPayload::Stream(stream) = std::mem::replace(&mut result.payload, empty)
            else {
                unreachable!("the in-memory store streams");
            };
            let chunks: Vec<_> = stream.try_collect().await?;
            let total = result.range.end - result.range.start;
            let mut keep = total.saturating_sub(cut) as usize;
            let kept: Vec<Result<_>> = chunks
                .into_iter()
                .filter_map(|chunk| {
                    let n = keep.min(chunk.len());
                    keep -= n;
                    (n > 0).then(|| Ok(chunk.slice(..n)))
                })
                .collect();
            result.range.end = result.range.start + total.saturating_sub(cut);
            result.payload = GetResultPayload::Stream(futures::stream::iter(kept).boxed());
            Ok(result)
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    fn list_with_delimiter<'a, 'b, 'c>(
        &'a self,
        prefix: Option<&'b Path>,
    ) -> Boxed<'c, Result<ListResult>>
    where
        'a: 'c,
        'b: 'c,
        Self: 'c,
    {
        self.inner.list_with_delimiter(prefix)
    }

    fn copy_opts<'a, 'b, 'd, 'c>(
        &'a self,
        from: &'b Path,
        to: &'d Path,
        options: CopyOptions,
    ) -> Boxed<'c, Result<()>>
    where
        'a: 'c,
        'b: 'c,
        'd: 'c,
        Self: 'c,
    {
        self.inner.copy_opts(from, to, options)
    }
}

/// Counts parts and how many are in flight; each part takes a little while, so uploads
/// that run parts concurrently show it.
#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    knobs: Arc<Knobs>,
}

impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let knobs = Arc::clone(&self.knobs);
        knobs.parts.fetch_add(1, Ordering::SeqCst);
        let now = knobs.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        knobs.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let part = self.inner.put_part(data);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let result = part.await;
            knobs.in_flight.fetch_sub(1, Ordering::SeqCst);
            result
        })
    }

    fn complete<'a, 'c>(&'a mut self) -> Boxed<'c, Result<PutResult>>
    where
        'a: 'c,
        Self: 'c,
    {
        self.inner.complete()
    }

    fn abort<'a, 'c>(&'a mut self) -> Boxed<'c, Result<()>>
    where
        'a: 'c,
        Self: 'c,
    {
        self.knobs.aborts.fetch_add(1, Ordering::SeqCst);
        self.inner.abort()
    }
}
