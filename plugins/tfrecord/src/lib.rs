//! The `tfrecord` format: files of TFRecord records as TensorFlow's `TFRecordWriter` writes
//! them, one `tf.train.Example` per sample with features `image` (the raw sample bytes) and
//! `size` (their count), plus the DALI index DLIO writes beside the dataset
//! (`index/<split>/<file>.idx`, one `"<offset> <record length>"` line per record).
//!
//! Framing of a record: u64 LE payload length, u32 LE masked CRC32C of those 8 bytes, the
//! payload, u32 LE masked CRC32C of the payload.

use dl_plugin_api::sdk::{
    content::{ContentStream, CHUNK_BYTES},
    format_caps, CheckReport, DatasetSpec, Dtype, Error, FileSpec, FormatDescription, FormatPlugin,
    FormatSession, Output, Result, SampleReader, Source,
};
use prost::Message;

mod proto;

use proto::{Example, Kind, Layout};

/// Bytes of framing around each payload: length, length CRC, payload CRC.
const FRAMING: u64 = 16;
/// Bytes before the payload: length and length CRC.
const HEADER: u64 = 12;

/// The `tfrecord` format.
pub struct TfRecord;

impl FormatPlugin for TfRecord {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "tfrecord",
            "tfrecord",
            "TFRecord files of tf.train.Example records (image, size) with DALI index files, \
             as TensorFlow's TFRecordWriter writes them",
            format_caps::GENERATE
                | format_caps::READ
                | format_caps::CHECK
                | format_caps::EXACT_SIZE,
        )
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        let compression = dataset.compression.trim();
        if !(compression.is_empty() || compression.eq_ignore_ascii_case("none")) {
            return Err(Error::invalid_config(format!(
                "dataset.compression: '{compression}' is not supported by the tfrecord format, \
                 which writes uncompressed records as DLIO does; remove dataset.compression or \
                 set it to none"
            )));
        }
        Ok(Box::new(TfRecordSession {
            dtype: dataset.element_type,
        }))
    }
}

/// TFRecord's CRC: CRC32C rotated right by 15 bits plus a constant.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Masked CRC32C of `data`.
pub fn masked_crc(data: &[u8]) -> u32 {
    mask(crc32c::crc32c(data))
}

/// Key of the DALI index of `file`: `index/<split>/<base name>.idx`.
pub fn index_key(file: &FileSpec) -> String {
    let base = file.key.rsplit('/').next().unwrap_or(&file.key);
    format!("index/{}/{base}.idx", file.split)
}

struct TfRecordSession {
    dtype: Dtype,
}

impl TfRecordSession {
    fn layout(&self, file: &FileSpec) -> Layout {
        Layout::new(file.sample_elements() * self.dtype.size() as u64)
    }
}

impl FormatSession for TfRecordSession {
    fn file_size(&self, file: &FileSpec) -> Result<Option<u64>> {
        let record = FRAMING + self.layout(file).payload_len();
        Ok(Some(record * file.samples))
    }

    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        let layout = self.layout(file);
        let payload_len = layout.payload_len();
        let record_len = FRAMING + payload_len;

        let mut index = out.sidecar(&index_key(file))?;
        let mut text = String::new();
        for record in 0..file.samples {
            text.clear();
            text.push_str(&format!("{} {record_len}\n", record * record_len));
            index.write_bytes(text.as_bytes())?;
        }
        index.finish()?;

        let length = payload_len.to_le_bytes();
        let mut header = [0u8; HEADER as usize];
        header[..8].copy_from_slice(&length);
        header[8..].copy_from_slice(&masked_crc(&length).to_le_bytes());
        let head_crc = crc32c::crc32c(&layout.head);

