//! Checkpoint plans checked against the sizes DLIO prints (reference/dlio-spec.md §2.3) and
//! the file counts of DLIO's own tests (§8 items 5 and 6).

use super::*;

const GIB: f64 = (1u64 << 30) as f64;

/// A transformer model as the bundled llama workloads describe it.
#[allow(clippy::too_many_arguments)]
fn llama(
    layers: i64,
    vocab: i64,
    hidden: i64,
    ffn: i64,
    heads: i64,
    kv_heads: i64,
    (tensor, pipeline, zero_stage): (i64, i64, i64),
) -> Model {
    let mut model = Model {
        kind: Some("transformer".into()),
        num_layers: layers,
        ..Model::default()
    };
    model.parallelism.tensor = tensor;
    model.parallelism.pipeline = pipeline;
    model.parallelism.zero_stage = zero_stage;
    let t = &mut model.transformer;
    (t.vocab_size, t.hidden_size, t.ffn_hidden_size) = (vocab, hidden, ffn);
    (t.num_attention_heads, t.num_kv_heads) = (heads, kv_heads);
    model
}

fn llama_8b_zero3() -> Model {
    llama(32, 128256, 4096, 14336, 32, 8, (1, 1, 3))
}

fn llama_7b(zero_stage: i64) -> Model {
    llama(32, 32000, 4096, 11008, 32, 32, (1, 1, zero_stage))
}

fn llama_70b(tensor: i64, pipeline: i64, zero_stage: i64) -> Model {
    llama(
        80,
        128256,
        8192,
        28672,
        128,
        8,
        (tensor, pipeline, zero_stage),
    )
}

fn pytorch(model: &Model, ranks: u64) -> CheckpointPlan {
    plan(model, &Checkpoint::default(), Framework::Pytorch, ranks).unwrap()
}

fn gib(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / GIB)
}

fn error(model: &Model, checkpoint: &Checkpoint, ranks: u64) -> String {
    plan(model, checkpoint, Framework::Pytorch, ranks)
        .unwrap_err()
        .to_string()
}

#[test]
fn llama_8b_zero3_on_8_ranks_matches_dlio() {
    let plan = pytorch(&llama_8b_zero3(), 8);
    assert_eq!(plan.parameters, Some(8_030_261_248));
    assert_eq!(plan.files.len(), 16);
    for rank in 0..8 {
        let files: Vec<_> = plan.files_of(rank).collect();
        assert_eq!(files.len(), 2, "rank {rank}");
        assert_eq!(
            files[0].name,
            format!("zero_pp_rank_{rank}_mp_rank_0_model_states.pt")
        );
        assert_eq!(
            (files[0].bytes, files[0].part),
            (2_007_565_312, Part::Model)
        );
        assert_eq!(
            files[1].name,
            format!("zero_pp_rank_{rank}_mp_rank_0_optim_states.pt")
        );
        assert_eq!(
            (files[1].bytes, files[1].part),
            (12_045_637_632, Part::Optimizer)
        );
    }
    assert_eq!(plan.reported_bytes, 112_425_623_552);
    assert_eq!(plan.total_bytes(), plan.reported_bytes);
    assert_eq!(format!("{:.2}", plan.reported_gb()), "104.70");
    assert_eq!(plan.rank_bytes(3), 2_007_565_312 + 12_045_637_632);
}

#[test]
fn llama_7b_at_two_replicas_matches_dlio_with_zero_1_and_3() {
    let zero1 = pytorch(&llama_7b(1), 2);
    assert_eq!(zero1.parameters, Some(6_738_415_616));
    assert_eq!(gib(zero1.reported_bytes), "87.86");
    assert_eq!(gib(zero1.reported_model_bytes), "12.55");
    assert_eq!(gib(zero1.reported_optimizer_bytes), "75.31");
    // ZeRO 1: replica 0 saves the whole model in one file; both save an optimizer shard.
    let names: Vec<_> = zero1
        .files
        .iter()
        .map(|f| (f.rank, f.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (0, "model_0_model_states.pt"),
            (0, "zero_pp_rank_0_mp_rank_0_optim_states.pt"),
            (1, "zero_pp_rank_1_mp_rank_0_optim_states.pt"),
        ]
    );
    let zero3 = pytorch(&llama_7b(3), 2);
    assert_eq!(gib(zero3.reported_bytes), "87.86");
    assert_eq!(zero3.files.len(), 4);
}

