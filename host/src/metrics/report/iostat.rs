//! `iostat.json` (`iostat -mdxtcy -o JSON DEVICES 1`): per-device and CPU samples, cut into the
//! time windows of the run's phases.
//!
//! Each sample carries iostat's `-t` timestamp: local time, whole seconds, printed when the
//! one-second interval it describes ends. As DLIO does, a sample belongs to a phase when
//! `start <= timestamp < end`; phases shorter than about 2 s therefore hold 0 or 1 samples and
//! show `n/a`.

use chrono::{DateTime, Local, NaiveDateTime};
use serde::{ser::SerializeMap, Serialize, Serializer};
use serde_json::Value;

use super::stats::Stats;

/// The device columns reported, in report order: (iostat key, older sysstat's name for it).
pub const DISK_FIELDS: [(&str, &str); 7] = [
    ("rMB/s", "rMB/s"),
    ("wMB/s", "wMB/s"),
    ("r/s", "r/s"),
    ("w/s", "w/s"),
    ("r_await", "r_await"),
    ("w_await", "w_await"),
    ("aqu-sz", "avgqu-sz"),
];

/// The CPU columns reported (percent); `user+nice` adds iostat's `user` and `nice`, as DLIO's
/// `user` does.
pub const CPU_FIELDS: [&str; 5] = ["user+nice", "system", "iowait", "steal", "idle"];

/// One iostat report.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    at: NaiveDateTime,
    /// [`CPU_FIELDS`] values, when the sample has `avg-cpu`.
    cpu: [Option<f64>; 5],
    /// (index into [`Trace::devices`], [`DISK_FIELDS`] values).
    disks: Vec<(usize, [Option<f64>; 7])>,
}

/// The samples of the first host in `iostat.json` (DLIO reads only the first too).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trace {
    /// Devices in order of first appearance.
    pub devices: Vec<String>,
    samples: Vec<Sample>,
}

/// Values that fell into one or more windows, ready for statistics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Collected {
    /// Per device (as in [`Trace::devices`]), per [`DISK_FIELDS`] column.
    disk: Vec<[Vec<f64>; 7]>,
    /// Per [`CPU_FIELDS`] column.
    cpu: [Vec<f64>; 5],
    /// Samples taken.
    pub samples: usize,
}

/// Statistics of named columns (one device's, or the CPU's), in report order.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns(pub Vec<(String, Stats)>);

/// Statistics of each device and of the CPU over some windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IoStats {
    /// iostat samples inside the windows.
    pub samples: usize,
    /// Per device, in order of first appearance.
    pub disk: Devices,
    /// CPU columns, in [`CPU_FIELDS`] order.
    pub cpu: Columns,
}

/// Device name → its statistics, serialized as a JSON object in device order.
#[derive(Debug, Clone, PartialEq)]
pub struct Devices(pub Vec<(String, Columns)>);

impl Serialize for Columns {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, stats) in &self.0 {
            map.serialize_entry(name, stats)?;
        }
        map.end()
    }
}

impl Serialize for Devices {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, stats) in &self.0 {
            map.serialize_entry(name, stats)?;
        }
        map.end()
    }
}

/// Parses iostat's `-t` timestamp. Its spelling follows the locale (`11/25/26 00:56:59` in C,
/// `11/25/2026 12:56:59 AM` in en_US) or `S_TIME_FORMAT=ISO` (`2026-11-25T00:56:59+0100`);
/// all become local wall-clock time, like the phase times they are compared with.
pub fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z") {
        return Some(at.with_timezone(&Local).naive_local());
    }
    [
        "%m/%d/%y %H:%M:%S",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%y %I:%M:%S %p",
        "%m/%d/%Y %I:%M:%S %p",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// Parses DLIO's phase timestamps (`2026-11-25T00:56:58.071490`, local time).
pub fn parse_phase_time(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text.trim(), format).ok())
}

impl Trace {
    /// Reads the samples of `iostat.json`; problems become `notes`, and `None` means there is
    /// nothing usable.
    pub fn parse(value: &Value, notes: &mut Vec<String>) -> Option<Trace> {
        let Some(hosts) = value
            .pointer("/sysstat/hosts")
            .and_then(Value::as_array)
            .filter(|h| !h.is_empty())
        else {
            notes.push("iostat.json skipped: no sysstat.hosts list".into());
            return None;
        };
        if hosts.len() > 1 {
            notes.push(format!(
                "iostat.json has {} hosts; only the first is reported",
                hosts.len()
            ));
        }
        let statistics = hosts[0]
            .get("statistics")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut trace = Trace::default();
        let mut undated = 0;
        for item in statistics {
            let Some(at) = item
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(parse_timestamp)
            else {
                undated += 1;
                continue;
            };
            let cpu_value = |key: &str| item.get("avg-cpu").and_then(|c| c.get(key))?.as_f64();
            let user_nice = match (cpu_value("user"), cpu_value("nice")) {
                (Some(user), nice) => Some(user + nice.unwrap_or(0.0)),
                (None, _) => None,
            };
            let cpu = [
                user_nice,
                cpu_value("system"),
                cpu_value("iowait"),
                cpu_value("steal"),
                cpu_value("idle"),
            ];
            let mut disks = Vec::new();
            for disk in item
                .get("disk")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = disk.get("disk_device").and_then(Value::as_str) else {
                    continue;
                };
                let index = match trace.devices.iter().position(|d| d == name) {
                    Some(index) => index,
                    None => {
                        trace.devices.push(name.to_string());
                        trace.devices.len() - 1
                    }
                };
                let values = DISK_FIELDS.map(|(key, old)| {
                    disk.get(key)
                        .or_else(|| disk.get(old))
                        .and_then(Value::as_f64)
                });
                disks.push((index, values));
            }
            trace.samples.push(Sample { at, cpu, disks });
        }
        if undated > 0 {
            notes.push(format!(
                "iostat.json: {undated} samples without a readable timestamp were left out \
                 (run iostat with -t)"
            ));
        }
        if trace.samples.is_empty() {
            notes.push(
                "iostat.json holds no samples (the run was shorter than iostat's 1 s interval)"
                    .into(),
            );
        }
        Some(trace)
    }

    /// The values of the samples in `[start, end)`.
    pub fn collect(&self, start: NaiveDateTime, end: NaiveDateTime) -> Collected {
        let mut collected = Collected {
            disk: vec![Default::default(); self.devices.len()],
            ..Collected::default()
        };
        for sample in self.samples.iter().filter(|s| start <= s.at && s.at < end) {
            collected.samples += 1;
            for (column, value) in sample.cpu.iter().enumerate() {
                collected.cpu[column].extend(*value);
            }
            for (device, values) in &sample.disks {
                for (column, value) in values.iter().enumerate() {
                    collected.disk[*device][column].extend(*value);
                }
            }
        }
        collected
    }
}