        let mut content = ContentStream::for_file(file, self.dtype);
        let mut chunk = vec![0u8; CHUNK_BYTES.min(layout.image_len as usize)];
        for _ in 0..file.samples {
            out.write_bytes(&header)?;
            out.write_bytes(&layout.head)?;
            let mut crc = head_crc;
            let mut left = layout.image_len;
            while left > 0 {
                let n = left.min(CHUNK_BYTES as u64) as usize;
                content.fill(&mut chunk[..n]);
                crc = crc32c::crc32c_append(crc, &chunk[..n]);
                out.write_bytes(&chunk[..n])?;
                left -= n as u64;
            }
            crc = crc32c::crc32c_append(crc, &layout.tail);
            out.write_bytes(&layout.tail)?;
            out.write_bytes(&mask(crc).to_le_bytes())?;
        }
        Ok(())
    }

    fn sidecar_keys(&self, file: &FileSpec) -> Result<Vec<String>> {
        Ok(vec![index_key(file)])
    }

    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>> {
        Ok(Box::new(TfRecordReader {
            key: file.key.clone(),
            index_key: index_key(file),
            samples: file.samples,
            source,
            offsets: vec![0],
            index_tried: false,
        }))
    }

    fn check(&self, file: &FileSpec, mut source: Source) -> Result<CheckReport> {
        let key = &file.key;
        let expected = file.sample_elements() * self.dtype.size() as u64;
        let len = source.len();
        let mut records = Vec::with_capacity(file.samples.min(1 << 20) as usize);
        let mut offset = 0u64;
        let mut payload = Vec::new();
        for record in 0..file.samples {
            if offset == len {
                return Err(Error::corrupt(format!(
                    "{key}: file ends after {record} records, expected {}",
                    file.samples
                )));
            }
            let payload_len = read_header(&mut source, offset, record)
                .map_err(|err| err.context(format!("{key}: record {record}")))?;
            let end = offset + FRAMING + payload_len;
            payload.clear();
            payload.reserve(payload_len as usize);
            source.read_range(offset + HEADER, payload_len, |bytes| {
                payload.extend_from_slice(bytes);
                Ok(())
            })?;
            let stored = u32::from_le_bytes(source.read(end - 4, 4)?.try_into().expect("4 bytes"));
            let computed = masked_crc(&payload);
            if stored != computed {
                return Err(Error::corrupt(format!(
                    "{key}: record {record}: payload CRC mismatch (stored {stored:#010x}, \
                     computed {computed:#010x})"
                )));
            }
            check_example(&payload, expected)
                .map_err(|what| Error::corrupt(format!("{key}: record {record}: {what}")))?;
            records.push((offset, FRAMING + payload_len));
            offset = end;
        }
        if offset != len {
            return Err(Error::corrupt(format!(
                "{key}: {} trailing bytes after the last of {} records",
                len - offset,
                file.samples
            )));
        }

        let idx_key = index_key(file);
        let index = read_index(&source, &idx_key)?;
        if index.len() != records.len() {
            return Err(Error::corrupt(format!(
                "{idx_key}: {} entries for {} records",
                index.len(),
                records.len()
            )));
        }
        for (record, (found, real)) in index.iter().zip(&records).enumerate() {
            if found != real {
                return Err(Error::corrupt(format!(
                    "{idx_key}: entry {record} is '{} {}' but the record is at offset {} with \
                     length {}",
                    found.0, found.1, real.0, real.1
                )));
            }
        }
        Ok(CheckReport {
            samples: file.samples,
            bytes: len,
        })
    }
}

/// Reads and verifies the 12-byte header of the record at `offset`; returns the payload length
/// after making sure the whole record lies within the file.
fn read_header(source: &mut Source, offset: u64, record: u64) -> Result<u64> {
    let len = source.len();
    if offset > len || len - offset < HEADER {
        return Err(Error::corrupt(format!(
            "truncated header at offset {offset} ({} bytes left)",
            len.saturating_sub(offset)
        )));
    }
    let header = source.read(offset, HEADER)?;
    let length: [u8; 8] = header[..8].try_into().expect("8 bytes");
    let stored = u32::from_le_bytes(header[8..].try_into().expect("4 bytes"));
    let computed = masked_crc(&length);
    if stored != computed {
        return Err(Error::corrupt(format!(
            "length CRC mismatch at offset {offset} (stored {stored:#010x}, computed \
             {computed:#010x})"
        )));
    }
    let payload_len = u64::from_le_bytes(length);
    let left = len - offset - HEADER;
    if payload_len > left.saturating_sub(4) || left < 4 {
        return Err(Error::corrupt(format!(
            "truncated: record {record} at offset {offset} has {payload_len} payload bytes but \
             only {left} bytes follow its header"
        )));
    }
    Ok(payload_len)
}

