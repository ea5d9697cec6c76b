//! The benchmark's figures: a markdown table for people, JSON for tools.

use serde::Serialize;
use std::time::Duration;

use super::BenchSpec;

/// One measured figure, with its target where DESIGN §8 sets one.
#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    /// What was measured.
    pub name: String,
    /// The figure, in `unit`.
    pub value: f64,
    /// `ms`, `s`, `MB` or `/s`.
    pub unit: &'static str,
    /// What the figure covers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The SQL-per-rule baseline's figure for the same work, in `unit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// How many times faster Roster was than the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// The target of DESIGN §8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whether the target was met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

impl Measure {
    fn new(name: &str, value: f64, unit: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            value,
            unit,
            detail: String::new(),
            baseline: None,
            ratio: None,
            target: None,
            met: None,
        }
    }

    /// A duration in milliseconds.
    pub fn millis(name: &str, d: Duration) -> Self {
        Self::new(name, d.as_secs_f64() * 1e3, "ms")
    }

    /// A duration in seconds.
    pub fn seconds(name: &str, d: Duration) -> Self {
        Self::new(name, d.as_secs_f64(), "s")
    }

    /// A size in megabytes (10^6 bytes); NaN when unknown.
    pub fn bytes(name: &str, b: Option<u64>) -> Self {
        Self::new(name, b.map_or(f64::NAN, |b| b as f64 / 1e6), "MB")
    }

    /// How many of something per second: `count` of them in `d`.
    pub fn rate(name: &str, count: f64, d: Duration) -> Self {
        Self::new(name, count / d.as_secs_f64().max(1e-9), "/s")
    }

    /// Says what the figure covers.
    pub fn detail(mut self, detail: String) -> Self {
        self.detail = detail;
        self
    }

    /// Sets the target and whether it was met.
    pub fn target(mut self, target: &str, met: bool) -> Self {
        self.target = Some(target.to_owned());
        self.met = Some(met);
        self
    }

    /// Shows a target the figure is not judged by (measured in other conditions).
    pub fn unjudged(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self.met = None;
        self
    }

    /// Puts the baseline's time beside Roster's: this measure is the baseline's, `roster`
    /// the engine's time for the same work.
    pub fn baseline(mut self, baseline: Duration, roster: Duration) -> Self {
        self.value = roster.as_secs_f64() * 1e3;
        self.baseline = Some(baseline.as_secs_f64() * 1e3);
        self.ratio = Some(baseline.as_secs_f64() / roster.as_secs_f64().max(1e-9));
        self
    }

    /// The value as the table shows it. A figure that misses its target shows two
    /// decimals, so that one just over it (50.16 ms against 50) never reads as the
    /// target itself.
    fn shown(&self, value: f64) -> String {
        if self.met == Some(false) {
            return format!("{value:.2} {}", self.unit);
        }
        match self.unit {
            "ms" => format!("{} ms", millis_shown(value)),
            "s" => format!("{value:.1} s"),
            _ => format!("{value:.0} {}", self.unit),
        }
    }
}

/// Milliseconds as the table shows them, without the unit: two decimals below 10.
pub(crate) fn millis_shown(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}

/// The figures of one run, with the conditions they were measured in.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Users generated.
    pub users: usize,
    /// Automatic groups drawn.
    pub groups: usize,
    /// The database backend.
    pub backend: &'static str,
    /// The seed.
    pub seed: u64,
    /// Each figure, in the order measured.
    pub measures: Vec<Measure>,
    /// What the run saw besides the figures (sizes, an example baseline query).
    pub notes: Vec<String>,
}

impl BenchReport {
    pub(super) fn new(spec: &BenchSpec) -> Self {
        let backend = if spec.database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
        Self {
            users: spec.users,
            groups: spec.groups,
            backend,
            seed: spec.seed,
            measures: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, m: Measure) {
        tracing::info!(measure = %m.name, value = m.value, unit = m.unit, detail = %m.detail);
        self.measures.push(m);
    }

    pub(super) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// Whether every target was met.
    pub fn all_met(&self) -> bool {
        self.measures.iter().all(|m| m.met != Some(false))
    }

    /// A markdown table of the figures, then the notes.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "{} users, {} automatic groups, {}, seed {}\n\n\
             | measure | Roster | SQL-per-rule baseline | target | met | detail |\n|---|---|---|---|---|---|\n",
            self.users, self.groups, self.backend, self.seed
        );
        for m in &self.measures {
            let baseline = match (m.baseline, m.ratio) {
                (Some(b), Some(r)) => format!("{} ({r:.0}x)", m.shown(b)),
                _ => String::new(),
            };
            let met = match m.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            out.push_str(&format!(
                "| {} | {} | {baseline} | {} | {met} | {} |\n",
                m.name,
                m.shown(m.value),
                m.target.as_deref().unwrap_or(""),
                m.detail
            ));
        }
        for note in &self.notes {
            out.push('\n');
            out.push_str(note);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(measure: Measure) -> String {
        let mut report = BenchReport::new(&BenchSpec::new("sqlite://bench.db".into()));
        report.add(measure);
        report.markdown()
    }

    #[test]
    fn a_figure_just_over_its_target_never_reads_as_the_target() {
        let missed = Measure::millis("preview", Duration::from_micros(50_160)).target("p99 <= 50 ms", false);
        assert!(table(missed).contains("| preview | 50.16 ms |"));
        let met = Measure::millis("preview", Duration::from_micros(49_840)).target("p99 <= 50 ms", true);
        assert!(table(met).contains("| preview | 50 ms |"));
        let missed = Measure::seconds("import", Duration::from_millis(5_040)).target("<= 5 s", false);
        assert!(table(missed).contains("| import | 5.04 s |"));
    }
}