impl Collected {
    /// Empty accumulators for `trace`'s devices.
    pub fn empty(trace: &Trace) -> Collected {
        Collected {
            disk: vec![Default::default(); trace.devices.len()],
            ..Collected::default()
        }
    }

    /// Appends `other`'s values (DLIO's overall figures concatenate the phase windows).
    pub fn extend(&mut self, other: &Collected) {
        self.samples += other.samples;
        for (mine, theirs) in self.cpu.iter_mut().zip(&other.cpu) {
            mine.extend(theirs);
        }
        for (mine, theirs) in self.disk.iter_mut().zip(&other.disk) {
            for (column, values) in mine.iter_mut().zip(theirs) {
                column.extend(values);
            }
        }
    }

    /// Statistics of every column, devices named from `trace`.
    pub fn stats(&self, trace: &Trace) -> IoStats {
        let columns = |names: &[&str], values: &[Vec<f64>]| {
            Columns(
                names
                    .iter()
                    .zip(values)
                    .map(|(name, v)| (name.to_string(), Stats::of(v)))
                    .collect(),
            )
        };
        let disk_names = DISK_FIELDS.map(|(key, _)| key);
        IoStats {
            samples: self.samples,
            disk: Devices(
                trace
                    .devices
                    .iter()
                    .zip(&self.disk)
                    .map(|(name, values)| (name.clone(), columns(&disk_names, values)))
                    .collect(),
            ),
            cpu: columns(&CPU_FIELDS, &self.cpu),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        parse_phase_time(text).expect("phase time")
    }

    #[test]
    fn timestamps_in_each_locale_spelling() {
        let expected = at("2026-11-25T00:56:59");
        assert_eq!(parse_timestamp("11/25/26 00:56:59"), Some(expected));
        assert_eq!(parse_timestamp("11/25/2026 12:56:59 AM"), Some(expected));
        assert_eq!(parse_timestamp("2026-11-25 00:56:59"), Some(expected));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(
            parse_phase_time("2026-11-25T00:56:58.071490"),
            NaiveDateTime::parse_from_str("2026-11-25 00:56:58.071490", "%Y-%m-%d %H:%M:%S%.f")
                .ok()
        );
    }

    #[test]
    fn samples_fall_into_half_open_windows_and_nice_adds_to_user() {
        let sample = |ts: &str, user: f64, r: f64| {
            serde_json::json!({"timestamp": ts,
                "avg-cpu": {"user": user, "nice": 1.0, "system": 2.0, "iowait": 0.0, "steal": 0.0, "idle": 90.0},
                "disk": [{"disk_device": "vda", "r/s": r, "w/s": 0.0, "rMB/s": 0.5, "wMB/s": 0.0,
                          "r_await": 0.1, "w_await": 0.0, "avgqu-sz": 0.25}]})
        };
        let value = serde_json::json!({"sysstat": {"hosts": [{"statistics": [
            sample("11/25/26 00:00:01", 3.0, 10.0),
            sample("11/25/26 00:00:02", 5.0, 20.0),
            sample("11/25/26 00:00:03", 7.0, 30.0),
            {"timestamp": "garbled"},
        ]}]}});
        let mut notes = Vec::new();
        let trace = Trace::parse(&value, &mut notes).expect("trace");
        assert_eq!(trace.devices, ["vda"]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        // [00:00:01, 00:00:03) holds the first two samples only.
        let window = trace.collect(at("2026-11-25T00:00:01"), at("2026-11-25T00:00:03"));
        assert_eq!(window.samples, 2);
        assert_eq!(window.cpu[0], [4.0, 6.0]);
        assert_eq!(window.disk[0][2], [10.0, 20.0]);
        // The older `avgqu-sz` name fills `aqu-sz`.
        assert_eq!(window.disk[0][6], [0.25, 0.25]);
        let stats = window.stats(&trace);
        assert_eq!(stats.cpu.0[0].1.mean, "5.00");
        assert_eq!(stats.disk.0[0].1 .0[2].1.max, "20.00");
        let json = serde_json::to_value(&stats).expect("json");
        assert_eq!(json["disk"]["vda"]["r/s"]["mean"], "15.00");
        assert_eq!(json["cpu"]["user+nice"]["min"], "4.00");

        let mut all = Collected::empty(&trace);
        all.extend(&window);
        all.extend(&trace.collect(at("2026-11-25T00:00:03"), at("2026-11-25T00:00:04")));
        assert_eq!(all.samples, 3);
        assert_eq!(all.cpu[0], [4.0, 6.0, 8.0]);
    }
}
