//! Mean and sample standard deviation computed exactly and rounded once, as Python's
//! `statistics.mean` and `statistics.stdev` do (exact fractions, then a correctly rounded
//! float; the square root by `_float_sqrt_of_frac`'s round-to-odd method).
//!
//! Why not plain f64: step times and iostat columns are short decimals, so their means and
//! deviations often sit within an ulp of a 2-decimal rounding boundary (the deviation of
//! `[0, 0, 0, 0.09]` is 0.045 to 17 digits). Only the correctly rounded value formats the way
//! DLIO's report does.
//!
//! Every finite f64 is `±m·2^e` with an integer `m`; with `E` the smallest exponent of the
//! data, all values are integers times `2^E`, so sums and sums of squares are exact big
//! integers.

use std::cmp::Ordering;

/// An unsigned big integer, little-endian 32-bit limbs without trailing zero limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            Some(top) => self.0.len() as u64 * 32 - u64::from(top.leading_zeros()),
            None => 0,
        }
    }

    fn trim(mut self) -> Big {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }

    fn shl(&self, bits: u64) -> Big {
        if self.is_zero() {
            return Big(Vec::new());
        }
        let (limbs, shift) = ((bits / 32) as usize, (bits % 32) as u32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &limb in &self.0 {
            if shift == 0 {
                out.push(limb);
            } else {
                out.push((limb << shift) | carry);
                carry = limb >> (32 - shift);
            }
        }
        out.push(carry);
        Big(out).trim()
    }

    fn add(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len().max(other.0.len()) + 1);
        let mut carry = 0u64;
        for i in 0..self.0.len().max(other.0.len()) {
            let sum = u64::from(*self.0.get(i).unwrap_or(&0))
                + u64::from(*other.0.get(i).unwrap_or(&0))
                + carry;
            out.push(sum as u32);
            carry = sum >> 32;
        }
        out.push(carry as u32);
        Big(out).trim()
    }

    /// `self − other`; callers guarantee `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut diff = i64::from(self.0[i]) - i64::from(*other.0.get(i).unwrap_or(&0)) - borrow;
            borrow = i64::from(diff < 0);
            if diff < 0 {
                diff += 1 << 32;
            }
            out.push(diff as u32);
        }
        Big(out).trim()
    }

    fn mul(&self, other: &Big) -> Big {
        let mut out = vec![0u32; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                let t = u64::from(a) * u64::from(b) + u64::from(out[i + j]) + carry;
                out[i + j] = t as u32;
                carry = t >> 32;
            }
            let mut k = i + other.0.len();
            while carry != 0 {
                let t = u64::from(out[k]) + carry;
                out[k] = t as u32;
                carry = t >> 32;
                k += 1;
            }
        }
        Big(out).trim()
    }

    fn compare(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// `(self / divisor, remainder == 0)` for a quotient below 2^128, by binary long
    /// division (the callers scale so that the quotient has about 110 bits).
    fn div_small_quotient(&self, divisor: &Big) -> (u128, bool) {
        let mut rest = self.clone();
        let mut quotient = 0u128;
        let top = self.bits().saturating_sub(divisor.bits()).min(127);
        for bit in (0..=top).rev() {
            let step = divisor.shl(bit);
            if step.compare(&rest) != Ordering::Greater {
                rest = rest.sub(&step);
                quotient |= 1 << bit;
            }
        }
        (quotient, rest.is_zero())
    }
}

/// `x · 2^k` without overflowing the scale factor.
fn ldexp(mut x: f64, mut k: i64) -> f64 {
    let pow2 = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    while k > 1000 {
        x *= pow2(1000);
        k -= 1000;
    }
    while k < -1000 {
        x *= pow2(-1000);
        k += 1000;
    }
    x * pow2(k)
}

/// `numerator / denominator · 2^exp2` rounded to the nearest f64, ties to even (Python's
/// int / int and `float(Fraction)`); `numerator` must not be zero.
fn ratio_to_f64(numerator: &Big, denominator: &Big, exp2: i64) -> f64 {
    // Scale so the integer quotient has 55 or 56 bits: 53 kept, the rest and the remainder
    // decide the rounding.
    let shift = 55 - (numerator.bits() as i64 - denominator.bits() as i64);
    let (quotient, exact) = if shift >= 0 {
        numerator.shl(shift as u64).div_small_quotient(denominator)
    } else {
        numerator.div_small_quotient(&denominator.shl((-shift) as u64))
    };
    let extra = (128 - quotient.leading_zeros()).saturating_sub(53);
    let mut mantissa = quotient >> extra;
    let rest = quotient & ((1u128 << extra) - 1);
    let half = if extra == 0 { 0 } else { 1u128 << (extra - 1) };
    if extra > 0 && (rest > half || (rest == half && (!exact || mantissa & 1 == 1))) {
        mantissa += 1;
    }
    ldexp(mantissa as f64, i64::from(extra) - shift + exp2)
}

