//! `strata serve`: run the registry until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use strata_registry::limits::Limits;
use strata_registry::work::PoolSize;
use strata_registry::{Application, ServerConfig, Settings};
use strata_schema::CompatibilityLevel;

use crate::logging::{self, LogFormat};
use crate::output::Output;

/// Flags of `strata serve`; each also reads a `STRATA_*` environment variable.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  strata serve\n  strata serve --listen 127.0.0.1:8081 --database-url postgres://strata@localhost/strata\n  STRATA_DATABASE_URL=sqlite:///var/lib/strata/registry.db strata serve --log-format json"
)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STRATA_LISTEN", default_value = "0.0.0.0:8081")]
    listen: String,
    /// Storage: sqlite://PATH (created on first start) or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(
        long,
        env = "STRATA_DATABASE_URL",
        default_value = "sqlite://./strata-data/registry.db"
    )]
    database_url: String,
    /// Log format.
    #[arg(long, env = "STRATA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Compatibility level used when none is configured (NONE, BACKWARD, FORWARD, FULL and
    /// their _TRANSITIVE forms).
    #[arg(long, env = "STRATA_DEFAULT_COMPATIBILITY", default_value = "BACKWARD", value_parser = parse_level)]
    default_compatibility: CompatibilityLevel,
    /// error_code for incompatible schemas: 409 (Confluent up to 8.1, what clients assert) or
    /// 40901 (Confluent 8.2+).
    #[arg(long, env = "STRATA_INCOMPATIBLE_ERROR_CODE", default_value = "409", value_parser = ["409", "40901"])]
    incompatible_error_code: String,
    /// Largest schema accepted, in bytes.
    #[arg(long, env = "STRATA_MAX_SCHEMA_BYTES", default_value_t = 8 * 1024 * 1024)]
    max_schema_bytes: usize,
    /// Refuse mode changes (Confluent's mode.mutability=false).
    #[arg(long, env = "STRATA_MODE_IMMUTABLE")]
    mode_immutable: bool,
    // The global --output does not apply to a server (it logs, see --log-format): this hidden
    // stand-in keeps it out of `serve --help` and still accepts it, so a STRATA_OUTPUT exported
    // for the other commands does not stop the server.
    #[allow(dead_code)]
    #[arg(long, hide = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Deepest nesting of a schema (brackets in JSON, blocks in Protobuf) accepted; deeper
    /// schemas are refused with 42201 before any parser sees them.
    #[arg(long, env = "STRATA_MAX_NESTING_DEPTH", default_value_t = strata_schema::limits::DEFAULT_MAX_NESTING_DEPTH)]
    max_nesting_depth: usize,
    /// Most objects and arrays (JSON) or blocks and statements (Protobuf) in one schema;
    /// larger schemas are refused with 42201 before any parser sees them.
    #[arg(long, env = "STRATA_MAX_SCHEMA_NODES", default_value_t = strata_schema::limits::DEFAULT_MAX_SCHEMA_NODES)]
    max_schema_nodes: usize,
    /// Threads that parse schemas and check compatibility (default: the number of cores).
    #[arg(long, env = "STRATA_SCHEMA_WORK_THREADS")]
    schema_work_threads: Option<usize>,
    /// Schema operations accepted at once (running and waiting); more are answered 429.
    #[arg(long, env = "STRATA_MAX_PENDING_SCHEMA_WORK", default_value_t = 256)]
    max_pending_schema_work: usize,
    /// Time a client has, from the first byte of a request, to send all its headers.
    #[arg(long, env = "STRATA_HEADER_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    header_read_timeout: Duration,
    /// How long a keep-alive connection with no request in flight stays open without traffic.
    #[arg(long, env = "STRATA_IDLE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Time a client has to send a request's body (408 after it).
    #[arg(long, env = "STRATA_BODY_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    body_read_timeout: Duration,
    /// Time a request may take in all (error 50002 after it).
    #[arg(long, env = "STRATA_REQUEST_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Requests served at once; more are answered 429 at once.
    #[arg(long, env = "STRATA_MAX_CONCURRENT_REQUESTS", default_value_t = 1024)]
    max_concurrent_requests: usize,
    /// Deepest chain of schema references (a reference of a reference …) accepted.
    #[arg(long, env = "STRATA_MAX_REFERENCE_DEPTH", default_value_t = 32)]
    max_reference_depth: usize,
    /// Distinct reference names a request's reference graph may expand to.
    #[arg(long, env = "STRATA_MAX_REFERENCES", default_value_t = 10_000)]
    max_references: usize,
    /// Pairs of subschemas one JSON Schema compatibility check may compare (nested
    /// allOf/anyOf/oneOf multiply them); 42201 beyond.
    #[arg(long, env = "STRATA_MAX_COMPARED_PAIRS", default_value_t = strata_schema::limits::DEFAULT_MAX_COMPARED_PAIRS)]
    max_compared_pairs: usize,
    /// Bytes the in-memory caches may hold together (estimated); least recently used entries
    /// are evicted past it.
    #[arg(long, env = "STRATA_CACHE_MAX_BYTES", default_value_t = 256 * 1024 * 1024)]
    cache_max_bytes: usize,
    /// Also serve the Kafka protocol on this address (e.g. 0.0.0.0:9092) over the bundled
    /// broker in --log-dir (preview: see the README). Off without this flag.
    #[arg(long, env = "STRATA_KAFKA_LISTEN", value_name = "ADDR")]
    kafka_listen: Option<String>,
    /// HOST:PORT that Kafka clients are told to connect to [default: the --kafka-listen
    /// address, 0.0.0.0 read as 127.0.0.1].
    #[arg(
        long,
        env = "STRATA_KAFKA_ADVERTISED_ADDRESS",
        value_name = "HOST:PORT"
    )]
    kafka_advertised_address: Option<String>,
    /// The bundled broker's log directory that --kafka-listen serves (the one `strata produce`
    /// and `strata consume` use).
    #[arg(
        long,
        env = "STRATA_LOG_DIR",
        value_name = "DIR",
        default_value = "./strata-data/log"
    )]
    log_dir: PathBuf,
    /// Require credentials: a users file in Karapace's registry_authfile format (users and
    /// permissions; entries from `strata auth mkpasswd`). Re-read on SIGHUP and when it
    /// changes.
    #[arg(long, env = "STRATA_AUTH_FILE", value_name = "PATH")]
    auth_file: Option<std::path::PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key. Re-read on SIGHUP.
    #[arg(
        long,
        env = "STRATA_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(
        long,
        env = "STRATA_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    tls_key: Option<std::path::PathBuf>,
    /// Require client certificates issued by this CA (PEM): mTLS. With --auth-file, a
    /// certificate's subject CN names the user when a request carries no credentials.
    #[arg(
        long,
        env = "STRATA_TLS_CLIENT_CA",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    tls_client_ca: Option<std::path::PathBuf>,
    /// Also accept bearer tokens (OIDC) signed by a key of this JWKS file; the token's user
    /// gets its permissions from --auth-file. Needs --oidc-issuer and --oidc-audience.
    #[arg(long, env = "STRATA_OIDC_JWKS", value_name = "PATH", group = "jwks", requires_all = ["oidc_issuer", "oidc_audience", "auth_file"])]
    oidc_jwks: Option<std::path::PathBuf>,
    /// Like --oidc-jwks, with the keys fetched from the provider's jwks_uri: at start, every
    /// --oidc-jwks-refresh, and when a token names an unknown kid (at most every 10 s).
    #[arg(long, env = "STRATA_OIDC_JWKS_URL", value_name = "URL", group = "jwks", requires_all = ["oidc_issuer", "oidc_audience", "auth_file"])]
    oidc_jwks_url: Option<String>,
    /// How often --oidc-jwks-url is fetched again.
    #[arg(
        long,
        env = "STRATA_OIDC_JWKS_REFRESH",
        value_name = "DURATION",
        default_value = "5m",
        value_parser = parse_duration
    )]
    oidc_jwks_refresh: Duration,
    /// The `iss` bearer tokens must carry.
    #[arg(
        long,
        env = "STRATA_OIDC_ISSUER",
        value_name = "URL",
        requires = "jwks"
    )]
    oidc_issuer: Option<String>,
    /// The `aud` bearer tokens must carry.
    #[arg(
        long,
        env = "STRATA_OIDC_AUDIENCE",
        value_name = "AUDIENCE",
        requires = "jwks"
    )]
    oidc_audience: Option<String>,
    /// The claim naming the user.
    #[arg(
        long,
        env = "STRATA_OIDC_USER_CLAIM",
        value_name = "CLAIM",
        default_value = "sub"
    )]
    oidc_user_claim: String,
    /// Serve `GET /metrics` (Prometheus) on this address instead of on --listen, e.g.
    /// 127.0.0.1:9464. It answers without credentials either way.
    #[arg(long, env = "STRATA_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e}: write e.g. 30s, 500ms or 2m"))
}

