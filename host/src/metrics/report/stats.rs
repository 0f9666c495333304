//! The statistic every row of the report shows: `{mean, std, min, median, p90, p99, max}`,
//! computed as DLIO's postprocessor computes it with Python's `statistics` module (sample
//! standard deviation, `median`, `quantiles(n=100, method="inclusive")`) and formatted with 2
//! decimals, or `n/a` in every field when there are fewer than 2 points.

use serde::Serialize;

/// What every field shows when a series has fewer than 2 points (DLIO's spelling).
pub const NOT_AVAILABLE: &str = "n/a";

/// One statistic, formatted as DLIO formats it: 2 decimals, or `n/a` in every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Arithmetic mean.
    pub mean: String,
    /// Sample standard deviation (n − 1).
    pub std: String,
    /// Smallest value.
    pub min: String,
    /// Median (mean of the two middle values for an even count).
    pub median: String,
    /// 90th percentile, inclusive method.
    pub p90: String,
    /// 99th percentile, inclusive method.
    pub p99: String,
    /// Largest value.
    pub max: String,
}

impl Stats {
    /// Header of the seven columns, in field order.
    pub const COLUMNS: [&'static str; 7] = ["mean", "std", "min", "median", "p90", "p99", "max"];

    /// The statistic of `values`; non-finite values (JSON `NaN`, which Python writes for empty
    /// means) are left out, since one of them would turn every field into `nan`.
    pub fn of(values: &[f64]) -> Stats {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        match Summary::of(&finite) {
            Some(summary) => summary.formatted(),
            None => Stats::not_available(),
        }
    }

    /// `n/a` in every field.
    pub fn not_available() -> Stats {
        let na = || NOT_AVAILABLE.to_string();
        Stats {
            mean: na(),
            std: na(),
            min: na(),
            median: na(),
            p90: na(),
            p99: na(),
            max: na(),
        }
    }

    /// The seven fields in [`Stats::COLUMNS`] order.
    pub fn fields(&self) -> [&str; 7] {
        [
            &self.mean,
            &self.std,
            &self.min,
            &self.median,
            &self.p90,
            &self.p99,
            &self.max,
        ]
    }
}

/// The unformatted figures of a series of at least 2 points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// 90th percentile (`quantiles(n=100, method="inclusive")[89]`).
    pub p90: f64,
    /// 99th percentile (`quantiles(n=100, method="inclusive")[98]`).
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// The figures of `values`, or `None` with fewer than 2 points (Python's `stdev` and
    /// `quantiles` need 2).
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.len() < 2 {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let cuts = quantiles_inclusive(&sorted, 100);
        Some(Summary {
            mean: mean(values),
            std: sample_stdev(values),
            min: sorted[0],
            median: median(&sorted),
            p90: cuts[89],
            p99: cuts[98],
            max: sorted[sorted.len() - 1],
        })
    }

    /// Each figure with 2 decimals.
    pub fn formatted(&self) -> Stats {
        Stats {
            mean: fixed2(self.mean),
            std: fixed2(self.std),
            min: fixed2(self.min),
            median: fixed2(self.median),
            p90: fixed2(self.p90),
            p99: fixed2(self.p99),
            max: fixed2(self.max),
        }
    }
}

/// Python's `'{:.2f}'.format(v)`: Rust's `{:.2}` rounds the exact binary value to nearest,
/// ties to even, as Python does; only the spelling of NaN differs.
pub fn fixed2(value: f64) -> String {
    if value.is_nan() {
        "nan".to_string()
    } else {
        format!("{value:.2}")
    }
}

/// `statistics.mean`: exact, rounded once (see the `exact` module).
pub fn mean(values: &[f64]) -> f64 {
    super::exact::mean(values)
}

/// `statistics.stdev`: sample standard deviation (n − 1), exact and rounded once.
pub fn sample_stdev(values: &[f64]) -> f64 {
    super::exact::stdev(values)
}

