//! DLIO's metrics, computed exactly as DLIO computes them (reference/dlio-spec.md §5.1): per
//! block AU and throughput with the first steps excluded and the hard-coded `n − 2`, epoch
//! values weighted by steps, AU averaged and throughput summed across ranks.

pub mod host;
pub mod report;
pub mod summary;

/// Timings of one step, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct StepTiming {
    /// Time blocked waiting for the batch.
    pub load: f64,
    /// Measured emulated compute.
    pub compute: f64,
    /// `load + compute`.
    pub proc: f64,
}

/// Steps excluded from AU: `exclude_start` at the start, `exclude_end` at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exclusion {
    /// Steps excluded at the start.
    pub start: u64,
    /// Steps excluded at the end.
    pub end: u64,
}

/// AU and throughput of one block or eval pass.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct PhaseMetrics {
    /// Accelerator utilisation, percent.
    pub au_percent: f64,
    /// Samples per second of this rank.
    pub throughput: f64,
}

/// Indices counted in AU: `[start, expected − end)` clipped to the recorded steps.
fn included(len: usize, expected: u64, exclusion: Exclusion) -> std::ops::Range<usize> {
    let start = (exclusion.start as usize).min(len);
    let end = (expected.saturating_sub(exclusion.end) as usize)
        .min(len)
        .max(start);
    start..end
}

/// AU over `wall` seconds minus the excluded steps' processing time; 0 if nothing computed.
fn utilisation(steps: &[StepTiming], wall: f64, expected: u64, exclusion: Exclusion) -> (f64, f64) {
    let keep = included(steps.len(), expected, exclusion);
    let compute: f64 = steps[keep.clone()].iter().map(|s| s.compute).sum();
    let excluded_proc: f64 = steps
        .iter()
        .enumerate()
        .filter(|(i, _)| !keep.contains(i))
        .map(|(_, s)| s.proc)
        .sum();
    let busy_wall = wall - excluded_proc;
    let au = if compute == 0.0 || busy_wall <= 0.0 {
        0.0
    } else {
        100.0 * compute / busy_wall
    };
    (au, busy_wall)
}

/// Metrics of a training block: `AU = 100·Σcompute(included)/T_b`,
/// `throughput = (n − 2)/T_b · B` with `T_b` = block wall time minus excluded processing time.
pub fn training_block(
    steps: &[StepTiming],
    wall: f64,
    batch: u64,
    expected_steps: u64,
    exclusion: Exclusion,
) -> PhaseMetrics {
    let (au_percent, busy_wall) = utilisation(steps, wall, expected_steps, exclusion);
    let throughput = if busy_wall > 0.0 {
        (steps.len() as f64 - 2.0) / busy_wall * batch as f64
    } else {
        0.0
    };
    PhaseMetrics {
        au_percent,
        throughput,
    }
}

/// Metrics of an evaluation pass: AU as for training; throughput `n / wall · B` (no
/// exclusion, no `− 2`).
pub fn evaluation(
    steps: &[StepTiming],
    wall: f64,
    batch: u64,
    expected_steps: u64,
    exclusion: Exclusion,
) -> PhaseMetrics {
    let (au_percent, _) = utilisation(steps, wall, expected_steps, exclusion);
    let throughput = if wall > 0.0 {
        steps.len() as f64 / wall * batch as f64
    } else {
        0.0
    };
    PhaseMetrics {
        au_percent,
        throughput,
    }
}

/// Step-weighted mean of block metrics: the epoch value of one rank.
pub fn epoch(blocks: &[(PhaseMetrics, usize)]) -> PhaseMetrics {
    let steps: usize = blocks.iter().map(|(_, n)| n).sum();
    if steps == 0 {
        return PhaseMetrics::default();
    }
    let weighted = |f: fn(&PhaseMetrics) -> f64| {
        blocks.iter().map(|(m, n)| f(m) * *n as f64).sum::<f64>() / steps as f64
    };
    PhaseMetrics {
        au_percent: weighted(|m| m.au_percent),
        throughput: weighted(|m| m.throughput),
    }
}

/// Mean and population standard deviation.
pub fn mean_stdev(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(n: usize, load: f64, compute: f64) -> Vec<StepTiming> {
        vec![
            StepTiming {
                load,
                compute,
                proc: load + compute
            };
            n
        ]
    }

    #[test]
    fn spec_example_gives_90_909_percent_and_8_over_9_9() {
        // load 0.1 s, compute 1.0 s, 10 steps, block wall = Σ proc.
        let timings = steps(10, 0.1, 1.0);
        let wall: f64 = timings.iter().map(|s| s.proc).sum();
        let m = training_block(&timings, wall, 4, 10, Exclusion { start: 1, end: 0 });
        assert!(
            (m.au_percent - 100.0 * 9.0 / 9.9).abs() < 1e-9,
            "{}",
            m.au_percent
        );
        assert!((m.au_percent - 90.909_090_9).abs() < 1e-6);
        assert!(
            (m.throughput - 8.0 / 9.9 * 4.0).abs() < 1e-9,
            "{}",
            m.throughput
        );
    }

    #[test]
    fn two_step_block_has_zero_throughput_and_exclusions_clip() {
        let timings = steps(2, 0.5, 0.5);
        let m = training_block(&timings, 2.0, 8, 2, Exclusion { start: 1, end: 0 });
        assert_eq!(m.throughput, 0.0);
        assert!((m.au_percent - 50.0).abs() < 1e-9);
        let m = training_block(&timings, 2.0, 8, 2, Exclusion { start: 5, end: 0 });
        assert_eq!(m.au_percent, 0.0);
    }

    #[test]
    fn end_exclusion_uses_expected_steps() {
        let timings = steps(10, 0.0, 1.0);
        let m = training_block(&timings, 10.0, 1, 10, Exclusion { start: 1, end: 2 });
        // included 1..8 → 7 s of compute over 10 − 3 = 7 s.
        assert!((m.au_percent - 100.0).abs() < 1e-9);
    }

    #[test]
    fn evaluation_throughput_has_no_minus_two() {
        let timings = steps(4, 0.0, 0.5);
        let m = evaluation(&timings, 2.0, 2, 4, Exclusion { start: 1, end: 0 });
        assert!((m.throughput - 4.0).abs() < 1e-9);
    }

    #[test]
    fn epoch_is_step_weighted_and_stdev_is_population() {
        let a = PhaseMetrics {
            au_percent: 90.0,
            throughput: 10.0,
        };
        let b = PhaseMetrics {
            au_percent: 60.0,
            throughput: 40.0,
        };
        let e = epoch(&[(a, 3), (b, 1)]);
        assert!((e.au_percent - 82.5).abs() < 1e-9);
        assert!((e.throughput - 17.5).abs() < 1e-9);
        assert_eq!(epoch(&[(a, 0)]), PhaseMetrics::default());
        let (mean, sd) = mean_stdev(&[1.0, 3.0]);
        assert_eq!((mean, sd), (2.0, 1.0));
    }
}
