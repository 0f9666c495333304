//! The `dataset` options this format reads and the shapes of one file, computed from the file
//! spec alone so that `generate`, `open` and `check` agree.

use dl_plugin_api::sdk::{DatasetSpec, Dtype, Error, FileSpec, OptionSpec, Result};
use hdf5::types::{FloatSize, IntSize, TypeDescriptor};

/// Option key: datasets per record.
pub const KEY_PER_RECORD: &str = "hdf5.num_dset_per_record";
/// Option key: chunk shape.
pub const KEY_CHUNK_DIMS: &str = "hdf5.chunk_dims";
/// Option key: maximum shape of a resizable dataset (without the sample axis).
pub const KEY_MAX_SHAPE: &str = "hdf5.max_shape";
/// The dataset holding the labels.
pub const LABELS: &str = "labels";

/// The options `dl-driver plugins info` lists.
pub fn option_specs() -> Vec<OptionSpec> {
    vec![
        OptionSpec::new(
            KEY_PER_RECORD,
            "int",
            Some("1"),
            "datasets records_0..records_{k-1} per file; record_dims[0] must divide by it",
        ),
        OptionSpec::new(
            KEY_CHUNK_DIMS,
            "list[int]",
            Some("[]"),
            "HDF5 chunk shape, one entry per dataset axis (samples first); [] = contiguous",
        ),
        OptionSpec::new(
            KEY_MAX_SHAPE,
            "list[int]",
            Some("[]"),
            "makes the records resizable up to (samples, *max_shape)",
        ),
        OptionSpec::new(
            "compression",
            "string",
            Some("none"),
            "none, gzip or lzf (HDF5 filters)",
        ),
        OptionSpec::new("compression_level", "int", Some("4"), "gzip level 0..=9"),
    ]
}

/// The HDF5 filter applied to the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No filter.
    None,
    /// Deflate at this level.
    Gzip(u8),
    /// The LZF filter h5py ships.
    Lzf,
}

/// The dataset-wide options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Element type of the records.
    pub dtype: Dtype,
    /// `hdf5.num_dset_per_record`.
    pub per_record: u64,
    /// `hdf5.chunk_dims` (empty: none given).
    pub chunk_dims: Vec<u64>,
    /// `hdf5.max_shape` (empty: fixed size).
    pub max_shape: Vec<u64>,
    /// The filter.
    pub compression: Compression,
}

impl Options {
    /// Reads and validates the options of `dataset`.
    pub fn parse(dataset: &DatasetSpec) -> Result<Options> {
        let per_record = match dataset.get(KEY_PER_RECORD).filter(|v| !v.is_null()) {
            None => 1,
            Some(value) => match value.as_u64() {
                Some(n) if n >= 1 => n,
                _ => {
                    return Err(Error::invalid_config(format!(
                        "dataset.{KEY_PER_RECORD}: {value} is not a positive integer; use 1 or \
                         more"
                    )))
                }
            },
        };
        let chunk_dims = int_list(dataset, KEY_CHUNK_DIMS)?;
        if chunk_dims.contains(&0) {
            return Err(Error::invalid_config(format!(
                "dataset.{KEY_CHUNK_DIMS}: {chunk_dims:?} has a 0; every chunk dimension must be \
                 at least 1"
            )));
        }
        let max_shape = int_list(dataset, KEY_MAX_SHAPE)?;
        Ok(Options {
            dtype: dataset.element_type,
            per_record,
            chunk_dims,
            max_shape,
            compression: compression(dataset)?,
        })
    }

    /// The layout of `file` under these options.
    pub fn layout(&self, file: &FileSpec) -> Result<FileLayout> {
        let key = &file.key;
        let dims = &file.sample_shape;
        let Some(&first) = dims.first() else {
            return Err(Error::invalid_config(format!(
                "{key}: the sample shape is empty; an hdf5 record needs at least one dimension"
            )));
        };
        if dims.contains(&0) {
            return Err(Error::invalid_config(format!(
                "{key}: sample shape {dims:?} has a 0; every dimension must be at least 1"
            )));
        }
        if first % self.per_record != 0 {
            return Err(Error::invalid_config(format!(
                "{key}: record_dims[0] = {first} is not divisible by dataset.{KEY_PER_RECORD} = \
                 {}; make record_dims[0] a multiple of it",
                self.per_record
            )));
        }
        let mut row = dims.clone();
        row[0] = first / self.per_record;
        // h5py is given the shape (N_s, *dims') with a leading 1 of dims' squeezed away.
        if row[0] == 1 && row.len() > 1 {
            row.remove(0);
        }
        let mut shape = vec![file.samples];
        shape.extend_from_slice(&row);
        let max_shape = if self.max_shape.is_empty() {
            None
        } else {
            if self.max_shape.len() != row.len() {
                return Err(Error::invalid_config(format!(
                    "{key}: dataset.{KEY_MAX_SHAPE} {:?} has {} entries but a record has {} \
                     axes after the sample axis (shape {shape:?}); give one entry per axis",
                    self.max_shape,
                    self.max_shape.len(),
                    row.len()
                )));
            }
            if let Some((axis, (max, dim))) = self
                .max_shape
                .iter()
                .zip(&row)
                .enumerate()
                .find(|(_, (max, dim))| max < dim)
            {
                return Err(Error::invalid_config(format!(
                    "{key}: dataset.{KEY_MAX_SHAPE}[{axis}] = {max} is smaller than the record's \
                     dimension {dim} (shape {shape:?}); use at least {dim}"
                )));
            }
            let mut max = vec![file.samples];
            max.extend_from_slice(&self.max_shape);
            Some(max)
        };
        let chunks = if !self.chunk_dims.is_empty() {
            if self.chunk_dims.len() != shape.len() {
                return Err(Error::invalid_config(format!(
                    "{key}: dataset.{KEY_CHUNK_DIMS} {:?} has rank {} but the records have rank \
                     {} (shape {shape:?}: samples, then the record axes); give {} entries",
                    self.chunk_dims,
                    self.chunk_dims.len(),
                    shape.len(),
                    shape.len()
                )));
            }
            // h5py refuses chunks larger than a fixed dataset (a resizable one may grow); an
            // empty dataset has no chunks to bound.
            let limit = max_shape.as_ref().unwrap_or(&shape);
            let empty = file.samples == 0;
            if let Some((axis, (chunk, dim))) = self
                .chunk_dims
                .iter()
                .zip(limit)
                .enumerate()
                .find(|(_, (chunk, dim))| !empty && chunk > dim)
            {
                return Err(Error::invalid_config(format!(
                    "{key}: dataset.{KEY_CHUNK_DIMS}[{axis}] = {chunk} is larger than the \
                     dataset's {} {dim} (shape {shape:?}); use at most {dim}",
                    if max_shape.is_some() {
                        "maximum"
                    } else {
                        "dimension"
                    }
                )));
            }
            Some(self.chunk_dims.clone())
        } else if self.compression != Compression::None || max_shape.is_some() {
            // Filters and resizing need chunked storage; h5py would guess a chunk shape, we
            // take one sample per chunk so a sample read decodes exactly one chunk.
            let mut chunk = vec![1];
            chunk.extend_from_slice(&row);
            Some(chunk)
        } else {
            None
        };
        let row_elements = row
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|n| n.checked_mul(self.dtype.size() as u64).is_some())
            .ok_or_else(|| {
                Error::invalid_config(format!("{key}: sample shape {dims:?} is too large"))
            })?;
        Ok(FileLayout {
            names: (0..self.per_record)
                .map(|k| format!("records_{k}"))
                .collect(),
            shape,
            max_shape,
            chunks,
            row_elements,
        })
    }
}

