//! The training loop of DLIO (reference/dlio-spec.md §4.5): per step wait for the batch
//! (load), sleep the emulated compute, barrier; evaluation after the epochs it is due.

use std::{
    sync::{atomic::AtomicU64, Arc},
    time::{Duration, Instant},
};

use chrono::{DateTime, Local};
use rand::{rngs::SmallRng, SeedableRng};

use super::{
    buffer::BufferPool,
    loader::{prefetch_factor, BatchReader, Loader},
    progress, EngineError,
};
use crate::{
    comm::World,
    config::{TimeSpec, Workload},
    metrics::{self, Exclusion, PhaseMetrics, StepTiming},
    plan::{PhasePlan, RunPlan},
    plugins::{Session, Store},
};

/// One timed stretch of steps: a training block or an evaluation pass.
#[derive(Debug, Clone)]
pub struct PhaseRecord {
    /// Wall-clock start.
    pub start: DateTime<Local>,
    /// Wall-clock end.
    pub end: DateTime<Local>,
    /// Elapsed seconds (monotonic clock).
    pub seconds: f64,
    /// Per-step timings.
    pub steps: Vec<StepTiming>,
    /// AU and throughput of this rank.
    pub metrics: PhaseMetrics,
}

/// One epoch of this rank.
#[derive(Debug, Clone)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: u64,
    /// Wall-clock start.
    pub start: DateTime<Local>,
    /// Wall-clock end including evaluation.
    pub end: DateTime<Local>,
    /// Training seconds.
    pub seconds: f64,
    /// Training blocks (one per epoch until step checkpoints split them).
    pub blocks: Vec<PhaseRecord>,
    /// The evaluation pass after this epoch, if one ran.
    pub eval: Option<PhaseRecord>,
    /// Step-weighted training metrics of the epoch.
    pub metrics: PhaseMetrics,
}

/// Everything the training loop measured on this rank.
#[derive(Debug, Clone, Default)]
pub struct TrainingReport {
    /// Epochs in order.
    pub epochs: Vec<EpochRecord>,
    /// Bytes read from the store.
    pub bytes_read: u64,
}

/// What the loop needs.
pub struct TrainContext<'a> {
    /// The workload (times, reader settings, exclusions).
    pub workload: &'a Workload,
    /// The plan.
    pub plan: &'a RunPlan,
    /// The configured format.
    pub session: &'a Session,
    /// The store to read from.
    pub store: &'a Store,
    /// The ranks.
    pub world: &'a dyn World,
    /// Print `[OUTPUT]` progress lines (rank 0).
    pub announce: bool,
}

/// Runs every epoch (and due evaluations) on this rank.
pub fn train(ctx: &TrainContext) -> Result<TrainingReport, EngineError> {
    let workload = ctx.workload;
    let compute_time = workload
        .train
        .computation_time
        .with_stdev(workload.train.computation_time_stdev);
    let eval_time = workload
        .evaluation
        .eval_time
        .with_stdev(workload.evaluation.eval_time_stdev);
    let exclusion = Exclusion {
        start: workload.output.metric.exclude_start_steps,
        end: workload.output.metric.exclude_end_steps,
    };
    let bytes_read = Arc::new(AtomicU64::new(0));
    let pool = BufferPool::default();
    let mut rng = SmallRng::from_os_rng();
    let mut next_eval = workload.evaluation.eval_after_epoch.max(1);
    let mut report = TrainingReport::default();

    for epoch in 1..=ctx.plan.epochs {
        let phase = &ctx.plan.train;
        if ctx.announce {
            crate::log::output(&format!(
                "Starting epoch {epoch}: {} steps expected",
                phase.steps
            ));
        }
        let start = Local::now();
        let clock = Instant::now();
        let (train_order, eval_order) = ctx.plan.file_orders(epoch);
        let reader = batch_reader(ctx, phase, train_order, &pool, &bytes_read);
        let block = run_phase(
            ctx,
            &reader,
            phase,
            compute_time,
            &mut rng,
            true,
            &format!("epoch {epoch}"),
        )?;
        ctx.world.barrier();
        let seconds = clock.elapsed().as_secs_f64();
        let block = finish_block(block, phase, exclusion, true);
        if ctx.announce {
            crate::log::output(&format!(
                "Ending block 1 - {} steps completed in {:.2} s",
                block.steps.len(),
                block.seconds
            ));
            crate::log::output(&format!(
                "Epoch {epoch} - Block 1 [Training] Accelerator Utilization [AU] (%): {:.4}",
                block.metrics.au_percent
            ));
            crate::log::output(&format!(
                "Epoch {epoch} - Block 1 [Training] Throughput (samples/second): {:.4}",
                block.metrics.throughput * ctx.world.size() as f64
            ));
            crate::log::output(&format!(
                "Ending epoch {epoch} - {} steps completed in {seconds:.2} s",
                block.steps.len()
            ));
        }
        let epoch_metrics = metrics::epoch(&[(block.metrics, block.steps.len())]);
        let mut eval = None;
        if let Some(eval_phase) = ctx.plan.eval.as_ref().filter(|_| epoch >= next_eval) {
            next_eval += workload.evaluation.epochs_between_evals.max(1);
            if ctx.announce {
                crate::log::output(&format!(
                    "Starting eval - {} steps expected",
                    eval_phase.steps
                ));
            }
            let reader = batch_reader(ctx, eval_phase, eval_order, &pool, &bytes_read);
            let pass = run_phase(
                ctx,
                &reader,
                eval_phase,
                eval_time,
                &mut rng,
                false,
                &format!("eval {epoch}"),
            )?;
            let pass = finish_block(pass, eval_phase, exclusion, false);
            if ctx.announce {
                crate::log::output(&format!(
                    "Epoch {epoch} [Eval] Accelerator Utilization [AU] (%): {:.4}",
                    pass.metrics.au_percent
                ));
                crate::log::output(&format!(
                    "Epoch {epoch} [Eval] Throughput (samples/second): {:.4}",
                    pass.metrics.throughput * ctx.world.size() as f64
                ));
            }
            eval = Some(pass);
        }
        report.epochs.push(EpochRecord {
            epoch,
            start,
            end: Local::now(),
            seconds,
            blocks: vec![block],
            eval,
            metrics: epoch_metrics,
        });
    }
    report.bytes_read = bytes_read.load(std::sync::atomic::Ordering::Relaxed);
    Ok(report)
}