fn parse_level(s: &str) -> Result<CompatibilityLevel, String> {
    s.parse()
        .map_err(|e: strata_schema::InvalidCompatibilityLevel| e.to_string())
}

/// Run the server; the exit code says how it ended.
pub fn run(args: ServeArgs) -> ExitCode {
    logging::init(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let config = ServerConfig {
        listen: args.listen.clone(),
        database_url: args.database_url.clone(),
        settings: Settings {
            incompatible_code_40901: args.incompatible_error_code == "40901",
            default_compatibility: args.default_compatibility,
            max_schema_bytes: args.max_schema_bytes,
            mode_mutability: !args.mode_immutable,
            limits: Limits {
                max_nesting_depth: args.max_nesting_depth,
                max_schema_nodes: args.max_schema_nodes,
                pool: PoolSize {
                    threads: args
                        .schema_work_threads
                        .unwrap_or(PoolSize::default().threads),
                    max_pending: args.max_pending_schema_work,
                },
                header_read_timeout: args.header_read_timeout,
                idle_timeout: args.idle_timeout,
                body_read_timeout: args.body_read_timeout,
                request_timeout: args.request_timeout,
                max_concurrent_requests: args.max_concurrent_requests,
                max_reference_depth: args.max_reference_depth,
                max_references: args.max_references,
                max_compared_pairs: args.max_compared_pairs,
                cache_max_bytes: args.cache_max_bytes,
            },
        },
    };
    let kafka = args.kafka_listen.map(|listen| {
        (
            args.log_dir,
            strata_kafka::KafkaConfig {
                listen,
                advertised_address: args.kafka_advertised_address,
                ..strata_kafka::KafkaConfig::default()
            },
        )
    });
    runtime.block_on(async move {
        // One signal stops both listeners.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut built = Application::build(config.clone()).await;
        if let Some(path) = &args.auth_file {
            built = built.and_then(|app| app.with_auth_file(path));
        }
        use strata_registry::auth::bearer::JwksSource;
        let jwks = match (&args.oidc_jwks, &args.oidc_jwks_url) {
            (Some(path), _) => Some(JwksSource::File(path.clone())),
            (None, Some(url)) => Some(JwksSource::Url {
                url: url.clone(),
                refresh: args.oidc_jwks_refresh,
            }),
            (None, None) => None,
        };
        if let (Some(jwks), Some(issuer), Some(audience)) =
            (jwks, &args.oidc_issuer, &args.oidc_audience)
        {
            let oidc = strata_registry::auth::bearer::OidcConfig {
                jwks,
                issuer: issuer.clone(),
                audience: audience.clone(),
                user_claim: args.oidc_user_claim.clone(),
            };
            built = match built {
                Ok(app) => app.with_oidc(oidc).await,
                Err(e) => Err(e),
            };
        }
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            let client_ca = args.tls_client_ca.as_deref();
            built = built.and_then(|app| app.with_tls(cert, key, client_ca));
        }
        if let Some(addr) = &args.metrics_listen {
            built = match built {
                Ok(app) => app.with_metrics_listen(addr).await,
                Err(e) => Err(e),
            };
        }
        let app = match built {
            Ok(app) => app,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        // Before either listener serves (Ctrl-C while the app is built still stops at once).
        let shutdown = shutdown_signal();
        let kafka_task = match kafka {
            Some((log_dir, kafka_config)) => {
                match start_kafka(&log_dir, kafka_config, app.registry()).await {
                    Ok(server) => {
                        let mut stop = stop_rx.clone();
                        Some(tokio::spawn(server.run_until(async move {
                            let _ = stop.changed().await;
                        })))
                    }
                    Err(e) => {
                        tracing::error!("{e}");
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                }
            }
            None => None,
        };
        if let Some(path) = &args.auth_file {
            tracing::info!(users_file = %path.display(), "credentials required");
        }
        tracing::info!(
            address = %app.local_addr(),
            tls = args.tls_cert.is_some(),
            metrics = %app
                .metrics_addr()
                .map_or_else(|| "on the API address".to_string(), |a| a.to_string()),
            storage = %strata_registry::storage::redact(&config.database_url),
            "strata registry listening"
        );
        let result = app
            .run_until(async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            })
            .await;
        if let Some(task) = kafka_task {
            let _ = task.await;
        }
        match result {
            Ok(()) => {
                tracing::info!("shut down cleanly");
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::from(1)
            }
        }
    })
}

/// Opens (or creates) the log directory and binds the Kafka listener.
/// Produced records are checked by the registry of this process, as each topic's schema
/// validation settings ask.
async fn start_kafka(
    log_dir: &std::path::Path,
    config: strata_kafka::KafkaConfig,
    registry: std::sync::Arc<strata_registry::Registry>,
) -> Result<strata_kafka::KafkaServer, strata_kafka::Error> {
    let broker = strata_broker::Broker::open_or_create(log_dir)?;
    let validator = strata_cli::schema_validation::SchemaValidator::new(
        registry,
        tokio::runtime::Handle::current(),
    );
    let server = strata_kafka::KafkaServer::build(broker, config)
        .await?
        .with_validator(std::sync::Arc::new(validator));
    tracing::info!(
        address = %server.local_addr(),
        advertised = %server.advertised_address(),
        log_dir = %log_dir.display(),
        "strata Kafka listener (preview) listening"
    );
    Ok(server)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed by the call, before
/// the listeners serve: installed on the future's first poll, they could come after the
/// first answers on a loaded machine, and a SIGTERM sent then killed the process uncleanly.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (mut int, mut term) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        let ctrl_c = signal_or_never(int.as_mut());
        #[cfg(not(unix))]
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = signal_or_never(term.as_mut());
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
            _ = term => tracing::info!("SIGTERM received, shutting down"),
        }
    }
}

/// The next delivery of `signal`; never, when its handler could not be installed.
#[cfg(unix)]
async fn signal_or_never(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
