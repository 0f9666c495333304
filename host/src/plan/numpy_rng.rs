//! numpy's legacy `RandomState` (MT19937 with integer seeding, 53-bit doubles, the polar
//! Box–Muller `gauss` with its cached second value). DLIO draws per-file sample sizes from
//! `RandomState(10)`, and MLPerf requires every submission to use that same dataset, so the
//! sizes must match numpy's bit for bit.

const N: usize = 624;
const M: usize = 397;

/// numpy's `np.random.RandomState(seed)` for the calls DLIO makes.
pub struct RandomState {
    key: [u32; N],
    pos: usize,
    cached_gauss: Option<f64>,
}

impl RandomState {
    /// Seeds like `RandomState(seed)` with an integer seed (`init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut key = [0u32; N];
        key[0] = seed;
        for i in 1..N {
            key[i] = 1_812_433_253u32
                .wrapping_mul(key[i - 1] ^ (key[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        RandomState {
            key,
            pos: N,
            cached_gauss: None,
        }
    }

    fn reload(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..N {
            let y = (self.key[i] & UPPER) | (self.key[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.key[i] = self.key[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.reload();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample()`: a double in [0, 1) from 53 random bits.
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `standard_normal()` by the legacy polar method.
    pub fn gauss(&mut self) -> f64 {
        if let Some(cached) = self.cached_gauss.take() {
            return cached;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached_gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale)`.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.gauss()
    }

    /// A uniform integer in `[0, max]` by numpy's masked rejection (`random_interval`).
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        loop {
            let value = if max <= u64::from(u32::MAX) {
                u64::from(self.next_u32()) & mask
            } else {
                ((u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())) & mask
            };
            if value <= max {
                return value;
            }
        }
    }

    /// `shuffle(items)` in place: Fisher–Yates from the end, as numpy's legacy generator.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.interval(i as u64) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_seed_10_standard_normal() {
        // np.random.seed(10); np.random.normal(0, 1, 4)
        let mut rng = RandomState::new(10);
        let expected = [
            1.331586504129518,
            0.7152789743984055,
            -1.5454002921112682,
            -0.008383849928522256,
        ];
        for want in expected {
            let got = rng.normal(0.0, 1.0);
            assert!((got - want).abs() < 1e-15, "got {got}, numpy gives {want}");
        }
    }

    #[test]
    fn shuffle_matches_numpy() {
        // np.random.seed(124); x = np.arange(8); np.random.shuffle(x)  (DLIO's seed 123, epoch 1)
        let mut items: Vec<u64> = (0..8).collect();
        RandomState::new(124).shuffle(&mut items);
        assert_eq!(items, [3, 7, 0, 5, 2, 1, 4, 6]);
    }

    #[test]
    fn matches_reference_mt19937_output() {
        // First output of MT19937 seeded with init_genrand(5489), the reference default.
        assert_eq!(RandomState::new(5489).next_u32(), 3_499_211_612);
    }
}
