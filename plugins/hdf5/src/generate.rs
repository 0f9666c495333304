//! The write path: libhdf5 writes files by path, so the file is created where the host says
//! (`Output::local_path`) or in a private temporary file that is then streamed into the output.

use std::ffi::CString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use dl_plugin_api::sdk::{
    content::{ContentStream, CHUNK_BYTES},
    Error, FileSpec, Output, Result,
};
use hdf5::dataset::{AllocTime, DatasetCreate, FillTime};
use hdf5::{Dataset, Dataspace, Datatype, Extent, SimpleExtents};
use hdf5_sys::h5d::{H5Dcreate2, H5Dwrite};
use hdf5_sys::h5p::H5P_DEFAULT;

use crate::hyperslab::select_block;
use crate::layout::{descriptor, Compression, FileLayout, Options, LABELS};

/// Bytes per write when copying a temporary file into the output.
const COPY_BYTES: usize = 1 << 20;

/// Distinguishes the temporary files of concurrent generator threads.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Writes `file` into `out`.
pub fn generate(
    options: &Options,
    layout: &FileLayout,
    file: &FileSpec,
    out: &mut Output<'_>,
) -> Result<()> {
    let key = &file.key;
    if let Some(path) = out.local_path() {
        return write_file(&path, options, layout, file).map_err(|err| err.context(key));
    }
    let temp = TempFile::new().map_err(|err| err.context(key))?;
    write_file(&temp.path, options, layout, file).map_err(|err| err.context(key))?;
    let mut reader = std::fs::File::open(&temp.path).map_err(|err| temp.error("reopen", err))?;
    let mut buf = vec![0u8; COPY_BYTES];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|err| temp.error("read back", err))?;
        if n == 0 {
            return Ok(());
        }
        out.write_bytes(&buf[..n])?;
    }
}

/// A file in the temporary directory, removed when dropped (whatever happened to it).
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Creates an empty file with a name no other thread or process is using.
    fn new() -> Result<TempFile> {
        let dir = std::env::temp_dir();
        let mut last = None;
        // A crashed run with a reused pid may have left names behind; skip over them.
        for _ in 0..64 {
            let serial = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("dl-plugin-hdf5-{}-{serial}.h5", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(TempFile { path }),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last = Some(err),
                Err(err) => {
                    return Err(Error::from(err).context(format!(
                        "cannot create a temporary hdf5 file in {} (set TMPDIR to a writable \
                         directory)",
                        dir.display()
                    )))
                }
            }
        }
        Err(Error::io(format!(
            "no free temporary file name in {}: {}",
            dir.display(),
            last.map_or_else(String::new, |err| err.to_string())
        )))
    }

    fn error(&self, what: &str, err: std::io::Error) -> Error {
        Error::from(err).context(format!("{what} {}", self.path.display()))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `hdf5::Error` as an SDK error about `what`.
fn h5err(what: impl std::fmt::Display) -> impl FnOnce(hdf5::Error) -> Error {
    move |err| Error::io(format!("{what}: {err}"))
}

/// Creates the whole HDF5 file at `path`.
fn write_file(path: &Path, options: &Options, layout: &FileLayout, spec: &FileSpec) -> Result<()> {
    let shown = path.display();
    let file = hdf5::File::with_options()
        // h5py's libver='latest', as DLIO opens its files.
        .with_fapl(|fapl| fapl.libver_latest())
        // No modification times in the root group: the same spec gives the same bytes.
        .with_fcpl(|fcpl| fcpl.obj_track_times(false))
        .create(path)
        .map_err(h5err(format!("cannot create {shown}")))?;
    let mut records = layout
        .names
        .iter()
        .map(|name| create_records(&file, name, options, layout).and_then(BlockWriter::new))
        .collect::<Result<Vec<_>>>()?;
    let labels = file
        .new_dataset::<i64>()
        .shape(layout.samples() as usize)
        .create(LABELS)
        .map_err(h5err(format!("create dataset '{LABELS}'")))?;
    let mut labels = BlockWriter::new(labels)?;

    let size = options.dtype.size();
    let row = &layout.shape[1..];
    let slab: u64 = row[1..].iter().product();
    // Rows are written in pieces along their first axis so memory stays near CHUNK_BYTES
    // (one slab at least), whatever the sample size.
    let per_piece = ((CHUNK_BYTES / size) as u64 / slab).clamp(1, row[0]);
    let mut buf = vec![0u8; (per_piece * slab) as usize * size];
    let mut content = ContentStream::for_file(spec, options.dtype);
    // Contiguous records were allocated at creation: their bytes go straight to the file
    // after libhdf5 closed it, outside its global lock, so generators run in parallel.
    let direct = match records
        .iter()
        .map(|w| w.dataset.offset())
        .collect::<Option<Vec<u64>>>()
    {
        Some(offsets) if contiguous(options, layout) => Some(offsets),
        _ => None,
    };
    let mut pieces = |sink: &mut PieceSink| -> Result<()> {
        for sample in 0..layout.samples() {
            for dataset in 0..layout.names.len() {
                let mut first = 0;
                while first < row[0] {
                    let n = per_piece.min(row[0] - first);
                    let bytes = &mut buf[..(n * slab) as usize * size];
                    content.fill(bytes);
                    sink(dataset, sample, first, bytes)?;
                    first += n;
                }
            }
        }
        Ok(())
    };
    if direct.is_none() {
        pieces(&mut |dataset, sample, first, bytes| {
            let n = (bytes.len() / size) as u64 / slab;
            let mut start = vec![sample, first];
            start.resize(layout.shape.len(), 0);
            let mut count = vec![1, n];
            count.extend_from_slice(&row[1..]);
            records[dataset]
                .write(&start, &count, bytes)
                .map_err(|err| {
                    err.context(format!(
                        "write sample {sample} of '{}'",
                        layout.names[dataset]
                    ))
                })
        })?;
    }
    let zeros = vec![0u8; CHUNK_BYTES];
    let per_block = (CHUNK_BYTES / 8) as u64;
    let mut first = 0;
    while first < layout.samples() {
        let n = per_block.min(layout.samples() - first);
        labels
            .write(&[first], &[n], &zeros[..n as usize * 8])
            .map_err(|err| err.context(format!("write '{LABELS}'")))?;
        first += n;
    }
    drop((records, labels));
    file.close().map_err(h5err(format!("close {shown}")))?;
    if let Some(offsets) = direct {
        let target = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|err| Error::io(format!("reopen {shown}: {err}")))?;
        let row_bytes = layout.row_elements * size as u64;
        pieces(&mut |dataset, sample, first, bytes| {
            let at = offsets[dataset] + sample * row_bytes + first * slab * size as u64;
            std::os::unix::fs::FileExt::write_all_at(&target, bytes, at)
                .map_err(|err| Error::io(format!("write {shown} at {at}: {err}")))
        })?;
    }
    Ok(())
}

