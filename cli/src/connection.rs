//! How every registry-facing command reaches the registry: URL(s), auth, TLS roots, extra
//! headers and timeout, from flags, `STRATA_*` environment variables or a config file, in that
//! order of precedence; then a project's `strata.toml` `[registry]` table (same keys), which
//! comes after an explicit `--config`/`STRATA_CONFIG` file but before the default config file.
//!
//! The config file is TOML, at `--config PATH`, `$STRATA_CONFIG`, or
//! `$XDG_CONFIG_HOME/strata/config.toml` (`~/.config/strata/config.toml`) when it exists:
//!
//! ```toml
//! [registry]
//! url = "https://registry.example.com,https://registry-2.example.com"
//! basic_auth = "user:password"        # or: bearer_token = "..."
//! ca_cert = "/etc/ssl/private-ca.pem"
//! client_cert = "/etc/strata/client.pem"  # mutual TLS: a client certificate...
//! client_key = "/etc/strata/client-key.pem"  # ...and its private key
//! timeout = "30s"
//! headers = { "X-Team" = "payments" }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde::Deserialize;
use strata_serde::{Auth, RegistryConfig};

/// A project's file, whose `[registry]` table is a fallback for the connection settings.
pub const PROJECT_FILE: &str = "strata.toml";

/// The `[registry]` table of the nearest `strata.toml` from the current directory upwards, if
/// there is one (the rest of the file is the project's, read by `strata apply`).
pub fn project_registry_table() -> Result<Option<FileRegistry>> {
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(None);
    };
    let Some(path) = cwd
        .ancestors()
        .map(|d| d.join(PROJECT_FILE))
        .find(|p| p.is_file())
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| anyhow!("{} is not valid: {e}", path.display()))?;
    match table.remove("registry") {
        None => Ok(None),
        Some(registry) => registry
            .try_into()
            .map(Some)
            .map_err(|e| anyhow!("{}: the [registry] table is not valid: {e}", path.display())),
    }
}

/// The registry URL used when no flag, variable or config file names one.
pub const DEFAULT_REGISTRY_URL: &str = "http://localhost:8081";

/// Flags naming the registry and how to authenticate to it; `#[command(flatten)]` them.
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryArgs {
    /// The registry's base URL; comma-separated for several (tried in order)
    /// [default: http://localhost:8081].
    #[arg(long, env = "STRATA_REGISTRY_URL", value_name = "URL")]
    pub registry: Option<String>,

    /// Basic auth as USER:PASSWORD.
    #[arg(
        long,
        env = "STRATA_REGISTRY_BASIC_AUTH",
        value_name = "USER:PASSWORD",
        hide_env_values = true
    )]
    pub basic_auth: Option<String>,

    /// A bearer token.
    #[arg(
        long,
        env = "STRATA_REGISTRY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub bearer_token: Option<String>,

    /// A PEM file of extra trusted root certificates (a private CA).
    #[arg(long, env = "STRATA_REGISTRY_CA_CERT", value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,

    /// A PEM client certificate (and its chain) for registries that require mutual TLS;
    /// give its key with --client-key.
    #[arg(long, env = "STRATA_REGISTRY_CLIENT_CERT", value_name = "PEM")]
    pub client_cert: Option<PathBuf>,

    /// The PEM private key of --client-cert.
    #[arg(long, env = "STRATA_REGISTRY_CLIENT_KEY", value_name = "PEM")]
    pub client_key: Option<PathBuf>,

    /// An extra request header, NAME:VALUE. Repeatable.
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,

    /// Request timeout, e.g. 30s or 2m.
    #[arg(long, env = "STRATA_REGISTRY_TIMEOUT", value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Config file with a [registry] table (default: $XDG_CONFIG_HOME/strata/config.toml).
    #[arg(long, env = "STRATA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// The `[registry]` table of the config file (and of `strata.toml`).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileRegistry {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    basic_auth: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bearer_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    headers: std::collections::BTreeMap<String, String>,
}

