//! The schema-registry client: HTTP (reqwest + rustls) against any Confluent-compatible
//! registry, with failover over several URLs, basic or bearer auth, custom headers, extra TLS
//! roots and timeouts; and the caches the serializers rely on.
//!
//! Caches: id → parsed schema and GUID → parsed schema (parsed once, shared as `Arc`), subject
//! → latest version (with a time to live), (subject, schema) → registered id for register
//! and lookup, and (subject, version) → schema for the references of fetched schemas (a
//! version never changes its schema, so these never expire). Concurrent misses of one key share one request; errors are never cached.
//! This module knows HTTP and JSON; it asks strata-schema to parse.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use strata_schema::{Dependency, ParseOptions, ParsedSchema, SchemaReference, SchemaType};
use uuid::Uuid;

use crate::cache::OnceMap;
use crate::{Error, Result};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// How the client authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP basic auth (`basic.auth.user.info`).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A bearer token (`bearer.auth.token`).
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    // Never print secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// Registry client settings (`schema.registry.url` and friends).
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// One or more base URLs; a request that cannot reach one (or gets a 5xx) tries the next.
    pub urls: Vec<String>,
    /// Authentication, if any.
    pub auth: Option<Auth>,
    /// Extra headers sent with every request (`request.header.*`).
    pub headers: Vec<(String, String)>,
    /// Extra trusted root certificates, PEM encoded.
    pub root_certificates_pem: Vec<Vec<u8>>,
    /// A client certificate and its key, for registries that require mutual TLS.
    pub client_identity: Option<ClientIdentity>,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Timeout of connecting.
    pub connect_timeout: Duration,
    /// How long a subject's latest version is cached (`latest.cache.ttl.sec`).
    pub latest_ttl: Duration,
}

impl RegistryConfig {
    /// Settings for one registry URL, with default timeouts (30 s request, 10 s connect) and a
    /// 60 s latest-version cache.
    pub fn new(url: impl Into<String>) -> Self {
        RegistryConfig {
            urls: vec![url.into()],
            auth: None,
            headers: Vec::new(),
            root_certificates_pem: Vec::new(),
            client_identity: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            latest_ttl: Duration::from_secs(60),
        }
    }

    /// Settings for several URLs tried in order.
    pub fn with_urls(urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut config = RegistryConfig::new("");
        config.urls = urls.into_iter().map(Into::into).collect();
        config
    }
}

/// A client certificate (with its chain) and its private key, PEM encoded: what the client
/// presents to a registry that requires mutual TLS (`--tls-client-ca` on `strata serve`).
#[derive(Clone)]
pub struct ClientIdentity {
    /// The certificate, then any intermediate certificates.
    pub cert_pem: Vec<u8>,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentity {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// The identity as reqwest takes it, after checking that each part holds what it should.
    fn to_reqwest(&self) -> Result<reqwest::Identity> {
        let has = |pem: &[u8], label: &str| {
            String::from_utf8_lossy(pem)
                .lines()
                .any(|l| l.starts_with("-----BEGIN ") && l.contains(label))
        };
        if !has(&self.cert_pem, "CERTIFICATE") {
            return Err(Error::Config(
                "the client certificate holds no PEM certificate".into(),
            ));
        }
        if !has(&self.key_pem, "PRIVATE KEY") {
            return Err(Error::Config(
                "the client key holds no PEM private key (give the key that goes with the \
                 client certificate)"
                    .into(),
            ));
        }
        let mut pem = self.cert_pem.clone();
        pem.push(b'\n');
        pem.extend_from_slice(&self.key_pem);
        reqwest::Identity::from_pem(&pem).map_err(|e| {
            Error::Config(format!(
                "the client certificate or key is not valid PEM: {}",
                error_chain(&e)
            ))
        })
    }
}

/// A schema as sent to and returned by the registry (Confluent's `RegisterSchemaRequest` and
/// `SchemaString`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDef {
    /// The schema text.
    #[serde(default)]
    pub schema: String,
    /// `AVRO`, `PROTOBUF` or `JSON`; absent means Avro.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    /// References to schemas under other subjects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
}

