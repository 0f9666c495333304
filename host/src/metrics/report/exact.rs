//! Mean and sample standard deviation computed exactly and rounded once, as Python 3.11's
//! `statistics.mean` and `statistics.stdev` do: every float as an exact fraction, the sums
//! and the sample variance as exact fractions, then one correctly rounded float (the square
//! root by `_float_sqrt_of_frac`'s round-to-odd method).
//!
//! Why not plain f64: step times and iostat columns are short decimals, so their means and
//! deviations often sit within an ulp of a 2-decimal rounding boundary (the deviation of
//! `[0, 0, 0, 0.09]` is 0.045 to 17 digits). Only the correctly rounded value formats the way
//! DLIO's report does.

use std::collections::BTreeMap;

use num_bigint::{BigInt, BigUint};
use num_rational::BigRational;
use num_traits::{One, ToPrimitive, Zero};

/// Python's `_sqrt_bit_width`: `2 · 53 + 3`.
const SQRT_BIT_WIDTH: i64 = 2 * f64::MANTISSA_DIGITS as i64 + 3;

/// `float(Fraction)`: the nearest f64, ties to even. num-rational's conversion divides
/// exactly-representable parts in f64 and otherwise rounds a 55–56-bit integer quotient
/// half-to-even with the remainder as sticky bit, so it is correctly rounded.
fn nearest_f64(value: &BigRational) -> f64 {
    value.to_f64().unwrap_or(f64::NAN)
}

/// Exact sums of the data, grouped as Python's `_sum` and `_ss` group them: each float is
/// n/d in lowest terms (d a power of two, so there are few distinct d), Σn and Σn² are kept
/// per d as integers, and only those few groups are added as fractions.
struct Sums {
    count: usize,
    /// Σx.
    sx: BigRational,
    /// Σx².
    sxx: BigRational,
}

impl Sums {
    /// `None` if a value is NaN or infinite.
    fn of(values: &[f64]) -> Option<Sums> {
        let mut partials: BTreeMap<BigInt, (BigInt, BigInt)> = BTreeMap::new();
        for value in values {
            let (n, d) = BigRational::from_float(*value)?.into_raw();
            let (sx, sxx) = partials.entry(d).or_default();
            *sxx += &n * &n;
            *sx += n;
        }
        let mut sums = Sums {
            count: values.len(),
            sx: BigRational::zero(),
            sxx: BigRational::zero(),
        };
        for (d, (sx, sxx)) in partials {
            sums.sxx += BigRational::new(sxx, &d * &d);
            sums.sx += BigRational::new(sx, d);
        }
        Some(sums)
    }
}

/// `statistics.mean`: the exact mean, rounded once. NaN for no data; with non-finite data the
/// f64 mean (NaN or ±inf, as Python's).
pub fn mean(values: &[f64]) -> f64 {
    let Some(sums) = Sums::of(values) else {
        return values.iter().sum::<f64>() / values.len() as f64;
    };
    if sums.count == 0 {
        return f64::NAN;
    }
    nearest_f64(&(sums.sx / BigInt::from(sums.count)))
}

/// `statistics.stdev`: the square root of the exact sample variance, correctly rounded. NaN
/// for fewer than 2 points or non-finite data.
pub fn stdev(values: &[f64]) -> f64 {
    let Some(Sums { count, sx, sxx }) = Sums::of(values) else {
        return f64::NAN;
    };
    if count < 2 {
        return f64::NAN;
    }
    // `_ss`: ss = (n·Σx² − (Σx)²) / n, exact; then mss = ss / (n − 1), in lowest terms.
    let n = BigInt::from(count);
    let ss = (sxx * n.clone() - &sx * &sx) / n;
    let mss = ss / BigInt::from(count - 1);
    float_sqrt_of_frac(mss.numer().magnitude(), mss.denom().magnitude())
}

/// Python's `_float_sqrt_of_frac(n, m)`: √(n/m) as a float, correctly rounded.
fn float_sqrt_of_frac(n: &BigUint, m: &BigUint) -> f64 {
    // Python's `//` floors, as `div_euclid` does for a positive divisor.
    let q = (n.bits() as i64 - m.bits() as i64 - SQRT_BIT_WIDTH).div_euclid(2);
    let (numerator, denominator) = if q >= 0 {
        let root = integer_sqrt_of_frac_rto(n, &(m << (2 * q as u64)));
        (root << q as u64, BigUint::one())
    } else {
        let root = integer_sqrt_of_frac_rto(&(n << (-2 * q) as u64), m);
        (root, BigUint::one() << (-q) as u64)
    };
    nearest_f64(&BigRational::new(numerator.into(), denominator.into()))
}