impl FileRegistry {
    /// Each setting from `self`, else from `other`; headers from both (`self`'s win).
    fn or(self, other: FileRegistry) -> FileRegistry {
        let mut headers = other.headers;
        headers.extend(self.headers);
        FileRegistry {
            url: self.url.or(other.url),
            basic_auth: self.basic_auth.or(other.basic_auth),
            bearer_token: self.bearer_token.or(other.bearer_token),
            ca_cert: self.ca_cert.or(other.ca_cert),
            client_cert: self.client_cert.or(other.client_cert),
            client_key: self.client_key.or(other.client_key),
            timeout: self.timeout.or(other.timeout),
            headers,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    registry: FileRegistry,
}

impl RegistryArgs {
    /// The settings these flags describe, with strata.toml's `[registry]` table (when there is
    /// one in the current directory) as a fallback.
    pub fn registry_config(&self) -> Result<RegistryConfig> {
        let project = project_registry_table()?;
        self.registry_config_with(project.as_ref())
    }

    /// A registry client for [`RegistryArgs::registry_config`].
    pub fn client(&self) -> Result<strata_serde::RegistryClient> {
        Self::client_for(self.registry_config()?)
    }

    /// A registry client for `config`.
    pub fn client_for(config: RegistryConfig) -> Result<strata_serde::RegistryClient> {
        strata_serde::RegistryClient::new(config).context("cannot set up the registry client")
    }

    /// The settings these flags describe, then an explicit config file, then a project's
    /// `[registry]` table, then the default config file, then defaults.
    pub fn registry_config_with(&self, project: Option<&FileRegistry>) -> Result<RegistryConfig> {
        let project = project.cloned().unwrap_or_default();
        let file = match &self.config {
            Some(_) => self.config_file()?.or(project),
            None => project.or(self.config_file()?),
        };
        let url = self
            .registry
            .clone()
            .or(file.url)
            .unwrap_or_else(|| DEFAULT_REGISTRY_URL.to_string());
        let urls: Vec<String> = url
            .split(',')
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            bail!("the registry URL is empty: give --registry URL or set STRATA_REGISTRY_URL");
        }
        let mut config = RegistryConfig::with_urls(urls);
        let basic = self.basic_auth.clone().or(file.basic_auth);
        let bearer = self.bearer_token.clone().or(file.bearer_token);
        config.auth = match (basic, bearer) {
            (Some(_), Some(_)) => {
                bail!("give either basic auth or a bearer token, not both")
            }
            (Some(userinfo), None) => {
                let (username, password) = userinfo.split_once(':').ok_or_else(|| {
                    anyhow!("basic auth must be USER:PASSWORD (the ':' is missing)")
                })?;
                Some(Auth::Basic {
                    username: username.into(),
                    password: password.into(),
                })
            }
            (None, Some(token)) => Some(Auth::Bearer(token)),
            (None, None) => None,
        };
        if let Some(ca) = self.ca_cert.clone().or(file.ca_cert) {
            let pem = std::fs::read(&ca)
                .with_context(|| format!("cannot read the CA certificate {}", ca.display()))?;
            config.root_certificates_pem.push(pem);
        }
        let client_cert = self.client_cert.clone().or(file.client_cert);
        let client_key = self.client_key.clone().or(file.client_key);
        config.client_identity = match (client_cert, client_key) {
            (None, None) => None,
            (Some(cert), None) => bail!(
                "the client certificate {} needs its private key: give --client-key (or \
                 client_key in the config file)",
                cert.display()
            ),
            (None, Some(key)) => bail!(
                "the client key {} needs its certificate: give --client-cert (or client_cert \
                 in the config file)",
                key.display()
            ),
            (Some(cert), Some(key)) => Some(strata_serde::ClientIdentity {
                cert_pem: std::fs::read(&cert).with_context(|| {
                    format!("cannot read the client certificate {}", cert.display())
                })?,
                key_pem: std::fs::read(&key)
                    .with_context(|| format!("cannot read the client key {}", key.display()))?,
            }),
        };
        config.headers = file.headers.into_iter().collect();
        for h in &self.headers {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| anyhow!("--header '{h}' is not NAME:VALUE"))?;
            config
                .headers
                .push((name.trim().to_string(), value.trim().to_string()));
        }
        if let Some(t) = self.timeout.clone().or(file.timeout) {
            let d: Duration = humantime::parse_duration(&t)
                .map_err(|e| anyhow!("timeout '{t}' is not a duration like 30s or 2m: {e}"))?;
            config.request_timeout = d;
        }
        Ok(config)
    }

    /// The config file's `[registry]` table: the named file (which must exist), or the default
    /// file when there is one, or nothing.
    fn config_file(&self) -> Result<FileRegistry> {
        let path = match &self.config {
            Some(p) => p.clone(),
            None => match default_config_path() {
                Some(p) if p.is_file() => p,
                _ => return Ok(FileRegistry::default()),
            },
        };
        read_config(&path)
    }
}

fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("strata").join("config.toml"))
}

fn read_config(path: &Path) -> Result<FileRegistry> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let file: ConfigFile = toml::from_str(&text).with_context(|| {
        format!(
            "the config file {} is not valid (expected a [registry] table with url, basic_auth, \
             bearer_token, ca_cert, client_cert, client_key, timeout, headers)",
            path.display()
        )
    })?;
    Ok(file.registry)
}

/// A current-thread async runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RegistryArgs {
        RegistryArgs {
            config: Some(PathBuf::from("/nonexistent-is-not-read")),
            ..Default::default()
        }
    }

    #[test]
    fn flags_win_over_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[registry]\nurl = \"http://a:1, http://b:2\"\nbearer_token = \"t\"\ntimeout = \"5s\"\nheaders = { X-Team = \"pay\" }\n",
        )
        .unwrap();
        let mut a = RegistryArgs {
            config: Some(path.clone()),
            ..Default::default()
        };
        let c = a.registry_config_with(None).unwrap();
        assert_eq!(c.urls, vec!["http://a:1", "http://b:2"]);
        assert_eq!(c.auth, Some(Auth::Bearer("t".into())));
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(c.headers, vec![("X-Team".to_string(), "pay".to_string())]);
        a.registry = Some("http://c:3".into());
        a.bearer_token = Some("u".into());
        let c = a.registry_config_with(None).unwrap();
        assert_eq!(c.urls, vec!["http://c:3"]);
        assert_eq!(c.auth, Some(Auth::Bearer("u".into())));
    }

    #[test]
    fn bad_settings_are_clear_errors() {
        let err = args().registry_config_with(None).unwrap_err();
        assert!(format!("{err:#}").contains("cannot read the config file"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[registry]\nurl = 3\n").unwrap();
        let a = RegistryArgs {
            config: Some(path),
            basic_auth: Some("nopassword".into()),
            ..Default::default()
        };
        assert!(format!("{:#}", a.registry_config_with(None).unwrap_err()).contains("not valid"));
    }
}