/// Where the data of one file goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLayout {
    /// `records_0 .. records_{k-1}`.
    pub names: Vec<String>,
    /// Shape of every records dataset: `(N_s, *dims')`.
    pub shape: Vec<u64>,
    /// Maximum shape when resizable.
    pub max_shape: Option<Vec<u64>>,
    /// Chunk shape when chunked.
    pub chunks: Option<Vec<u64>>,
    /// Elements in one row (one sample of one dataset).
    pub row_elements: u64,
}

impl FileLayout {
    /// Rows (samples) per dataset.
    pub fn samples(&self) -> u64 {
        self.shape[0]
    }
}

/// The HDF5 type h5py writes for a numpy dtype (bool: h5py's `FALSE`/`TRUE` int8 enum).
pub fn descriptor(dtype: Dtype) -> TypeDescriptor {
    match dtype {
        Dtype::Bool => TypeDescriptor::Boolean,
        Dtype::Uint8 => TypeDescriptor::Unsigned(IntSize::U1),
        Dtype::Uint16 => TypeDescriptor::Unsigned(IntSize::U2),
        Dtype::Uint32 => TypeDescriptor::Unsigned(IntSize::U4),
        Dtype::Uint64 => TypeDescriptor::Unsigned(IntSize::U8),
        Dtype::Int8 => TypeDescriptor::Integer(IntSize::U1),
        Dtype::Int16 => TypeDescriptor::Integer(IntSize::U2),
        Dtype::Int32 => TypeDescriptor::Integer(IntSize::U4),
        Dtype::Int64 => TypeDescriptor::Integer(IntSize::U8),
        Dtype::Float16 => TypeDescriptor::Float(FloatSize::U2),
        Dtype::Float32 => TypeDescriptor::Float(FloatSize::U4),
        Dtype::Float64 => TypeDescriptor::Float(FloatSize::U8),
    }
}

/// The numpy name of an HDF5 type, for messages.
pub fn descriptor_name(desc: &TypeDescriptor) -> String {
    Dtype::ALL
        .into_iter()
        .find(|&d| &descriptor(d) == desc)
        .map_or_else(|| desc.to_string(), |d| d.name().to_string())
}

/// A list of non-negative integers at `key` (absent or null: empty).
fn int_list(dataset: &DatasetSpec, key: &str) -> Result<Vec<u64>> {
    let Some(value) = dataset.get(key).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    value
        .as_array()
        .and_then(|items| items.iter().map(|item| item.as_u64()).collect())
        .ok_or_else(|| {
            Error::invalid_config(format!(
                "dataset.{key}: {value} is not a list of non-negative integers (e.g. [1, 64, 64])"
            ))
        })
}

/// `dataset.compression` and `dataset.compression_level` as an HDF5 filter.
fn compression(dataset: &DatasetSpec) -> Result<Compression> {
    let name = dataset.compression.trim();
    if name.is_empty() || name.eq_ignore_ascii_case("none") {
        // DLIO passes "none" to h5py, which fails; no filter is what the user meant.
        return Ok(Compression::None);
    }
    if name.eq_ignore_ascii_case("gzip") {
        let level = dataset.compression_level;
        return match u8::try_from(level) {
            Ok(level) if level <= 9 => Ok(Compression::Gzip(level)),
            _ => Err(Error::invalid_config(format!(
                "dataset.compression_level: {level} is not a gzip level; use 0 to 9"
            ))),
        };
    }
    if name.eq_ignore_ascii_case("lzf") {
        return Ok(Compression::Lzf);
    }
    Err(Error::invalid_config(format!(
        "dataset.compression: '{name}' is not supported by the hdf5 format; use none, gzip or \
         lzf (the HDF5 filters h5py provides)"
    )))
}