#[test]
fn llama_70b_in_both_layouts_on_64_ranks() {
    let pipelined = pytorch(&llama_70b(8, 4, 1), 64);
    assert_eq!(pipelined.parameters, Some(69_882_617_856));
    assert_eq!(gib(pipelined.reported_bytes), "911.21");
    assert_eq!(pipelined.total_bytes(), pipelined.reported_bytes);
    // Stage 0 (ranks 0..8) owns the embedding, the last stage (24..32) lm_head and the norm.
    let first: Vec<_> = pipelined.files_of(0).map(|f| f.name.as_str()).collect();
    assert_eq!(first[0], "layer_0-model_0_model_states.pt");
    assert_eq!(first.len(), 21 + 1, "layers 0..=20 and the optimizer");
    let last: Vec<_> = pipelined.files_of(31).map(|f| f.name.as_str()).collect();
    assert_eq!(last[0], "layer_61-model_31_model_states.pt");
    assert_eq!(last[21], "layer_82-model_31_model_states.pt");
    assert_eq!(last.len(), 22 + 1, "layers 61..=82 and the optimizer");
    // Replica 1 saves only its optimizer shard.
    let replica: Vec<_> = pipelined.files_of(32).map(|f| f.name.as_str()).collect();
    assert_eq!(replica, ["zero_pp_rank_1_mp_rank_0_optim_states.pt"]);

    let zero3 = pytorch(&llama_70b(8, 1, 3), 64);
    assert_eq!(gib(zero3.reported_bytes), "911.21");
    assert_eq!(zero3.files.len(), 128);
}

#[test]
fn llama_405b_and_1t_match_dlio() {
    let b405 = pytorch(&llama(126, 128256, 16384, 53248, 128, 8, (8, 32, 1)), 512);
    assert_eq!(b405.parameters, Some(405_853_388_800));
    assert_eq!(gib(b405.reported_bytes), "5292.25");
    let t1 = pytorch(&llama(128, 128256, 25872, 98304, 192, 32, (8, 64, 1)), 1024);
    assert_eq!(t1.parameters, Some(1_183_035_102_480));
    assert_eq!(gib(t1.reported_bytes), "15426.59");
    assert_eq!(t1.total_bytes(), t1.reported_bytes);
}

#[test]
fn subset_mode_writes_only_the_slice_of_the_ranks_present() {
    let mut model = llama_70b(8, 1, 3);
    model.parallelism.data = 8;
    let checkpoint = Checkpoint {
        mode: "subset".into(),
        ..Checkpoint::default()
    };
    let plan = plan(&model, &checkpoint, Framework::Pytorch, 8).unwrap();
    assert!(plan.subset);
    assert_eq!(plan.layout.data, 8);
    assert_eq!(plan.files.len(), 16);
    assert_eq!(
        format!("{:.6}", plan.reported_bytes as f64 / GIB),
        "113.901516"
    );
    assert_eq!(plan.total_bytes(), plan.reported_bytes);
    assert!(plan
        .files
        .iter()
        .all(|f| f.name.starts_with("zero_pp_rank_0_")));
}

#[test]
fn zero_2_counts_model_bytes_only_where_written() {
    // DLIO counts the model once per replica although only replica 0 writes it.
    let plan = pytorch(&llama_7b(2), 2);
    assert_eq!(
        plan.files_of(1).count(),
        1,
        "replica 1 writes its optimizer shard only"
    );
    assert_eq!(plan.reported_bytes, plan.total_bytes());
    let dlio = plan.reported_optimizer_bytes + 2 * plan.reported_model_bytes;
    assert!(plan.reported_bytes < dlio);
}

