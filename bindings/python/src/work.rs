//! Running the library off the interpreter: a job runs on a thread of its own while the calling
//! thread waits without the GIL (other Python threads run meanwhile) and wakes every 50 ms to
//! let Python handle signals, so that Ctrl-C raises `KeyboardInterrupt` at once.
//!
//! The library has no way to stop a job half-way: an interrupted job runs on to its end on its
//! thread, and its result is dropped.

use std::sync::Mutex;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use khop::session::{Observer, Stage};
use pyo3::prelude::*;

use crate::errors;

/// Runs `job` off the GIL; its error becomes a Python exception, a panic an `InternalError`.
pub fn run<T: Send + 'static>(
    py: Python<'_>,
    job: impl FnOnce() -> khop::Result<T> + Send + 'static,
) -> PyResult<T> {
    let (sender, receiver) = channel();
    std::thread::Builder::new()
        .name("khop-job".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            // The receiver is gone when the call was interrupted: nothing to tell.
            let _ = sender.send(outcome);
        })
        .map_err(|e| errors::InternalError::new_err(format!("cannot start a thread: {e}")))?;
    let mut receiver = receiver;
    loop {
        // The receiver goes into the wait and comes back: it is `Send` but not `Sync`.
        let (back, received) = py.detach(move || {
            let received = receiver.recv_timeout(Duration::from_millis(50));
            (receiver, received)
        });
        receiver = back;
        match received {
            Ok(Ok(result)) => return result.map_err(errors::to_py),
            Ok(Err(panic)) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                return Err(errors::InternalError::new_err(format!("khop panicked (a bug): {message}")));
            }
            Err(RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(errors::InternalError::new_err("the job's thread ended without an answer"));
            }
        }
    }
}

/// Progress told to a Python callable `progress(stage, position, total)`: `stage` is `"read
/// NAME"`, `"train"` or `"score"`; `position` counts rows or bytes read, or pairs scored; `total`
/// is `None` where unknown. Called at the start of each stage, at most every 100 ms within it,
/// and at its end. An exception in the callable is reported as unraisable and stops the calls.
pub struct Callback {
    callable: Py<PyAny>,
    state: Mutex<CallbackState>,
}

struct CallbackState {
    stage: String,
    total: Option<u64>,
    position: u64,
    last: Option<Instant>,
    failed: bool,
}

impl Callback {
    pub fn new(callable: Py<PyAny>) -> Callback {
        let state =
            CallbackState { stage: String::new(), total: None, position: 0, last: None, failed: false };
        Callback { callable, state: Mutex::new(state) }
    }

    fn call(&self, state: &mut CallbackState) {
        if state.failed {
            return;
        }
        state.last = Some(Instant::now());
        Python::attach(|py| {
            let args = (state.stage.as_str(), state.position, state.total);
            if let Err(e) = self.callable.call1(py, args) {
                state.failed = true;
                e.write_unraisable(py, Some(self.callable.bind(py)));
            }
        });
    }
}

impl Observer for Callback {
    fn started(&self, stage: &Stage) {
        let Ok(mut state) = self.state.lock() else { return };
        let (name, total) = match stage {
            Stage::Read { table, total, .. } => (format!("read {table}"), (*total > 0).then_some(*total)),
            Stage::Train => ("train".to_owned(), None),
            Stage::Score => ("score".to_owned(), None),
            _ => ("work".to_owned(), None),
        };
        state.stage = name;
        state.total = total;
        state.position = 0;
        self.call(&mut state);
    }

    fn advanced(&self, position: u64) {
        let Ok(mut state) = self.state.lock() else { return };
        state.position = position;
        if state.last.is_none_or(|last| last.elapsed() >= Duration::from_millis(100)) {
            self.call(&mut state);
        }
    }

    fn finished(&self) {
        let Ok(mut state) = self.state.lock() else { return };
        if let Some(total) = state.total {
            state.position = total;
        }
        self.call(&mut state);
    }
}
