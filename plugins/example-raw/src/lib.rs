//! A complete third-party format plugin in one file: each file holds its samples as raw bytes
//! and has an index file beside it (`<file>.idx`, one `offset size` line per sample). Opening a
//! file reads its index; reading a sample reads exactly that sample's bytes. Build it, then
//! `dl-driver --plugins target/release plugins info raw`.

use dl_plugin_api::sdk::{
    content::{ContentStream, CHUNK_BYTES},
    format_caps, DatasetSpec, Dtype, Error, FileSpec, FormatDescription, FormatPlugin,
    FormatSession, Output, Result, SampleReader, Source,
};

/// The `raw` format.
pub struct Raw;

impl FormatPlugin for Raw {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "raw",
            "raw",
            "samples stored back to back as raw bytes (example plugin)",
            format_caps::GENERATE | format_caps::READ | format_caps::EXACT_SIZE,
        )
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        Ok(Box::new(RawSession {
            dtype: dataset.element_type,
        }))
    }
}

struct RawSession {
    dtype: Dtype,
}

impl RawSession {
    fn sample_bytes(&self, file: &FileSpec) -> u64 {
        file.sample_elements() * self.dtype.size() as u64
    }
}

impl FormatSession for RawSession {
    fn file_size(&self, file: &FileSpec) -> Result<Option<u64>> {
        Ok(Some(self.sample_bytes(file) * file.samples))
    }

    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        let sample_bytes = self.sample_bytes(file);
        let mut index = out.sidecar(&index_key(file))?;
        for sample in 0..file.samples {
            index.write_bytes(format!("{} {sample_bytes}\n", sample * sample_bytes).as_bytes())?;
        }
        index.finish()?;
        // Stream in chunks: memory stays the same whatever the file size.
        let mut content = ContentStream::for_file(file, self.dtype);
        let mut left = self.sample_bytes(file) * file.samples;
        let mut chunk = vec![0u8; CHUNK_BYTES];
        while left > 0 {
            let n = left.min(CHUNK_BYTES as u64) as usize;
            content.fill(&mut chunk[..n]);
            out.write_bytes(&chunk[..n])?;
            left -= n as u64;
        }
        Ok(())
    }

    fn sidecar_keys(&self, file: &FileSpec) -> Result<Vec<String>> {
        Ok(vec![index_key(file)])
    }

    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>> {
        let key = index_key(file);
        let mut index_file = source.open_related(&key)?;
        let len = index_file.len();
        let text = String::from_utf8_lossy(index_file.read(0, len)?).into_owned();
        let index = parse_index(&text).map_err(|what| Error::corrupt(format!("{key}: {what}")))?;
        if index.len() as u64 != file.samples {
            let found = index.len();
            return Err(Error::corrupt(format!(
                "{key}: {found} entries for {} samples",
                file.samples
            )));
        }
        Ok(Box::new(RawReader { source, index }))
    }
}

/// Key of a data file's index: beside it, with `.idx` appended.
fn index_key(file: &FileSpec) -> String {
    format!("{}.idx", file.key)
}

fn parse_index(text: &str) -> std::result::Result<Vec<(u64, u64)>, String> {
    text.lines()
        .map(|line| {
            let mut fields = line.split_whitespace().map(str::parse::<u64>);
            match (fields.next(), fields.next(), fields.next()) {
                (Some(Ok(offset)), Some(Ok(size)), None) => Ok((offset, size)),
                _ => Err(format!("bad index line '{line}'")),
            }
        })
        .collect()
}

struct RawReader {
    source: Source,
    index: Vec<(u64, u64)>,
}

impl SampleReader for RawReader {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        let Some(&(offset, size)) = self.index.get(sample as usize) else {
            let samples = self.index.len();
            return Err(Error::invalid_config(format!(
                "sample {sample} of a file with {samples} samples"
            )));
        };
        // The I/O a framework would do: seek to the sample and read it.
        self.source.read_range(offset, size, |_bytes| Ok(()))
    }
}

dl_plugin_api::export_plugin! {
    description: "example format plugin: raw sample bytes",
    formats: [Raw],
    backends: [],
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_plugin_api::sdk::memory::{self, MemoryOutput};

    fn file() -> FileSpec {
        {
            let mut file = FileSpec::new("train/a.raw", vec![4, 4], 3);
            file.seed = 9;
            file
        }
    }

    #[test]
    fn generates_the_announced_size_and_reads_every_sample() {
        let session = Raw
            .configure(&DatasetSpec::with_element_type(Dtype::Int16))
            .unwrap();
        let mut out = MemoryOutput::default();
        out.capture(|o| session.generate(&file(), o)).unwrap();
        assert_eq!(
            Some(out.data.len() as u64),
            session.file_size(&file()).unwrap()
        );
        assert_eq!(out.data.len(), 4 * 4 * 2 * 3);
        let sidecars = out.sidecars();
        assert_eq!(sidecars.len(), 1);
        assert_eq!(sidecars[0].0, "train/a.raw.idx");
        assert_eq!(
            String::from_utf8_lossy(&sidecars[0].1),
            "0 32\n32 32\n64 32\n"
        );
        let mut reader = session
            .open(
                &file(),
                memory::source_with_related(out.data.clone(), sidecars),
            )
            .unwrap();
        for sample in 0..3 {
            reader.read_sample(sample).unwrap();
        }
        assert!(reader.read_sample(3).is_err());
        let missing_index = session
            .open(&file(), memory::source(out.data))
            .err()
            .unwrap();
        assert!(
            missing_index.message.contains("train/a.raw.idx"),
            "{}",
            missing_index.message
        );
    }
}
