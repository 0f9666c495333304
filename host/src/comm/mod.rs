//! The world a rank lives in: one process ([`Solo`]), or an `mpirun` job over MPI (cargo
//! feature `mpi`). Every rank-dependent rule elsewhere takes the rank and size from here.

#[cfg(feature = "mpi")]
mod mpi;

#[cfg(feature = "mpi")]
pub use self::mpi::{MpiError, MpiWorld};

/// The ranks of a run and the collectives the engine needs.
pub trait World: Send + Sync {
    /// This process's rank.
    fn rank(&self) -> u64;
    /// Number of ranks.
    fn size(&self) -> u64;
    /// Waits until every rank arrives (DLIO's per-step all-reduce emulation).
    fn barrier(&self);
    /// Element-wise sum of `values` over all ranks, left in `values` on every rank; every
    /// rank passes the same length.
    fn all_reduce_sum(&self, values: &mut [f64]);
    /// Rank 0's `text`, on every rank.
    fn broadcast_text(&self, text: &mut String);
    /// Every host's `(cpu count, memory GiB)` as its first rank reports them, with its
    /// number of ranks, in host order (on every rank; a collective).
    fn host_rows(&self, cpu_count: u64, memory_gib: f64) -> Vec<HostRow>;
    /// Ends every rank of the job with `code` (after an error on this one).
    fn abort(&self, code: i32) -> !;
}

/// One host of the job, as `summary.json` lists hosts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostRow {
    /// Online CPUs.
    pub cpu_count: u64,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// Ranks running on it.
    pub ranks: u64,
}

/// A single process.
#[derive(Debug, Default, Clone, Copy)]
pub struct Solo;

impl World for Solo {
    fn rank(&self) -> u64 {
        0
    }
    fn size(&self) -> u64 {
        1
    }
    fn barrier(&self) {}
    fn all_reduce_sum(&self, _values: &mut [f64]) {}
    fn broadcast_text(&self, _text: &mut String) {}
    fn host_rows(&self, cpu_count: u64, memory_gib: f64) -> Vec<HostRow> {
        vec![HostRow {
            cpu_count,
            memory_gib,
            ranks: 1,
        }]
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// Environment variables MPI launchers set in every rank, with the launcher's name.
const LAUNCHER_SIZE_VARS: [(&str, &str); 2] = [
    ("OMPI_COMM_WORLD_SIZE", "Open MPI"),
    ("PMI_SIZE", "MPICH/Hydra"),
];

/// If an MPI launcher started this process as one of several ranks, names it and the size.
pub fn launched_by_mpi() -> Option<(&'static str, u64)> {
    LAUNCHER_SIZE_VARS.iter().find_map(|(var, launcher)| {
        let size: u64 = std::env::var(var).ok()?.trim().parse().ok()?;
        (size > 1).then_some((*launcher, size))
    })
}
