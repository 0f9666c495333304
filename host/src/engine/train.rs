//! The training loop of DLIO (reference/dlio-spec.md §4.5): per step wait for the batch
//! (load), sleep the emulated compute, barrier; step checkpoints split an epoch into blocks,
//! epoch checkpoints follow the post-epoch barrier, and evaluation runs after due epochs.

use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use rand::{rngs::SmallRng, SeedableRng};

use super::{
    batch::SampleTemplate,
    buffer::BufferPool,
    checkpointing::{CheckpointRecord, Checkpointer},
    loader::{prefetch_factor, BatchReader, Loader},
    progress,
    reads::ReadLog,
    EngineError,
};
use crate::{
    comm::World,
    config::{TimeSpec, Workload},
    log,
    metrics::{self, Exclusion, PhaseMetrics, StepTiming},
    plan::{PhasePlan, RecordStream, RunPlan},
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
    /// Training blocks: one, or one more per step checkpoint.
    pub blocks: Vec<PhaseRecord>,
    /// The evaluation pass after this epoch, if one ran.
    pub eval: Option<PhaseRecord>,
    /// Checkpoints saved or loaded during the epoch.
    pub checkpoints: Vec<CheckpointRecord>,
    /// Step-weighted training metrics of the epoch.
    pub metrics: PhaseMetrics,
}

/// Everything the loop measured on this rank.
#[derive(Debug, Clone, Default)]
pub struct TrainingReport {
    /// Epochs in order.
    pub epochs: Vec<EpochRecord>,
    /// Bytes read from the dataset store.
    pub bytes_read: u64,
}

impl TrainingReport {
    /// Every checkpoint record, in order.
    pub fn checkpoints(&self) -> impl Iterator<Item = &CheckpointRecord> {
        self.epochs.iter().flat_map(|e| e.checkpoints.iter())
    }
}

/// What the loop needs.
pub struct TrainContext<'a> {
    /// The workload (times, reader settings, exclusions, checkpoint cadence).
    pub workload: &'a Workload,
    /// The plan.
    pub plan: &'a RunPlan,
    /// The configured format.
    pub session: &'a Session,
    /// The store to read from.
    pub store: &'a Store,
    /// The ranks.
    pub world: &'a dyn World,
    /// Saves checkpoints, when `workflow.checkpoint` is on.
    pub checkpointer: Option<&'a Checkpointer<'a>>,
    /// Print `[OUTPUT]` progress lines (rank 0).
    pub announce: bool,
    /// The dummy sample reads return, collated into each batch handed to compute.
    pub sample: &'a SampleTemplate,
    /// Where reads are counted and traced.
    pub reads: &'a ReadLog,
}

impl TrainContext<'_> {
    fn say(&self, message: &str) {
        if self.announce {
            log::output(message);
        }
    }
}

