//! The listener: accepts connections (bounded), reads frames, dispatches each request to its
//! API module and writes the response. Requests on a connection are answered in order.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{
    AlterConfigsRequest, ApiKey, ApiVersionsRequest, CreatePartitionsRequest, CreateTopicsRequest,
    DeleteGroupsRequest, DeleteRecordsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    DescribeGroupsRequest, FetchRequest, FindCoordinatorRequest, HeartbeatRequest,
    IncrementalAlterConfigsRequest, InitProducerIdRequest, JoinGroupRequest, LeaveGroupRequest,
    ListGroupsRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, ProduceRequest, RequestHeader, ResponseHeader, SyncGroupRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable};
use strata_broker::{Acks, Broker, Producer, ProducerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api_versions;
use crate::config::KafkaConfig;
use crate::coordinator::Coordinator;
use crate::error::{Closed, Error, Result};
use crate::frame::{read_frame, write_frame};
use crate::idempotence::{self, Producers};
use crate::validate::ProduceValidator;
use crate::{
    admin, alter_configs, delete_groups, fetch, group_offsets, groups, list_offsets, metadata,
    produce,
};

/// What every connection shares.
pub(crate) struct State {
    pub broker: Broker,
    pub config: KafkaConfig,
    /// The advertised host and port.
    pub host: String,
    pub port: i32,
    /// Writes with acks=0 and acks=1 (written to the operating system before the answer).
    pub producer_leader: Producer,
    /// Writes with acks=all (fsynced before the answer).
    pub producer_all: Producer,
    /// Checks produced records before they are appended, if set.
    pub validator: Option<Arc<dyn ProduceValidator>>,
    /// Group membership of Kafka clients.
    pub coordinator: Arc<Coordinator>,
    /// Idempotent producers' ids and sequences.
    pub producers: Producers,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("broker", &self.broker)
            .field("config", &self.config)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("validator", &self.validator.is_some())
            .finish_non_exhaustive()
    }
}

/// A bound Kafka listener over a broker. Build it, read [`KafkaServer::local_addr`], then
/// [`KafkaServer::run_until`].
#[derive(Debug)]
pub struct KafkaServer {
    listener: TcpListener,
    addr: SocketAddr,
    state: Arc<State>,
}

impl KafkaServer {
    /// Binds the listener. Nothing is served until [`KafkaServer::run_until`].
    pub async fn build(broker: Broker, config: KafkaConfig) -> Result<KafkaServer> {
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen.clone(),
            source,
        })?;
        let (host, port) = match &config.advertised_address {
            Some(a) => parse_host_port(a)?,
            None => {
                let ip = if addr.ip().is_unspecified() {
                    "127.0.0.1".to_owned()
                } else {
                    addr.ip().to_string()
                };
                (ip, i32::from(addr.port()))
            }
        };
        // Records arrive from the network already batched by the client, so the producers
        // here never linger; the topic's max.message.bytes is what limits a batch.
        let producer = |acks| {
            broker.producer(ProducerConfig {
                acks,
                max_message_bytes: config.max_request_bytes,
                ..ProducerConfig::default()
            })
        };
        let producers = Producers::open(broker.dir()).map_err(Error::ProducerJournal)?;
        let state = Arc::new(State {
            producer_leader: producer(Acks::Leader),
            producer_all: producer(Acks::All),
            broker,
            config,
            host,
            port,
            validator: None,
            coordinator: Arc::new(Coordinator::default()),
            producers,
        });
        Ok(KafkaServer {
            listener,
            addr,
            state,
        })
    }

    /// Checks every produced batch with `validator` before appending it (a refusal answers
    /// INVALID_RECORD and writes nothing of the batch).
    pub fn with_validator(mut self, validator: Arc<dyn ProduceValidator>) -> KafkaServer {
        if let Some(state) = Arc::get_mut(&mut self.state) {
            state.validator = Some(validator);
        }
        self
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `HOST:PORT` clients are told to connect to.
    pub fn advertised_address(&self) -> String {
        format!("{}:{}", self.state.host, self.state.port)
    }

    /// Serves until `shutdown` completes, then closes every connection.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let permits = Arc::new(Semaphore::new(self.state.config.max_connections));
        let mut connections = JoinSet::new();
        let sweeper = tokio::spawn(self.state.coordinator.clone().sweep_forever());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors and the like: wait a little, go on.
                            tracing::warn!(error = %e, "could not accept a Kafka connection");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, max = self.state.config.max_connections,
                            "closing a Kafka connection: too many connections (max_connections)");
                        continue;
                    };
                    let state = self.state.clone();
                    connections.spawn(async move {
                        serve_connection(state, stream, peer).await;
                        drop(permit);
                    });
                }
            }
        }
        sweeper.abort();
        connections.shutdown().await;
    }
}