impl SchemaDef {
    /// A schema of `schema_type` without references.
    pub fn new(schema_type: SchemaType, schema: impl Into<String>) -> Self {
        SchemaDef {
            schema: schema.into(),
            schema_type: (schema_type != SchemaType::Avro).then(|| schema_type.as_str().into()),
            references: Vec::new(),
        }
    }

    /// The format (Avro when absent, as Confluent before 8.0 omitted it).
    pub fn schema_type(&self) -> Result<SchemaType> {
        match &self.schema_type {
            None => Ok(SchemaType::Avro),
            Some(t) => Ok(t.parse()?),
        }
    }
}

/// A subject version as the registry returns it from register, lookup and version reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredSchema {
    /// The schema id.
    pub id: i32,
    /// The GUID (Confluent 8.0+ registries).
    #[serde(default)]
    pub guid: Option<Uuid>,
    /// The subject (absent from pre-7.5 register responses).
    #[serde(default)]
    pub subject: Option<String>,
    /// The version (absent from pre-7.5 register responses).
    #[serde(default)]
    pub version: Option<i32>,
    /// The schema (empty in pre-7.5 register responses, which carry only the id).
    #[serde(flatten)]
    pub def: SchemaDef,
}

/// A schema fetched by id or GUID, parsed once and shared.
#[derive(Debug)]
pub struct FetchedSchema {
    /// The id it was fetched by, if by id.
    pub id: Option<i32>,
    /// Its GUID, when the registry says.
    pub guid: Option<Uuid>,
    /// The text, type and references.
    pub def: SchemaDef,
    /// The parsed schema with its references resolved.
    pub parsed: ParsedSchema,
}

/// The answer of a compatibility check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CompatibilityCheck {
    /// Whether the schema is compatible.
    pub is_compatible: bool,
    /// Why not (with `verbose=true`).
    #[serde(default)]
    pub messages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RegisterKey {
    subject: String,
    def: SchemaDef,
    normalize: bool,
    lookup: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: i32,
    message: String,
}

#[derive(Deserialize)]
struct SchemaStringBody {
    #[serde(flatten)]
    def: SchemaDef,
    #[serde(default)]
    guid: Option<Uuid>,
}

struct Inner {
    http: reqwest::Client,
    urls: Vec<String>,
    auth: Option<Auth>,
    /// The URL that answered last: requests start there.
    current: AtomicUsize,
    by_id: OnceMap<i32, Arc<FetchedSchema>>,
    by_guid: OnceMap<Uuid, Arc<FetchedSchema>>,
    latest: OnceMap<String, Arc<RegisteredSchema>>,
    latest_with_metadata: OnceMap<(String, BTreeMap<String, String>), Arc<RegisteredSchema>>,
    latest_ttl: Duration,
    registered: OnceMap<RegisterKey, Arc<RegisteredSchema>>,
    /// Referenced versions, fetched once however many schemas reference them (as
    /// confluent-kafka caches `get_version` by subject and version).
    referenced: OnceMap<(String, i32), Arc<SchemaDef>>,
}

