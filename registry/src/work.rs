//! The pool that runs CPU-heavy schema work (parsing, normalising, canonicalising, checking
//! compatibility) off the async workers.
//!
//! Why a dedicated pool rather than `tokio::task::spawn_blocking`: the stack of tokio's blocking
//! threads is set by whoever builds the runtime (the CLI, a test, an embedding application),
//! while this pool owns its threads and gives each a [`STACK_BYTES`] stack, so a deeply nested
//! schema that slips past the text pre-checks still cannot overflow it. It is also bounded on
//! its own terms: a fixed number of threads (the CPU work can never take more cores than that,
//! so `GET /` and cached reads keep a core), and a fixed number of jobs waiting; beyond that a
//! request is answered 429 at once instead of queueing without bound.
//!
//! A job that panics is caught on its thread: the request gets a 500 with Confluent's body, the
//! panic is logged, and the thread goes on with the next job.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use parking_lot::Mutex;

use crate::{Error, Result};

/// Avro schema texts up to this size (without references, nested at most [`INLINE_MAX_DEPTH`]
/// deep) are parsed on the request's own task: see [`is_tiny`].
pub const INLINE_MAX_BYTES: usize = 2048;

/// The nesting depth up to which an Avro text of at most [`INLINE_MAX_BYTES`] is parsed on the
/// request's own task.
pub const INLINE_MAX_DEPTH: usize = 16;

/// Whether parsing `text` is work too small to hand to the pool: an Avro schema of at most
/// [`INLINE_MAX_BYTES`], without references, nested at most [`INLINE_MAX_DEPTH`] deep (a
/// linear scan of at most 2 KiB finds out). Such a parse is linear in the text and takes
/// microseconds, less than the two thread wake-ups of a hop to the pool and back, and its
/// recursion stays far inside an async worker's stack. JSON Schema (whose parse compiles the
/// client's regular expressions, and validates against a meta-schema) and Protobuf (which
/// may come as a base64 descriptor, whose nesting the text does not show, and compiles
/// imports) always go to the pool, as does anything bigger or deeper.
pub fn is_tiny(schema_type: strata_schema::SchemaType, text: &str, has_references: bool) -> bool {
    schema_type == strata_schema::SchemaType::Avro
        && !has_references
        && text.len() <= INLINE_MAX_BYTES
        && strata_schema::limits::nesting_depth(schema_type, text) <= INLINE_MAX_DEPTH
}

/// The stack of every pool thread. Memory is committed only as the stack is used.
pub const STACK_BYTES: usize = 64 * 1024 * 1024;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of threads with large stacks and a bounded queue.
#[derive(Debug)]
pub struct WorkPool {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    pending: Arc<AtomicUsize>,
    max_pending: usize,
    threads: usize,
}

/// How big the pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize {
    /// Threads running schema work at once.
    pub threads: usize,
    /// Jobs accepted at once (running and waiting); more are refused with 429.
    pub max_pending: usize,
}

impl Default for PoolSize {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PoolSize {
            threads: cores.clamp(1, 16),
            max_pending: 256,
        }
    }
}

impl WorkPool {
    /// Start the threads.
    pub fn new(size: PoolSize) -> std::io::Result<Self> {
        let threads = size.threads.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("strata-schema-{n}"))
                .stack_size(STACK_BYTES)
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job.
                    let job = receiver.lock().recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => break, // the pool was dropped
                    }
                })?;
        }
        Ok(WorkPool {
            sender: Mutex::new(Some(sender)),
            pending: Arc::new(AtomicUsize::new(0)),
            max_pending: size.max_pending.max(1),
            threads,
        })
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Run `f` here when `tiny` (see [`is_tiny`]), otherwise as [`WorkPool::run`] does. A panic
    /// in `f` run here is caught by the request's panic layer (500, logged).
    pub async fn run_unless_tiny<T, F>(&self, what: &'static str, tiny: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if tiny {
            return Ok(f());
        }
        self.run(what, f).await
    }

    /// Run `f` on a pool thread and wait for its result without blocking the async worker.
    /// [`Error::Overloaded`] when the queue is full; [`Error::Panicked`] when `f` panicked.
    pub async fn run<T, F>(&self, what: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let pending = self.pending.fetch_add(1, Ordering::AcqRel);
        let guard = PendingGuard(self.pending.clone());
        if pending >= self.max_pending {
            return Err(Error::Overloaded(format!(
                "Too many schema operations in progress ({} running or waiting, \
                 the limit is max_pending_schema_work); retry later",
                self.max_pending
            )));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            drop(guard);
            let _ = tx.send(result);
        });
        let sent = match self.sender.lock().as_ref() {
            Some(sender) => sender.send(job).is_ok(),
            None => false,
        };
        if !sent {
            return Err(Error::Internal("the schema work pool has stopped".into()));
        }
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => {
                let cause = panic_message(panic.as_ref());
                tracing::error!(task = what, panic = %cause, "schema work panicked");
                Err(Error::Panicked)
            }
            Err(_) => Err(Error::Internal(format!("{what}: the worker went away"))),
        }
    }
}

