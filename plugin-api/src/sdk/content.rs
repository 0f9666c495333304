//! Random sample content that is reproducible for a seed, cheap to produce, and neither
//! compressible nor deduplicable: every file gets its own stream.
//!
//! Integer types get uniformly random bytes; float types get finite values in `[0, 1)` so that
//! readers which look at the data see ordinary numbers.

use rand::{rngs::SmallRng, RngCore, SeedableRng};

use super::Dtype;

/// A stream of random elements of one type.
pub struct ContentStream {
    rng: SmallRng,
    dtype: Dtype,
}

impl ContentStream {
    /// The stream for `seed` (one per file) and element type `dtype`.
    pub fn new(seed: u64, dtype: Dtype) -> Self {
        ContentStream {
            rng: SmallRng::seed_from_u64(seed),
            dtype,
        }
    }

    /// Fills `buf` with the next elements; `buf.len()` must be a multiple of the element size.
    pub fn fill(&mut self, buf: &mut [u8]) {
        debug_assert_eq!(buf.len() % self.dtype.size(), 0, "partial element");
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
    fn random_bytes_do_not_compress_into_repeats() {
        let mut buf = vec![0u8; 1 << 16];
        ContentStream::new(3, Dtype::Uint8).fill(&mut buf);
        let (first, second) = buf.split_at(1 << 15);
        assert_ne!(first, second);
        let zeros = buf.iter().filter(|&&b| b == 0).count();
        assert!(zeros < buf.len() / 128, "{zeros} zero bytes");
    }
}
