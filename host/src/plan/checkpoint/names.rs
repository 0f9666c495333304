//! File names inside a checkpoint directory, as DLIO (DeepSpeed's layout) names them
//! (reference/dlio-spec.md §2.3), and the files TensorFlow's `tf.train.Checkpoint.save` makes
//! of each of them.

use crate::config::Framework;

/// Extension DLIO gives checkpoint files: `pt` for `torch.save`, `pb` for TensorFlow.
pub fn extension(framework: Framework) -> &'static str {
    match framework {
        Framework::Pytorch => "pt",
        Framework::Tensorflow => "pb",
    }
}

/// The flat model tensor of a non-transformer model: `model_states-<rank>.<ext>`.
pub fn flat_model(rank: u64, ext: &str) -> String {
    format!("model_states-{rank}.{ext}")
}

/// One pipeline layer saved alone (0 < ZeRO < 3 with PP > 1).
pub fn layer(index: u64, mp_rank: u64, ext: &str) -> String {
    format!("layer_{index}-model_{mp_rank}_model_states.{ext}")
}

/// All layers of a model-parallel rank in one file (0 < ZeRO < 3 with PP = 1).
pub fn model(mp_rank: u64, ext: &str) -> String {
    format!("model_{mp_rank}_model_states.{ext}")
}

/// The layers of a rank under ZeRO 0 or 3.
pub fn zero_model(dp_rank: u64, mp_rank: u64, ext: &str) -> String {
    format!("zero_pp_rank_{dp_rank}_mp_rank_{mp_rank}_model_states.{ext}")
}

/// A rank's optimizer state.
pub fn optimizer(dp_rank: u64, mp_rank: u64, ext: &str) -> String {
    format!("zero_pp_rank_{dp_rank}_mp_rank_{mp_rank}_optim_states.{ext}")
}

/// Bytes of each emulated TensorFlow `.index` file. A real one is a small table of tensor
/// names, shapes and offsets (hundreds of bytes to a few KiB for DLIO's dicts of up to six
/// tensors); 1 KiB stands for it, so the file count and the small-file I/O are TensorFlow's.
pub const TF_INDEX_BYTES: u64 = 1024;

/// Name of the per-directory state file `tf.train.Checkpoint.save` rewrites on every save.
pub const TF_STATE_FILE: &str = "checkpoint";

/// The tensor data file TensorFlow writes for the checkpoint DLIO names `name` (DLIO passes
/// `<suffix>.pb` as the prefix, and the first save of a `tf.train.Checkpoint` is number 1).
pub fn tf_data(name: &str) -> String {
    format!("{name}-1.data-00000-of-00001")
}

/// The index file TensorFlow writes beside [`tf_data`].
pub fn tf_index(name: &str) -> String {
    format!("{name}-1.index")
}

/// Text of the [`TF_STATE_FILE`] after the save of `name`: TensorFlow's `CheckpointState`
/// in protobuf text format, pointing at the latest checkpoint prefix.
pub fn tf_state_text(name: &str) -> String {
    format!("model_checkpoint_path: \"{name}-1\"\nall_model_checkpoint_paths: \"{name}-1\"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_deepspeed_layout() {
        let ext = extension(Framework::Pytorch);
        assert_eq!(flat_model(3, ext), "model_states-3.pt");
        assert_eq!(layer(82, 31, ext), "layer_82-model_31_model_states.pt");
        assert_eq!(model(0, ext), "model_0_model_states.pt");
        assert_eq!(
            zero_model(7, 0, ext),
            "zero_pp_rank_7_mp_rank_0_model_states.pt"
        );
        assert_eq!(
            optimizer(1, 5, ext),
            "zero_pp_rank_1_mp_rank_5_optim_states.pt"
        );
    }

    #[test]
    fn tensorflow_files_carry_the_save_counter() {
        let name = flat_model(0, extension(Framework::Tensorflow));
        assert_eq!(tf_data(&name), "model_states-0.pb-1.data-00000-of-00001");
        assert_eq!(tf_index(&name), "model_states-0.pb-1.index");
        assert!(
            tf_state_text(&name).starts_with("model_checkpoint_path: \"model_states-0.pb-1\"\n")
        );
    }
}
