//! The arithmetic of DLIO's transformer checkpoints (reference/dlio-spec.md §2.3): element
//! sizes, the parameter count, the element counts of every layer's tensors and of the
//! optimizer state. Pure integer arithmetic, no names and no I/O.

use super::Layout;
use crate::config::Model;
use crate::plan::PlanError;

/// Element types DLIO accepts for `model_datatype` and `optimizer_datatype`, with their sizes.
pub const DATATYPES: [(&str, u64); 6] = [
    ("int8", 1),
    ("uint8", 1),
    ("fp16", 2),
    ("bf16", 2),
    ("fp32", 4),
    ("fp64", 8),
];

/// Size in bytes of one element of `name`, the value of `key`.
pub fn datatype_size(key: &'static str, name: &str) -> Result<u64, PlanError> {
    DATATYPES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, size)| size)
        .ok_or_else(|| PlanError::Invalid {
            key,
            value: name.to_string(),
            message: format!(
                "unknown element type; use one of {}",
                DATATYPES.map(|(n, _)| n).join(", ")
            ),
        })
}

/// Transformer dimensions in unsigned form, checked once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Transformer layers `L`.
    pub layers: u64,
    /// Hidden size `h`.
    pub hidden: u64,
    /// Feed-forward size `f`.
    pub ffn: u64,
    /// Vocabulary `V`.
    pub vocab: u64,
    /// Key/value width `kv = (h / heads) · kv_heads`.
    pub kv: u64,
}

/// Largest dimension accepted: keeps every product of three dimensions inside `u128`.
const MAX_DIM: i64 = 1 << 32;

impl Dims {
    /// The dimensions of `model`, which must have `num_layers > 0`.
    pub fn of(model: &Model) -> Result<Dims, PlanError> {
        let t = &model.transformer;
        let check = |key: &'static str, value: i64, min: i64| {
            if (min..=MAX_DIM).contains(&value) {
                Ok(value as u64)
            } else {
                Err(PlanError::Invalid {
                    key,
                    value: value.to_string(),
                    message: format!(
                        "must be between {min} and {MAX_DIM} for a transformer checkpoint"
                    ),
                })
            }
        };
        let layers = check("model.num_layers", model.num_layers, 1)?;
        let hidden = check("model.transformer.hidden_size", t.hidden_size, 1)?;
        let ffn = check("model.transformer.ffn_hidden_size", t.ffn_hidden_size, 0)?;
        let vocab = check("model.transformer.vocab_size", t.vocab_size, 0)?;
        let heads = check(
            "model.transformer.num_attention_heads",
            t.num_attention_heads,
            1,
        )?;
        let kv_heads = check("model.transformer.num_kv_heads", t.num_kv_heads, 0)?;
        Ok(Dims {
            layers,
            hidden,
            ffn,
            vocab,
            kv: hidden / heads * kv_heads,
        })
    }

    /// Total parameters `N = 2·V·h + L·(h + h(h+2kv) + h² + h + 3hf) + h` (embedding and
    /// lm_head, the layers, the final norm), as DLIO prints it.
    pub fn parameters(&self) -> u128 {
        let (h, f, v, kv) = (
            u128::from(self.hidden),
            u128::from(self.ffn),
            u128::from(self.vocab),
            u128::from(self.kv),
        );
        let layer = h + h * (h + 2 * kv) + h * h + h + 3 * h * f;
        2 * v * h + u128::from(self.layers) * layer + h
    }

    /// Element counts of the tensors of layer `index` (0 = embedding, 1..=L transformer
    /// layers, L+1 = lm_head, L+2 = final norm) for a rank of `layout`. Integer divisions
    /// follow DLIO's order (by TP, then by the ZeRO-3 sharding) so sizes match to the byte.
    pub fn layer_tensors(&self, index: u64, layout: &Layout) -> Vec<u128> {
        let (h, f, v, kv) = (
            u128::from(self.hidden),
            u128::from(self.ffn),
            u128::from(self.vocab),
            u128::from(self.kv),
        );
        let (tp, sf) = (u128::from(layout.tensor), u128::from(layout.sharding()));
        let l = self.layers;
        if index == 0 || index == l + 1 {
            vec![h * v / tp / sf]
        } else if index == l + 2 {
            vec![h / sf]
        } else {
            vec![
                h / sf,                     // input norm
                h * (h + 2 * kv) / tp / sf, // q, k, v
                h * h / tp / sf,            // attention output (dense)
                h / sf,                     // post-attention norm
                h * 2 * f / tp / sf,        // gated MLP up (h -> 2f)
                h * f / tp / sf,            // MLP down (f -> h)
            ]
        }
    }

    /// Element counts of one checkpointing rank's optimizer tensors `[n, 5h, n, 5h, n, 5h]`
    /// with `n = N / (DP·mp)` under ZeRO (every rank holds a shard) or `N / mp` without it;
    /// none when `n` is 0, as in DLIO.
    pub fn optimizer_tensors(&self, layout: &Layout) -> Vec<u128> {
        let model_parallel = u128::from(layout.model_parallel());
        let shards = if layout.zero_stage > 0 {
            u128::from(layout.data) * model_parallel
        } else {
            model_parallel
        };
        let n = self.parameters() / shards.max(1);
        if n == 0 {
            return Vec::new();
        }
        let five_h = 5 * u128::from(self.hidden);
        vec![n, five_h, n, five_h, n, five_h]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_datatypes_name_the_key_and_the_choices() {
        assert_eq!(datatype_size("model.model_datatype", "bf16").unwrap(), 2);
        assert_eq!(datatype_size("model.model_datatype", "uint8").unwrap(), 1);
        assert_eq!(datatype_size("model.model_datatype", "fp64").unwrap(), 8);
        let err = datatype_size("model.optimizer_datatype", "float32")
            .unwrap_err()
            .to_string();
        assert!(err.contains("model.optimizer_datatype = float32"), "{err}");
        assert!(err.contains("int8, uint8, fp16, bf16, fp32, fp64"), "{err}");
    }

    #[test]
    fn parameters_match_dlios_printed_totals() {
        let mut model = Model {
            num_layers: 32,
            ..Model::default()
        };
        let t = &mut model.transformer;
        (t.vocab_size, t.hidden_size, t.ffn_hidden_size) = (32000, 4096, 11008);
        (t.num_attention_heads, t.num_kv_heads) = (32, 32);
        assert_eq!(Dims::of(&model).unwrap().parameters(), 6_738_415_616);
        model.num_layers = 0;
        let err = Dims::of(&model).unwrap_err().to_string();
        assert!(err.contains("model.num_layers = 0"), "{err}");
        model.num_layers = 32;
        model.transformer.num_attention_heads = 0;
        assert!(Dims::of(&model).is_err());
    }
}