/// Counts a job as pending until it is dropped (run or refused).
struct PendingGuard(Arc<AtomicUsize>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recurse(n: usize) -> usize {
        // A frame with some weight, so that the recursion really uses the stack.
        let pad = [n as u8; 512];
        std::hint::black_box(&pad);
        if n == 0 {
            0
        } else {
            recurse(n - 1) + 1
        }
    }

    #[tokio::test]
    async fn deep_recursion_that_would_overflow_a_2mib_stack_runs_on_the_pool() {
        let pool = one_thread(4);
        // ~20,000 frames of over 512 bytes: about 10 MiB of stack.
        let n = pool.run("recursion", || recurse(20_000)).await.unwrap();
        assert_eq!(n, 20_000);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_pool_goes_on() {
        let pool = one_thread(4);
        let err = pool
            .run("panics", || -> u32 { panic!("boom") })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Panicked), "{err:?}");
        assert_eq!(pool.run("after", || 7).await.unwrap(), 7);
    }

    fn one_thread(max_pending: usize) -> WorkPool {
        WorkPool::new(PoolSize {
            threads: 1,
            max_pending,
        })
        .unwrap()
    }

    /// A pool of one thread and one slot, the slot taken by a job that runs until the sender
    /// sends (the job's handle answers whether it was released).
    async fn full_pool() -> (
        Arc<WorkPool>,
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<bool>,
    ) {
        let pool = Arc::new(one_thread(1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let holder = pool.clone();
        let busy = tokio::spawn(async move {
            holder
                .run("hold the only slot", move || wait.recv().is_ok())
                .await
                .unwrap()
        });
        // Wait until the job occupies the only slot.
        while pool.pending.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        (pool, release, busy)
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let (pool, release, busy) = full_pool().await;
        let err = pool.run("second", || 1).await.unwrap_err();
        assert!(matches!(err, Error::Overloaded(_)), "{err:?}");
        release.send(()).unwrap();
        assert!(busy.await.unwrap());
        assert_eq!(pool.run("third", || 3).await.unwrap(), 3);
    }

    fn nested_avro(depth: usize) -> String {
        let mut text = r#""long""#.to_string();
        for _ in 0..depth {
            text = format!(r#"{{"type":"array","items":{text}}}"#);
        }
        text
    }

    #[test]
    fn only_small_shallow_avro_schemas_without_references_are_parsed_on_the_request_task() {
        use strata_schema::SchemaType::{Avro, Json, Protobuf};
        let record = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}"#;
        assert!(is_tiny(Avro, record, false));
        assert!(!is_tiny(Avro, record, true), "references go to the pool");
        assert!(is_tiny(Avro, &nested_avro(INLINE_MAX_DEPTH), false));
        assert!(!is_tiny(Avro, &nested_avro(INLINE_MAX_DEPTH + 1), false));
        let doc = |n: usize| format!(r#"{{"type":"string","doc":"{}"}}"#, "d".repeat(n));
        let overhead = doc(0).len();
        assert!(is_tiny(Avro, &doc(INLINE_MAX_BYTES - overhead), false));
        assert!(!is_tiny(Avro, &doc(INLINE_MAX_BYTES - overhead + 1), false));
        // Their parse compiles regular expressions or imports, or hides its nesting in base64.
        assert!(!is_tiny(Json, r#"{"type":"object"}"#, false));
        assert!(!is_tiny(
            Protobuf,
            "syntax = \"proto3\"; message M { int64 a = 1; }",
            false
        ));
    }

    #[tokio::test]
    async fn tiny_work_runs_on_the_calling_task_even_when_the_pool_is_full() {
        let (pool, release, busy) = full_pool().await;
        assert!(matches!(
            pool.run("refused", || 1).await,
            Err(Error::Overloaded(_))
        ));
        assert_eq!(pool.run_unless_tiny("tiny", true, || 2).await.unwrap(), 2);
        assert!(matches!(
            pool.run_unless_tiny("not tiny", false, || 3).await,
            Err(Error::Overloaded(_))
        ));
        release.send(()).unwrap();
        assert!(busy.await.unwrap());
    }
}
