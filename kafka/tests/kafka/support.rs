//! A Kafka listener over a temporary log directory, served by its own runtime.

use std::net::SocketAddr;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use strata_broker::Broker;
use strata_kafka::{KafkaConfig, KafkaServer, ProduceValidator};

pub struct TestBroker {
    pub addr: SocketAddr,
    pub broker: Broker,
    _dir: Option<tempfile::TempDir>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestBroker {
    pub fn start() -> TestBroker {
        TestBroker::start_with(KafkaConfig::default())
    }

    pub fn start_with(config: KafkaConfig) -> TestBroker {
        TestBroker::start_full(config, None)
    }

    pub fn start_full(
        config: KafkaConfig,
        validator: Option<std::sync::Arc<dyn ProduceValidator>>,
    ) -> TestBroker {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut tb = TestBroker::start_on(&dir.path().join("log"), config, validator);
        tb._dir = Some(dir);
        tb
    }

    /// A listener over an existing (or new) log directory that the caller owns, e.g. to serve
    /// it again after a restart.
    pub fn start_on(
        log_dir: &std::path::Path,
        config: KafkaConfig,
        validator: Option<std::sync::Arc<dyn ProduceValidator>>,
    ) -> TestBroker {
        let broker = Broker::open_or_create(log_dir).expect("a log directory");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let config = KafkaConfig {
            listen: "127.0.0.1:0".into(),
            ..config
        };
        let server = runtime
            .block_on(KafkaServer::build(broker.clone(), config))
            .expect("the listener binds");
        let server = match validator {
            Some(v) => server.with_validator(v),
            None => server,
        };
        let addr = server.local_addr();
        runtime.spawn(server.run_until(std::future::pending()));
        TestBroker {
            addr,
            broker,
            _dir: None,
            runtime: Some(runtime),
        }
    }

    /// librdkafka settings pointing at the listener.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.addr.to_string())
            .set("broker.address.family", "v4")
            .set("socket.timeout.ms", "10000")
            .set("message.timeout.ms", "10000");
        c
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
