//! The `csv` format: DLIO's `CSVGenerator` / `CSVReader`.
//!
//! A file holds `samples` rows, with no header and no index column (pandas
//! `to_csv(index=False, header=False)`). Each row is one sample flattened to
//! `sample_elements()` comma-separated values of `record_element_type`:
//!
//! * integers as decimal integers;
//! * `float32`/`float64` in Rust's shortest round-trip form (DLIO writes pandas' float
//!   formatting; both are what Python's `float()` parses);
//! * `float16` as the exact `f32` value of the half (its shortest `f32` form);
//! * `bool` as `0`/`1` (pandas would write `True`/`False`; numbers keep every column numeric).
//!   `check` accepts `True`/`False` too, so files DLIO wrote pass.
//!
//! Like DLIO, every row of a file is the same sample repeated: the row's values come from
//! `ContentStream::for_file(file, dtype)` and the stream is restarted for every row, so memory
//! stays constant whatever the sample or file size (rows are written field by field).
//!
//! Reading a sample reads the whole file, as `pandas.read_csv` does in DLIO's reader.
//! Only `dataset.compression: none` is accepted: DLIO writes compressed CSV without the
//! matching suffix (spec Q-9), so its own extension-inferring reader cannot read it back.

use std::fmt::Write as _;
use std::io::{BufReader, Read};

use dl_plugin_api::sdk::{
    content::{ContentStream, CHUNK_BYTES},
    format_caps, CheckReport, DatasetSpec, Dtype, Error, FileSpec, FormatDescription, FormatPlugin,
    FormatSession, Output, Result, SampleReader, Source,
};

/// The `csv` format.
pub struct Csv;

impl FormatPlugin for Csv {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "csv",
            "csv",
            "headerless CSV, one flattened sample per row, as pandas.to_csv writes it",
            format_caps::GENERATE | format_caps::READ | format_caps::CHECK,
        )
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        let compression = dataset.compression.trim();
        if !(compression.is_empty() || compression.eq_ignore_ascii_case("none")) {
            return Err(Error::invalid_config(format!(
                "dataset.compression: '{compression}' is not supported for csv; use none \
                 (DLIO writes compressed CSV without the matching suffix, so its own reader \
                 cannot read it back)"
            )));
        }
        Ok(Box::new(CsvSession {
            dtype: dataset.element_type,
        }))
    }
}

struct CsvSession {
    dtype: Dtype,
}

/// Elements per sample, refusing empty samples and overflow.
fn elements(file: &FileSpec) -> Result<u64> {
    let n = file
        .sample_shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::invalid_config(format!(
                "{}: sample shape {:?} is too large",
                file.key, file.sample_shape
            ))
        })?;
    if n == 0 {
        return Err(Error::invalid_config(format!(
            "{}: sample shape {:?} has no elements; a csv row needs at least one value",
            file.key, file.sample_shape
        )));
    }
    Ok(n)
}

fn csv_error(err: csv::Error) -> Error {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => Error::from(io),
        other => Error::io(format!("csv: {other:?}")),
    }
}

/// IEEE half bits to the `f32` of the same value (exact: every half is an `f32`).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match exponent {
        // Zero and subnormals: mantissa · 2^-24, exact in f32.
        0 => mantissa as f32 * f32::from_bits(0x3380_0000),
        // Infinity and NaN (keep the payload).
        0x1f => f32::from_bits(0x7f80_0000 | (mantissa << 13)),
        _ => f32::from_bits(((exponent + 127 - 15) << 23) | (mantissa << 13)),
    };
    f32::from_bits(magnitude.to_bits() | sign)
}

/// Appends the text of one element (`bytes.len() == dtype.size()`) to `text`.
fn format_element(dtype: Dtype, bytes: &[u8], text: &mut String) {
    fn arr<const N: usize>(bytes: &[u8]) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        out
    }
    // Writing to a String cannot fail.
    let _ = match dtype {
        Dtype::Bool => write!(text, "{}", u8::from(bytes[0] != 0)),
        Dtype::Uint8 => write!(text, "{}", bytes[0]),
        Dtype::Int8 => write!(text, "{}", bytes[0] as i8),
        Dtype::Uint16 => write!(text, "{}", u16::from_le_bytes(arr(bytes))),
        Dtype::Int16 => write!(text, "{}", i16::from_le_bytes(arr(bytes))),
        Dtype::Uint32 => write!(text, "{}", u32::from_le_bytes(arr(bytes))),
        Dtype::Int32 => write!(text, "{}", i32::from_le_bytes(arr(bytes))),
        Dtype::Uint64 => write!(text, "{}", u64::from_le_bytes(arr(bytes))),
        Dtype::Int64 => write!(text, "{}", i64::from_le_bytes(arr(bytes))),
        Dtype::Float16 => write!(text, "{}", f16_to_f32(u16::from_le_bytes(arr(bytes)))),
        Dtype::Float32 => write!(text, "{}", f32::from_le_bytes(arr(bytes))),
        Dtype::Float64 => write!(text, "{}", f64::from_le_bytes(arr(bytes))),
    };
}

