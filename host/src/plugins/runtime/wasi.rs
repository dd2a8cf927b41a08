//! The WASI a plugin sees: nothing granted (no files, network, environment
//! or arguments) and nothing that can block.
//!
//! A `wasm32-wasip2` component imports `wasi:io`, `wasi:clocks` and friends
//! even when its code never touches them, so they must be linked. Linked as
//! wasmtime-wasi ships them, `wasi:io/poll` really waits: a guest calling
//! `std::thread::sleep` would sit inside host code, where the epoch
//! deadline cannot reach it, and hold its worker thread for as long as it
//! likes. Plugins are pure functions of an event, so they never need to
//! wait: here `poll` and `pollable.block` answer at once when something is
//! ready and otherwise trap with a message saying why. Every other host
//! function either returns at once or fails at once (sockets and name
//! lookups are denied, stdin is empty, stdout is discarded, stderr is kept
//! in memory), so every guest call is bounded by its epoch deadline.
//!
//! We chose this over wasmtime's async support (interrupting a blocked
//! call by dropping its future, as Zed does) because it keeps calls
//! synchronous on the plugin's own thread: no fiber per call, and the
//! per-event cost stays where it was.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiView};
use wasmtime_wasi_io::bindings::wasi::io::poll::HostPollable;
use wasmtime_wasi_io::bytes::Bytes;
use wasmtime_wasi_io::poll::DynPollable;

/// The `wasi:io/poll` version wasmtime-wasi links; the overrides replace its
/// functions, so they must use the same name.
const POLL_INTERFACE: &str = "wasi:io/poll@0.2.12";

/// What a plugin that tries to wait is told.
pub const NO_WAITING: &str = "plugins may not wait (sleep, poll or block): \
    a call must return as soon as its work is done";

/// Links WASI (granting nothing, see [`context`]) with the waiting
/// functions replaced by ones that never block.
pub fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    let mut poll = linker.instance(POLL_INTERFACE)?;
    poll.func_wrap(
        "poll",
        |mut store: StoreContextMut<'_, T>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            let table = store.data_mut().ctx().table;
            let ready = ready_now(table, &pollables)?;
            if ready.is_empty() {
                return Err(wasmtime::Error::msg(NO_WAITING));
            }
            Ok((ready,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, T>, (pollable,): (Resource<DynPollable>,)| {
            let table = store.data_mut().ctx().table;
            if ready_now(table, std::slice::from_ref(&pollable))?.is_empty() {
                return Err(wasmtime::Error::msg(NO_WAITING));
            }
            Ok(())
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Indices of the pollables that are ready right now (wasmtime's own
/// `pollable.ready`, which looks without waiting).
fn ready_now(
    table: &mut ResourceTable,
    pollables: &[Resource<DynPollable>],
) -> wasmtime::Result<Vec<u32>> {
    if pollables.is_empty() {
        return Err(wasmtime::Error::msg("poll needs at least one pollable"));
    }
    // wasmtime-wasi's pollables (a clock's sleep) need a tokio runtime to
    // exist even to be looked at; a plugin's thread has none of its own.
    wasmtime_wasi::runtime::with_ambient_tokio_runtime(|| {
        let mut ready = Vec::new();
        for (i, p) in pollables.iter().enumerate() {
            let borrowed = Resource::<DynPollable>::new_borrow(p.rep());
            let mut check = std::pin::pin!(HostPollable::ready(table, borrowed));
            // `ready` never waits (it polls its future once), so one poll
            // with a no-op waker always completes it.
            match check
                .as_mut()
                .poll(&mut Context::from_waker(std::task::Waker::noop()))
            {
                Poll::Ready(Ok(true)) => ready.push(i as u32),
                Poll::Ready(Ok(false)) => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => return Err(wasmtime::Error::msg(NO_WAITING)),
            }
        }
        Ok(ready)
    })
}

/// A WASI context that grants nothing: no preopened directories,
/// environment, arguments, network or stdin; stdout is discarded and
/// stderr (where a Rust guest's panic message goes) is kept in `stderr`.
pub fn context(stderr: &StderrTail) -> WasiCtx {
    WasiCtxBuilder::new().stderr(stderr.clone()).build()
}

/// The last bytes a guest wrote to stderr: a bounded tail that never blocks
/// and never fails, so a guest printing in a loop neither stalls nor traps
/// (its older output is simply forgotten).
#[derive(Clone)]
pub struct StderrTail {
    inner: Arc<Mutex<VecDeque<u8>>>,
    capacity: usize,
}

impl StderrTail {
    /// A tail keeping the last `capacity` bytes.
    pub fn new(capacity: usize) -> StderrTail {
        StderrTail {
            inner: Arc::new(Mutex::new(VecDeque::with_capacity(capacity.min(4096)))),
            capacity: capacity.max(1),
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut buf = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = &bytes[bytes.len().saturating_sub(self.capacity)..];
        let overflow = (buf.len() + bytes.len()).saturating_sub(self.capacity);
        buf.drain(..overflow);
        buf.extend(bytes);
    }

    /// What is kept, lossily decoded.
    pub fn contents(&self) -> String {
        let buf = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (a, b) = buf.as_slices();
        let mut all = Vec::with_capacity(a.len() + b.len());
        all.extend_from_slice(a);
        all.extend_from_slice(b);
        String::from_utf8_lossy(&all).into_owned()
    }

    /// The last `n` non-empty lines, oldest first.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let text = self.contents();
        let mut lines: Vec<String> = text
            .lines()
            .rev()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .take(n)
            .map(str::to_owned)
            .collect();
        lines.reverse();
        lines
    }
}

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for StderrTail {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrTail {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for StderrTail {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stderr_tail_keeps_only_the_last_bytes() {
        let tail = StderrTail::new(16);
        tail.push(b"first line\n");
        tail.push(b"second line\n");
        assert_eq!(tail.contents(), "ine\nsecond line\n");
        tail.push(&[b'x'; 100]);
        assert_eq!(tail.contents(), "x".repeat(16));
    }

    #[test]
    fn last_lines_skip_blank_ones() {
        let tail = StderrTail::new(1024);
        tail.push(b"a\n\nb\nc\n\n");
        assert_eq!(tail.last_lines(2), vec!["b", "c"]);
        assert_eq!(tail.last_lines(10), vec!["a", "b", "c"]);
    }
}