/// A Confluent-compatible schema-registry client. Cheap to clone; clones share caches.
///
/// ```no_run
/// # async fn run() -> strata_serde::Result<()> {
/// use strata_serde::{RegistryClient, RegistryConfig, SchemaDef};
/// use strata_schema::SchemaType;
///
/// let client = RegistryClient::new(RegistryConfig::new("http://localhost:8081"))?;
/// let def = SchemaDef::new(SchemaType::Avro, r#""string""#);
/// let registered = client.register("greetings-value", &def, false).await?;
/// let fetched = client.schema_by_id(registered.id).await?;
/// assert_eq!(fetched.parsed.canonical(), r#""string""#);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("urls", &self.inner.urls)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client for `config`. Fails on an empty URL list, a bad header or certificate.
    pub fn new(config: RegistryConfig) -> Result<Self> {
        let urls: Vec<String> = config
            .urls
            .iter()
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return Err(Error::Config(
                "no schema registry URL given (schema.registry.url)".into(),
            ));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &config.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| Error::Config(format!("header name '{k}' is invalid: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| Error::Config(format!("header '{k}' has an invalid value: {e}")))?;
            headers.append(name, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout);
        for pem in &config.root_certificates_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::Config(format!("a root certificate is not valid PEM: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        if let Some(identity) = &config.client_identity {
            builder = builder.identity(identity.to_reqwest()?);
        }
        let http = builder.build().map_err(|e| {
            let reason = error_chain(&e);
            if config.client_identity.is_some() {
                // rustls checks here that the key belongs to the certificate.
                Error::Config(format!(
                    "the HTTP client cannot be built with the client certificate (does the key \
                     belong to the certificate?): {reason}"
                ))
            } else {
                Error::Config(format!("the HTTP client cannot be built: {reason}"))
            }
        })?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                http,
                urls,
                auth: config.auth,
                current: AtomicUsize::new(0),
                by_id: OnceMap::new(),
                by_guid: OnceMap::new(),
                latest: OnceMap::with_ttl(config.latest_ttl),
                latest_with_metadata: OnceMap::with_ttl(config.latest_ttl),
                latest_ttl: config.latest_ttl,
                registered: OnceMap::new(),
                referenced: OnceMap::new(),
            }),
        })
    }

    /// Register `def` under `subject` (`POST /subjects/{s}/versions`); cached per schema.
    /// An incompatible schema fails with the registry's 409 and its messages.
    pub async fn register(
        &self,
        subject: &str,
        def: &SchemaDef,
        normalize: bool,
    ) -> Result<Arc<RegisteredSchema>> {
        self.register_or_lookup(subject, def, normalize, false)
            .await
    }

    /// Find `def` among `subject`'s versions (`POST /subjects/{s}`); cached per schema.
    pub async fn lookup(
        &self,
        subject: &str,
        def: &SchemaDef,
        normalize: bool,
    ) -> Result<Arc<RegisteredSchema>> {
        self.register_or_lookup(subject, def, normalize, true).await
    }

    async fn register_or_lookup(
        &self,
        subject: &str,
        def: &SchemaDef,
        normalize: bool,
        lookup: bool,
    ) -> Result<Arc<RegisteredSchema>> {
        let key = RegisterKey {
            subject: subject.to_string(),
            def: def.clone(),
            normalize,
            lookup,
        };
        self.inner
            .registered
            .get_or_try_init(key, || async {
                let path = if lookup {
                    format!("/subjects/{}?normalize={normalize}", encode(subject))
                } else {
                    format!(
                        "/subjects/{}/versions?normalize={normalize}",
                        encode(subject)
                    )
                };
                let mut r: RegisteredSchema = self.request(Method::POST, &path, Some(def)).await?;
                if r.subject.is_none() {
                    r.subject = Some(subject.to_string());
                }
                Ok(Arc::new(r))
            })
            .await
    }

    /// The schema with `id` (`GET /schemas/ids/{id}`), parsed once with its references.
    pub async fn schema_by_id(&self, id: i32) -> Result<Arc<FetchedSchema>> {
        self.inner
            .by_id
            .get_or_try_init(id, || async {
                let body: SchemaStringBody = self
                    .request(Method::GET, &format!("/schemas/ids/{id}"), None::<&()>)
                    .await?;
                let parsed = self.parse(&body.def).await?;
                Ok(Arc::new(FetchedSchema {
                    id: Some(id),
                    guid: body.guid,
                    def: body.def,
                    parsed,
                }))
            })
            .await
    }

    /// The schema with `guid` (`GET /schemas/guids/{guid}`, Confluent 8.0+), parsed once.
    pub async fn schema_by_guid(&self, guid: Uuid) -> Result<Arc<FetchedSchema>> {
        self.inner
            .by_guid
            .get_or_try_init(guid, || async {
                let body: SchemaStringBody = self
                    .request(Method::GET, &format!("/schemas/guids/{guid}"), None::<&()>)
                    .await?;
                let parsed = self.parse(&body.def).await?;
                Ok(Arc::new(FetchedSchema {
                    id: None,
                    guid: Some(guid),
                    def: body.def,
                    parsed,
                }))
            })
            .await
    }

    /// The schema a wire [`SchemaId`](crate::wire::SchemaId) names.
    pub async fn schema(&self, id: crate::wire::SchemaId) -> Result<Arc<FetchedSchema>> {
        match id {
            crate::wire::SchemaId::Id(id) => self.schema_by_id(id).await,
            crate::wire::SchemaId::Guid(guid) => self.schema_by_guid(guid).await,
        }
    }

    /// The latest version of `subject`, cached for the configured time to live.
    pub async fn latest_version(&self, subject: &str) -> Result<Arc<RegisteredSchema>> {
        if let Some(hit) = self.inner.latest.get(subject) {
            return Ok(hit);
        }
        self.inner
            .latest
            .get_or_try_init(subject.to_string(), || async {
                self.version(subject, None).await.map(Arc::new)
            })
            .await
    }

    /// The latest version of `subject` whose metadata properties hold every pair of
    /// `metadata` (`GET /subjects/{s}/metadata`, Confluent's `use.latest.with.metadata`),
    /// cached for the configured time to live.
    pub async fn latest_with_metadata(
        &self,
        subject: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Arc<RegisteredSchema>> {
        let key = (subject.to_string(), metadata.clone());
        if let Some(hit) = self.inner.latest_with_metadata.get(&key) {
            return Ok(hit);
        }
        self.inner
            .latest_with_metadata
            .get_or_try_init(key, || async {
                let query: String = metadata
                    .iter()
                    .map(|(k, v)| format!("key={}&value={}", encode(k), encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                let mut r: RegisteredSchema = self
                    .request(
                        Method::GET,
                        &format!("/subjects/{}/metadata?{query}", encode(subject)),
                        None::<&()>,
                    )
                    .await?;
                if r.subject.is_none() {
                    r.subject = Some(subject.to_string());
                }
                Ok(Arc::new(r))
            })
            .await
    }

    /// How long latest versions are cached.
    pub fn latest_ttl(&self) -> Duration {
        self.inner.latest_ttl
    }

    /// Forget the cached latest version of `subject`.
    pub fn invalidate_latest(&self, subject: &str) {
        self.inner.latest.remove(subject);
    }

    /// A version of `subject` (`None` = latest), not cached.
    pub async fn version(&self, subject: &str, version: Option<i32>) -> Result<RegisteredSchema> {
        let v = version.map_or_else(|| "latest".to_string(), |v| v.to_string());
        let mut r: RegisteredSchema = self
            .request(
                Method::GET,
                &format!("/subjects/{}/versions/{v}", encode(subject)),
                None::<&()>,
            )
            .await?;
        if r.subject.is_none() {
            r.subject = Some(subject.to_string());
        }
        Ok(r)
    }

    /// The versions of `subject`.
    pub async fn versions(&self, subject: &str) -> Result<Vec<i32>> {
        self.request(
            Method::GET,
            &format!("/subjects/{}/versions", encode(subject)),
            None::<&()>,
        )
        .await
    }

    /// Whether `def` is compatible with `version` of `subject` (`None` = every version the
    /// subject's level compares against), with the registry's verbose messages.
    pub async fn test_compatibility(
        &self,
        subject: &str,
        def: &SchemaDef,
        version: Option<i32>,
    ) -> Result<CompatibilityCheck> {
        let path = match version {
            Some(v) => format!(
                "/compatibility/subjects/{}/versions/{v}?verbose=true",
                encode(subject)
            ),
            None => format!(
                "/compatibility/subjects/{}/versions?verbose=true",
                encode(subject)
            ),
        };
        self.request(Method::POST, &path, Some(def)).await
    }

    /// Parse `def`, fetching its references (recursively) first.
    pub async fn parse(&self, def: &SchemaDef) -> Result<ParsedSchema> {
        // Confluent's deserializers skip Protobuf references to the files every client has
        // built in (confluent-kafka's `_resolve_named_schema`); so do we, and parse with ours.
        let skip_built_ins = def.schema_type()? == SchemaType::Protobuf;
        let dependencies = self
            .dependencies(&def.references, skip_built_ins, Vec::new())
            .await?;
        // Schemas from the registry were validated when registered: parse leniently.
        Ok(ParsedSchema::parse(
            def.schema_type()?,
            &def.schema,
            &dependencies,
            ParseOptions {
                validate_as_new: false,
            },
        )?)
    }

    /// The schema of `version` of `subject`, named by a reference; cached.
    async fn referenced_version(&self, subject: &str, version: i32) -> Result<Arc<SchemaDef>> {
        let key = (subject.to_string(), version);
        if let Some(hit) = self.inner.referenced.get(&key) {
            return Ok(hit);
        }
        self.inner
            .referenced
            .get_or_try_init(key, || async {
                Ok(Arc::new(self.version(subject, Some(version)).await?.def))
            })
            .await
    }

    /// The references resolved, recursively (Protobuf's built-in files left out with
    /// `skip_built_ins`); `above` is the chain of referenced versions that
    /// led here. A registry keeps references acyclic (a version can only reference versions
    /// that existed before it), but a misbehaving one could answer with a cycle: that is an
    /// error, not an endless walk.
    fn dependencies<'a>(
        &'a self,
        references: &'a [SchemaReference],
        skip_built_ins: bool,
        above: Vec<(String, i32)>,
    ) -> BoxFuture<'a, Result<Vec<Dependency>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(references.len());
            for r in references {
                if skip_built_ins && crate::protobuf::is_built_in(&r.name) {
                    continue;
                }
                let here = (r.subject.clone(), r.version);
                if above.contains(&here) {
                    // A registry fault, whichever side (serializer or deserializer) met it.
                    return Err(Error::ReferenceCycle {
                        chain: above
                            .iter()
                            .chain(std::iter::once(&here))
                            .map(|(s, v)| format!("{s} v{v}"))
                            .collect(),
                    });
                }
                let def = self.referenced_version(&r.subject, r.version).await?;
                let mut chain = above.clone();
                chain.push(here);
                let dependencies = self
                    .dependencies(&def.references, skip_built_ins, chain)
                    .await?;
                out.push(Dependency {
                    name: r.name.clone(),
                    subject: r.subject.clone(),
                    version: r.version,
                    schema_type: def.schema_type()?,
                    schema: def.schema.clone(),
                    dependencies,
                });
            }
            Ok(out)
        })
    }

    /// The subjects (`GET /subjects`), soft-deleted ones too with `deleted`.
    pub async fn subjects(&self, deleted: bool) -> Result<Vec<String>> {
        let path = if deleted {
            "/subjects?deleted=true"
        } else {
            "/subjects"
        };
        self.request(Method::GET, path, None::<&()>).await
    }

    /// The compatibility level of `subject`, or the global one with `None`
    /// (`GET /config[/{subject}]`). A subject without a level of its own fails with
    /// [`SUBJECT_COMPATIBILITY_NOT_CONFIGURED`](crate::error_code::SUBJECT_COMPATIBILITY_NOT_CONFIGURED)
    /// unless `default_to_global`.
    pub async fn compatibility(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Level {
            compatibility_level: Option<String>,
            compatibility: Option<String>,
        }
        let mut path = scoped("/config", subject);
        if default_to_global && subject.is_some() {
            path.push_str("?defaultToGlobal=true");
        }
        let level: Level = self.request(Method::GET, &path, None::<&()>).await?;
        level
            .compatibility_level
            .or(level.compatibility)
            .ok_or_else(|| {
                Error::Config(format!("the registry's answer to GET {path} has no level"))
            })
    }

    /// Set the compatibility level of `subject`, or the global one with `None`
    /// (`PUT /config[/{subject}]`); returns the level set.
    pub async fn set_compatibility(&self, subject: Option<&str>, level: &str) -> Result<String> {
        #[derive(Deserialize)]
        struct Set {
            compatibility: String,
        }
        let set: Set = self
            .request(
                Method::PUT,
                &scoped("/config", subject),
                Some(&serde_json::json!({ "compatibility": level })),
            )
            .await?;
        Ok(set.compatibility)
    }

    /// Remove the level of `subject`, or reset the global one with `None`
    /// (`DELETE /config[/{subject}]`); returns the level removed.
    pub async fn delete_compatibility(&self, subject: Option<&str>) -> Result<String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Deleted {
            compatibility_level: Option<String>,
            compatibility: Option<String>,
        }
        let d: Deleted = self
            .request(Method::DELETE, &scoped("/config", subject), None::<&()>)
            .await?;
        Ok(d.compatibility_level
            .or(d.compatibility)
            .unwrap_or_default())
    }

    /// The mode of `subject`, or the global one with `None` (`GET /mode[/{subject}]`).
    pub async fn mode(&self, subject: Option<&str>, default_to_global: bool) -> Result<String> {
        let mut path = scoped("/mode", subject);
        if default_to_global && subject.is_some() {
            path.push_str("?defaultToGlobal=true");
        }
        let mode: ModeBody = self.request(Method::GET, &path, None::<&()>).await?;
        Ok(mode.mode)
    }

    /// Set the mode of `subject`, or the global one with `None` (`PUT /mode[/{subject}]`,
    /// `force` to enter IMPORT with schemas present); returns the mode set.
    pub async fn set_mode(&self, subject: Option<&str>, mode: &str, force: bool) -> Result<String> {
        let mut path = scoped("/mode", subject);
        if force {
            path.push_str("?force=true");
        }
        let set: ModeBody = self
            .request(
                Method::PUT,
                &path,
                Some(&serde_json::json!({ "mode": mode })),
            )
            .await?;
        Ok(set.mode)
    }

    /// Remove the mode of `subject` (`DELETE /mode/{subject}`); returns the mode removed.
    pub async fn delete_mode(&self, subject: &str) -> Result<String> {
        let d: ModeBody = self
            .request(Method::DELETE, &scoped("/mode", Some(subject)), None::<&()>)
            .await?;
        Ok(d.mode)
    }

    /// Delete `subject` (`DELETE /subjects/{subject}`): soft, or for good with `permanent`
    /// (after a soft delete); returns the versions deleted.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let mut path = format!("/subjects/{}", encode(subject));
        if permanent {
            path.push_str("?permanent=true");
        }
        self.request(Method::DELETE, &path, None::<&()>).await
    }

    /// Delete one version of `subject` (`DELETE /subjects/{subject}/versions/{version}`,
    /// `None` for latest); returns the version deleted.
    pub async fn delete_version(
        &self,
        subject: &str,
        version: Option<i32>,
        permanent: bool,
    ) -> Result<i32> {
        let version = version.map_or_else(|| "latest".to_string(), |v| v.to_string());
        let mut path = format!("/subjects/{}/versions/{version}", encode(subject));
        if permanent {
            path.push_str("?permanent=true");
        }
        self.request(Method::DELETE, &path, None::<&()>).await
    }

    /// Any registry request, for tools (the `strata` CLI's registry commands) that need more
    /// than the serializers do: `method` and `path` (with query, already percent-encoded) as in
    /// Confluent's REST API, an optional JSON body, the JSON answer. Failover, auth, headers
    /// and TLS as for every other call; nothing is cached.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value> {
        self.request(method, path, body).await
    }

    /// One request, tried on each URL from the last one that answered. Connection failures
    /// and 5xx answers move on to the next URL; other answers are final.
    async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let inner = &self.inner;
        let n = inner.urls.len();
        let start = inner.current.load(Ordering::Relaxed) % n;
        let mut last = None;
        for attempt in 0..n {
            let i = (start + attempt) % n;
            let url = format!("{}{}", inner.urls[i], path);
            let mut req = inner
                .http
                .request(method.clone(), &url)
                .header(reqwest::header::ACCEPT, CONTENT_TYPE);
            if let Some(body) = body {
                let bytes = serde_json::to_vec(body)
                    .map_err(|e| Error::Serialize(format!("request body: {e}")))?;
                req = req
                    .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                    .body(bytes);
            }
            req = match &inner.auth {
                Some(Auth::Basic { username, password }) => {
                    req.basic_auth(username, Some(password))
                }
                Some(Auth::Bearer(token)) => req.bearer_auth(token),
                None => req,
            };
            let response = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(%url, error = %e, "schema registry unreachable, trying the next URL");
                    last = Some(Error::Unreachable {
                        url,
                        reason: error_chain(&e),
                    });
                    continue;
                }
            };
            let status = response.status();
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    last = Some(Error::Unreachable {
                        url,
                        reason: error_chain(&e),
                    });
                    continue;
                }
            };
            if status.is_success() {
                inner.current.store(i, Ordering::Relaxed);
                return serde_json::from_slice(&bytes).map_err(|e| {
                    Error::Deserialize(format!(
                        "the registry's answer to {method} {path} is not the expected JSON: {e}"
                    ))
                });
            }
            let error = registry_error(status, &bytes);
            if status.is_server_error() {
                last = Some(error);
                continue;
            }
            inner.current.store(i, Ordering::Relaxed);
            return Err(error);
        }
        Err(last.unwrap_or_else(|| Error::Config("no schema registry URL given".into())))
    }
}