fn parse_host_port(s: &str) -> Result<(String, i32)> {
    let bad = || Error::AdvertisedAddress(s.to_owned());
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_owned(), i32::from(port)))
}

async fn serve_connection(state: Arc<State>, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    tracing::debug!(%peer, "Kafka client connected");
    let result: Result<(), Closed> = async {
        let mut buf = BytesMut::new();
        while let Some(frame) = read_frame(
            &mut stream,
            &mut buf,
            state.config.max_request_bytes,
            state.config.idle_timeout,
        )
        .await?
        {
            if let Some(response) = handle(&state, frame).await? {
                write_frame(&mut stream, &response).await?;
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => tracing::debug!(%peer, "Kafka client disconnected"),
        Err(Closed::Io(e)) => tracing::debug!(%peer, error = %e, "Kafka connection failed"),
        Err(Closed::Idle(_)) => tracing::info!(%peer, "closing an idle Kafka connection"),
        Err(reason) => tracing::warn!(%peer, %reason, "closing Kafka connection"),
    }
}

/// Decodes a request body; a body that does not decode is a malformed frame.
fn decode<T: Decodable>(buf: &mut Bytes, api: ApiKey, version: i16) -> Result<T, Closed> {
    T::decode(buf, version)
        .map_err(|e| Closed::Malformed(format!("{api:?} v{version} does not decode: {e}")))
}

/// Encodes a response (header and body) for the request it answers.
pub(crate) fn encode_response<T: Encodable>(
    api: ApiKey,
    version: i16,
    header_version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<BytesMut, Closed> {
    let mut buf = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, header_version)
        .and_then(|()| body.encode(&mut buf, version))
        .map_err(|e| {
            Closed::Internal(format!(
                "could not encode the {api:?} v{version} response: {e}"
            ))
        })?;
    Ok(buf)
}

/// One request in, at most one response out (acks=0 produce answers nothing).
async fn handle(state: &Arc<State>, frame: Bytes) -> Result<Option<BytesMut>, Closed> {
    if frame.len() < 8 {
        return Err(Closed::Malformed(format!(
            "a request of {} bytes is too short for a request header",
            frame.len()
        )));
    }
    let mut peek = &frame[..8];
    let key = peek.get_i16();
    let version = peek.get_i16();
    let correlation_id = peek.get_i32();
    let api = ApiKey::try_from(key).map_err(|()| Closed::UnknownApi(key))?;
    let Some(&(_, min, max)) = api_versions::SUPPORTED_APIS
        .iter()
        .find(|(k, _, _)| *k == api)
    else {
        return Err(Closed::UnknownApi(key));
    };
    if version < min || version > max {
        if api == ApiKey::ApiVersions {
            // Kafka answers an ApiVersions it cannot parse with a v0 response carrying
            // UNSUPPORTED_VERSION and the supported ranges, so the client can retry lower.
            return api_versions::unsupported_version(correlation_id).map(Some);
        }
        return Err(Closed::UnsupportedVersion {
            api: api_name(api),
            version,
            min,
            max,
        });
    }
    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf, api.request_header_version(version))
        .map_err(|e| Closed::Malformed(format!("the request header does not decode: {e}")))?;
    let client = header.client_id.as_deref().unwrap_or("").to_owned();
    tracing::trace!(api = ?api, version, correlation_id, client, "Kafka request");
    let rh = api.response_header_version(version);
    let response = match api {
        ApiKey::ApiVersions => {
            let _req: ApiVersionsRequest = decode(&mut buf, api, version)?;
            encode_response(api, version, rh, correlation_id, &api_versions::response())?
        }
        ApiKey::Metadata => {
            let req: MetadataRequest = decode(&mut buf, api, version)?;
            let resp = metadata::handle(state, req, version).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::Produce => {
            let req: ProduceRequest = decode(&mut buf, api, version)?;
            let acks = req.acks;
            let resp = produce::handle(state, req).await;
            if acks == 0 {
                // acks=0: Kafka sends no response at all.
                return Ok(None);
            }
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::Fetch => {
            let req: FetchRequest = decode(&mut buf, api, version)?;
            let resp = fetch::handle(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::ListOffsets => {
            let req: ListOffsetsRequest = decode(&mut buf, api, version)?;
            let resp = list_offsets::handle(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::FindCoordinator => {
            let req: FindCoordinatorRequest = decode(&mut buf, api, version)?;
            let resp = group_offsets::find_coordinator(state, req, version);
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::OffsetCommit => {
            let req: OffsetCommitRequest = decode(&mut buf, api, version)?;
            let resp = group_offsets::offset_commit(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::OffsetFetch => {
            let req: OffsetFetchRequest = decode(&mut buf, api, version)?;
            let resp = group_offsets::offset_fetch(state, req, version).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::JoinGroup => {
            let req: JoinGroupRequest = decode(&mut buf, api, version)?;
            let resp = groups::join_group(state, req, version, &client).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::SyncGroup => {
            let req: SyncGroupRequest = decode(&mut buf, api, version)?;
            let resp = groups::sync_group(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::Heartbeat => {
            let req: HeartbeatRequest = decode(&mut buf, api, version)?;
            let resp = groups::heartbeat(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::LeaveGroup => {
            let req: LeaveGroupRequest = decode(&mut buf, api, version)?;
            let resp = groups::leave_group(state, req, version).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::InitProducerId => {
            let req: InitProducerIdRequest = decode(&mut buf, api, version)?;
            let resp = idempotence::init_producer_id(&state.producers, req);
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::CreateTopics => {
            let req: CreateTopicsRequest = decode(&mut buf, api, version)?;
            let resp = admin::create_topics(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::DeleteTopics => {
            let req: DeleteTopicsRequest = decode(&mut buf, api, version)?;
            let resp = admin::delete_topics(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::CreatePartitions => {
            let req: CreatePartitionsRequest = decode(&mut buf, api, version)?;
            let resp = admin::create_partitions(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::DescribeConfigs => {
            let req: DescribeConfigsRequest = decode(&mut buf, api, version)?;
            let resp = admin::describe_configs(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::DeleteRecords => {
            let req: DeleteRecordsRequest = decode(&mut buf, api, version)?;
            let resp = admin::delete_records(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::IncrementalAlterConfigs => {
            let req: IncrementalAlterConfigsRequest = decode(&mut buf, api, version)?;
            let resp = admin::incremental_alter_configs(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::ListGroups => {
            let _req: ListGroupsRequest = decode(&mut buf, api, version)?;
            let resp = admin::list_groups(state, version).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::DescribeGroups => {
            let req: DescribeGroupsRequest = decode(&mut buf, api, version)?;
            let resp = admin::describe_groups(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::AlterConfigs => {
            let req: AlterConfigsRequest = decode(&mut buf, api, version)?;
            let resp = alter_configs::alter_configs(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        ApiKey::DeleteGroups => {
            let req: DeleteGroupsRequest = decode(&mut buf, api, version)?;
            let resp = delete_groups::delete_groups(state, req).await;
            encode_response(api, version, rh, correlation_id, &resp)?
        }
        _ => return Err(Closed::UnknownApi(key)),
    };
    Ok(Some(response))
}

fn api_name(api: ApiKey) -> &'static str {
    match api {
        ApiKey::Produce => "Produce",
        ApiKey::Fetch => "Fetch",
        ApiKey::ListOffsets => "ListOffsets",
        ApiKey::Metadata => "Metadata",
        ApiKey::OffsetCommit => "OffsetCommit",
        ApiKey::OffsetFetch => "OffsetFetch",
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::JoinGroup => "JoinGroup",
        ApiKey::SyncGroup => "SyncGroup",
        ApiKey::Heartbeat => "Heartbeat",
        ApiKey::LeaveGroup => "LeaveGroup",
        ApiKey::InitProducerId => "InitProducerId",
        ApiKey::CreateTopics => "CreateTopics",
        ApiKey::DeleteTopics => "DeleteTopics",
        ApiKey::CreatePartitions => "CreatePartitions",
        ApiKey::DescribeConfigs => "DescribeConfigs",
        ApiKey::DeleteRecords => "DeleteRecords",
        ApiKey::IncrementalAlterConfigs => "IncrementalAlterConfigs",
        ApiKey::ListGroups => "ListGroups",
        ApiKey::DescribeGroups => "DescribeGroups",
        ApiKey::AlterConfigs => "AlterConfigs",
        ApiKey::DeleteGroups => "DeleteGroups",
        _ => "this API",
    }
}

/// Runs blocking broker work (file I/O, fsync, long polls) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("a broker task failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_addresses_need_a_host_and_a_port() {
        assert_eq!(
            parse_host_port("kafka.example.com:9092").unwrap(),
            ("kafka.example.com".into(), 9092)
        );
        assert_eq!(parse_host_port("[::1]:9092").unwrap(), ("::1".into(), 9092));
        for bad in [
            "kafka.example.com",
            ":9092",
            "host:0",
            "host:99999",
            "host:port",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
    }
}
