//! What a framework's loader hands to "compute": DLIO's readers return one constant dummy
//! sample per read (never the file's data) and the loader stacks a batch of them. The copy
//! into the batch is real memory traffic in DLIO, so dl-driver performs it too.

use std::sync::{Arc, Mutex};

use dl_plugin_api::sdk::Dtype;
use rand::{rngs::SmallRng, RngCore, SeedableRng};

use crate::config::Workload;

/// Why the dummy sample cannot be built.
#[derive(Debug, thiserror::Error)]
#[error("reader.{key}: {message}")]
pub struct SampleShapeError {
    key: &'static str,
    message: String,
}

/// The dummy sample every read returns: `transformed_record_dims` of
/// `transformed_record_element_type`, or DLIO's resized image, `d × d` uint8 with
/// `d = floor(sqrt(record_length_bytes))`.
#[derive(Debug, Clone)]
pub struct SampleTemplate {
    shape: Vec<u64>,
    dtype: Dtype,
    bytes: Arc<[u8]>,
    /// Buffers of batches already consumed, reused so memory stays at the batches in flight.
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// One collated batch: `batch_size` copies of the dummy sample. Its buffer goes back to
/// the template when it is dropped.
#[derive(Debug)]
pub struct Batch {
    /// `[samples, *sample shape]`.
    pub shape: Vec<u64>,
    /// Element type.
    pub dtype: Dtype,
    /// The stacked samples.
    pub data: Vec<u8>,
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Drop for Batch {
    fn drop(&mut self) {
        if let Ok(mut spare) = self.spare.lock() {
            spare.push(std::mem::take(&mut self.data));
        }
    }
}

impl SampleTemplate {
    /// The workload's dummy sample, filled with random bytes once per run.
    pub fn new(workload: &Workload) -> Result<SampleTemplate, SampleShapeError> {
        let reader = &workload.reader;
        let (shape, dtype) = if reader.transformed_record_dims.is_empty() {
            let side = workload.dataset.record_length_bytes.max(0.0).sqrt().floor() as u64;
            (vec![side, side], Dtype::Uint8)
        } else {
            let name = &reader.transformed_record_element_type;
            let dtype = Dtype::parse(name).ok_or_else(|| SampleShapeError {
                key: "transformed_record_element_type",
                message: format!(
                    "unknown type '{name}'; use one of {}",
                    Dtype::ALL.map(Dtype::name).join(", ")
                ),
            })?;
            (reader.transformed_record_dims.clone(), dtype)
        };
        let bytes = shape
            .iter()
            .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d))
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= 1 << 34)
            .ok_or_else(|| SampleShapeError {
                key: "transformed_record_dims",
                message: format!("a sample of shape {shape:?} is too large to hold in memory"),
            })?;
        let mut data = vec![0u8; bytes];
        SmallRng::from_os_rng().fill_bytes(&mut data);
        Ok(SampleTemplate {
            shape,
            dtype,
            bytes: data.into(),
            spare: Arc::default(),
        })
    }

    /// Stacks `samples` copies of the dummy sample, as a framework's collate does.
    pub fn collate(&self, samples: u64) -> Batch {
        let mut data = self
            .spare
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_default();
        data.clear();
        data.reserve(self.bytes.len() * samples as usize);
        for _ in 0..samples {
            data.extend_from_slice(&self.bytes);
        }
        let mut shape = vec![samples];
        shape.extend_from_slice(&self.shape);
        Batch {
            shape,
            dtype: self.dtype,
            data,
            spare: Arc::clone(&self.spare),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transformed_dims_and_type_shape_the_batch() {
        let mut workload = Workload::default();
        workload.reader.transformed_record_dims = vec![3, 4, 5];
        workload.reader.transformed_record_element_type = "float16".into();
        let batch = SampleTemplate::new(&workload).unwrap().collate(2);
        assert_eq!(batch.shape, vec![2, 3, 4, 5]);
        assert_eq!(batch.dtype, Dtype::Float16);
        assert_eq!(batch.data.len(), 2 * 60 * 2);
        assert_eq!(batch.data[..120], batch.data[120..], "copies of one sample");
        // A consumed batch's buffer serves the next one.
        drop(batch);
        let template = SampleTemplate::new(&workload).unwrap();
        let first = template.collate(2);
        let first_address = first.data.as_ptr();
        drop(first);
        assert_eq!(template.collate(2).data.as_ptr(), first_address);
    }

    #[test]
    fn without_transformed_dims_the_sample_is_the_resized_image() {
        let mut workload = Workload::default();
        workload.dataset.record_length_bytes = 4096.0;
        let batch = SampleTemplate::new(&workload).unwrap().collate(1);
        assert_eq!(batch.shape, vec![1, 64, 64]);
        assert_eq!(batch.dtype, Dtype::Uint8);
    }

    #[test]
    fn an_unknown_transformed_type_names_the_key() {
        let mut workload = Workload::default();
        workload.reader.transformed_record_dims = vec![2];
        workload.reader.transformed_record_element_type = "complex64".into();
        let err = SampleTemplate::new(&workload).unwrap_err().to_string();
        assert!(
            err.starts_with("reader.transformed_record_element_type: unknown type 'complex64'"),
            "{err}"
        );
    }
}