/// `statistics.median` of sorted data: the middle value, or the mean of the two middle ones.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// `statistics.quantiles(sorted, n=n, method="inclusive")` for at least 2 sorted points: the
/// `n − 1` cut points, each interpolated between neighbours with Python's integer arithmetic
/// (`j, delta = divmod(i·(m − 1), n)`, `(data[j]·(n − delta) + data[j+1]·delta) / n`).
pub fn quantiles_inclusive(sorted: &[f64], n: usize) -> Vec<f64> {
    let last = sorted.len().saturating_sub(1);
    (1..n)
        .map(|i| {
            let j = i * last / n;
            let delta = i * last % n;
            // j < last because i < n, so data[j + 1] exists.
            let next = sorted[(j + 1).min(last)];
            (sorted[j] * (n - delta) as f64 + next * delta as f64) / n as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference figures from CPython 3.11's `statistics` module, computed once with
    /// `python3 -c 'import statistics as s; q = s.quantiles(v, n=100, method="inclusive"); …'`:
    /// (data, mean, stdev, min, median, q[89], q[98], max).
    #[allow(clippy::type_complexity)]
    fn python_reference() -> Vec<(Vec<f64>, [f64; 7], [&'static str; 7])> {
        vec![
            (
                vec![1.0, 2.0, 3.0, 4.0],
                [2.5, 1.2909944487358056, 1.0, 2.5, 3.7, 3.97, 4.0],
                ["2.50", "1.29", "1.00", "2.50", "3.70", "3.97", "4.00"],
            ),
            (
                vec![5.5, 1.25, 3.0, 3.0, 9.75],
                [4.5, 3.3024612034057266, 1.25, 3.0, 8.05, 9.58, 9.75],
                ["4.50", "3.30", "1.25", "3.00", "8.05", "9.58", "9.75"],
            ),
            (
                vec![2.0, 2.0],
                [2.0, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0],
                ["2.00", "0.00", "2.00", "2.00", "2.00", "2.00", "2.00"],
            ),
            (
                vec![
                    0.731, 12.5, 3.3, 3.3, 7.25, -1.5, 0.0, 42.0, 5.125, 9.99, 3.3, 18.75, 2.2,
                ],
                [
                    8.226615384615384,
                    11.586383808436965,
                    -1.5,
                    3.3,
                    17.5,
                    39.21,
                    42.0,
                ],
                ["8.23", "11.59", "-1.50", "3.30", "17.50", "39.21", "42.00"],
            ),
            (
                (0..12).map(|i| (i * i) as f64 / 7.0).collect(),
                [
                    6.023809523809524,
                    5.880325781155072,
                    0.0,
                    4.357142857142858,
                    14.014285714285716,
                    16.955714285714283,
                    17.285714285714285,
                ],
                ["6.02", "5.88", "0.00", "4.36", "14.01", "16.96", "17.29"],
            ),
        ]
    }

    #[test]
    fn figures_match_pythons_statistics_module() {
        for (data, expected, formatted) in python_reference() {
            let s = Summary::of(&data).expect("at least 2 points");
            let got = [s.mean, s.std, s.min, s.median, s.p90, s.p99, s.max];
            for (name, (g, e)) in Stats::COLUMNS.iter().zip(got.iter().zip(expected)) {
                assert!(
                    (g - e).abs() <= 1e-12 * e.abs().max(1.0),
                    "{name} of {data:?}: {g} vs Python's {e}"
                );
            }
            assert_eq!(Stats::of(&data).fields(), formatted, "{data:?}");
        }
    }

    #[test]
    fn quantile_cut_points_follow_pythons_integer_interpolation() {
        // m = 4: cut i sits at i·3/100 → j = 2, delta = 70 for i = 90.
        let cuts = quantiles_inclusive(&[1.0, 2.0, 3.0, 4.0], 100);
        assert_eq!(cuts.len(), 99);
        assert_eq!(cuts[0], (1.0 * 97.0 + 2.0 * 3.0) / 100.0);
        assert_eq!(cuts[89], (3.0 * 30.0 + 4.0 * 70.0) / 100.0);
        // Two points: a straight line between them.
        let cuts = quantiles_inclusive(&[0.0, 10.0], 100);
        assert_eq!(cuts[49], 5.0);
        assert_eq!(cuts[98], 9.9);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[1.0, 3.0, 9.0]), 3.0);
        assert_eq!(median(&[1.0, 3.0, 9.0, 10.0]), 6.0);
        assert_eq!(median(&[2.0, 2.0, 2.0, 5.0]), 2.0);
    }

    #[test]
    fn fewer_than_two_points_is_not_available_everywhere() {
        for data in [&[][..], &[4.2][..], &[f64::NAN, 1.0][..]] {
            let stats = Stats::of(data);
            assert_eq!(stats, Stats::not_available(), "{data:?}");
            assert!(stats.fields().iter().all(|f| *f == "n/a"));
        }
        assert!(Summary::of(&[1.0]).is_none());
    }

    #[test]
    fn two_decimals_round_like_python() {
        // Python: '{:.2f}'.format(v) for each v.
        for (v, python) in [
            (0.125, "0.12"),
            (0.375, "0.38"),
            (2.675, "2.67"),
            (-0.001, "-0.00"),
            (1.005, "1.00"),
            (5.0, "5.00"),
            (1234.5678, "1234.57"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(fixed2(v), python, "{v}");
        }
    }

    #[test]
    fn stdev_survives_a_large_offset() {
        let data: Vec<f64> = [1.0, 2.0, 3.0, 4.0].iter().map(|v| v + 1e9).collect();
        assert!((sample_stdev(&data) - 1.2909944487358056).abs() < 1e-6);
    }
}