#[test]
fn non_transformer_models_write_one_flat_tensor_per_checkpointing_rank() {
    // unet3d: type cnn, model_size_bytes left at 10240 (its `model_size` key is ignored).
    let mut unet3d = Model {
        kind: Some("cnn".into()),
        ..Model::default()
    };
    for ranks in [1, 4] {
        let plan = pytorch(&unet3d, ranks);
        assert_eq!(plan.files.len(), 1, "ZeRO 0: only ranks < TP·PP = 1");
        assert_eq!(
            (
                plan.files[0].rank,
                plan.files[0].name.as_str(),
                plan.files[0].bytes
            ),
            (0, "model_states-0.pt", 10240)
        );
        assert_eq!(plan.reported_bytes, 10240);
        assert_eq!(plan.parameters, None);
    }
    // With ZeRO every rank writes it, but DLIO reports it once.
    unet3d.parallelism.zero_stage = 1;
    let plan = pytorch(&unet3d, 4);
    assert_eq!(plan.files.len(), 4);
    assert_eq!(plan.files[3].name, "model_states-3.pt");
    assert_eq!((plan.total_bytes(), plan.reported_bytes), (40960, 10240));
    // A transformer without layers writes nothing.
    let empty = Model {
        kind: Some("transformer".into()),
        ..Model::default()
    };
    assert!(pytorch(&empty, 2).files.is_empty());
}

/// DLIO's test_checkpoint_epoch model: explicit groups and layer parameters, TP = P.
fn legacy(groups: &[i64], layers: i64, zero_stage: i64, ranks: u64) -> Model {
    let mut model = Model {
        optimization_groups: groups.to_vec(),
        num_layers: layers,
        layer_parameters: vec![16],
        ..Model::default()
    };
    model.parallelism.tensor = ranks as i64;
    model.parallelism.zero_stage = zero_stage;
    model
}

#[test]
fn dlio_test_checkpoint_epoch_file_counts_hold() {
    // 8 epochs, a checkpoint every 2: 4 checkpoints of 3P (pytorch) or 3P·2+1 (tensorflow).
    for ranks in [1u64, 2, 4] {
        for groups in [&[1024, 128][..], &[128]] {
            for layers in [2, 1] {
                for zero_stage in [0, 3] {
                    let model = legacy(groups, layers, zero_stage, ranks);
                    let pt =
                        plan(&model, &Checkpoint::default(), Framework::Pytorch, ranks).unwrap();
                    assert_eq!(4 * pt.files.len() as u64, 4 * 3 * ranks);
                    let tf =
                        plan(&model, &Checkpoint::default(), Framework::Tensorflow, ranks).unwrap();
                    assert_eq!(4 * tf.files.len() as u64, 4 * (3 * ranks * 2 + 1));
                    // Legacy state is written but only the flat tensor is reported.
                    assert_eq!(pt.reported_bytes, 10240);
                }
            }
        }
    }
    let pt = pytorch(&legacy(&[1024, 128], 2, 0, 2), 2);
    let rank1: Vec<_> = pt.files_of(1).map(|f| (f.name.as_str(), f.bytes)).collect();
    assert_eq!(
        rank1,
        [
            ("model_states-1.pt", 10240),
            ("zero_pp_rank_0_mp_rank_1_model_states.pt", 16 / 2),
            ("zero_pp_rank_0_mp_rank_1_optim_states.pt", 3 * (1024 + 128)),
        ]
    );
}

#[test]
fn dlio_test_checkpoint_step_writes_one_file_per_checkpoint() {
    for ranks in [1, 2, 4] {
        let plan = pytorch(&Model::default(), ranks);
        let names: Vec<_> = plan.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["model_states-0.pt"]);
    }
}

