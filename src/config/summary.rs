//! A short human-readable summary of a validated configuration, printed by
//! `gatewatch config check FILE`. It shows what a network manager needs to confirm (listeners,
//! client subnets, bypass counts, paths); configuration holds no personal data, and host lists
//! are summarised as counts.

use std::fmt::Write as _;
use std::net::SocketAddr;

use super::Config;

impl Config {
    /// A multi-line summary: listeners, allowed subnets, bypass, upstream trust, limits,
    /// inspection, paths and metrics. Each line ends with a newline.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_summary(&mut out);
        out
    }

    fn write_summary(&self, out: &mut String) -> std::fmt::Result {
        let l = &self.listen;
        writeln!(out, "listeners:")?;
        writeln!(out, "  explicit proxy:   {}", addrs(&l.explicit))?;
        writeln!(out, "  transparent HTTP: {}", addrs(&l.transparent_http))?;
        writeln!(out, "  transparent TLS:  {}", addrs(&l.transparent_tls))?;
        let subnets: Vec<String> = self
            .clients
            .allowed_subnets
            .iter()
            .map(ToString::to_string)
            .collect();
        writeln!(out, "allowed client subnets: {}", subnets.join(", "))?;
        let auto = &self.bypass.auto;
        let auto = if auto.enabled {
            format!("after {} rejected handshakes", auto.failures)
        } else {
            "off".to_string()
        };
        writeln!(
            out,
            "bypass (never decrypted): {} hosts; automatic bypass {auto}",
            self.bypass.hosts.len()
        )?;
        let u = &self.upstream;
        let mut trust = Vec::new();
        if u.trust_system {
            trust.push("system CA store".to_string());
        }
        if u.trust_mozilla {
            trust.push("Mozilla roots".to_string());
        }
        if !u.extra_ca_files.is_empty() {
            trust.push(format!("{} extra CA files", u.extra_ca_files.len()));
        }
        if trust.is_empty() {
            trust.push("nothing (every upstream will fail)".to_string());
        }
        writeln!(
            out,
            "upstream: trusts {}; private addresses {}; {} static hosts; connect timeout {}s",
            trust.join(", "),
            if u.allow_private {
                "ALLOWED (labs only)"
            } else {
                "refused"
            },
            u.static_hosts.len(),
            u.connect_timeout.as_secs()
        )?;
        let lim = &self.limits;
        writeln!(
            out,
            "limits: {} connections, {} header bytes; timeouts: handshake {}s, idle {}s, \
             shutdown grace {}s",
            lim.max_connections,
            lim.max_header_bytes,
            lim.handshake_timeout.as_secs(),
            lim.idle_timeout.as_secs(),
            lim.shutdown_grace.as_secs()
        )?;
        writeln!(
            out,
            "inspection: {} frames queued per body, stall budget {} ms",
            self.inspect.queue_frames,
            self.inspect.max_stall.as_millis()
        )?;
        writeln!(out, "data directory: {}", self.paths.data_dir.display())?;
        writeln!(out, "CA directory:   {}", self.paths.ca_dir.display())?;
        let d = &self.detect;
        let library = d
            .library
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the built-in starter library".into());
        let overlay = d
            .overlay
            .as_ref()
            .map(|p| format!(" with overlay {}", p.display()))
            .unwrap_or_default();
        writeln!(
            out,
            "detection: {library}{overlay}; {} mode; typed x{}; incident at severity {} \
             (typed {}) or score {}",
            if d.singular { "singular" } else { "normal" },
            d.typed_multiplier,
            d.incident_severity,
            d.incident_typed_severity,
            d.incident_score
        )?;
        match self.observability.metrics_listen {
            Some(addr) => writeln!(out, "metrics: {addr} (plain HTTP, Prometheus format)"),
            None => writeln!(out, "metrics: off"),
        }
    }
}

fn addrs(list: &[SocketAddr]) -> String {
    if list.is_empty() {
        return "none".to_string();
    }
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_summary_names_listeners_subnets_counts_and_paths() {
        let s = Config::default().summary();
        assert!(s.contains("explicit proxy:   127.0.0.1:3128\n"), "{s}");
        assert!(s.contains("transparent TLS:  none\n"), "{s}");
        assert!(
            s.contains("allowed client subnets: 127.0.0.0/8, ::1/128\n"),
            "{s}"
        );
        let hosts = format!("{} hosts;", super::super::DEFAULT_BYPASS_HOSTS.len());
        assert!(s.contains(&hosts), "{s}");
        assert!(s.contains("after 3 rejected handshakes"), "{s}");
        assert!(s.contains("data directory: data\n"), "{s}");
        assert!(s.contains("metrics: off\n"), "{s}");
        // Host names are counted, not listed.
        assert!(!s.contains("childline"), "{s}");
    }

    #[test]
    fn summary_shows_metrics_and_private_upstreams() {
        let mut c = Config::default();
        c.observability.metrics_listen = "127.0.0.1:9091".parse().ok();
        c.upstream.allow_private = true;
        c.bypass.auto.enabled = false;
        let s = c.summary();
        assert!(s.contains("metrics: 127.0.0.1:9091 (plain"), "{s}");
        assert!(s.contains("private addresses ALLOWED"), "{s}");
        assert!(s.contains("automatic bypass off"), "{s}");
    }
}