fn batch_reader<'a>(
    ctx: &TrainContext<'a>,
    phase: &'a PhasePlan,
    order: Option<Vec<u64>>,
    pool: &BufferPool,
    bytes: &Arc<AtomicU64>,
) -> BatchReader<'a> {
    let reader = &ctx.workload.reader;
    BatchReader {
        phase,
        files: &ctx.plan.dataset.files,
        session: ctx.session,
        store: ctx.store,
        rank: ctx.world.rank(),
        preprocess: reader
            .preprocess_time
            .with_stdev(reader.preprocess_time_stdev),
        pool: pool.clone(),
        bytes_read: Arc::clone(bytes),
        order,
    }
}

/// Steps of one phase with their timings, before metrics.
struct RawPhase {
    start: DateTime<Local>,
    end: DateTime<Local>,
    seconds: f64,
    steps: Vec<StepTiming>,
}

fn run_phase(
    ctx: &TrainContext,
    reader: &BatchReader,
    phase: &PhasePlan,
    compute: TimeSpec,
    rng: &mut SmallRng,
    barrier_per_step: bool,
    label: &str,
) -> Result<RawPhase, EngineError> {
    let settings = &ctx.workload.reader;
    let workers = settings.read_threads;
    let factor = prefetch_factor(settings.prefetch_size, workers);
    let bar = progress::steps_bar(phase.steps, label);
    let start = Local::now();
    let clock = Instant::now();
    let mut steps = Vec::with_capacity(phase.steps as usize);
    std::thread::scope(|scope| -> Result<(), EngineError> {
        let mut loader = Loader::start(scope, reader, phase.steps, workers, factor);
        let mut waiting = Instant::now();
        while let Some(batch) = loader.next_batch() {
            batch?;
            let load = waiting.elapsed().as_secs_f64();
            let computing = Instant::now();
            let pause = compute.sample(rng);
            if pause > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(pause));
            }
            let compute = computing.elapsed().as_secs_f64();
            steps.push(StepTiming {
                load,
                compute,
                proc: waiting.elapsed().as_secs_f64(),
            });
            if barrier_per_step {
                ctx.world.barrier();
            }
            bar.inc(1);
            waiting = Instant::now();
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(RawPhase {
        start,
        end: Local::now(),
        seconds: clock.elapsed().as_secs_f64(),
        steps,
    })
}

fn finish_block(
    raw: RawPhase,
    phase: &PhasePlan,
    exclusion: Exclusion,
    training: bool,
) -> PhaseRecord {
    let metrics = if training {
        metrics::training_block(
            &raw.steps,
            raw.seconds,
            phase.batch_size,
            phase.steps,
            exclusion,
        )
    } else {
        metrics::evaluation(
            &raw.steps,
            raw.seconds,
            phase.batch_size,
            phase.steps,
            exclusion,
        )
    };
    PhaseRecord {
        start: raw.start,
        end: raw.end,
        seconds: raw.seconds,
        steps: raw.steps,
        metrics,
    }
}