#[test]
fn legacy_layers_with_pipeline_and_zero_1_are_saved_layer_by_layer() {
    let mut model = legacy(&[], 4, 1, 1);
    model.parallelism.pipeline = 2;
    model.layer_parameters = vec![10, 0, 6];
    let plan = pytorch(&model, 2);
    let layers: Vec<_> = plan
        .files
        .iter()
        .filter(|f| f.name.starts_with("layer_"))
        .map(|f| (f.rank, f.name.as_str(), f.bytes))
        .collect();
    // No embedding/lm_head layers in the legacy mode: stage 0 owns 1..=2, stage 1 3..=4.
    assert_eq!(
        layers,
        [
            (0, "layer_1-model_0_model_states.pt", 16),
            (0, "layer_2-model_0_model_states.pt", 16),
            (1, "layer_3-model_1_model_states.pt", 16),
            (1, "layer_4-model_1_model_states.pt", 16),
        ]
    );
    // Derived optimizer state (no groups given) is counted.
    assert!(plan.reported_optimizer_bytes > 0);
    assert_eq!(plan.reported_model_bytes, 10240);
}

#[test]
fn tensorflow_writes_data_index_and_one_state_file() {
    let plan = plan(
        &llama_8b_zero3(),
        &Checkpoint::default(),
        Framework::Tensorflow,
        2,
    )
    .unwrap();
    let rank0: Vec<_> = plan
        .files_of(0)
        .map(|f| (f.name.as_str(), f.part))
        .collect();
    assert_eq!(
        rank0,
        [
            (
                "zero_pp_rank_0_mp_rank_0_model_states.pb-1.data-00000-of-00001",
                Part::Model
            ),
            (
                "zero_pp_rank_0_mp_rank_0_model_states.pb-1.index",
                Part::Metadata
            ),
            (
                "zero_pp_rank_0_mp_rank_0_optim_states.pb-1.data-00000-of-00001",
                Part::Optimizer
            ),
            (
                "zero_pp_rank_0_mp_rank_0_optim_states.pb-1.index",
                Part::Metadata
            ),
            (TF_STATE_FILE, Part::Metadata),
        ]
    );
    let state = plan.files_of(0).last().unwrap();
    assert_eq!(
        state.content,
        Content::Text(
            "model_checkpoint_path: \"zero_pp_rank_0_mp_rank_0_optim_states.pb-1\"\n\
             all_model_checkpoint_paths: \"zero_pp_rank_0_mp_rank_0_optim_states.pb-1\"\n"
                .into()
        )
    );
    assert_eq!(plan.files_of(1).count(), 4);
    let pytorch = pytorch(&llama_8b_zero3(), 2);
    assert_eq!(plan.reported_bytes, pytorch.reported_bytes);
    assert_eq!(
        plan.total_bytes(),
        pytorch.total_bytes() + 4 * TF_INDEX_BYTES + state.bytes
    );
}

#[test]
fn datatypes_set_the_element_sizes() {
    let mut model = llama_8b_zero3();
    model.model_datatype = "fp32".into();
    model.optimizer_datatype = "fp64".into();
    let wide = pytorch(&model, 8);
    let narrow = pytorch(&llama_8b_zero3(), 8);
    assert_eq!(wide.reported_model_bytes, 2 * narrow.reported_model_bytes);
    assert_eq!(
        wide.reported_optimizer_bytes,
        2 * narrow.reported_optimizer_bytes
    );
    model.model_datatype = "half".into();
    let err = error(&model, &Checkpoint::default(), 8);
    assert!(err.contains("model.model_datatype = half"), "{err}");
    assert!(err.contains("fp16"), "{err}");
}