/// Runs every epoch (with its checkpoints and due evaluations) on this rank.
pub fn train(ctx: &TrainContext) -> Result<TrainingReport, EngineError> {
    let workload = ctx.workload;
    let compute = workload
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
    let pool = BufferPool::default();
    let mut rng = SmallRng::from_os_rng();
    let cadence = &workload.checkpoint;
    let mut next_eval = workload.evaluation.eval_after_epoch.max(1);
    let mut next_checkpoint_epoch = cadence.checkpoint_after_epoch.max(1);
    let mut report = TrainingReport::default();
    let stream_orders = ctx.plan.record_stream.map(|_| ctx.plan.file_orders(1));

    for epoch in 1..=ctx.plan.epochs {
        let phase = &ctx.plan.train;
        ctx.say(&format!(
            "Starting epoch {epoch}: {} steps expected",
            phase.steps
        ));
        let start = Local::now();
        let clock = Instant::now();
        // TensorFlow's TFRecord pipeline shuffles its file list once, before epoch 1.
        let (train_order, eval_order) = match &stream_orders {
            Some(orders) => orders.clone(),
            None => ctx.plan.file_orders(epoch),
        };
        let reader = batch_reader(ctx, phase, train_order, &pool, "train");
        let mut checkpoints = Vec::new();
        let raw = run_steps(
            ctx,
            &reader,
            phase,
            compute,
            &mut rng,
            Some((epoch, &mut checkpoints)),
            &format!("epoch {epoch}"),
        )?;
        ctx.world.barrier();
        let seconds = clock.elapsed().as_secs_f64();
        let blocks: Vec<PhaseRecord> = raw
            .into_iter()
            .map(|b| finish(b, phase, exclusion, true))
            .collect();
        for (i, block) in blocks.iter().enumerate() {
            let n = i + 1;
            ctx.say(&format!(
                "Ending block {n} - {} steps completed in {:.2} s",
                block.steps.len(),
                block.seconds
            ));
            ctx.say(&format!(
                "Epoch {epoch} - Block {n} [Training] Accelerator Utilization [AU] (%): {:.4}",
                block.metrics.au_percent
            ));
            ctx.say(&format!(
                "Epoch {epoch} - Block {n} [Training] Throughput (samples/second): {:.4}",
                block.metrics.throughput * ctx.world.size() as f64
            ));
        }
        let steps_done: usize = blocks.iter().map(|b| b.steps.len()).sum();
        ctx.say(&format!(
            "Ending epoch {epoch} - {steps_done} steps completed in {seconds:.2} s"
        ));
        if let Some(checkpointer) = ctx.checkpointer {
            if cadence.steps_between_checkpoints < 0 && epoch == next_checkpoint_epoch {
                next_checkpoint_epoch += cadence.epochs_between_checkpoints.max(1);
                // DLIO names an epoch checkpoint after the step that would come next.
                let name = format!("save_ckpt{}", blocks.len());
                checkpoints.push(checkpointer.save(name, epoch, phase.steps + 1)?);
            }
        }
        let metrics = metrics::epoch(
            &blocks
                .iter()
                .map(|b| (b.metrics, b.steps.len()))
                .collect::<Vec<_>>(),
        );
        let mut eval = None;
        if let Some(eval_phase) = ctx.plan.eval.as_ref().filter(|_| epoch >= next_eval) {
            next_eval += workload.evaluation.epochs_between_evals.max(1);
            ctx.say(&format!(
                "Starting eval - {} steps expected",
                eval_phase.steps
            ));
            let reader = batch_reader(ctx, eval_phase, eval_order, &pool, "eval");
            let mut raw = run_steps(
                ctx,
                &reader,
                eval_phase,
                eval_time,
                &mut rng,
                None,
                &format!("eval {epoch}"),
            )?;
            let pass = finish(raw.remove(0), eval_phase, exclusion, false);
            ctx.say(&format!(
                "Epoch {epoch} [Eval] Accelerator Utilization [AU] (%): {:.4}",
                pass.metrics.au_percent
            ));
            ctx.say(&format!(
                "Epoch {epoch} [Eval] Throughput (samples/second): {:.4}",
                pass.metrics.throughput * ctx.world.size() as f64
            ));
            eval = Some(pass);
        }
        report.epochs.push(EpochRecord {
            epoch,
            start,
            end: Local::now(),
            seconds,
            blocks,
            eval,
            checkpoints,
            metrics,
        });
    }
    report.bytes_read = ctx.reads.bytes();
    Ok(report)
}

fn batch_reader<'a>(
    ctx: &TrainContext<'a>,
    phase: &'a PhasePlan,
    order: Option<Vec<u64>>,
    pool: &BufferPool,
    phase_name: &'static str,
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
        reads: ctx.reads,
        phase_name,
        stream: ctx
            .plan
            .record_stream
            .map(|settings| RecordStream::new(phase, ctx.world.rank(), order.as_deref(), settings)),
        order,
        sample: ctx.sample,
    }
}

