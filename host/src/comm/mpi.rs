//! The world of an `mpirun` job (cargo feature `mpi`): ranks, barriers and reductions over
//! MPI_COMM_WORLD, and the number of hosts from a shared-memory split of it.

use std::sync::Mutex;

use mpi::{
    collective::{CommunicatorCollectives, Root, SystemOperation},
    environment::Universe,
    topology::{Communicator, SimpleCommunicator},
    Threading,
};

use super::{HostRow, World};

/// MPI could not start as dl-driver needs it.
#[derive(Debug, thiserror::Error)]
pub enum MpiError {
    /// MPI_Init failed or MPI was initialized already.
    #[error("MPI could not be initialized")]
    Init,
    /// The library cannot serialize calls from several threads.
    #[error(
        "the MPI library offers thread level {0:?}; dl-driver needs Serialized \
         (rebuild MPI with thread support, e.g. Open MPI's default)"
    )]
    Threading(Threading),
}

/// MPI_COMM_WORLD of this job.
pub struct MpiWorld {
    // Dropped before `_universe`, which finalizes MPI.
    comm: Mutex<SimpleCommunicator>,
    _universe: Universe,
    rank: u64,
    size: u64,
    /// This rank is its host's first, and its host runs this many ranks.
    host_leader: bool,
    ranks_on_host: u64,
}

// SAFETY: MPI is initialized with MPI_THREAD_SERIALIZED and every MPI call goes through the
// `comm` mutex, so calls never overlap, whichever thread makes them; the universe is only
// touched again when the world is dropped.
unsafe impl Send for MpiWorld {}
// SAFETY: as above: shared access only reaches MPI through the mutex.
unsafe impl Sync for MpiWorld {}

impl MpiWorld {
    /// Initializes MPI and learns the job's layout (a collective: every rank calls it).
    pub fn init() -> Result<MpiWorld, MpiError> {
        let (universe, threading) =
            mpi::initialize_with_threading(Threading::Serialized).ok_or(MpiError::Init)?;
        if threading < Threading::Serialized {
            return Err(MpiError::Threading(threading));
        }
        let comm = universe.world();
        let rank = comm.rank() as u64;
        let size = comm.size() as u64;
        // Ranks sharing memory share a host; each host's first rank speaks for it.
        let node = comm.split_shared(comm.rank());
        Ok(MpiWorld {
            comm: Mutex::new(comm),
            _universe: universe,
            rank,
            size,
            host_leader: node.rank() == 0,
            ranks_on_host: node.size() as u64,
        })
    }

    fn with<T>(&self, call: impl FnOnce(&SimpleCommunicator) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-call; MPI itself is intact.
        let comm = self.comm.lock().unwrap_or_else(|e| e.into_inner());
        call(&comm)
    }
}

impl World for MpiWorld {
    fn rank(&self) -> u64 {
        self.rank
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn barrier(&self) {
        self.with(|comm| comm.barrier());
    }

    fn all_reduce_sum(&self, values: &mut [f64]) {
        let send = values.to_vec();
        self.with(|comm| comm.all_reduce_into(&send[..], values, SystemOperation::sum()));
    }

    fn host_rows(&self, cpu_count: u64, memory_gib: f64) -> Vec<HostRow> {
        let mine = [
            f64::from(u8::from(self.host_leader)),
            cpu_count as f64,
            memory_gib,
            self.ranks_on_host as f64,
        ];
        let mut all = vec![0.0f64; 4 * self.size as usize];
        self.with(|comm| comm.all_gather_into(&mine[..], &mut all[..]));
        all.chunks_exact(4)
            .filter(|row| row[0] > 0.5)
            .map(|row| HostRow {
                cpu_count: row[1] as u64,
                memory_gib: row[2],
                ranks: row[3] as u64,
            })
            .collect()
    }

    fn abort(&self, code: i32) -> ! {
        // Not through the mutex: another thread may hold it inside a collective that will
        // never complete, and MPI_Abort is safe to call at any time.
        SimpleCommunicator::world().abort(code)
    }

    fn broadcast_text(&self, text: &mut String) {
        self.with(|comm| {
            let root = comm.process_at_rank(0);
            let mut len = text.len() as u64;
            root.broadcast_into(&mut len);
            let mut bytes = text.as_bytes().to_vec();
            bytes.resize(len as usize, 0);
            root.broadcast_into(&mut bytes[..]);
            *text = String::from_utf8_lossy(&bytes).into_owned();
        });
    }
}