#[test]
fn parallelism_rules_are_enforced_with_the_key_and_a_remedy() {
    let default = Checkpoint::default();
    let subset = Checkpoint {
        mode: "subset".into(),
        ..Checkpoint::default()
    };
    // Rule 7: more pipeline stages than layers.
    let mut model = llama_7b(1);
    model.parallelism.pipeline = 64;
    let err = error(&model, &default, 64);
    assert!(err.contains("model.num_layers = 32"), "{err}");
    // Rule 8: ZeRO 3 with pipeline parallelism.
    let model = llama(32, 32000, 4096, 11008, 32, 32, (1, 2, 3));
    let err = error(&model, &default, 2);
    assert!(err.contains("model.parallelism.zero_stage = 3"), "{err}");
    // Rule 9: data parallelism only in subset mode, and big enough for the ranks there.
    let mut model = llama_70b(8, 1, 3);
    model.parallelism.data = 8;
    let err = error(&model, &default, 8);
    assert!(
        err.contains("model.parallelism.data = 8") && err.contains("subset"),
        "{err}"
    );
    model.parallelism.data = 1;
    let err = error(&model, &subset, 16);
    assert!(err.contains("smaller than the 16 ranks"), "{err}");
    model.parallelism.data = -1;
    let err = error(&model, &subset, 8);
    assert!(err.contains("model.parallelism.data = -1"), "{err}");
    // Default mode: ranks must fill whole model-parallel groups.
    let err = error(&llama_70b(8, 1, 3), &default, 12);
    assert!(
        err.contains("not a multiple of tensor × pipeline = 8"),
        "{err}"
    );
    // Values DLIO never accepts.
    let mode = Checkpoint {
        mode: "partial".into(),
        ..Checkpoint::default()
    };
    assert!(error(&llama_7b(1), &mode, 1).contains("checkpoint.mode = partial"));
    assert!(error(&llama_7b(4), &default, 1).contains("model.parallelism.zero_stage = 4"));
    let mut model = llama_7b(1);
    model.parallelism.tensor = 0;
    assert!(error(&model, &default, 1).contains("model.parallelism.tensor = 0"));
    assert!(error(&llama_7b(1), &default, 0).contains("ranks = 0"));
}

#[test]
fn without_zero_only_the_first_model_parallel_group_writes() {
    let plan = pytorch(&llama_7b(0), 4);
    let names: Vec<_> = plan
        .files
        .iter()
        .map(|f| (f.rank, f.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (0, "zero_pp_rank_0_mp_rank_0_model_states.pt"),
            (0, "zero_pp_rank_0_mp_rank_0_optim_states.pt"),
        ]
    );
    // The one writer holds the whole model and the whole optimizer (n = N / mp).
    let n = 6_738_415_616u64;
    assert_eq!(plan.reported_model_bytes, 2 * n);
    assert_eq!(plan.reported_optimizer_bytes, (3 * n + 15 * 4096) * 4);
}

#[test]
fn legacy_layers_need_layers_to_own() {
    let model = Model {
        layer_parameters: vec![16],
        ..Model::default()
    };
    let plan = pytorch(&model, 1);
    assert_eq!(plan.files.len(), 1, "only the flat model tensor");
}

#[test]
fn absurd_sizes_are_refused_not_wrapped() {
    let groups = Model {
        optimization_groups: vec![i64::MAX, i64::MAX],
        ..Model::default()
    };
    let err = error(&groups, &Checkpoint::default(), 1);
    assert!(err.contains("exceed 2⁶⁴ bytes"), "{err}");
    let layers = Model {
        num_layers: 2,
        layer_parameters: vec![i64::MAX; 3],
        ..Model::default()
    };
    let err = error(&layers, &Checkpoint::default(), 1);
    assert!(err.contains("exceed 2⁶⁴ bytes"), "{err}");
    let mut huge = llama_7b(0);
    huge.transformer.hidden_size = 1 << 40;
    let err = error(&huge, &Checkpoint::default(), 1);
    assert!(err.contains("model.transformer.hidden_size"), "{err}");
}