/// Checks that `payload` is an Example with `image` of `expected` bytes and `size` = `expected`.
fn check_example(payload: &[u8], expected: u64) -> std::result::Result<(), String> {
    let example =
        Example::decode(payload).map_err(|err| format!("not a tf.train.Example: {err}"))?;
    let features = example.features.unwrap_or_default().feature;
    match features.get("image").and_then(|f| f.kind.as_ref()) {
        Some(Kind::BytesList(list)) if list.value.len() == 1 => {
            let found = list.value[0].len() as u64;
            if found != expected {
                return Err(format!(
                    "feature 'image' has {found} bytes, expected {expected}"
                ));
            }
        }
        _ => return Err("feature 'image' is missing or not one bytes value".into()),
    }
    match features.get("size").and_then(|f| f.kind.as_ref()) {
        Some(Kind::Int64List(list)) if list.value.len() == 1 => {
            if list.value[0] != expected as i64 {
                return Err(format!(
                    "feature 'size' is {}, expected {expected}",
                    list.value[0]
                ));
            }
        }
        _ => return Err("feature 'size' is missing or not one int64 value".into()),
    }
    if features.len() != 2 {
        let names: Vec<&str> = features.keys().map(String::as_str).collect();
        return Err(format!(
            "features are {names:?}, expected [\"image\", \"size\"]"
        ));
    }
    Ok(())
}

/// Reads a DALI index: `(offset, record length)` per line.
fn read_index(source: &Source, key: &str) -> Result<Vec<(u64, u64)>> {
    let mut file = source
        .open_related(key)
        .map_err(|err| err.context(format!("DALI index {key}")))?;
    let len = file.len();
    let text = String::from_utf8_lossy(file.read(0, len)?).into_owned();
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.split_whitespace().map(str::parse::<u64>);
            match (fields.next(), fields.next(), fields.next()) {
                (Some(Ok(offset)), Some(Ok(size)), None) => Ok((offset, size)),
                _ => Err(Error::corrupt(format!("{key}: bad index line '{line}'"))),
            }
        })
        .collect()
}

/// Reads records as TensorFlow's record reader does: header, then payload and CRC, in order.
struct TfRecordReader {
    key: String,
    index_key: String,
    samples: u64,
    source: Source,
    /// Start offsets of records 0..offsets.len() found so far (the next record to read in
    /// order starts at the last one).
    offsets: Vec<u64>,
    /// Whether the DALI index was already looked for.
    index_tried: bool,
}

impl TfRecordReader {
    /// Offset and payload length of record `sample` when every record of the file has the
    /// same size (as generated files do): a stream reader knows where it is without an index.
    /// `None` when the file is not uniform, or the header found there says otherwise.
    fn uniform_record(&mut self, sample: u64) -> Option<(u64, u64)> {
        let len = self.source.len();
        if self.samples == 0 || len % self.samples != 0 || (sample as usize) < self.offsets.len() {
            return None;
        }
        let record = len / self.samples;
        let offset = sample * record;
        let payload_len = read_header(&mut self.source, offset, sample).ok()?;
        (payload_len + FRAMING == record).then_some((offset, payload_len))
    }

    /// Start offset of record `sample`: known, from the DALI index, or by scanning headers.
    fn offset_of(&mut self, sample: u64) -> Result<u64> {
        let wanted = sample as usize;
        if wanted >= self.offsets.len() && !self.index_tried {
            self.index_tried = true;
            // A missing or malformed index is no error: scanning finds the records too.
            if let Ok(index) = read_index(&self.source, &self.index_key) {
                let consistent = index.len() as u64 == self.samples
                    && index.first().is_some_and(|first| first.0 == 0)
                    && index.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0);
                if consistent {
                    self.offsets = index.iter().map(|entry| entry.0).collect();
                }
            }
        }
        while self.offsets.len() <= wanted {
            let record = self.offsets.len() as u64 - 1;
            let at = *self.offsets.last().expect("offset 0 is always known");
            let payload_len = read_header(&mut self.source, at, record)
                .map_err(|err| err.context(format!("{}: record {record}", self.key)))?;
            self.offsets.push(at + FRAMING + payload_len);
        }
        Ok(self.offsets[wanted])
    }
}

impl SampleReader for TfRecordReader {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        if sample >= self.samples {
            return Err(Error::invalid_config(format!(
                "sample {sample} of a file with {} samples",
                self.samples
            )));
        }
        let (offset, payload_len) = match self.uniform_record(sample) {
            Some(found) => found,
            None => {
                let offset = self.offset_of(sample)?;
                let payload_len = read_header(&mut self.source, offset, sample)
                    .map_err(|err| err.context(format!("{}: record {sample}", self.key)))?;
                (offset, payload_len)
            }
        };
        self.source
            .read_range(offset + HEADER, payload_len + 4, |_bytes| Ok(()))?;
        let next = sample as usize + 1;
        if next == self.offsets.len() {
            self.offsets.push(offset + FRAMING + payload_len);
        }
        Ok(())
    }
}

dl_plugin_api::export_plugin! {
    description: "TFRecord format for dl-driver (tf.train.Example records, DALI index)",
    formats: [TfRecord],
    backends: [],
}

#[cfg(test)]
mod tests;
