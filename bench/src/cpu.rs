//! Where the machine's CPU went in a phase: seconds used by this process (every client, the
//! gateway and every function) and by each emulator process, read from `/proc/<pid>/stat`. On a
//! machine that runs the whole system, the busiest of them is what a phase's latency waits on.

use std::fmt;

/// CPU seconds (user + system) of this process and of the DynamoDB and SQS emulators.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cpu {
    pub driver: f64,
    pub dynamodb: f64,
    pub sqs: f64,
}

/// The processes a phase's CPU is read from.
#[derive(Clone, Copy, Debug)]
pub struct Processes {
    pub dynamodb: Option<u32>,
    pub sqs: Option<u32>,
}

impl Processes {
    /// CPU seconds used so far.
    pub fn now(&self) -> Cpu {
        Cpu {
            driver: seconds("self"),
            dynamodb: self.dynamodb.map_or(0.0, |p| seconds(&p.to_string())),
            sqs: self.sqs.map_or(0.0, |p| seconds(&p.to_string())),
        }
    }

    /// CPU seconds used since `before`.
    pub fn since(&self, before: Cpu) -> Cpu {
        let now = self.now();
        Cpu {
            driver: now.driver - before.driver,
            dynamodb: now.dynamodb - before.dynamodb,
            sqs: now.sqs - before.sqs,
        }
    }
}

/// User + system CPU seconds of process `pid` (`self`, or a number); 0 when unreadable.
fn seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / per_second
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} / {:.1} / {:.1}", self.driver, self.dynamodb, self.sqs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_cpu_grows_with_work() {
        let p = Processes {
            dynamodb: None,
            sqs: Some(0),
        };
        let before = p.now();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let used = p.since(before);
        assert!(used.driver > 0.0, "{used:?}");
        // No process, or one without a stat file (0): nothing, not an error.
        assert_eq!((used.dynamodb, used.sqs), (0.0, 0.0));
    }
}