/// Steps of one block with their timings, before metrics.
struct RawBlock {
    start: DateTime<Local>,
    clock: Instant,
    steps: Vec<StepTiming>,
    end: Option<(DateTime<Local>, f64)>,
}

impl RawBlock {
    fn open() -> Self {
        RawBlock {
            start: Local::now(),
            clock: Instant::now(),
            steps: Vec::new(),
            end: None,
        }
    }

    fn close(mut self) -> Self {
        self.end = Some((Local::now(), self.clock.elapsed().as_secs_f64()));
        self
    }
}

/// Runs the steps of one phase. Training (`checkpoints` given) barriers after every step and,
/// with `steps_between_checkpoints > 0`, saves a checkpoint at steps s, 2s, … and opens a new
/// block after each; when the last step saves one, DLIO's empty final block is kept.
fn run_steps(
    ctx: &TrainContext,
    reader: &BatchReader,
    phase: &PhasePlan,
    compute: TimeSpec,
    rng: &mut SmallRng,
    mut checkpoints: Option<(u64, &mut Vec<CheckpointRecord>)>,
    label: &str,
) -> Result<Vec<RawBlock>, EngineError> {
    let settings = &ctx.workload.reader;
    let workers = settings.read_threads;
    let factor = prefetch_factor(settings.prefetch_size, workers);
    let every = u64::try_from(ctx.workload.checkpoint.steps_between_checkpoints)
        .ok()
        .filter(|&s| s > 0);
    let checkpointer = ctx.checkpointer.filter(|_| checkpoints.is_some());
    let bar = progress::steps_bar(phase.steps, label);
    let mut blocks = Vec::new();
    let mut block = RawBlock::open();
    std::thread::scope(|scope| -> Result<(), EngineError> {
        let mut loader = Loader::start(scope, reader, phase.steps, workers, factor);
        let mut waiting = Instant::now();
        let mut step = 0u64;
        while let Some(batch) = loader.next_batch() {
            let batch = batch?;
            if step == 0 {
                tracing::debug!(
                    "{label}: batches handed to compute have shape {:?} and type {}",
                    batch.shape,
                    batch.dtype.name()
                );
            }
            step += 1;
            let load = waiting.elapsed().as_secs_f64();
            let computing = Instant::now();
            let pause = compute.sample(rng);
            if pause > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(pause));
            }
            drop(batch);
            let compute = computing.elapsed().as_secs_f64();
            block.steps.push(StepTiming {
                load,
                compute,
                proc: waiting.elapsed().as_secs_f64(),
            });
            if checkpoints.is_some() {
                ctx.world.barrier();
            }
            bar.inc(1);
            if let (Some(every), Some(checkpointer), Some((epoch, records))) =
                (every, checkpointer, checkpoints.as_mut())
            {
                if step % every == 0 {
                    blocks.push(std::mem::replace(&mut block, RawBlock::open()).close());
                    records.push(checkpointer.save(
                        format!("save_ckpt{}", blocks.len()),
                        *epoch,
                        step,
                    )?);
                    block = RawBlock::open();
                }
            }
            waiting = Instant::now();
        }
        Ok(())
    })?;
    blocks.push(block.close());
    bar.finish_and_clear();
    Ok(blocks)
}

fn finish(raw: RawBlock, phase: &PhasePlan, exclusion: Exclusion, training: bool) -> PhaseRecord {
    let (end, seconds) = raw
        .end
        .unwrap_or((Local::now(), raw.clock.elapsed().as_secs_f64()));
    let metrics = if training {
        metrics::training_block(
            &raw.steps,
            seconds,
            phase.batch_size,
            phase.steps,
            exclusion,
        )
    } else {
        metrics::evaluation(
            &raw.steps,
            seconds,
            phase.batch_size,
            phase.steps,
            exclusion,
        )
    };
    PhaseRecord {
        start: raw.start,
        end,
        seconds,
        steps: raw.steps,
        metrics,
    }
}