/// Receives each piece of content: dataset, sample, first row of the piece, bytes.
type PieceSink<'a> = dyn FnMut(usize, u64, u64, &[u8]) -> Result<()> + 'a;

/// True when the records are one contiguous, unfiltered, fixed-size block each.
fn contiguous(options: &Options, layout: &FileLayout) -> bool {
    layout.chunks.is_none()
        && layout.max_shape.is_none()
        && options.compression == Compression::None
}

/// Creates one empty `records_k` dataset with the layout's chunks, filter and maximum shape.
///
/// Created with `H5Dcreate2` rather than hdf5-metno's builder, which refuses chunks larger
/// than the current shape of a dataset that may grow; h5py allows them up to the maximum.
fn create_records(
    file: &hdf5::File,
    name: &str,
    options: &Options,
    layout: &FileLayout,
) -> Result<Dataset> {
    let what = format!("create dataset '{name}'");
    let extents: Vec<Extent> = match &layout.max_shape {
        Some(max) => layout
            .shape
            .iter()
            .zip(max)
            .map(|(&dim, &max)| Extent::new(dim as usize, Some(max as usize)))
            .collect(),
        None => layout
            .shape
            .iter()
            .map(|&dim| Extent::fixed(dim as usize))
            .collect(),
    };
    let space = Dataspace::try_new(SimpleExtents::from_vec(extents)).map_err(h5err(&what))?;
    let dtype = Datatype::from_descriptor(&descriptor(options.dtype)).map_err(h5err(&what))?;
    let mut dcpl = DatasetCreate::build();
    // As h5py: no modification times, and chunks filled when allocated.
    dcpl.obj_track_times(false);
    if let Some(chunks) = &layout.chunks {
        dcpl.chunk(chunks.iter().map(|&c| c as usize).collect::<Vec<_>>())
            .fill_time(FillTime::Alloc);
    }
    if contiguous(options, layout) {
        // Space now (so its offset is known) and no fill: every byte is written afterwards.
        dcpl.alloc_time(Some(AllocTime::Early))
            .fill_time(FillTime::Never);
    }
    match options.compression {
        Compression::None => {}
        Compression::Gzip(level) => {
            dcpl.deflate(level);
        }
        Compression::Lzf => {
            dcpl.lzf();
        }
    }
    let dcpl = dcpl.finish().map_err(h5err(&what))?;
    let c_name =
        CString::new(name).map_err(|err| Error::invalid_config(format!("{what}: {err}")))?;
    // SAFETY: valid ids and a NUL-terminated name.
    let id = hdf5::sync::sync(|| unsafe {
        H5Dcreate2(
            file.id(),
            c_name.as_ptr(),
            dtype.id(),
            space.id(),
            H5P_DEFAULT,
            dcpl.id(),
            H5P_DEFAULT,
        )
    });
    if id < 0 {
        return Err(Error::io(format!("{what}: {}", crate::vfd::hdf5_message())));
    }
    // SAFETY: a new dataset id, whose one reference the wrapper takes over.
    unsafe { hdf5::from_id::<Dataset>(id) }.map_err(h5err(&what))
}