impl FormatSession for CsvSession {
    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        let per_row = elements(file)?;
        let size = self.dtype.size();
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(out);
        let mut chunk = vec![0u8; CHUNK_BYTES];
        let mut text = String::new();
        for _row in 0..file.samples {
            // The same stream for every row: identical rows, as DLIO writes them.
            let mut content = ContentStream::for_file(file, self.dtype);
            let mut left = per_row;
            while left > 0 {
                let n = left.min((CHUNK_BYTES / size) as u64) as usize;
                let bytes = &mut chunk[..n * size];
                content.fill(bytes);
                for element in bytes.chunks_exact(size) {
                    text.clear();
                    format_element(self.dtype, element, &mut text);
                    writer.write_field(&text).map_err(csv_error)?;
                }
                left -= n as u64;
            }
            writer.write_record(None::<&[u8]>).map_err(csv_error)?;
        }
        writer.flush()?;
        Ok(())
    }

    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>> {
        Ok(Box::new(CsvReader {
            source,
            samples: file.samples,
        }))
    }

    fn check(&self, file: &FileSpec, mut source: Source) -> Result<CheckReport> {
        let key = &file.key;
        let per_row = elements(file)?;
        let len = source.len();
        if len > 0 && source.read(len - 1, 1)? != b"\n" {
            return Err(Error::corrupt(format!(
                "{key}: does not end with a line break (truncated?)"
            )));
        }
        let capacity = source.transfer_size().clamp(8 << 10, 16 << 20) as usize;
        let reader = BufReader::with_capacity(
            capacity,
            SourceRead {
                source: &mut source,
                pos: 0,
                len,
            },
        );
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut record = csv::ByteRecord::new();
        let mut rows = 0u64;
        while csv
            .read_byte_record(&mut record)
            .map_err(|err| csv_error(err).context(key))?
        {
            if rows == file.samples {
                return Err(Error::corrupt(format!(
                    "{key}: more than the expected {} rows",
                    file.samples
                )));
            }
            if record.len() as u64 != per_row {
                return Err(Error::corrupt(format!(
                    "{key}: row {rows} has {} fields, expected {per_row}",
                    record.len()
                )));
            }
            for (column, field) in record.iter().enumerate() {
                if !is_number(self.dtype, field) {
                    return Err(Error::corrupt(format!(
                        "{key}: row {rows} field {column} '{}' is not a number",
                        String::from_utf8_lossy(&field[..field.len().min(40)])
                    )));
                }
            }
            rows += 1;
        }
        if rows != file.samples {
            return Err(Error::corrupt(format!(
                "{key}: {rows} rows, expected {}",
                file.samples
            )));
        }
        Ok(CheckReport {
            samples: rows,
            bytes: len,
        })
    }
}

/// Whether a field is a number (or, for bool, also `True`/`False` as pandas writes them).
fn is_number(dtype: Dtype, field: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(field) else {
        return false;
    };
    let text = text.trim();
    if dtype == Dtype::Bool && (text == "True" || text == "False") {
        return true;
    }
    !text.is_empty() && text.parse::<f64>().is_ok()
}

/// `std::io::Read` over a [`Source`], for the csv reader.
struct SourceRead<'a> {
    source: &'a mut Source,
    pos: u64,
    len: u64,
}

impl Read for SourceRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.len - self.pos) as usize;
        if n == 0 {
            return Ok(0);
        }
        let data = self.source.read(self.pos, n as u64)?;
        buf[..n].copy_from_slice(data);
        self.pos += n as u64;
        Ok(n)
    }
}

struct CsvReader {
    source: Source,
    samples: u64,
}

impl SampleReader for CsvReader {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        if sample >= self.samples {
            return Err(Error::invalid_config(format!(
                "sample {sample} of a file with {} samples",
                self.samples
            )));
        }
        // pandas.read_csv reads the whole file for every sample.
        let len = self.source.len();
        self.source.read_range(0, len, |_bytes| Ok(()))
    }
}

