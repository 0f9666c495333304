//! The `synthetic` format (DLIO's `SyntheticGenerator` / `SyntheticReader`): each file is a
//! short text file holding its index in the combined file list, and reading a sample performs
//! no I/O at all, so a run measures the framework side (loader, compute, barriers) alone.

use dl_plugin_api::sdk::{
    format_caps, CheckReport, DatasetSpec, Error, FileSpec, FormatDescription, FormatPlugin,
    FormatSession, Output, Result, SampleReader, Source,
};

/// The `synthetic` format.
pub struct Synthetic;

impl FormatPlugin for Synthetic {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "synthetic",
            "synthetic",
            "placeholder files holding their index; samples are read without I/O",
            format_caps::GENERATE
                | format_caps::READ
                | format_caps::CHECK
                | format_caps::EXACT_SIZE
                | format_caps::NO_READ_IO,
        )
    }

    fn configure(&self, _dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        Ok(Box::new(SyntheticSession))
    }
}

struct SyntheticSession;

fn contents(file: &FileSpec) -> String {
    file.index.to_string()
}

impl FormatSession for SyntheticSession {
    fn file_size(&self, file: &FileSpec) -> Result<Option<u64>> {
        Ok(Some(contents(file).len() as u64))
    }

    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        out.write_bytes(contents(file).as_bytes())
    }

    fn open(&self, file: &FileSpec, _source: Source) -> Result<Box<dyn SampleReader>> {
        Ok(Box::new(NoRead {
            samples: file.samples,
            key: file.key.clone(),
        }))
    }

    fn check(&self, file: &FileSpec, mut source: Source) -> Result<CheckReport> {
        let expected = contents(file);
        let found = source.read(0, source.len())?;
        if found != expected.as_bytes() {
            return Err(Error::corrupt(format!(
                "{}: holds {:?}, expected its index {expected}",
                file.key,
                String::from_utf8_lossy(&found[..found.len().min(32)])
            )));
        }
        Ok(CheckReport {
            samples: file.samples,
            bytes: expected.len() as u64,
        })
    }
}

/// The host does not open synthetic files for reading ([`format_caps::NO_READ_IO`]); this
/// reader serves tools that do.
struct NoRead {
    samples: u64,
    key: String,
}

impl SampleReader for NoRead {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        if sample >= self.samples {
            return Err(Error::invalid_config(format!(
                "{}: sample {sample} of a file with {} samples",
                self.key, self.samples
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_plugin_api::sdk::memory::{self, MemoryOutput};

    fn spec(index: u64) -> FileSpec {
        let mut file = FileSpec::new("valid/img_1_of_2.synthetic", vec![8, 8], 2);
        file.index = index;
        file
    }

    #[test]
    fn files_hold_their_index_and_check_verifies_it() {
        let session = Synthetic
            .configure(&DatasetSpec::with_element_type(
                dl_plugin_api::sdk::Dtype::Uint8,
            ))
            .unwrap();
        // DLIO's example: with 4 training files, valid/img_1_of_2 is file 5.
        let file = spec(5);
        let mut out = MemoryOutput::default();
        out.capture(|o| session.generate(&file, o)).unwrap();
        assert_eq!(out.data, b"5");
        assert_eq!(session.file_size(&file).unwrap(), Some(1));
        assert_eq!(
            session
                .check(&file, memory::source(b"5".to_vec()))
                .unwrap()
                .samples,
            2
        );
        let err = session
            .check(&file, memory::source(b"6".to_vec()))
            .unwrap_err();
        assert!(err.to_string().contains("expected its index 5"), "{err}");
        let mut reader = session.open(&file, memory::source(Vec::new())).unwrap();
        reader.read_sample(1).unwrap();
        assert!(reader.read_sample(2).is_err());
    }
}