fn registry_error(status: StatusCode, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => Error::Registry {
            status: status.as_u16(),
            error_code: e.error_code,
            message: e.message,
        },
        Err(_) => Error::Registry {
            status: status.as_u16(),
            error_code: i32::from(status.as_u16()),
            message: String::from_utf8_lossy(body).into_owned(),
        },
    }
}

/// `base` for the global resource, `base/{subject}` for a subject's.
fn scoped(base: &str, subject: Option<&str>) -> String {
    match subject {
        Some(s) => format!("{base}/{}", encode(s)),
        None => base.to_string(),
    }
}

/// A mode as the registry sends it.
#[derive(Deserialize)]
struct ModeBody {
    mode: String,
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Percent-encode a path segment (subjects may hold `/`, `:` and spaces).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A registry that answers every `GET /subjects/{a,b}/versions/1` with a schema
    /// referencing the other: a cycle no real registry stores, so it takes a stand-in. Any
    /// other request (a latest version, a schema by id) is answered as `b`.
    pub(crate) async fn cyclic_registry() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                        let (me, other) = if request.starts_with("GET /subjects/a/") {
                            ("a", "b")
                        } else {
                            ("b", "a")
                        };
                        let body = serde_json::json!({
                            "subject": me, "version": 1, "id": 1, "schemaType": "PROTOBUF",
                            "schema": "syntax = \"proto3\";",
                            "references": [{"name": other, "subject": other, "version": 1}],
                        })
                        .to_string();
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn cyclic_references_from_a_registry_are_an_error_naming_the_cycle() {
        let client = RegistryClient::new(RegistryConfig::new(&cyclic_registry().await)).unwrap();
        let mut def = SchemaDef::new(SchemaType::Protobuf, "syntax = \"proto3\";");
        def.references = vec![SchemaReference {
            name: "a".into(),
            subject: "a".into(),
            version: 1,
        }];
        assert_is_the_a_b_cycle(&client.parse(&def).await.unwrap_err());
    }