/// `isqrt` of a u128.
fn isqrt(n: u128) -> u128 {
    let mut x = (n as f64).sqrt() as u128;
    while x.checked_mul(x).is_none_or(|sq| sq > n) {
        x -= 1;
    }
    while (x + 1).checked_mul(x + 1).is_some_and(|sq| sq <= n) {
        x += 1;
    }
    x
}

/// Exact sums of finite data: every value is an integer times `2^exp`.
struct Sums {
    count: u64,
    exp: i64,
    positive: Big,
    negative: Big,
    squares: Big,
}

impl Sums {
    fn of(values: &[f64]) -> Sums {
        let parts: Vec<(bool, u64, i64)> = values
            .iter()
            .filter(|v| v.is_finite() && **v != 0.0)
            .map(|v| decompose(*v))
            .collect();
        let exp = parts.iter().map(|p| p.2).min().unwrap_or(0);
        let mut sums = Sums {
            count: values.len() as u64,
            exp,
            positive: Big(Vec::new()),
            negative: Big(Vec::new()),
            squares: Big(Vec::new()),
        };
        for (negative, mantissa, e) in parts {
            let scaled = Big::from_u128(u128::from(mantissa)).shl((e - exp) as u64);
            sums.squares = sums.squares.add(&scaled.mul(&scaled));
            if negative {
                sums.negative = sums.negative.add(&scaled);
            } else {
                sums.positive = sums.positive.add(&scaled);
            }
        }
        sums
    }

    /// |Σx| in units of `2^exp`, and whether Σx is negative.
    fn total(&self) -> (Big, bool) {
        match self.positive.compare(&self.negative) {
            Ordering::Less => (self.negative.sub(&self.positive), true),
            _ => (self.positive.sub(&self.negative), false),
        }
    }
}

/// `±m·2^e` with `m` odd (or the value's own bits for subnormals).
fn decompose(v: f64) -> (bool, u64, i64) {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let (mut mantissa, mut exp) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let zeros = mantissa.trailing_zeros();
    mantissa >>= zeros;
    exp += i64::from(zeros);
    (v.is_sign_negative(), mantissa, exp)
}

/// `statistics.mean`: the exact mean, rounded once. `values` are finite and not empty.
pub fn mean(values: &[f64]) -> f64 {
    let sums = Sums::of(values);
    let (total, negative) = sums.total();
    if total.is_zero() || sums.count == 0 {
        return 0.0;
    }
    let m = ratio_to_f64(&total, &Big::from_u128(u128::from(sums.count)), sums.exp);
    if negative {
        -m
    } else {
        m
    }
}

/// `statistics.stdev`: the square root of the exact sample variance, correctly rounded.
/// `values` are finite, at least 2.
pub fn stdev(values: &[f64]) -> f64 {
    let sums = Sums::of(values);
    let count = u128::from(sums.count);
    if count < 2 {
        return f64::NAN;
    }
    // Σ(x − x̄)² · count = count·Σx² − (Σx)², in units of 2^(2·exp).
    let (total, _) = sums.total();
    let n = Big::from_u128(count)
        .mul(&sums.squares)
        .sub(&total.mul(&total));
    if n.is_zero() {
        return 0.0;
    }
    let m = Big::from_u128(count * (count - 1));
    // √(n/m · 2^(2·exp)) = √(n/m) · 2^exp exactly; Python's `_float_sqrt_of_frac` for √(n/m):
    // scale to about 109 bits, integer square root rounded to odd, then one rounding to f64.
    let q = (n.bits() as i64 - m.bits() as i64 - 109).div_euclid(2);
    let (quotient, exact) = if q >= 0 {
        n.div_small_quotient(&m.shl(2 * q as u64))
    } else {
        n.shl((-2 * q) as u64).div_small_quotient(&m)
    };
    let root = isqrt(quotient);
    let odd = root | u128::from(!(exact && root * root == quotient));
    ldexp(odd as f64, q + sums.exp)
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
    fn big_integer_arithmetic() {
        let a = Big::from_u128(u128::MAX);
        let b = a.mul(&a);
        assert_eq!(b.bits(), 256);
        let (q, exact) = b.div_small_quotient(&a);
        assert_eq!((q, exact), (u128::MAX, true));
        let c = b.add(&Big::from_u128(1));
        assert_eq!(c.sub(&b), Big::from_u128(1));
        assert_eq!(Big::from_u128(3).shl(100).bits(), 102);
        assert_eq!(isqrt(u128::MAX), u64::MAX as u128);
        assert_eq!(isqrt(15), 3);
        assert_eq!(isqrt(16), 4);
    }
}
