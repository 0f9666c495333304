//! Emulated durations (`computation_time`, `eval_time`, `preprocess_time`) in all of DLIO's
//! forms: a number, `{mean}`, `{mean, stdev}` and `{type: normal|uniform|gamma|exponential|poisson}`.

use std::collections::BTreeMap;

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, Normal, Poisson, Uniform};
use serde::{Deserialize, Serialize};

/// A duration in seconds drawn per use. Draws are folded to their absolute value, as in DLIO.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawTime", into = "RawTime")]
pub enum TimeSpec {
    /// No sleep (`{}` or absent).
    #[default]
    Zero,
    /// A fixed duration (a number or `{mean}`).
    Constant(f64),
    /// Normal(mean, stdev).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stdev: f64,
    },
    /// Uniform over [min, max).
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Gamma(shape, scale).
    Gamma {
        /// Shape k.
        shape: f64,
        /// Scale θ.
        scale: f64,
    },
    /// Exponential with mean `scale`.
    Exponential {
        /// Mean.
        scale: f64,
    },
    /// Poisson(lam), in whole seconds.
    Poisson {
        /// Rate λ.
        lam: f64,
    },
}

impl TimeSpec {
    /// Applies a separate `*_stdev` key: a fixed value becomes Normal(value, stdev).
    pub fn with_stdev(self, stdev: Option<f64>) -> TimeSpec {
        match (self, stdev) {
            (TimeSpec::Constant(mean), Some(stdev)) => TimeSpec::Normal { mean, stdev },
            (TimeSpec::Zero, Some(stdev)) => TimeSpec::Normal { mean: 0.0, stdev },
            (spec, _) => spec,
        }
    }

    /// Draws one duration in seconds (never negative).
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        let value = match *self {
            TimeSpec::Zero => 0.0,
            TimeSpec::Constant(v) => v,
            TimeSpec::Normal { mean, stdev } => Normal::new(mean, stdev)
                .map(|d| d.sample(rng))
                .unwrap_or(mean),
            TimeSpec::Uniform { min, max } => {
                if max > min {
                    Uniform::new(min, max).map(|d| d.sample(rng)).unwrap_or(min)
                } else {
                    min
                }
            }
            TimeSpec::Gamma { shape, scale } => Gamma::new(shape, scale)
                .map(|d| d.sample(rng))
                .unwrap_or(0.0),
            TimeSpec::Exponential { scale } => {
                if scale > 0.0 {
                    Exp::new(1.0 / scale).map(|d| d.sample(rng)).unwrap_or(0.0)
                } else {
                    0.0
                }
            }
            TimeSpec::Poisson { lam } => {
                if lam > 0.0 {
                    Poisson::new(lam).map(|d| d.sample(rng)).unwrap_or(0.0)
                } else {
                    0.0
                }
            }
        };
        value.abs()
    }

    /// The mean duration, for plans and messages.
    pub fn mean(&self) -> f64 {
        match *self {
            TimeSpec::Zero => 0.0,
            TimeSpec::Constant(v) => v.abs(),
            TimeSpec::Normal { mean, .. } => mean.abs(),
            TimeSpec::Uniform { min, max } => (min + max) / 2.0,
            TimeSpec::Gamma { shape, scale } => shape * scale,
            TimeSpec::Exponential { scale } => scale,
            TimeSpec::Poisson { lam } => lam,
        }
    }
}

/// The YAML shapes a duration may take.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawTime {
    /// A plain number of seconds.
    Number(f64),
    /// A dictionary form.
    Map(BTreeMap<String, serde_json::Value>),
}

impl TryFrom<RawTime> for TimeSpec {
    type Error = String;

    fn try_from(raw: RawTime) -> Result<Self, Self::Error> {
        let map = match raw {
            RawTime::Number(v) => {
                return Ok(if v == 0.0 {
                    TimeSpec::Zero
                } else {
                    TimeSpec::Constant(v)
                })
            }
            RawTime::Map(map) => map,
        };
        let number = |key: &str| -> Result<f64, String> {
            match map.get(key) {
                Some(value) => value
                    .as_f64()
                    .ok_or_else(|| format!("'{key}' must be a number, not {value}")),
                None => Err(format!("'{key}' is missing")),
            }
        };
        let kind = match map.get("type") {
            None => None,
            Some(serde_json::Value::String(kind)) => Some(kind.as_str()),
            Some(other) => return Err(format!("'type' must be a name, not {other}")),
        };
        let spec = match kind {
            None if map.is_empty() => TimeSpec::Zero,
            None if map.contains_key("stdev") => TimeSpec::Normal { mean: number("mean")?, stdev: number("stdev")? },
            None if map.contains_key("mean") => TimeSpec::Constant(number("mean")?),
            None => return Err("give a number, {mean: ..}, {mean: .., stdev: ..} or {type: ..}".into()),
            Some("normal") => TimeSpec::Normal { mean: number("mean")?, stdev: number("stdev")? },
            Some("uniform") => TimeSpec::Uniform { min: number("min")?, max: number("max")? },
            Some("gamma") => TimeSpec::Gamma { shape: number("shape")?, scale: number("scale")? },
            Some("exponential") => TimeSpec::Exponential { scale: number("scale")? },
            Some("poisson") => TimeSpec::Poisson { lam: number("lam")? },
            Some(other) => {
                return Err(format!(
                    "unknown distribution type '{other}'; use normal, uniform, gamma, exponential or poisson"
                ))
            }
        };
        Ok(spec)
    }
}