/// Python's `_integer_sqrt_of_frac_rto(n, m)`: √(n/m) rounded to an integer, round-to-odd.
fn integer_sqrt_of_frac_rto(n: &BigUint, m: &BigUint) -> BigUint {
    let a = (n / m).sqrt();
    let inexact = &a * &a * m != *n;
    if inexact {
        a | BigUint::one()
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_that_f64_arithmetic_gets_wrong() {
        // Python 3.11: statistics.stdev([0, 0, 0, 0.09]) == 0.045 (0.04499999999999999833…),
        // statistics.mean([0.01, 0.02]) == 0.015.
        assert_eq!(stdev(&[0.0, 0.0, 0.0, 0.09]), 0.045);
        assert_eq!(format!("{:.2}", stdev(&[0.0, 0.0, 0.0, 0.09])), "0.04");
        assert_eq!(mean(&[0.01, 0.02]), 0.015);
    }

    #[test]
    fn matches_python_on_ties_near_rounding_boundaries() {
        // CPython 3.11.7: `repr(statistics.mean(v))`, `repr(statistics.stdev(v))` and both
        // formatted with '{:.2f}'. Plain f64 arithmetic (sum / n, two-pass deviation) gives
        // a different 2-decimal figure for each of these lists.
        for (data, mean_py, stdev_py, formatted) in [
            (
                &[0.0, 0.0, 0.0, 0.17][..],
                0.0425_f64,
                0.085_f64,
                ["0.04", "0.09"],
            ),
            (&[0.0, 0.0, 0.0, 0.39], 0.0975, 0.195, ["0.10", "0.20"]),
            (&[0.0, 0.0, 0.0, 0.03], 0.0075, 0.015, ["0.01", "0.01"]),
            (&[1.71, 0.0, 0.0, 0.0], 0.4275, 0.855, ["0.43", "0.85"]),
            (
                &[0.0, 0.765, 0.54],
                0.435,
                0.3931602726624347,
                ["0.43", "0.39"],
            ),
            (
                &[0.3, 0.0, 1.125],
                0.475,
                0.5825590098865522,
                ["0.47", "0.58"],
            ),
            (
                &[0.0, 0.0, 0.065, 0.81, 0.0],
                0.17500000000000002,
                0.35608987629529715,
                ["0.18", "0.36"],
            ),
            (
                &[0.0, 0.39, 0.225],
                0.20500000000000002,
                0.19576771950451893,
                ["0.21", "0.20"],
            ),
            (
                &[1.1, 1.1, 1.1, 1.19],
                1.1225,
                0.04499999999999993,
                ["1.12", "0.04"],
            ),
        ] {
            let (m, s) = (mean(data), stdev(data));
            assert_eq!(
                (m.to_bits(), s.to_bits()),
                (mean_py.to_bits(), stdev_py.to_bits()),
                "{data:?}: {m} {s}"
            );
            assert_eq!(
                [format!("{m:.2}"), format!("{s:.2}")],
                formatted,
                "{data:?}"
            );
        }
    }

    #[test]
    fn exact_on_wide_ranges_and_signs() {
        assert_eq!(mean(&[1e300, -1e300, 3.0]), 1.0);
        assert_eq!(mean(&[-2.5, -3.5]), -3.0);
        assert_eq!(stdev(&[1e-300, 1e-300]), 0.0);
        assert_eq!(stdev(&[1.0, 3.0]), std::f64::consts::SQRT_2);
        assert_eq!(
            stdev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
            2.138089935299395
        );
        assert_eq!(mean(&[0.0, 0.0]), 0.0);
        assert_eq!(stdev(&[5.0, 5.0, 5.0]), 0.0);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(mean(&[]).is_nan());
        assert!(stdev(&[1.0]).is_nan());
        assert!(stdev(&[1.0, f64::NAN]).is_nan());
        assert!(mean(&[1.0, f64::NAN]).is_nan());
        assert_eq!(mean(&[1.0, f64::INFINITY]), f64::INFINITY);
        assert!(integer_sqrt_of_frac_rto(&BigUint::zero(), &BigUint::one()).is_zero());
    }
}