dl_plugin_api::export_plugin! {
    description: "csv format: headerless rows of flattened samples, as DLIO writes with pandas",
    formats: [Csv],
    backends: [],
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_plugin_api::sdk::{
        memory::{self, MemoryOutput},
        ErrorKind,
    };

    fn file(shape: Vec<u64>, samples: u64, seed: u64) -> FileSpec {
        let mut file = FileSpec::new("train/img_1_of_2.csv", shape, samples);
        file.seed = seed;
        file
    }

    fn generate(dtype: Dtype, file: &FileSpec) -> Vec<u8> {
        let session = Csv
            .configure(&DatasetSpec::with_element_type(dtype))
            .unwrap();
        let mut out = MemoryOutput::default();
        out.capture(|o| session.generate(file, o)).unwrap();
        assert!(out.sidecars().is_empty());
        out.data
    }

    fn check(dtype: Dtype, file: &FileSpec, data: Vec<u8>) -> Result<CheckReport> {
        Csv.configure(&DatasetSpec::with_element_type(dtype))
            .unwrap()
            .check(file, memory::source(data))
    }

    #[test]
    fn rows_fields_and_identical_rows_for_shapes_and_dtypes() {
        let shapes: [(Vec<u64>, u64); 4] = [
            (vec![4, 4], 3),
            (vec![1], 1),
            (vec![2, 3, 5], 7),
            (vec![17, 9], 2),
        ];
        for dtype in Dtype::ALL {
            for (shape, samples) in &shapes {
                let spec = file(shape.clone(), *samples, 5);
                let data = generate(dtype, &spec);
                let text = String::from_utf8(data.clone()).unwrap();
                assert!(text.ends_with('\n'));
                let rows: Vec<&str> = text.lines().collect();
                assert_eq!(rows.len() as u64, *samples, "{dtype:?} {shape:?}");
                let elements: u64 = shape.iter().product();
                for row in &rows {
                    assert_eq!(row, &rows[0], "rows must be identical");
                    let fields: Vec<&str> = row.split(',').collect();
                    assert_eq!(fields.len() as u64, elements, "{dtype:?} {shape:?}");
                    for field in fields {
                        let v: f64 = field.parse().unwrap();
                        match dtype {
                            Dtype::Bool => assert!(field == "0" || field == "1"),
                            Dtype::Float16 | Dtype::Float32 | Dtype::Float64 => {
                                assert!((0.0..1.0).contains(&v), "{field}")
                            }
                            _ => assert!(!field.contains('.'), "{field}"),
                        }
                    }
                }
                let report = check(dtype, &spec, data).unwrap();
                assert_eq!(report.samples, *samples);
            }
        }
    }

    #[test]
    fn values_are_the_content_stream() {
        let spec = file(vec![3, 3], 2, 11);
        let data = generate(Dtype::Int16, &spec);
        let mut raw = vec![0u8; 18];
        ContentStream::new(11, Dtype::Int16).fill(&mut raw);
        let expected: Vec<String> = raw
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]).to_string())
            .collect();
        let row = expected.join(",");
        assert_eq!(String::from_utf8(data).unwrap(), format!("{row}\n{row}\n"));

        let data = generate(Dtype::Float32, &spec);
        let mut raw = vec![0u8; 36];
        ContentStream::new(11, Dtype::Float32).fill(&mut raw);
        let text = String::from_utf8(data).unwrap();
        let first = text.lines().next().unwrap();
        for (field, c) in first.split(',').zip(raw.chunks_exact(4)) {
            let v = f32::from_le_bytes(c.try_into().unwrap());
            assert_eq!(field.parse::<f32>().unwrap(), v, "round trip");
        }
    }

    #[test]
    fn half_conversion() {
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0x3800), 0.5);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
    }

    #[test]
    fn deterministic_per_seed() {
        let a = generate(Dtype::Float64, &file(vec![8, 8], 2, 1));
        let b = generate(Dtype::Float64, &file(vec![8, 8], 2, 1));
        let c = generate(Dtype::Float64, &file(vec![8, 8], 2, 2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn large_sample_streams_across_chunks() {
        // More elements than one content chunk holds (CHUNK_BYTES / 8 for float64).
        let elements = (CHUNK_BYTES / 8 + 10) as u64;
        let spec = file(vec![elements], 2, 3);
        let data = generate(Dtype::Float64, &spec);
        let text = std::str::from_utf8(&data).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], rows[1]);
        assert_eq!(rows[0].split(',').count() as u64, elements);
        check(Dtype::Float64, &spec, data).unwrap();
    }

    #[test]
    fn check_rejects_bad_files() {
        let spec = file(vec![3, 4], 4, 9);
        let good = generate(Dtype::Uint8, &spec);
        let report = check(Dtype::Uint8, &spec, good.clone()).unwrap();
        assert_eq!(report.samples, 4);
        assert_eq!(report.bytes, good.len() as u64);

        let corrupt = |data: Vec<u8>, needle: &str| {
            let err = check(Dtype::Uint8, &spec, data).unwrap_err();
            assert_eq!(err.kind, ErrorKind::CORRUPT, "{}", err.message);
            assert!(
                err.message.contains("train/img_1_of_2.csv"),
                "{}",
                err.message
            );
            assert!(err.message.contains(needle), "{}", err.message);
        };
        // Truncated mid-row, and truncated at a row boundary.
        corrupt(good[..good.len() - 3].to_vec(), "line break");
        let text = String::from_utf8(good.clone()).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        corrupt(format!("{}\n{}\n", rows[0], rows[1]).into_bytes(), "2 rows");
        // Too many rows.
        corrupt(format!("{text}{}\n", rows[0]).into_bytes(), "more than");
        // Wrong field counts.
        let short = rows[0].rsplit_once(',').unwrap().0;
        corrupt(
            format!("{}\n{}\n{}\n{short}\n", rows[0], rows[1], rows[2]).into_bytes(),
            "row 3 has 11 fields, expected 12",
        );
        corrupt(
            format!("{},7\n{text}", rows[0]).into_bytes(),
            "row 0 has 13 fields",
        );
        // Garbage.
        corrupt(
            text.replacen(rows[0], &rows[0].replacen(',', ",x", 1), 1)
                .into_bytes(),
            "not a number",
        );
        corrupt(b"\xff\xfe\x00garbage\n".to_vec(), "");
        corrupt(vec![0u8; 100], "");
        // Empty file for 4 samples.
        corrupt(Vec::new(), "0 rows");
        // pandas' True/False passes for bool.
        let spec_bool = file(vec![2], 1, 0);
        check(Dtype::Bool, &spec_bool, b"True,False\n".to_vec()).unwrap();
        assert!(check(Dtype::Uint8, &spec_bool, b"True,False\n".to_vec()).is_err());
        // DLIO-style floats (exponent form) parse.
        check(Dtype::Float32, &spec_bool, b"0.5,1.2e-05\n".to_vec()).unwrap();
    }

    #[test]
    fn read_sample_reads_the_file() {
        let spec = file(vec![4, 4], 3, 2);
        let data = generate(Dtype::Uint8, &spec);
        let session = Csv
            .configure(&DatasetSpec::with_element_type(Dtype::Uint8))
            .unwrap();
        let mut reader = session.open(&spec, memory::source(data)).unwrap();
        for sample in 0..3 {
            reader.read_sample(sample).unwrap();
        }
        assert!(reader.read_sample(3).is_err());
        // An empty file reads without panicking.
        let mut reader = session.open(&spec, memory::source(Vec::new())).unwrap();
        reader.read_sample(0).unwrap();
    }

    #[test]
    fn compression_and_empty_shapes_are_refused() {
        let mut spec = DatasetSpec::with_element_type(Dtype::Uint8);
        spec.compression = "gzip".into();
        let err = Csv.configure(&spec).err().unwrap();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
        assert!(
            err.message.contains("dataset.compression"),
            "{}",
            err.message
        );
        assert!(err.message.contains("gzip"), "{}", err.message);
        spec.compression = "None".into();
        assert!(Csv.configure(&spec).is_ok());
        let parsed = DatasetSpec::from_json(r#"{"compression": "none"}"#).unwrap();
        assert!(Csv.configure(&parsed).is_ok());

        let session = Csv
            .configure(&DatasetSpec::with_element_type(Dtype::Uint8))
            .unwrap();
        let mut out = MemoryOutput::default();
        let err = out
            .capture(|o| session.generate(&file(vec![0, 4], 2, 0), o))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
        let err = out
            .capture(|o| session.generate(&file(vec![u64::MAX, 4], 2, 0), o))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
        // Zero samples: an empty file that checks clean.
        let empty = file(vec![2, 2], 0, 0);
        let data = generate(Dtype::Uint8, &empty);
        assert!(data.is_empty());
        assert_eq!(check(Dtype::Uint8, &empty, data).unwrap().samples, 0);
    }

    #[test]
    fn describes_itself() {
        let d = Csv.describe();
        assert_eq!((d.name, d.extension), ("csv", "csv"));
        assert_eq!(
            d.capabilities,
            format_caps::GENERATE | format_caps::READ | format_caps::CHECK
        );
    }
}
