//! What `/metrics` measures at scrape time: the process (Linux `/proc`), the tokio runtime and
//! the build.
//!
//! The process metrics are read from `/proc/self/{stat,status,fd,limits}` here rather than with
//! the `metrics-process` crate: that crate records `process_cpu_seconds_total` as a whole number
//! of seconds (a `metrics` counter is an integer) unless a feature makes it a gauge, adds
//! families outside Cortex's table, and pulls `procfs` and `rustix` in for four small files.

use super::Metrics;

/// The service, version and profile `cortex_build_info` reports.
#[derive(Debug, Clone)]
pub(crate) struct BuildInfo {
    pub(crate) service: String,
    pub(crate) version: String,
    pub(crate) profile: String,
}

/// Sets the scrape-time gauges in `metrics`, and returns the text of the families that are
/// written directly (a counter of fractional seconds, which the `metrics` API cannot hold).
pub(crate) fn collect(metrics: &Metrics, build: &BuildInfo) -> String {
    metrics
        .gauge(
            "cortex_build_info",
            &[
                ("service", &build.service),
                ("version", &build.version),
                ("profile", &build.profile),
            ],
        )
        .set(1.0);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let stats = runtime.metrics();
        metrics
            .gauge("tokio_workers_count", &[])
            .set(stats.num_workers() as f64);
        metrics
            .gauge("tokio_alive_tasks", &[])
            .set(stats.num_alive_tasks() as f64);
        metrics
            .gauge("tokio_global_queue_depth", &[])
            .set(stats.global_queue_depth() as f64);
    }
    let mut direct = String::new();
    if let Some(process) = Process::read() {
        let gauges = [
            ("process_resident_memory_bytes", process.resident_bytes),
            ("process_virtual_memory_bytes", process.virtual_bytes),
            ("process_open_fds", process.open_fds),
            ("process_max_fds", process.max_fds),
            ("process_start_time_seconds", process.start_time_seconds),
        ];
        for (name, value) in gauges {
            if let Some(value) = value {
                metrics.gauge(name, &[]).set(value);
            }
        }
        if let Some(cpu) = process.cpu_seconds {
            direct.push_str(
                "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
                 # TYPE process_cpu_seconds_total counter\n",
            );
            direct.push_str(&format!("process_cpu_seconds_total {cpu}\n\n"));
        }
    }
    direct
}

/// The process's own readings; each `None` when its file cannot be read or parsed.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Process {
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) resident_bytes: Option<f64>,
    pub(crate) virtual_bytes: Option<f64>,
    pub(crate) open_fds: Option<f64>,
    pub(crate) max_fds: Option<f64>,
    pub(crate) start_time_seconds: Option<f64>,
}

/// `/proc` reports times in `USER_HZ` ticks, which the kernel fixes at 100 for user space on
/// every architecture Linux supports (`sysconf(_SC_CLK_TCK)`).
const TICKS_PER_SECOND: f64 = 100.0;

impl Process {
    /// Reads `/proc/self`; `None` where there is no `/proc` (not Linux).
    #[cfg(target_os = "linux")]
    pub(crate) fn read() -> Option<Process> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let boot = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            // The directory's own handle, open while it is read, is not counted.
            .map(|dir| dir.count().saturating_sub(1) as f64);
        let mut process = Process::parse(&stat, &status, &limits, &boot);
        process.open_fds = open_fds;
        Some(process)
    }

    /// Reads `/proc/self`; `None` where there is no `/proc` (not Linux).
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn read() -> Option<Process> {
        None
    }

    /// Parses the contents of `/proc/self/stat`, `/proc/self/status`, `/proc/self/limits` and
    /// `/proc/stat`.
    pub(crate) fn parse(stat: &str, status: &str, limits: &str, boot: &str) -> Process {
        // The fields after the command name, which is in parentheses and may hold anything.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // Numbered as in proc(5), where `state` is field 3 (index 0 here).
        let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
        let cpu_seconds = match (field(14), field(15)) {
            (Some(user), Some(system)) => Some((user + system) / TICKS_PER_SECOND),
            _ => None,
        };
        let boot_time = boot
            .lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok());
        let start_time_seconds = match (boot_time, field(22)) {
            (Some(boot), Some(ticks)) => Some(boot + ticks / TICKS_PER_SECOND),
            _ => None,
        };
        let kib = |name: &str| {
            status.lines().find_map(|l| {
                let value = l.strip_prefix(name)?.trim().strip_suffix("kB")?;
                Some(value.trim().parse::<f64>().ok()? * 1024.0)
            })
        };
        let max_fds = limits.lines().find_map(|l| {
            let rest = l.strip_prefix("Max open files")?;
            let soft = rest.split_whitespace().next()?;
            // "unlimited" is no number: no reading.
            soft.parse::<f64>().ok()
        });
        Process {
            cpu_seconds,
            resident_bytes: kib("VmRSS:"),
            virtual_bytes: kib("VmSize:"),
            open_fds: None,
            max_fds,
            start_time_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (my (odd) app) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 8 0 500 123456789 4000 18446744073709551615";
    const STATUS: &str = "Name:\tapp\nVmPeak:\t  200000 kB\nVmSize:\t  123456 kB\nVmRSS:\t   16000 kB\nThreads:\t8\n";
    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units\n\
                          Max cpu time              unlimited            unlimited            seconds\n\
                          Max open files            1024                 524288               files\n";
    const BOOT: &str = "cpu  1 2 3\nbtime 1700000000\nprocesses 10\n";

    #[test]
    fn proc_files_are_parsed() {
        let p = Process::parse(STAT, STATUS, LIMITS, BOOT);
        assert_eq!(
            p,
            Process {
                cpu_seconds: Some(3.25),
                resident_bytes: Some(16000.0 * 1024.0),
                virtual_bytes: Some(123456.0 * 1024.0),
                open_fds: None,
                max_fds: Some(1024.0),
                start_time_seconds: Some(1_700_000_005.0),
            }
        );
    }

    #[test]
    fn unreadable_parts_are_left_out() {
        let p = Process::parse(
            "garbage",
            "",
            "Max open files unlimited unlimited files",
            "",
        );
        assert_eq!(p, Process::default());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read() {
        let p = Process::read().expect("/proc is there on Linux");
        assert!(p.cpu_seconds.is_some_and(|c| c >= 0.0), "{p:?}");
        assert!(p.resident_bytes.is_some_and(|r| r > 1_000_000.0), "{p:?}");
        assert!(p.open_fds.is_some_and(|n| n >= 3.0), "{p:?}");
        assert!(p.max_fds.is_some_and(|n| n >= 64.0), "{p:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = p.start_time_seconds.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0 * 365.0,
            "{start} vs {now}"
        );
    }
}
