//! The world a rank lives in. This build runs as one process (P = 1); every rank-dependent
//! rule elsewhere takes the rank and size from here, so MPI slots in behind the same trait.

/// The ranks of a run and the collectives the engine needs.
pub trait World: Send + Sync {
    /// This process's rank.
    fn rank(&self) -> u64;
    /// Number of ranks.
    fn size(&self) -> u64;
    /// Waits until every rank arrives (DLIO's per-step all-reduce emulation).
    fn barrier(&self);
    /// Element-wise sum of `values` over all ranks, left in `values` on every rank.
    fn all_reduce_sum(&self, values: &mut [f64]);
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
