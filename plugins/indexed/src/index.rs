//! Reading the offset and size index files: arrays of native-endian u64.
//!
//! Each index is read once, whole, when a file is opened (as DLIO's readers do with
//! `np.fromfile`). An index following an arithmetic progression (every index this crate writes:
//! offsets `0, s, 2s, …`, sizes `s, s, …`) is kept as its first value and step, so memory does
//! not grow with the sample count; any other index is kept as a table.

use dl_plugin_api::sdk::{Error, FileSpec, Result, Source};

use crate::layout::{offsets_key, sizes_key, Layout};

/// One index: a u64 per sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// `first + i * step` for `i < len`.
    Arithmetic { first: u64, step: u64, len: u64 },
    /// Any other values.
    Table(Vec<u64>),
}

impl Column {
    /// Number of entries.
    pub fn len(&self) -> u64 {
        match self {
            Column::Arithmetic { len, .. } => *len,
            Column::Table(values) => values.len() as u64,
        }
    }

    /// Entry `i`, if there is one.
    pub fn get(&self, i: u64) -> Option<u64> {
        match self {
            // Every entry was seen while building, so this cannot overflow.
            Column::Arithmetic { first, step, len } => (i < *len).then(|| first + i * step),
            Column::Table(values) => usize::try_from(i).ok().and_then(|i| values.get(i)).copied(),
        }
    }

    fn push(&mut self, value: u64) {
        match self {
            Column::Arithmetic { first, step, len } => {
                let fits = match *len {
                    0 => {
                        *first = value;
                        true
                    }
                    1 if value >= *first => {
                        *step = value - *first;
                        true
                    }
                    1 => false,
                    n => {
                        step.checked_mul(n)
                            .and_then(|delta| first.checked_add(delta))
                            == Some(value)
                    }
                };
                if fits {
                    *len += 1;
                } else {
                    let mut values: Vec<u64> = (0..*len).map(|i| *first + i * *step).collect();
                    values.push(value);
                    *self = Column::Table(values);
                }
            }
            Column::Table(values) => values.push(value),
        }
    }
}

/// Turns a byte stream, in pieces of any size, into a [`Column`].
#[derive(Debug)]
pub struct Decoder {
    column: Column,
    carry: [u8; 8],
    carried: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            column: Column::Arithmetic {
                first: 0,
                step: 0,
                len: 0,
            },
            carry: [0; 8],
            carried: 0,
        }
    }
}

impl Decoder {
    /// Decodes the next bytes.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        if self.carried > 0 {
            let n = (8 - self.carried).min(bytes.len());
            self.carry[self.carried..self.carried + n].copy_from_slice(&bytes[..n]);
            self.carried += n;
            bytes = &bytes[n..];
            if self.carried < 8 {
                return;
            }
            self.column.push(u64::from_ne_bytes(self.carry));
            self.carried = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.column
                .push(u64::from_ne_bytes(word.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carried = rest.len();
    }

    /// The entries decoded; trailing bytes that make no whole entry are an error.
    pub fn finish(self) -> std::result::Result<Column, String> {
        if self.carried != 0 {
            return Err(format!(
                "{} trailing bytes after the last entry",
                self.carried
            ));
        }
        Ok(self.column)
    }
}

/// The offsets and sizes of a file's samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Offset of each sample in the data file.
    pub offsets: Column,
    /// Size of each sample.
    pub sizes: Column,
}

impl Index {
    /// Number of samples indexed.
    pub fn len(&self) -> u64 {
        self.offsets.len().min(self.sizes.len())
    }

    /// `(offset, size)` of `sample`, checked to lie within a data file of `data_len` bytes.
    pub fn locate(&self, key: &str, sample: u64, data_len: u64) -> Result<(u64, u64)> {
        let (Some(offset), Some(size)) = (self.offsets.get(sample), self.sizes.get(sample)) else {
            return Err(Error::invalid_config(format!(
                "{key}: sample {sample} of a file with {} samples",
                self.len()
            )));
        };
        match offset.checked_add(size) {
            Some(end) if end <= data_len => Ok((offset, size)),
            _ => Err(Error::corrupt(format!(
                "{key}: sample {sample} ({size} bytes at offset {offset}) lies past the end of \
                 the {data_len}-byte data file"
            ))),
        }
    }
}

/// How much of an index file to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// The first `samples` entries (what DLIO's readers read); longer files are accepted.
    Prefix,
    /// The whole file, which must hold exactly `samples` entries.
    Exact,
}

/// Reads the two indexes of `file` beside `source`; returns them and the index bytes read.
pub fn read_index(
    file: &FileSpec,
    layout: &Layout,
    source: &Source,
    extent: Extent,
) -> Result<(Index, u64)> {
    let offsets = read_column(source, &offsets_key(file), layout, extent)?;
    let sizes = read_column(source, &sizes_key(file), layout, extent)?;
    Ok((Index { offsets, sizes }, 2 * layout.index_bytes))
}

fn read_column(source: &Source, key: &str, layout: &Layout, extent: Extent) -> Result<Column> {
    let mut index = source
        .open_related(key)
        .map_err(|err| err.context(format!("index file {key}")))?;
    let len = index.len();
    let need = layout.index_bytes;
    let wrong_length = match extent {
        Extent::Prefix => len < need,
        Extent::Exact => len != need,
    };
    if wrong_length {
        return Err(Error::corrupt(format!(
            "{key}: {len} bytes ({} entries{}) for {} samples; expected {need} bytes",
            len / 8,
            if len % 8 == 0 {
                ""
            } else {
                " and a partial one"
            },
            layout.samples
        )));
    }
    let mut decoder = Decoder::default();
    index
        .read_range(0, need, |bytes| {
            decoder.feed(bytes);
            Ok(())
        })
        .map_err(|err| err.context(key))?;
    decoder
        .finish()
        .map_err(|what| Error::corrupt(format!("{key}: {what}")))
}