impl From<TimeSpec> for RawTime {
    fn from(spec: TimeSpec) -> Self {
        let map = |pairs: &[(&str, serde_json::Value)]| {
            RawTime::Map(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        };
        use serde_json::json;
        match spec {
            TimeSpec::Zero => map(&[]),
            TimeSpec::Constant(v) => RawTime::Number(v),
            TimeSpec::Normal { mean, stdev } => {
                map(&[("mean", json!(mean)), ("stdev", json!(stdev))])
            }
            TimeSpec::Uniform { min, max } => map(&[
                ("type", json!("uniform")),
                ("min", json!(min)),
                ("max", json!(max)),
            ]),
            TimeSpec::Gamma { shape, scale } => map(&[
                ("type", json!("gamma")),
                ("shape", json!(shape)),
                ("scale", json!(scale)),
            ]),
            TimeSpec::Exponential { scale } => {
                map(&[("type", json!("exponential")), ("scale", json!(scale))])
            }
            TimeSpec::Poisson { lam } => map(&[("type", json!("poisson")), ("lam", json!(lam))]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, SeedableRng};

    fn parse(yaml: &str) -> Result<TimeSpec, String> {
        serde_norway::from_str::<TimeSpec>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn all_eight_forms_parse() {
        assert_eq!(parse("2.0").unwrap(), TimeSpec::Constant(2.0));
        assert_eq!(parse("{}").unwrap(), TimeSpec::Zero);
        assert_eq!(parse("{mean: 1}").unwrap(), TimeSpec::Constant(1.0));
        assert_eq!(
            parse("{mean: 1, stdev: 1}").unwrap(),
            TimeSpec::Normal {
                mean: 1.0,
                stdev: 1.0
            }
        );
        assert_eq!(
            parse("{type: normal, mean: 1, stdev: 1}").unwrap(),
            TimeSpec::Normal {
                mean: 1.0,
                stdev: 1.0
            }
        );
        assert_eq!(
            parse("{type: uniform, min: 1, max: 2}").unwrap(),
            TimeSpec::Uniform { min: 1.0, max: 2.0 }
        );
        assert_eq!(
            parse("{type: gamma, shape: 1, scale: 1}").unwrap(),
            TimeSpec::Gamma {
                shape: 1.0,
                scale: 1.0
            }
        );
        assert_eq!(
            parse("{type: exponential, scale: 1}").unwrap(),
            TimeSpec::Exponential { scale: 1.0 }
        );
        assert_eq!(
            parse("{type: poisson, lam: 1}").unwrap(),
            TimeSpec::Poisson { lam: 1.0 }
        );
    }

    #[test]
    fn bad_forms_name_the_problem() {
        assert!(parse("{type: weibull, k: 1}")
            .unwrap_err()
            .contains("weibull"));
        assert!(parse("{type: uniform, min: 1}")
            .unwrap_err()
            .contains("'max' is missing"));
    }

    #[test]
    fn samples_are_never_negative_and_follow_the_form() {
        let mut rng = SmallRng::seed_from_u64(1);
        let normal = TimeSpec::Normal {
            mean: 0.0,
            stdev: 1.0,
        };
        assert!((0..1000).all(|_| normal.sample(&mut rng) >= 0.0));
        let uniform = TimeSpec::Uniform { min: 1.0, max: 2.0 };
        assert!((0..1000)
            .map(|_| uniform.sample(&mut rng))
            .all(|v| (1.0..2.0).contains(&v)));
        assert_eq!(TimeSpec::Constant(-0.5).sample(&mut rng), 0.5);
        assert_eq!(
            TimeSpec::Constant(0.25).with_stdev(Some(0.1)),
            TimeSpec::Normal {
                mean: 0.25,
                stdev: 0.1
            }
        );
    }
}