    /// Assert that `err` is the reference cycle [`cyclic_registry`] answers with, named in
    /// its message.
    #[track_caller]
    pub(crate) fn assert_is_the_a_b_cycle(err: &Error) {
        assert!(
            matches!(err, Error::ReferenceCycle { chain } if chain == &["a v1", "b v1", "a v1"]),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("cycle: a v1 -> b v1 -> a v1"),
            "{err}"
        );
    }

    #[test]
    fn subjects_are_percent_encoded_in_paths() {
        assert_eq!(encode("a b/c:d-e.f"), "a%20b%2Fc%3Ad-e.f");
    }

    #[test]
    fn an_empty_url_list_is_a_configuration_error() {
        let err = RegistryClient::new(RegistryConfig::with_urls(Vec::<String>::new())).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }

    #[test]
    fn registry_error_bodies_keep_code_and_message() {
        let e = registry_error(
            StatusCode::NOT_FOUND,
            br#"{"error_code":40403,"message":"Schema 9 not found"}"#,
        );
        assert_eq!(e.error_code(), Some(40403));
        assert!(e.to_string().contains("Schema 9 not found"));
        assert!(!e.is_transient());
        let e = registry_error(StatusCode::BAD_GATEWAY, b"upstream down");
        assert_eq!(e.error_code(), Some(502));
        assert!(e.is_transient());
    }

    #[test]
    fn auth_debug_hides_secrets() {
        let a = Auth::Basic {
            username: "u".into(),
            password: "secret".into(),
        };
        assert!(!format!("{a:?}").contains("secret"));
        assert!(!format!("{:?}", Auth::Bearer("tok".into())).contains("tok"));
    }

    #[test]
    fn register_responses_of_old_and_new_registries_deserialize() {
        let old: RegisteredSchema = serde_json::from_str(r#"{"id":3}"#).unwrap();
        assert_eq!(old.id, 3);
        let new: RegisteredSchema = serde_json::from_str(
            r#"{"id":3,"version":1,"subject":"s","guid":"00000000-0000-0000-0000-000000000001","schema":"\"int\""}"#,
        )
        .unwrap();
        assert_eq!(new.version, Some(1));
        assert_eq!(new.def.schema, "\"int\"");
    }
}
