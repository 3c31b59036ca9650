//! curl, run inside a namespace with `ip netns exec`, and what its verbose output tells.

use std::path::Path;

use super::{command, Tools};

/// Separates the body from curl's `--write-out` trailer on stdout.
const TRAILER: &str = "\n@@gw-netns@@";

/// One curl invocation.
#[derive(Debug, Clone)]
pub struct CurlArgs {
    url: String,
    extra: Vec<String>,
    max_time: u32,
}

impl CurlArgs {
    /// A GET of `url`.
    pub fn new(url: &str) -> CurlArgs {
        CurlArgs {
            url: url.to_string(),
            extra: Vec::new(),
            max_time: 10,
        }
    }

    /// Trust only the CA in `pem`.
    pub fn cacert(mut self, pem: &Path) -> CurlArgs {
        self.extra.push("--cacert".into());
        self.extra.push(pem.display().to_string());
        self
    }

    /// Makes curl connect to `ip_host` (as written in URLs) for `name:port`, as if the
    /// client had resolved the name itself.
    pub fn resolve(mut self, name: &str, port: u16, ip_host: &str) -> CurlArgs {
        self.extra.push("--resolve".into());
        self.extra.push(format!("{name}:{port}:{ip_host}"));
        self
    }

    /// Adds a request header.
    pub fn header(mut self, h: &str) -> CurlArgs {
        self.extra.push("-H".into());
        self.extra.push(h.into());
        self
    }

    /// Any other curl flag.
    pub fn flag(mut self, f: &str) -> CurlArgs {
        self.extra.push(f.into());
        self
    }

    /// Overall time limit in seconds.
    pub fn max_time(mut self, secs: u32) -> CurlArgs {
        self.max_time = secs;
        self
    }
}

/// What curl did.
#[derive(Debug, Clone)]
pub struct Curl {
    /// The command line, for messages.
    pub command: String,
    /// curl's exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// The response body.
    pub body: String,
    /// The HTTP status code (`000` when there was no response).
    pub status: String,
    /// The HTTP version curl used (`1.1`, `2`).
    pub http_version: String,
    /// curl's verbose output.
    pub stderr: String,
}

impl Curl {
    /// True when curl exited 0 with a 200 response.
    pub fn ok(&self) -> bool {
        self.code == Some(0) && self.status == "200"
    }

    /// The issuer of the server certificate curl was shown.
    pub fn issuer(&self) -> Option<&str> {
        self.stderr
            .lines()
            .find_map(|l| l.trim_start_matches('*').trim().strip_prefix("issuer:"))
            .map(str::trim)
    }

    /// The request head curl sent, line by line, from its verbose output.
    pub fn request_head(&self) -> Vec<String> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("> "))
            .map(|l| l.trim_end_matches('\r').to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Everything about this run, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nexit code: {:?}, HTTP status {}, version {}\nbody:\n{}\nverbose output:\n{}",
            self.command, self.code, self.status, self.http_version, self.body, self.stderr
        )
    }
}

/// Runs curl in namespace `ns` (`-v`, proxies and `.curlrc` ignored).
pub fn curl(tools: &Tools, ns: &str, args: &CurlArgs) -> Curl {
    let curl_path = tools.curl.display().to_string();
    let max_time = args.max_time.to_string();
    let write_out = format!("{TRAILER}%{{http_code}} %{{http_version}}");
    let mut argv: Vec<&str> = vec![
        "netns",
        "exec",
        ns,
        &curl_path,
        "-q",
        "-sS",
        "-v",
        "--noproxy",
        "*",
        "--max-time",
        &max_time,
        "--write-out",
        &write_out,
    ];
    argv.extend(args.extra.iter().map(String::as_str));
    argv.push(&args.url);
    let shown = format!("ip {}", argv.join(" "));
    let out = command(&tools.ip)
        .args(&argv)
        .output()
        .unwrap_or_else(|err| panic!("cannot run `{shown}`: {err}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (body, trailer) = stdout.rsplit_once(TRAILER).unwrap_or((&stdout, "000 0"));
    let (status, version) = trailer.split_once(' ').unwrap_or((trailer, ""));
    Curl {
        command: shown,
        code: out.status.code(),
        body: body.to_string(),
        status: status.trim().to_string(),
        http_version: version.trim().to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