/// Writes hyperslabs of one dataset, reusing its dataspaces and type across the writes.
struct BlockWriter {
    dataset: Dataset,
    dtype: Datatype,
    space: Dataspace,
    /// The memory dataspace of the last write and its element count.
    memory: Option<(u64, Dataspace)>,
}

impl BlockWriter {
    fn new(dataset: Dataset) -> Result<BlockWriter> {
        Ok(BlockWriter {
            dtype: dataset.dtype().map_err(h5err("datatype"))?,
            space: dataset.space().map_err(h5err("dataspace"))?,
            dataset,
            memory: None,
        })
    }

    /// Writes `bytes` (elements in the dataset's own type) to the hyperslab `start`/`count`.
    fn write(&mut self, start: &[u64], count: &[u64], bytes: &[u8]) -> Result<()> {
        let elements: u64 = count.iter().product();
        if bytes.len() != elements as usize * self.dtype.size() {
            return Err(Error::io("internal error: write buffer of the wrong size"));
        }
        let memory = match &self.memory {
            Some((n, memory)) if *n == elements => memory,
            _ => {
                let memory =
                    Dataspace::try_new(elements as usize).map_err(h5err("memory dataspace"))?;
                &self.memory.insert((elements, memory)).1
            }
        };
        // SAFETY: valid ids; `bytes` holds the selected elements in the dataset's own type.
        let status = hdf5::sync::sync(|| unsafe {
            let selected = select_block(&self.space, start, count);
            if selected < 0 {
                return selected;
            }
            H5Dwrite(
                self.dataset.id(),
                self.dtype.id(),
                memory.id(),
                self.space.id(),
                H5P_DEFAULT,
                bytes.as_ptr().cast(),
            )
        });
        if status < 0 {
            return Err(Error::io(crate::vfd::hdf5_message()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_plugin_api::sdk::{memory::MemoryOutput, DatasetSpec, Dtype};

    #[test]
    fn a_host_path_gets_the_same_file_as_the_stream() {
        // The branch taken when `Output::local_path` offers a path (MemoryOutput offers none).
        let dataset = DatasetSpec::from_json(r#"{"compression": "gzip"}"#).unwrap();
        let options = Options::parse(&dataset).unwrap();
        let mut file = FileSpec::new("train/a.hdf5", vec![5, 7], 3);
        file.seed = 4;
        let layout = options.layout(&file).unwrap();
        let mut out = MemoryOutput::default();
        out.capture(|o| generate(&options, &layout, &file, o))
            .unwrap();
        let temp = TempFile::new().unwrap();
        write_file(&temp.path, &options, &layout, &file).unwrap();
        assert_eq!(std::fs::read(&temp.path).unwrap(), out.data);
    }

    #[test]
    fn temporary_files_are_removed() {
        let temp = TempFile::new().unwrap();
        let other = TempFile::new().unwrap();
        assert_ne!(temp.path, other.path);
        let path = temp.path.clone();
        assert!(path.exists());
        drop(temp);
        assert!(!path.exists());
        // A write libhdf5 refuses half way is an error naming the dataset, with nothing sent.
        let options = Options {
            dtype: Dtype::Uint8,
            per_record: 1,
            chunk_dims: vec![],
            max_shape: vec![],
            compression: Compression::None,
        };
        let file = FileSpec::new("train/b.hdf5", vec![2], 1);
        let mut layout = options.layout(&file).unwrap();
        layout.chunks = Some(vec![0, 0]);
        let mut out = MemoryOutput::default();
        let err = out
            .capture(|o| generate(&options, &layout, &file, o))
            .unwrap_err();
        assert!(err.message.contains("records_0"), "{}", err.message);
        assert!(out.data.is_empty());
    }
}
