//! Random sample content that is reproducible for a seed, cheap to produce, and neither
//! compressible nor deduplicable: every file gets its own stream.
//!
//! Integer types get uniformly random bytes; float types get finite values in `[0, 1)` so that
//! readers which look at the data see ordinary numbers.
//!
//! Storage that compresses can be given compressible content on request: the host passes
//! `dataset.content_zero_fraction` in [`FileSpec::extra`], and
//! [`ContentStream::for_file`] zeroes that fraction of every 4 KiB block of the stream.
//! (Deduplicable content needs no format support: the host gives every file the same seed.)

use rand::{rngs::SmallRng, RngCore, SeedableRng};

use super::{Dtype, FileSpec};

/// The block whose tail `content_zero_fraction` zeroes.
pub const ZERO_BLOCK_BYTES: u64 = 4096;

/// The `FileSpec::extra` key of the zero fraction.
pub const ZERO_FRACTION_KEY: &str = "content_zero_fraction";

/// A stream of random elements of one type.
pub struct ContentStream {
    rng: SmallRng,
    dtype: Dtype,
    /// Bytes kept random at the start of every block; the rest of the block is zero.
    random_per_block: u64,
    /// Bytes produced so far.
    position: u64,
}

impl ContentStream {
    /// The stream for `seed` (one per file) and element type `dtype`.
    pub fn new(seed: u64, dtype: Dtype) -> Self {
        ContentStream {
            rng: SmallRng::seed_from_u64(seed),
            dtype,
            random_per_block: ZERO_BLOCK_BYTES,
            position: 0,
        }
    }

    /// The stream of `file`: its seed, and the zero fraction the host asked for, if any.
    pub fn for_file(file: &FileSpec, dtype: Dtype) -> Self {
        let fraction = file
            .extra
            .get(ZERO_FRACTION_KEY)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
            .clamp(0.0, 1.0);
        let mut stream = ContentStream::new(file.seed, dtype);
        let size = dtype.size() as u64;
        // Whole elements only, so every element stays either random or zero.
        let random = ((1.0 - fraction) * ZERO_BLOCK_BYTES as f64).round() as u64;
        stream.random_per_block = random / size * size;
        stream
    }

    /// Fills `buf` with the next elements; `buf.len()` must be a multiple of the element size.
    pub fn fill(&mut self, buf: &mut [u8]) {
        debug_assert_eq!(buf.len() % self.dtype.size(), 0, "partial element");
        self.fill_random(buf);
        if self.random_per_block < ZERO_BLOCK_BYTES {
            let mut at = 0usize;
            while at < buf.len() {
                let in_block = (self.position + at as u64) % ZERO_BLOCK_BYTES;
                let to_block_end = (ZERO_BLOCK_BYTES - in_block) as usize;
                let end = (at + to_block_end).min(buf.len());
                if in_block + ((end - at) as u64) > self.random_per_block {
                    let zero_from = at + self.random_per_block.saturating_sub(in_block) as usize;
                    buf[zero_from..end].fill(0);
                }
                at = end;
            }
        }
        self.position += buf.len() as u64;
    }

    fn fill_random(&mut self, buf: &mut [u8]) {
        match self.dtype {
            Dtype::Bool => {
                self.rng.fill_bytes(buf);
                buf.iter_mut().for_each(|b| *b &= 1);
            }
            Dtype::Float16 => {
                for chunk in buf.chunks_exact_mut(2) {
                    let r = self.rng.next_u32();
                    // Exponent 1..=14 and a random mantissa: a finite half in (0, 1).
                    let exponent = 1 + (r >> 10) % 14;
                    let bits = ((exponent << 10) | (r & 0x3ff)) as u16;
                    chunk.copy_from_slice(&bits.to_le_bytes());
                }
            }
            Dtype::Float32 => {
                for chunk in buf.chunks_exact_mut(4) {
                    let value = (self.rng.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32);
                    chunk.copy_from_slice(&value.to_le_bytes());
                }
            }
            Dtype::Float64 => {
                for chunk in buf.chunks_exact_mut(8) {
                    let value = (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                    chunk.copy_from_slice(&value.to_le_bytes());
                }
            }
            _ => self.rng.fill_bytes(buf),
        }
    }
}

/// Size of the chunks formats generate content in: a multiple of every element size.
pub const CHUNK_BYTES: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_in_any_chunking() {
        let mut whole = vec![0u8; 4096];
        ContentStream::new(7, Dtype::Uint8).fill(&mut whole);
        let mut pieces = vec![0u8; 4096];
        let mut stream = ContentStream::new(7, Dtype::Uint8);
        for chunk in pieces.chunks_mut(1024) {
            stream.fill(chunk);
        }
        assert_eq!(whole, pieces);
        let mut other = vec![0u8; 4096];
        ContentStream::new(8, Dtype::Uint8).fill(&mut other);
        assert_ne!(whole, other);
    }

    #[test]
    fn floats_are_finite_and_in_unit_interval() {
        let mut buf = vec![0u8; 8 * 1000];
        ContentStream::new(1, Dtype::Float32).fill(&mut buf);
        for chunk in buf.chunks_exact(4) {
            let v = f32::from_le_bytes(chunk.try_into().unwrap());
            assert!((0.0..1.0).contains(&v), "{v}");
        }
        ContentStream::new(1, Dtype::Float64).fill(&mut buf);
        for chunk in buf.chunks_exact(8) {
            let v = f64::from_le_bytes(chunk.try_into().unwrap());
            assert!((0.0..1.0).contains(&v), "{v}");
        }
        ContentStream::new(1, Dtype::Float16).fill(&mut buf);
        for chunk in buf.chunks_exact(2) {
            let bits = u16::from_le_bytes(chunk.try_into().unwrap());
            let exponent = (bits >> 10) & 0x1f;
            assert!(
                (1..15).contains(&exponent) && bits & 0x8000 == 0,
                "{bits:#x}"
            );
        }
    }

    #[test]
    fn a_zero_fraction_zeroes_the_tail_of_every_block_in_any_chunking() {
        let mut file = FileSpec::new("train/a", vec![64, 64], 4);
        file.extra = serde_json::json!({ ZERO_FRACTION_KEY: 0.75 });
        let mut whole = vec![0u8; 3 * 4096];
        ContentStream::for_file(&file, Dtype::Float32).fill(&mut whole);
        let mut pieces = vec![0u8; 3 * 4096];
        let mut stream = ContentStream::for_file(&file, Dtype::Float32);
        for chunk in pieces.chunks_mut(12) {
            stream.fill(chunk);
        }
        assert_eq!(whole, pieces);
        for block in whole.chunks(4096) {
            assert!(block[1024..].iter().all(|&b| b == 0));
            assert!(
                block[1020..1024].iter().any(|&b| b != 0),
                "last random element"
            );
        }
        // Without the key the content is as before.
        file.extra = serde_json::Value::Null;
        let mut plain = vec![0u8; 4096];
        ContentStream::for_file(&file, Dtype::Uint8).fill(&mut plain);
        let mut expected = vec![0u8; 4096];
        ContentStream::new(file.seed, Dtype::Uint8).fill(&mut expected);
        assert_eq!(plain, expected);
    }

    #[test]
    fn random_bytes_do_not_compress_into_repeats() {
        let mut buf = vec![0u8; 1 << 16];
        ContentStream::new(3, Dtype::Uint8).fill(&mut buf);
        let (first, second) = buf.split_at(1 << 15);
        assert_ne!(first, second);
        let zeros = buf.iter().filter(|&&b| b == 0).count();
        assert!(zeros < buf.len() / 128, "{zeros} zero bytes");
    }
}
