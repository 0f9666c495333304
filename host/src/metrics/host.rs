//! Facts about the machine that DLIO records in its output files: CPU count and model, the
//! last processor block of /proc/cpuinfo, /proc/meminfo, memory in GiB, and whether the
//! dataset could fit in the page cache.

use serde_json::{Map, Value};

/// What one host looks like.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// Online CPUs.
    pub cpu_count: u64,
    /// CPU model name.
    pub processor_name: String,
    /// The last `processor` block of /proc/cpuinfo, key → value.
    pub cpuinfo: Map<String, Value>,
    /// /proc/meminfo, key → value as written ("N kB").
    pub meminfo: Map<String, Value>,
    /// Total memory in GiB.
    pub memory_gib: f64,
}

impl HostFacts {
    /// Reads the facts of this machine (empty values where /proc is unavailable).
    pub fn read() -> HostFacts {
        let cpuinfo = last_cpu_block(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
        let meminfo = key_values(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default());
        let total_kib = meminfo
            .get("MemTotal")
            .and_then(Value::as_str)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        HostFacts {
            cpu_count: u64::try_from(online).unwrap_or(1).max(1),
            processor_name: cpuinfo
                .get("model name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            cpuinfo,
            meminfo,
            memory_gib: total_kib as f64 / (1u64 << 20) as f64,
        }
    }

    /// 1 if the data one host reads fits in its memory (so later epochs may be cached), else 0.
    pub fn potential_caching(&self, data_per_host_bytes: f64) -> u64 {
        potential_caching(self.memory_gib, data_per_host_bytes)
    }
}

/// 1 if `data_bytes` fit in `memory_gib` of memory (so later epochs may be cached), else 0.
pub fn potential_caching(memory_gib: f64, data_bytes: f64) -> u64 {
    u64::from(memory_gib * (1u64 << 30) as f64 > data_bytes)
}

fn key_values(text: &str) -> Map<String, Value> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| {
            (
                key.trim().to_string(),
                Value::String(value.trim().to_string()),
            )
        })
        .collect()
}

fn last_cpu_block(text: &str) -> Map<String, Value> {
    text.split("\n\n")
        .filter(|block| block.contains("processor"))
        .last()
        .map(key_values)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_keeps_the_last_processor_block() {
        let text = "processor\t: 0\nmodel name\t: A\n\nprocessor\t: 1\nmodel name\t: B\nflags\t\t: fpu vme\n\n";
        let block = last_cpu_block(text);
        assert_eq!(block["processor"], "1");
        assert_eq!(block["model name"], "B");
        assert_eq!(block["flags"], "fpu vme");
    }

    #[test]
    fn this_machine_has_facts() {
        let facts = HostFacts::read();
        assert!(facts.cpu_count >= 1);
        assert!(facts.memory_gib > 0.0, "MemTotal from /proc/meminfo");
        assert!(facts.meminfo["MemTotal"].as_str().unwrap().ends_with("kB"));
        assert_eq!(facts.potential_caching(1.0), 1);
        assert_eq!(facts.potential_caching(1e30), 0);
    }
}
